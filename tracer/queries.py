"""Pure queries on traced graphs: a scope, the ancestors of a node, one attention head,
and the block view where each scope at a depth becomes one node.

Every query takes the graph first, never mutates it and returns a new graph whose
node and edge attributes are copies. The selections keep node ids, and set the graph
attribute `roots` to the selection's own sinks (nodes with no out-edge inside it), so
a renderer can mark the outputs of whatever was selected.
"""

import math
import re
from collections import Counter, defaultdict

import networkx as nx

from .exceptions import SelectionError
from .graph import PARAM_SCOPE

__all__ = ["select_scope", "ancestors_of", "head_view", "collapse", "auto_depth", "sent_from",
           "HEAD_ROLES"]

HEAD_ROLES = ("q", "k", "v", "score", "weight", "out", "internal")
POSITION = re.compile(r"pos(\d+)$")


def induced(G, nodes):
    """A new graph of the same class on `nodes` (in id order), attributes copied."""
    keep = set(nodes)
    H = G.__class__()
    H.graph.update(G.graph)
    H.add_nodes_from((n, dict(G.nodes[n])) for n in sorted(keep))
    H.add_edges_from((u, v, k, dict(d)) for u, v, k, d in G.edges(keys=True, data=True)
                     if u in keep and v in keep)
    H.graph["roots"] = tuple(n for n in H if H.out_degree(n) == 0)
    return H


def in_scope(scope, prefix):
    return scope == prefix or scope.startswith(prefix + "/")


def nearby_scopes(G, prefix):
    """The child scopes of prefix's deepest existing ancestor, for error messages."""
    parts = prefix.split("/")
    scopes = sorted({s for _, s in G.nodes(data="scope")}, key=natural)
    for k in range(len(parts) - 1, -1, -1):
        parent = "/".join(parts[:k])
        children = dict.fromkeys(s[len(parent):].lstrip("/").split("/")[0] for s in scopes
                                 if not parent or in_scope(s, parent))
        children.pop("", None)
        if children:
            names = list(children)
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            return f"scopes under {parent!r}: {shown}" if parent else f"top-level scopes: {shown}"
    return "the graph has no scopes"


