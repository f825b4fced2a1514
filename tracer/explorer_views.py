"""What the explorer shows: its views, what each opens, and what each node is.

A traced model becomes a tree of views. The root is the block view of the whole model
(microgpt_trace.tracer.queries.collapse, as the `model` command draws it); below it
every scope of scope_names is a view: the op-level scope view when its layout fits
the cap, else the blocks of its child scopes (collapsed one level deeper), whose
blocks open the next views down. No scope is refused: a scope too big to lay out is
shown as blocks, its children are views of their own, and a leaf scope (no scope
below it) too big is split into one scope per named value it computes (by_value: an
atomic engine's fc1 row, 32 ops), each drawn at op level whatever its size.

Each view carries the frames of its own backward stepper: a scope view's are
replay_scope's (seeded with the grads its outputs receive from the loss), the root's
are block_frames', a scope shown in blocks steps block by block from the same seeds.
An expression (or any graph that is not a model) is one op-level view.

Per node, node_facts gives what an inspector shows, as plain data: the label in
words, data, grad from the whole text and from this view's scope, the op, each
input's local derivative and the grad's chain-rule sum, term by term, spelled as the
backward captions spell it (microgpt_trace.tracer.replay.flow_line).
"""

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from .block_frames import as_block_frames, block_frames, ready_frames
from .names import label_words, node_name
from .queries import POSITION, auto_depth, block_keys, collapse, in_scope
from .replay import backward_frames, flow_line
from .scope_view import scope_names, scope_seeds, scope_view, seeded_from_the_loss, sent_from

__all__ = ["ExplorerView", "explorer_views", "node_facts", "search_index", "MAX_TERMS"]

MAX_TERMS = 64  # chain-rule terms an inspector lists before "… and N more"


@dataclass(frozen=True)
class ExplorerView:
    """One view: the graph to draw, its stepper's frames, and the scopes it opens.

    scope is "" for the root; kind is "blocks", "scope" or "expression"; opens maps a
    node of graph (a block) to the scope view it opens.
    """

    scope: str
    kind: str
    graph: nx.Graph
    frames: list
    opens: dict


def explorer_views(G: nx.MultiDiGraph, max_size: int, size, depth: int | None = None) -> list:
    """Every view of a traced graph, the root first, parents before children.

    Args:
        G: a model graph (trace_text / trace_checkpoint_text) or any traced graph.
        max_size: the layout cap a scope view must fit to be drawn at op level.
        size: what the cap measures (microgpt_trace.renderers.diagrams.render.layout_size).
        depth: the root block view's depth (1-3); None: the deepest that fits max_size.

    Returns:
        ExplorerViews; for a graph that is not a model, one view of kind "expression".

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> [(v.scope, v.kind, len(v.frames)) for v in explorer_views(
    ...     trace_expression("a*b + a"), 400, len)]
    [('', 'expression', 3)]
    """
    if G.graph.get("view") != "model":
        return [ExplorerView("", "expression", G, backward_frames(G), {})]
    names = scope_names(G)
    leaves = {s: scope_view(G, s) for s in names if not any(t.startswith(s + "/") for t in names)}
    big = [s for s, H in leaves.items() if size(H) > max_size]
    if big:
        G, leaves = by_value(G, big), {}
        names = scope_names(G)
    depth = auto_depth(G, max_size, size) if depth is None else depth
    B, frames = block_frames(G, depth)
    views = [ExplorerView("", "blocks", B, frames, opened_by(B, names))]
    for scope in names:
        H = leaves.get(scope) or scope_view(G, scope)
        if size(H) <= max_size or not has_subscopes(H):
            frames = seeded_from_the_loss(H, backward_frames(H, "node", seeds=scope_seeds(H)))
            views.append(ExplorerView(scope, "scope", H, frames, {}))
        else:
            B, frames = scope_blocks(H, scope)
            views.append(ExplorerView(scope, "blocks", B, frames, opened_by(B, names, scope)))
    return views


def by_value(G: nx.MultiDiGraph, leaves: list) -> nx.MultiDiGraph:
    """A copy of G in which each leaf scope too big to lay out holds one scope per named
    value it computes, with the unnamed ops that compute it: an atomic engine's fc1 row,
    32 products and sums, becomes `.../fc1/L0.fc1[5]`, small enough to draw.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> G = trace_expression("a*b + a"); G.graph["view"] = "model"
    >>> for n in G: G.nodes[n]["scope"] = "pos0/x"
    >>> [d["scope"] for _, d in by_value(G, ["pos0/x"]).nodes(data=True)]
    ['pos0/x/a', 'pos0/x/b', 'pos0/x/a*b', 'pos0/x/a*b + a']
    """
    H = G.copy()
    wanted = set(leaves)
    for n in sorted(H, reverse=True):  # consumers (higher ids) first
        d = H.nodes[n]
        if d["scope"] not in wanted:
            continue
        inside = [v for v in H.successors(n) if H.nodes[v]["scope"].startswith(d["scope"] + "/")]
        owner = (d["label"] or f"n{n}") if d["label"] or not inside else None
        d["scope"] = (f"{d['scope']}/{owner.replace('/', '∕')}" if owner
                      else H.nodes[min(inside)]["scope"])
    return H


