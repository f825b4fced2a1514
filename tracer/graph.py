"""Value graph -> networkx.MultiDiGraph: the schema every other module reads.

Edges run child -> parent (data flow). Operands can repeat (`a*a`), so the graph is
a multigraph and the edge key is the argument position.

Node attributes:
    op (str): the operation (`+`, `*`, `**`, `exp`, `dot`, ...), "" for leaves, "?"
        for a computed node whose op a foreign Value did not name and the tracer
        could not name exactly (tracer.values).
    data (float), grad (float): the value and its gradient at trace time.
    label (str): the name the model or the expression gave it, or "".
    scope (str): the nested scope it was built in, e.g. "pos3/layer0/attn/head2".
    kind (str): "param" (model weight), "input" (named leaf), "const" (unnamed leaf)
        or "op" (computed).
    exponent (float): k of a**k, on `**` nodes only (the engine keeps it; it is not
        read back from the numbers).
Edge attributes:
    arg (int): the argument position, also the edge key.
    local_grad (float): d(parent)/d(child) for this argument.
    contribution (float): local_grad x parent grad, what flowed back along the edge.
Graph attributes:
    roots (tuple[int, ...]): the node ids of the traced roots.
    source (str): what was traced: the expression text, or model/checkpoint/text.
    grads (str): "not computed" when the first root's grad is 0 (traced before any
        backward()), set by tracer.values.trace_values and microgpt_trace.trace (not
        here: the model is traced forward-only on purpose); absent otherwise.
    backward_order (tuple[int, ...]), replay_exact (bool): only on graphs of foreign
        Values whose grads the default replay order does not reproduce (tracer.values).

`trace` reads our Values directly; any other Value-like object (micrograd's,
microgpt.py's) goes through microgpt_trace.tracer.values, which documents how it is read.

Node ids are positions in the topological order (children before parents, the order
of Value.backward), so the same computation always gives the same ids.
"""

import networkx as nx

from microgpt_trace.microgpt.engine import Value, topological_order

__all__ = ["trace", "trace_part", "KINDS", "PARAM_SCOPE"]

KINDS = ("param", "input", "const", "op")
PARAM_SCOPE = "params"  # the scope the model creates its weights in


def kind_of(value):
    if value._children:
        return "op"
    if value.scope == PARAM_SCOPE or value.scope.startswith(PARAM_SCOPE + "/"):
        return "param"
    return "input" if value.label else "const"


def ordered_nodes(roots):
    """Topological order over several roots, each node once."""
    if len(roots) == 1:
        return topological_order(roots[0])
    seen, order = set(), []
    for root in roots:
        for value in topological_order(root):
            if value not in seen:
                seen.add(value)
                order.append(value)
    return order


def trace(*roots, source=""):
    """Export the graph behind `roots` (Values) as a networkx.MultiDiGraph.

    Args:
        *roots: one or more Values (ours, or any Value-like object: see
            microgpt_trace.tracer.values); everything they depend on is included.
        source: what was traced, stored as the graph attribute `source`.

    Returns:
        A new MultiDiGraph following the schema in this module's docstring.

    Raises:
        NotValueLikeError, UnsupportedOpError: as for tracer.values.trace_values.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * a; b.backward()
    >>> g = trace(b, source="a*a")
    >>> sorted(g.edges(keys=True)), g.nodes[1]["grad"], g.graph["roots"]
    ([(0, 1, 0), (0, 1, 1)], 1.0, (1,))
    """
    if not roots:
        raise ValueError("trace() needs at least one root Value")
    if not all(type(r) is Value for r in roots):
        from .values import trace_values

        return trace_values(*roots, source=source)
    order = ordered_nodes(roots)
    index = {id(v): i for i, v in enumerate(order)}
    graph = nx.MultiDiGraph(roots=tuple(index[id(r)] for r in roots), source=source)
    graph.add_nodes_from((i, node_attrs(v)) for i, v in enumerate(order))
    graph.add_edges_from(edge for i, v in enumerate(order) for edge in in_edges(i, v, index))
    return graph


def trace_part(order, keep, **graph_attrs):
    """The subgraph of the whole trace on the node ids `keep`, built without the rest.

    Equal to inducing trace(*roots) on `keep` (same ids, attributes, and node and
    edge order), at a cost that grows with `keep`, not with the whole graph.

    Args:
        order: ordered_nodes(roots), the Values in node id order.
        keep: node ids (positions in `order`).
        **graph_attrs: the new graph's attributes.

    Returns:
        A new MultiDiGraph: the kept nodes in id order and the edges among them.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * a; c = b + 1.0; c.backward()
    >>> order = ordered_nodes([c])
    >>> part = trace_part(order, {0, 1}, source="a*a")
    >>> sorted(part.edges(keys=True)), part.nodes[1]["grad"], part.graph
    ([(0, 1, 0), (0, 1, 1)], 1.0, {'source': 'a*a'})
    """
    keep = sorted(keep)
    index = {id(order[i]): i for i in keep}
    graph = nx.MultiDiGraph(**graph_attrs)
    graph.add_nodes_from((i, node_attrs(order[i])) for i in keep)
    graph.add_edges_from(sorted((edge for i in keep for edge in in_edges(i, order[i], index)),
                                key=lambda edge: edge[:3]))
    return graph


def node_attrs(value):
    """The schema's node attributes of one Value."""
    # float(): sums start at the int 0 and -a multiplies by the int -1; the schema
    # (and every exporter) promises floats.
    attrs = {"op": value.op, "data": float(value.data), "grad": float(value.grad),
             "label": value.label, "scope": value.scope, "kind": kind_of(value)}
    if value.op == "**":
        attrs["exponent"] = float(value.exponent)
    return attrs


def in_edges(i, value, index):
    """The edges (child id, i, arg, attrs) into node i from the children in `index`
    (id(Value) -> node id), in argument order."""
    g = float(value.grad)
    edges = []
    for arg, (child, local_grad) in enumerate(zip(value._children, value._local_grads)):
        c = index.get(id(child))
        if c is not None:
            local_grad = float(local_grad)
            edges.append((c, i, arg, {"arg": arg, "local_grad": local_grad,
                                      "contribution": local_grad * g}))
    return edges
