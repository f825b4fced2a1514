"""What a backward animation steps through: an expression, one attention head, one
scope, or the whole model in blocks.

Each function returns (graph to draw, frames), the pair the animation renderers take:
the graph is the view (an expression's graph, a head view, a scope view, the block
graph) and the frames replay backward on it, ending with the grads the model's own
backward gave. The model views load a checkpoint (microgpt_trace.tracer.checkpoint_trace).
"""

from collections.abc import Mapping
from dataclasses import replace
from os import PathLike

import networkx as nx

from .block_frames import block_frames, ready_frames
from .checkpoint_trace import trace_checkpoint_head, trace_checkpoint_text
from .expression.evaluate import trace_expression
from .queries import auto_depth
from .replay import backward_frames
from .scope_view import scope_seeds, scope_view, seeded_from_the_loss

__all__ = ["replay_expression", "replay_head", "replay_scope", "replay_model", "named_shares"]

Checkpoint = str | PathLike | None


def replay_expression(*, expression: str, values: Mapping[str, float] | None = None,
                      granularity: str = "node") -> tuple:
    """Backward through an expression from its root (grad 1).

    Args:
        expression: e.g. "a*b + a".
        values: name -> value (parse_assignments reads them from `--set`) [default:
            trace_expression's].
        granularity: "node", "scope" (a scope's nodes once it can send) or "level".

    Returns:
        (the expression's graph, frames).

    Raises:
        ExpressionError, EvaluationError: as for trace_expression.
        SelectionError: an unknown granularity.

    >>> graph, frames = replay_expression(expression="a*b + a", values={"a": 2, "b": 3})
    >>> len(frames), dict(frames[-1].grads)[0]
    (3, 4.0)
    """
    graph = trace_expression(expression, dict(values or {}))
    return graph, _frames(graph, granularity, None)


def replay_head(*, text: str, pos: int | None = None, layer: int = 0, head: int = 0,
                checkpoint: Checkpoint = None, engine: str = "atomic",
                granularity: str = "node") -> tuple:
    """Backward through one attention head, from the grads its outputs get from the loss.

    Args:
        text, pos, layer, head, checkpoint, engine: as for trace_checkpoint_head.
        granularity: as for replay_expression.

    Returns:
        (the head view, frames; their captions say that q, k and v build up this
        position's share of their grad, see named_shares).

    Raises:
        CheckpointError, DataError, SelectionError: as for trace_checkpoint_head, and
            SelectionError for an unknown granularity.
    """
    view = trace_checkpoint_head(text=text, pos=pos, layer=layer, head=head,
                                 checkpoint=checkpoint, engine=engine)
    seeds = {r: view.nodes[r]["grad"] for r in view.graph["roots"]}
    return view, named_shares(view, _frames(view, granularity, seeds))


SHARE = "q, k, v: this position's share of their grad (the head view's 'from here')"


def named_shares(H: nx.MultiDiGraph, frames: list) -> list:
    """A head's frames with captions that name the grad q, k and v build up: this
    position's share, not the whole text's (a key also gets what later queries send
    it). Frame 0 says where the replay starts; each frame sending to q, k or v ends
    with SHARE.

    >>> from microgpt_trace.tracer.replay import Frame, Flow
    >>> H = nx.MultiDiGraph(pos=3, layer=0, head=2)
    >>> H.add_node(0, role="k")
    >>> frames = named_shares(H, [Frame(0, (), (), (), (), "seed: ..."),
    ...                           Frame(1, (5,), (Flow(5, 0, 0, 1.0, 1.0, 1.0, 0.0, 1.0),),
    ...                                 (), (), "backward through ...")])
    >>> print(frames[0].caption)  # doctest: +NORMALIZE_WHITESPACE
    backward through layer 0 · head 2 at position 3 starts from the grads its outputs
    receive from the loss of the whole text
    q, k and v collect this position's share of their grad
    seed: ...
    >>> print(frames[1].caption)
    backward through ...
    q, k, v: this position's share of their grad (the head view's 'from here')
    """
    inputs = {n for n, role in H.nodes(data="role") if role in ("q", "k", "v")}
    heading = (f"backward through layer {H.graph['layer']} · head {H.graph['head']} at "
               f"position {H.graph['pos']} starts from the grads its outputs receive from "
               "the loss of the whole text\nq, k and v collect this position's share of their "
               "grad")
    out = []
    for frame in frames:
        caption = f"{heading}\n{frame.caption}" if frame.index == 0 else frame.caption
        if any(flow.child in inputs for flow in frame.flows):
            caption += "\n" + SHARE
        out.append(replace(frame, caption=caption))
    return out


def replay_scope(*, text: str, scope: str, checkpoint: Checkpoint = None,
                 engine: str = "fused", granularity: str = "node") -> tuple:
    """Backward through one scope at op level, from the grads its outputs get from the
    loss of the whole text.

    Args:
        text, checkpoint, engine: as for trace_checkpoint_text.
        scope: e.g. "pos3/layer0/mlp" (microgpt_trace.tracer.scope_view.scope_names).
        granularity: as for replay_expression.

    Returns:
        (the scope view, frames; frame 0's caption says where the seeds come from).

    Raises:
        CheckpointError, DataError: as for trace_checkpoint_text.
        SelectionError: an unknown scope or granularity.
    """
    graph = trace_checkpoint_text(text=text, checkpoint=checkpoint, engine=engine)
    view = scope_view(graph, scope)
    return view, seeded_from_the_loss(view, _frames(view, granularity, scope_seeds(view)))


def replay_model(*, text: str, depth: int | None = None, max_nodes: int | None = None,
                 checkpoint: Checkpoint = None, engine: str = "fused", size=None) -> tuple:
    """Backward through the whole model, one ready block per frame.

    Args:
        text, checkpoint, engine: as for trace_checkpoint_text.
        depth: 1 layers, 2 attention/MLP, 3 heads and sublayers; None: the deepest
            view that fits max_nodes.
        max_nodes: the cap the block view must fit (needed when depth is None).
        size: what max_nodes measures, as for auto_depth (None: the number of blocks).

    Returns:
        (the block graph, frames), as microgpt_trace.tracer.block_frames.block_frames.

    Raises:
        ValueError: neither depth nor max_nodes.
        CheckpointError, DataError: as for trace_checkpoint_text.
    """
    if depth is None and max_nodes is None:
        raise ValueError("replay_model needs a depth or max_nodes to choose one")
    graph = trace_checkpoint_text(text=text, checkpoint=checkpoint, engine=engine)
    return block_frames(graph, auto_depth(graph, max_nodes, size) if depth is None else depth)


def _frames(graph: nx.MultiDiGraph, granularity: str, seeds: dict | None) -> list:
    """Scope frames wait until a whole scope is ready: runs of one scope would
    alternate, since a depth-first order interleaves a head's softmax and sum."""
    if granularity == "scope":
        return ready_frames(graph, lambda n: graph.nodes[n]["scope"], seeds)
    return backward_frames(graph, granularity, seeds=seeds)
