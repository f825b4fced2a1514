"""Names for nodes in captions and tables, readable even where the model gave none.

Most op nodes of a model are unnamed partial results (the `*` and `+` inside a dot
product). A caption that says `#28629 *` tells a reader nothing, so an unnamed node
is spelled from what it computes: `L0.h2.w[t=3]*L0.v[11]`, as many levels of unnamed
operands deep (up to three) as fit in a caption line, `…` below that.

Inside a softmax the steps use the words of the head view: the constant added to each
score is `−max` (so `score − max`), the total of the exps is `Σ` and its reciprocal
`1/Σ`. RMSNorm's shared scale, which a scope view marks, is `scale`, as drawn.
"""

from .text import number, printable

__all__ = ["node_name", "power_exponent", "is_reciprocal"]

INFIX = {"+": (1, " + "), "*": (2, "*")}  # precedence and separator
MAX_LENGTH = 40  # a spelled name goes less deep until it fits, or one level deep
MAX_ARGS = 3  # operands of a function-style op (dot) spelled before "…"


def node_name(G, node) -> str:
    """The node's label; else its value for a constant, its expression for an op.

    Control characters in a label are shown escaped (`a\\nb`), so a caption's lines
    stay one per edge whatever the labels hold.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> for n, (label, op, data) in enumerate([("w", "", 2.0), ("x", "", 3.0),
    ...         ("", "*", 6.0), ("", "", 1.0), ("", "+", 7.0), ("", "exp", 1e3)]):
    ...     G.add_node(n, label=label, op=op, data=data)
    >>> _ = G.add_edges_from([(0, 2, {"arg": 0}), (1, 2, {"arg": 1}), (2, 4, {"arg": 0}),
    ...                       (3, 4, {"arg": 1}), (4, 5, {"arg": 0})])
    >>> [node_name(G, n) for n in (2, 3, 4, 5)]
    ['w*x', '1', 'w*x + 1', 'exp(w*x + 1)']
    """
    for depth in (3, 2, 1):
        name = spelled(G, node, depth)
        if len(name) <= MAX_LENGTH:
            break
    return printable(name)


def spelled(G, node, depth):
    attrs = G.nodes[node]
    if attrs.get("label"):
        return attrs["label"]
    if attrs.get("mark") == "scale":
        return "scale"
    if not attrs["op"]:
        return "−max" if is_minus_max(G, node) else number(attrs['data'])
    if depth == 0:
        return "…"
    op, args = attrs["op"], operands(G, node)
    if in_softmax(attrs) and op == "**" and is_reciprocal(G, node):
        return "1/Σ"
    if in_softmax(attrs) and op == "+" and any(is_reciprocal(G, n) for n in G.successors(node)):
        return "Σ"
    if in_softmax(attrs) and op == "+" and len(args) == 2 and is_minus_max(G, args[1]):
        score = bracketed(G, args[0], spelled(G, args[0], depth - 1), 1)
        return f"{score} − max"
    if op in INFIX:
        precedence, separator = INFIX[op]
        return separator.join(bracketed(G, child, spelled(G, child, depth - 1), precedence)
                              for child in args)
    if op == "**":
        k = power_exponent(G, node)
        base = bracketed(G, args[0], spelled(G, args[0], depth - 1), 3)
        return f"{base}**{'k' if k is None else f'{k:.4g}'}"
    parts = [spelled(G, child, depth - 1) for child in args[:MAX_ARGS]]
    return f"{op}({', '.join(parts)}{', …' if len(args) > MAX_ARGS else ''})"


def in_softmax(attrs) -> bool:
    return attrs.get("scope", "").rsplit("/", 1)[-1] == "softmax"


def is_reciprocal(G, node) -> bool:
    """x**-1 (the `/` of a softmax's `e / total` is `e * total**-1`)."""
    return power_exponent(G, node) == -1


def is_minus_max(G, node) -> bool:
    """The constant a softmax adds to every score: minus the largest (zero stays 0)."""
    attrs = G.nodes[node]
    return not attrs["op"] and not attrs.get("label") and attrs["data"] != 0 and in_softmax(attrs)


def bracketed(G, child, part, precedence):
    """A nested infix operand in brackets when it binds less tightly; `…` stays bare."""
    attrs = G.nodes[child]
    if attrs.get("label") or not attrs["op"] or part == "…" or attrs["op"] not in INFIX:
        return part
    if set(part.replace(" ", "")) <= set("…+*"):
        return "…"
    return f"({part})" if INFIX[attrs["op"]][0] < precedence else part


def operands(G, node):
    return [child for child, _, _ in sorted(G.in_edges(node, data="arg"), key=lambda e: e[2])]


def power_exponent(G, node):
    """k of a**k as the engine kept it (the node attribute `exponent`); None for other
    nodes, or for a graph built without it."""
    return G.nodes[node].get("exponent")
