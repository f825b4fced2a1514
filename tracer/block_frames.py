"""Backward over a whole model, one frame per block: the frames of the collapsed view.

Blocks are microgpt_trace.tracer.queries.collapse's (a scope at some depth, or one weight matrix).
A block is processed in one frame once it is ready: the next frame takes the block of
the highest node that may send (Value.backward's priority) and processes every node of
that block that is ready, until none is. Runs of consecutive nodes would split blocks
over and over, since a depth-first order interleaves softmax and lm_head node by node:
for "anna" at depth 1 that is 291 frames, against 26 this way.

The grads are microgpt_trace.tracer.replay's exact replay; each frame reports the L2 norm of every
block its flows reached, so the last norms are collapse()'s grad_norm exactly.
"""

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass

import networkx as nx

from .queries import block_keys, collapse, l2
from .replay import CAPTION_EDGES, checked_seeds, grouped_frames, processing_order
from .text import number

__all__ = ["BlockFlow", "BlockFrame", "block_frames", "ready_frames"]


@dataclass(frozen=True)
class BlockFlow:
    """The gradient that crossed one block edge in one frame."""

    parent: int  # the block sending (the edge's head in the blocks graph)
    child: int  # the block receiving
    count: int  # how many edges of the traced graph it crossed
    contribution: float  # L2 norm of what flowed along them


@dataclass(frozen=True)
class BlockFrame:
    """One step of a block replay; fields mirror microgpt_trace.tracer.replay.Frame."""

    index: int
    nodes: tuple  # the block processed (empty for the seed frame)
    flows: tuple  # BlockFlows, in order of first crossing
    grads: tuple  # (block, L2 norm of its grads so far) for the blocks reached
    final: tuple  # blocks whose every grad became final in this frame
    caption: str  # plain text; renderers escape it


def block_frames(G: nx.MultiDiGraph, depth: int) -> tuple:
    """Replay backward on a model graph one ready block at a time.

    Args:
        G: a traced model graph (microgpt_trace.tracer.model_trace.trace_text) or any traced graph.
        depth: the block depth, as for microgpt_trace.tracer.queries.collapse.

    Returns:
        (B, frames): B is collapse(G, depth), frames a list of BlockFrames over its
        node ids; frame 0 seeds the root's block.

    Raises:
        SelectionError: depth is not an integer >= 1, or G has no root.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> B, frames = block_frames(trace_expression("a*b + a"), 1)
    >>> len(frames), frames[-1].grads == ((0, B.nodes[0]["grad_norm"]),)
    (2, True)
    """
    B = collapse(G, depth)
    keys = block_keys(G, depth)
    ids = {B.nodes[b]["scope"]: b for b in B}
    block = {n: ids[keys[n]] for n in G}
    frames = ready_frames(G, block.get, heading=lambda b: B.nodes[b]["scope"])
    return B, list(as_block_frames(G, B, block, frames))


def ready_frames(G: nx.MultiDiGraph, key, seeds: dict = None,
                 heading=lambda k: f"scope {k or '(top level)'}") -> list:
    """Frames that each process one group of nodes with the same key, once it is ready.

    Args:
        G: a graph following the schema of microgpt_trace.tracer.graph.
        key: node -> its group, e.g. its scope.
        seeds: as for microgpt_trace.tracer.replay.backward_frames.
        heading: group -> the start of its frames' captions.

    Returns:
        microgpt_trace.tracer.replay Frames (exact, as from backward_frames); a group is split over
        several frames only where it waits for another group.

    Raises:
        SelectionError: as for backward_frames.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> G = trace_expression("x*exp(a) + y*exp(b)")  # backward order: + * exp * exp
    >>> [f.nodes for f in ready_frames(G, lambda n: G.nodes[n]["op"])]
    [(), (8,), (7, 3), (6, 2)]
    """
    seeds = checked_seeds(G, seeds)
    groups = ready_groups(G, key, processing_order(G, seeds))
    return grouped_frames(G, [(heading(k), nodes) for k, nodes in groups], seeds)


def ready_groups(G, key, order):
    """(key, nodes) per frame: the highest ready node's group, drained while ready."""
    needed = set(order)
    waiting = {n: sum(p in needed for p in set(G.successors(n))) for n in order
               if G.in_degree(n)}
    heaps = defaultdict(list)
    for n in waiting:
        if not waiting[n]:
            heapq.heappush(heaps[key(n)], -n)
    groups = []
    while heaps:
        k = min(heaps, key=lambda g: heaps[g][0])  # heaps hold -id: the highest node
        heap, nodes = heaps.pop(k), []
        while heap:
            node = -heapq.heappop(heap)
            nodes.append(node)
            for child in set(G.predecessors(node)):
                if child in waiting:
                    waiting[child] -= 1
                    if not waiting[child]:
                        heapq.heappush(heap if key(child) == k else heaps[key(child)], -child)
        groups.append((k, nodes))
    return groups


def as_block_frames(G, B, block, frames):
    """Node-level frames -> BlockFrames: norms of the blocks reached, edges crossed."""
    members = defaultdict(list)  # block -> its non-constant nodes, as collapse counts
    for n, kind in G.nodes(data="kind"):
        if kind != "const":
            members[block[n]].append(n)
    open_nodes = Counter(block.values())
    grads = dict.fromkeys(G, 0.0)
    for frame in frames:
        grads.update(frame.grads)
        reached = dict.fromkeys(block[n] for n, _ in frame.grads)
        norms = tuple((b, l2(grads[n] for n in members[b])) for b in reached)
        final = []
        for n in frame.final:
            open_nodes[block[n]] -= 1
            if not open_nodes[block[n]]:
                final.append(block[n])
        processed = tuple(dict.fromkeys(block[n] for n in frame.nodes))
        flows, inside = crossings(frame.flows, block)
        text = (block_caption(B, processed, len(frame.nodes), flows, inside, dict(norms))
                if processed else frame.caption)
        yield BlockFrame(frame.index, processed, flows, norms, tuple(final), text)


def crossings(flows, block):
    """BlockFlows for the flows between blocks, and how many stayed inside one."""
    crossed = defaultdict(list)
    inside = 0
    for f in flows:
        if block[f.child] == block[f.parent]:
            inside += 1
        else:
            crossed[block[f.parent], block[f.child]].append(f.contribution)
    return tuple(BlockFlow(p, c, len(cs), l2(cs)) for (p, c), cs in crossed.items()), inside


def block_caption(B, processed, n_ops, flows, inside, norms):
    """What the processed block sent, one line per receiving block."""
    name = ", ".join(B.nodes[b]["scope"] for b in processed)
    lines = [f"backward through {name}: {n_ops} ops send their grads"
             + (f" ({inside} edges stay inside)" if inside else "")]
    lines += [f"  → {B.nodes[f.child]['scope']}: {f.count} edge{'s' * (f.count != 1)}, "
              f"‖flow‖ {number(f.contribution)}, ‖grad‖ now {number(norms[f.child])}"
              for f in flows[:CAPTION_EDGES]]
    if len(flows) > CAPTION_EDGES:
        lines.append(f"  … and {len(flows) - CAPTION_EDGES} more blocks")
    return "\n".join(lines)