def has_subscopes(H):
    """Whether a scope view holds nodes of a deeper scope: a leaf scope (one fc1, one
    softmax) has nothing to open, so it is drawn at op level whatever its size."""
    return any(d.get("cluster") for _, d in H.nodes(data=True))


def scope_blocks(H: nx.MultiDiGraph, scope: str) -> tuple:
    """A scope view too big to lay out, as blocks one level below the scope, and its
    block stepper seeded with the grads the scope's outputs receive from the loss.

    Returns:
        (the blocks graph, BlockFrames), as block_frames returns them.
    """
    parts = scope.split("/")
    depth = len(parts) if POSITION.match(parts[0]) else len(parts) + 1
    B = collapse(H, depth)
    keys = block_keys(H, depth)
    ids = {B.nodes[b]["scope"]: b for b in B}
    block = {n: ids[keys[n]] for n in H}
    frames = ready_frames(H, block.get, scope_seeds(H), heading=lambda b: B.nodes[b]["scope"])
    B.graph.update(scope=scope)
    return B, list(as_block_frames(H, B, block, frames))


def opened_by(B, names, scope=None):
    """block -> the scope view it opens: its own scope, if that is a view below `scope`."""
    views = set(names)
    return {b: d["scope"] for b, d in B.nodes(data=True)
            if d["scope"] in views and d["scope"] != scope}


def node_facts(view: ExplorerView) -> dict:
    """node -> what an inspector shows about it, as plain data.

    For a block: its scope, node count, op counts and norms. For a value: name, the
    label in words, scope, op, data, grad (from the whole text), here (what this
    view's scope sends it; for an expression, the same grad), seed (the grad an output
    receives from outside the scope), inputs as (node, name, data, local grad), the
    consumers in the view, and the chain-rule terms of its grad in this view.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> [view] = explorer_views(trace_expression("a*b + a", {"a": 2, "b": 3}), 400, len)
    >>> facts = node_facts(view)
    >>> facts[0]["grad"], facts[0]["terms"]
    (4.0, ['a.grad += 1 × 1 → 1', 'a.grad += 3 × 1 → 4'])
    """
    H = view.graph
    if view.kind == "blocks":
        return {b: block_fact(d, view.opens.get(b)) for b, d in H.nodes(data=True)}
    terms, seeds = defaultdict(list), dict(view.frames[0].grads)
    for frame in view.frames:
        for f in frame.flows:
            terms[f.child].append(flow_line(H, f))
    return {n: value_fact(H, n, terms[n], seeds.get(n), view.kind) for n in H}


def block_fact(d, opens):
    return {"block": True, "scope": d["scope"], "label": d["label"], "nodes": d["n_nodes"],
            "ops": d["op_counts"], "grad_norm": d["grad_norm"], "data_norm": d["data_norm"],
            "relu": [d["relu_active"], d["relu_total"]] if d.get("relu_total") else None,
            "opens": opens}


def value_fact(H, n, terms, seed, kind):
    d = H.nodes[n]
    here = d["grad"] if kind == "expression" else sent_from(H, n, lambda v: True)
    inputs = [(u, node_name(H, u), H.nodes[u]["data"], e["local_grad"])
              for u, _, e in sorted(H.in_edges(n, data=True), key=lambda e: e[2]["arg"])]
    shown = terms[:MAX_TERMS] + ([f"… and {len(terms) - MAX_TERMS} more"]
                                 if len(terms) > MAX_TERMS else [])
    return {"name": node_name(H, n), "words": label_words(H, n), "scope": d.get("scope", ""),
            "op": d["op"], "kind": d.get("kind", ""), "role": d.get("role", ""),
            "data": d["data"], "grad": d["grad"], "here": here,
            "seed": d.get("seed", seed), "inputs": inputs,
            "outputs": sorted(set(H.successors(n))), "terms": shown,
            "weights": weights_fact(d)}


def weights_fact(d):
    """The summarised weight row an op reads (scope_view), or None."""
    if "weights" not in d:
        return None
    return {"row": d["weights"], "count": d["weights_count"], "norm": d["weights_norm"],
            "grad_norm": d["weights_grad_norm"], "here_norm": d["weights_here_norm"]}


def search_index(views: list) -> list:
    """(text, scope of the view that shows it, node or None) for every scope and every
    named value computed in a scope view: the deepest view holding it, once.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> search_index(explorer_views(trace_expression("a*b + a"), 400, len))
    [('a', '', 0), ('b', '', 1), ('a*b', '', 2), ('a*b + a', '', 3)]
    """
    entries = [(v.scope, v.scope, None) for v in views if v.scope]
    home = {}
    for v in views:
        if v.kind == "blocks":
            continue
        for n, d in v.graph.nodes(data=True):
            inside = v.kind == "expression" or in_scope(d["scope"], v.scope)
            if d["label"] and inside and len(v.scope) >= len(home.get(n, ("", -1))[0]):
                where = d["scope"].split("/")[0]
                home[n] = (v.scope, d["label"] + (f" ({where})" if POSITION.match(where) else ""))
    entries += [(name, scope, n) for n, (scope, name) in sorted(home.items())]
    return entries