def natural(scope):
    """Sort key that puts pos2 before pos10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", scope)]


def select_scope(G: nx.MultiDiGraph, prefix: str) -> nx.MultiDiGraph:
    """The nodes built in scope `prefix` or below it, and the edges among them.

    Args:
        G: a traced graph.
        prefix: a scope such as "pos3/layer0/attn" (a trailing "/" is ignored).

    Returns:
        A new graph of the same class; `roots` are its sinks.

    Raises:
        SelectionError: no node is in that scope; the message lists nearby scopes.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> select_scope(trace_expression("a*b"), "x")
    Traceback (most recent call last):
    ...
    microgpt_trace.tracer.exceptions.SelectionError: no nodes in scope 'x'; the graph has no scopes
    """
    prefix = prefix.rstrip("/")
    nodes = [n for n, s in G.nodes(data="scope") if in_scope(s, prefix)]
    if not nodes:
        raise SelectionError(f"no nodes in scope {prefix!r}; {nearby_scopes(G, prefix)}")
    return induced(G, nodes)


def ancestors_of(G: nx.MultiDiGraph, node: int) -> nx.MultiDiGraph:
    """The node and everything it depends on.

    Args:
        G: a traced graph.
        node: a node id.

    Returns:
        A new graph of the same class with `roots` == (node,).

    Raises:
        SelectionError: the node is not in G.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> G = trace_expression("a*b + c")
    >>> sorted(ancestors_of(G, 2).nodes(data="label"))
    [(0, 'a'), (1, 'b'), (2, 'a*b')]
    """
    if node not in G:
        raise SelectionError(f"node {node!r} is not in the graph (ids 0..{len(G) - 1})")
    return induced(G, nx.ancestors(G, node) | {node})


def check_index(flag, value, count, what):
    if not isinstance(value, int) or not 0 <= value < count:
        raise SelectionError(f"--{flag} {value!r}: {what} 0..{count - 1}")


def head_view(G: nx.MultiDiGraph, pos: int, layer: int, head: int) -> nx.MultiDiGraph:
    """One attention head at one query position: q, keys and values, scores, weights,
    and the weighted sum, from a model graph traced with either engine.

    Only the final q/k/v nodes (the ones labelled `L0.q[5]`) are kept, not the
    products and sums that compute them.

    Args:
        G: a graph from trace_text (graph attrs tokens, n_layer, n_head, head_dim).
        pos: the query position (0 reads BOS).
        layer, head: which attention head.

    Returns:
        A new graph with node attrs `role` (one of HEAD_ROLES), `position` (the
        position a q/k/v node was computed at; `pos` for the rest) and, on q, k and
        v, `from_here`: the grad this head at this position alone sends them (their
        `grad` is the whole text's: a key also gets what later queries send it).
        Graph attrs view="head", pos, layer, head, and roots = the head's outputs.

    Raises:
        SelectionError: G is not a model graph, or pos/layer/head is out of range.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> head_view(trace_expression("a"), 0, 0, 0)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    microgpt_trace.tracer.exceptions.SelectionError: the head view needs a model graph
    (traced from a text), not view 'expression'
    """
    if G.graph.get("view") != "model":
        raise SelectionError("the head view needs a model graph (traced from a text), "
                             f"not view {G.graph.get('view')!r}")
    check_head(G.graph, pos, layer, head)

    def const_inputs(n):
        return [c for c in G.predecessors(n) if G.nodes[c]["kind"] == "const"]

    roles = head_roles(((n, a["scope"], a["label"]) for n, a in G.nodes(data=True)),
                       const_inputs, pos, layer, head, G.graph["head_dim"])
    return mark_head(induced(G, roles), roles, pos, layer, head)


def check_head(attrs, pos, layer, head):
    """Refuse a pos/layer/head outside a model graph's attrs (tokens, n_layer, n_head)."""
    check_index("pos", pos, len(attrs["tokens"]) - 1, f"the text {attrs['text']!r} has positions")
    check_index("layer", layer, attrs["n_layer"], "the model has layers")
    check_index("head", head, attrs["n_head"], "the model has heads")


def head_roles(nodes, const_inputs, pos, layer, head, head_dim):
    """node id -> role for the head view's nodes, in id order.

    Args:
        nodes: (id, scope, label) of every node of the model graph.
        const_inputs: node id -> the ids of its constant (unnamed leaf) inputs.
    """
    inside = f"pos{pos}/layer{layer}/attn/head{head}"
    wanted = {}  # (scope, label) -> role of the q/k/v nodes
    for i in range(head * head_dim, (head + 1) * head_dim):
        wanted[(f"pos{pos}/layer{layer}/attn/qkv", f"L{layer}.q[{i}]")] = "q"
        for t in range(pos + 1):
            for name in ("k", "v"):
                wanted[(f"pos{t}/layer{layer}/attn/qkv", f"L{layer}.{name}[{i}]")] = name
    roles = {}
    for n, scope, label in nodes:
        if in_scope(scope, inside):
            roles[n] = ("score" if ".score[" in label else "weight" if ".w[" in label
                        else "out" if ".out[" in label else "internal")
        elif (scope, label) in wanted:
            roles[n] = wanted[(scope, label)]
    for n in list(roles):
        for c in const_inputs(n):
            roles.setdefault(c, "internal")
    return dict(sorted(roles.items()))


def mark_head(H, roles, pos, layer, head):
    """Give the head view's nodes their role, position and (q, k, v) what the head
    sends them, and H its head attrs. Every consumer of a q, k or v inside H is an op
    of this head at this position, so what they send is this position's share."""
    for n, role in roles.items():
        H.nodes[n]["role"] = role
        match = POSITION.match(H.nodes[n]["scope"].split("/")[0])
        H.nodes[n]["position"] = int(match.group(1)) if match else pos
        if role in ("q", "k", "v"):
            H.nodes[n]["from_here"] = sent_from(H, n, lambda v: True)
    H.graph.update(view="head", pos=pos, layer=layer, head=head,
                   roots=tuple(n for n, r in roles.items() if r == "out"))
    return H


def sent_from(G: nx.MultiDiGraph, node, counts) -> float:
    """The grad node receives from the consumers `counts` accepts, summed in
    Value.backward's order (consumers by descending id, then argument order), so it
    equals, bit for bit, a replay seeded where those consumers' grads come from.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> G = trace_expression("a*b + a", {"a": 2.0, "b": 3.0})  # a: 0, a*b: 2, root: 3
    >>> sent_from(G, 0, lambda v: v == 2), sent_from(G, 0, lambda v: True)
    (3.0, 4.0)
    """
    total = 0.0
    for v in sorted((v for v in set(G.successors(node)) if counts(v)), reverse=True):
        for _, d in sorted(G.get_edge_data(node, v).items()):
            total += d["contribution"]
    return total


def block_keys(G, depth):
    """node id -> block key at depth; constants join the block of their first consumer."""
    if not isinstance(depth, int) or depth < 1:
        raise SelectionError(f"--depth {depth!r}: the depth must be an integer >= 1")
    keys = {}
    for n, a in G.nodes(data=True):
        if a["kind"] == "param":
            keys[n] = f"{PARAM_SCOPE}/{a['label'].split('[')[0]}"
        elif a["kind"] != "const" or not G.out_degree(n):
            parts = a["scope"].split("/")
            keys[n] = "/".join(parts[:depth + 1 if POSITION.match(parts[0]) else depth])
    for n in G:
        if n not in keys:
            keys[n] = keys[min(G.successors(n))]
    return keys


def collapse(G: nx.MultiDiGraph, depth: int) -> nx.DiGraph:
    """The block view: each scope at `depth` below the position becomes one node.

    Depth counts levels below `pos{t}`: 1 gives pos3/embed, pos3/layer0, pos3/lm_head,
    ...; 2 gives pos3/layer0/attn, pos3/layer0/mlp, ...; 3 gives .../attn/head2,
    .../mlp/fc1, ... Other scopes keep their first `depth` components; each parameter
    matrix is one block `params/<name>`; constants are folded into the block of their
    first consumer and are not counted.

    Args:
        G: a traced graph.
        depth: an integer >= 1.

    Returns:
        A DiGraph with node ids 0..n-1 in order of first appearance in G; node attrs
        scope (the block key), label (its last component), position (t or -1), kind
        ("param" or "block"), n_nodes, op_counts ("*:256 +:256", most frequent first),
        grad_norm and data_norm (L2 over the block's non-constant nodes), and for a
        block holding relu ops relu_active (how many output > 0) and relu_total; edge attrs
        count and contribution_norm (L2 of the underlying edges' contribution); graph
        attrs: G's, plus view="blocks", depth and roots (blocks holding G's roots).

    Raises:
        SelectionError: depth is not an integer >= 1.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> B = collapse(trace_expression("a*b + a"), 1)
    >>> b = B.nodes[0]; b["n_nodes"], b["op_counts"], round(b["grad_norm"] ** 2, 9)
    (4, '*:1 +:1', 22.0)

    (the grads of a, b, a*b and the root are 4, 2, 1, 1: 16 + 4 + 1 + 1 = 22)
    """
    keys = block_keys(G, depth)
    ids = {key: i for i, key in enumerate(dict.fromkeys(keys[n] for n in G))}
    members = defaultdict(list)
    for n, a in G.nodes(data=True):
        if a["kind"] != "const":
            members[ids[keys[n]]].append(a)
    B = nx.DiGraph()
    B.graph.update(G.graph, view="blocks", depth=depth,
                   roots=tuple(dict.fromkeys(ids[keys[r]] for r in G.graph.get("roots", ()))))
    for key, i in ids.items():
        B.add_node(i, **block_attrs(key, members[i]))
    flows = defaultdict(list)
    for u, v, c in G.edges(data="contribution"):
        bu, bv = ids[keys[u]], ids[keys[v]]
        if bu != bv:
            flows[bu, bv].append(c)
    for (bu, bv), cs in sorted(flows.items()):
        B.add_edge(bu, bv, count=len(cs), contribution_norm=l2(cs))
    return B


def block_attrs(key, nodes):
    parts = key.split("/")
    match = POSITION.match(parts[0])
    ops = Counter(a["op"] for a in nodes if a["op"])
    relus = [a["data"] > 0 for a in nodes if a["op"] == "relu"]
    active = {"relu_active": sum(relus), "relu_total": len(relus)} if relus else {}
    return {**active, "scope": key, "label": parts[-1],
            "position": int(match.group(1)) if match else -1,
            "kind": "param" if parts[0] == PARAM_SCOPE and len(parts) > 1 else "block",
            "n_nodes": len(nodes),
            "op_counts": " ".join(f"{op}:{n}" for op, n in
                                  sorted(ops.items(), key=lambda item: (-item[1], item[0]))),
            "grad_norm": l2(a["grad"] for a in nodes),
            "data_norm": l2(a["data"] for a in nodes)}


def l2(xs):
    return math.sqrt(math.fsum(x * x for x in xs))


def auto_depth(G: nx.MultiDiGraph, max_nodes: int, size=None) -> int:
    """The deepest block view (3, then 2, then 1) whose size is at most max_nodes.

    Args:
        G: a traced graph.
        max_nodes: the cap the block view must fit.
        size: what the cap measures, a function of the block view (collapse(G, depth));
            the renderers' layout_size is the one their layout check applies. None:
            the number of blocks.

    Returns:
        3, 2 or 1 (1 when even depth 1 is larger).

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> auto_depth(trace_expression("a*b"), 10)
    3
    """
    for depth in (3, 2):
        if size is None:
            fits = len(set(block_keys(G, depth).values())) <= max_nodes
        else:
            fits = size(collapse(G, depth)) <= max_nodes
        if fits:
            return depth
    return 1
