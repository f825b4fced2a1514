"""The head view: one attention head at one query position, in labelled clusters.

Named values (q, k, v, scores, weights, outputs) are rows of tables with data and grad;
the many unnamed inner ops are small circles holding only the op symbol, coloured
by their gradient, with the numbers in the tooltip. That keeps 100-200 nodes of the
atomic engine (each dot product a chain of `*` and `+`) readable on one slide.
"""

import networkx as nx

from microgpt_trace.tracer.names import is_inverse_sqrt_d, is_reciprocal
from microgpt_trace.tracer.text import number, token_text

from ..quoting import escape_html
from ..themes import text_on
from .values import (
    Html,
    Style,
    attrs,
    compact_node,
    edge_id,
    edge_stmt,
    grad_cell,
    key_label,
    keyed_edges,
    node_names,
    node_stmt,
    op_node,
    op_symbol,
    scales,
    sort_key,
    subgraph,
    tag,
    value_edge,
)

__all__ = ["head_lines", "head_title", "attention_strip", "attention_weights"]

# Named values sit in tables, one per group, a row per element; the groups after
# the q/k/v inputs are clusters that also hold the inner ops computing them.
ROLE_GROUPS = {"q": "q", "k": "k", "v": "v", "score": "scores", "weight": "softmax",
               "out": "out"}
CLUSTERS = ("scores", "softmax", "out")
CLUSTER_TITLES = {"scores": "scores  q\u00b7k / \u221ad", "softmax": "softmax weights",
                  "out": "weighted sum of v"}
# left to right the way attention reads: q and keys, scores, softmax, values, sum
GROUP_ORDER = ("q", "k", "dot", "scores", "softmax", "v", "out", "")


def token_at(G: nx.Graph, t: int) -> str:
    tokens = G.graph.get("tokens", ())
    return token_text(tokens[t]) if 0 <= t < len(tokens) else ""


def is_named(d: dict) -> bool:
    return d.get("role", "internal") != "internal"


def group_of(d: dict) -> tuple:
    """(group, position): k and v get a table per position; inner ops go by scope."""
    role = d.get("role", "internal")
    if role in ("k", "v"):
        return (role, d.get("position", 0))
    if role in ROLE_GROUPS:
        return (ROLE_GROUPS[role], 0)
    last = d.get("scope", "").rsplit("/", 1)[-1]
    return (last, 0) if last in CLUSTERS else ("", 0)


def table_title(G: nx.Graph, group: tuple) -> str:
    """A table's heading; the result of a cluster names the cluster's step, so no
    cluster has a title of its own for edges to cross."""
    kind, t = group
    if kind == "q":
        pos = G.graph.get("pos", 0)
        return f"q \u00b7 pos {pos} {token_at(G, pos)}"
    if kind in ("k", "v"):
        return f"{kind} \u00b7 t={t} {token_at(G, t)}"
    return CLUSTER_TITLES.get(kind, "")


def vector_node(name: str, members: list, title: str, style: Style, max_grad: float,
                arrivals: bool = True) -> str:
    """Named values as one table, so they keep their order on the page: a row each
    left to right, a column each top to bottom (edges then leave and arrive on the
    side that faces the flow, never across the other values).

    Each value has two ports: `in<node>` on its label (edges arrive) and `<node>` on
    its last number (edges leave). Drawn backward, q, k and v add the column `from
    here` to their whole grad: what this head at this position sends them, the grad
    a replay of the head builds up (the animated cell, as in the scope view).
    """
    t = style.theme
    muted = {"color": t.muted, "point_size": "9"}
    across = style.rankdir != "LR"
    columns = ["data"] + (["grad"] if style.backward else [])
    if style.backward and all("from_here" in d for _, d in members):
        columns.append("from here")
    heads = [tag("font", c, **muted) for c in columns]
    lines = []  # per value: its label, then a cell per column
    for port, d in members:
        cells = [tag("td", escape_html(d.get("label", "")), align="left",
                     port="in" + port, bgcolor=t.kind_fill(d.get("kind", "op")), id="l_" + port)]
        for column in columns:
            leaving = {"port": port} if column == columns[-1] else {}
            if column == "data":
                cells.append(tag("td", escape_html(number(d["data"])), align="right", **leaving))
                continue
            value = d["from_here"] if column == "from here" else d["grad"]
            animated = grad_cell(port, style) if column == columns[-1] else {}
            fill = t.signed_fill(value, max_grad)
            cells.append(tag("td", tag("font", escape_html(number(value)), color=text_on(fill)),
                             align="right", bgcolor=fill, **leaving, **animated))
        lines.append(cells)
    heading = tag("b", escape_html(title)) if title else ""
    if not across or not arrivals:  # the title above the columns: no edge comes in there
        if across:
            rows = [["<td></td>"] + [cells[0] for cells in lines]]
            rows += [[tag("td", h, align="left")] + [cells[i + 1] for cells in lines]
                     for i, h in enumerate(heads)]
        else:
            rows = [["<td></td>"] + [tag("td", h) for h in heads]] + lines
        body = tag("tr", tag("td", heading, colspan=str(len(rows[0])),
                             bgcolor=t.cluster)) if heading else ""
    else:  # edges come in at the top: the title in the corner, where none arrives
        # (a table that only sends, q, k or v, keeps it on top: narrower)
        corner = tag("td", heading, bgcolor=t.cluster) if heading else "<td></td>"
        rows = [[corner] + [cells[0] for cells in lines]]
        rows += [[tag("td", h, align="left")] + [cells[i + 1] for cells in lines]
                 for i, h in enumerate(heads)]
        body = ""
    body += "".join(tag("tr", "".join(cells)) for cells in rows)
    table = tag("table", body, border="0", cellborder="1", cellspacing="0", cellpadding="3",
                color=t.text)
    return node_stmt(name, "table", shape="plain", label=Html(table))


def inner_node(G, node, name, style, max_grad, group="") -> str:
    """An unnamed value: a constant as its small grey number, an op as a circle.

    In the softmax, the steps say what they are: the constant added to each score is
    "−max" (minus the largest score), the total of the exps is "Σ" and `**-1` is "1/Σ";
    in the scores, the constant each q·k is multiplied by is "×1/√d"
    (the words the captions use, microgpt_trace.tracer.names).
    """
    d = G.nodes[node]
    if not d["op"]:
        text = number(d["data"])
        if group == "softmax" and d["data"] != 0:
            text = "−max = " + text
        elif is_inverse_sqrt_d(G, node):
            text = "×1/√d = " + text
        return node_stmt(name, "const", shape="plain", label=text, fontsize="9",
                         fontcolor=style.theme.muted)
    symbol = op_symbol(G, node, d)
    if group == "softmax" and symbol == "**-1":
        symbol = "1/Σ"
    elif group == "softmax" and any(is_reciprocal(G, n) for n in G.successors(node)):
        symbol = "Σ"  # the last + of the total: what 1/Σ takes the reciprocal of
    return compact_node(name, symbol, d, style, max_grad)


def endpoints(G: nx.Graph, names: dict, rankdir: str) -> tuple:
    """Where edges leave and arrive: a table row's port, an op node, or the node.

    Edges leave a value on the side facing the flow and arrive on the side facing
    back (right and left of a row, bottom and top of a column), so they never cross
    the table's numbers.
    """
    east, west = (":e", ":w") if rankdir == "LR" else (":s", ":n")
    tails, heads = {}, {}
    for node, name in names.items():
        d = G.nodes[node]
        if not is_named(d):
            tails[node] = heads[node] = name
            continue
        table = "{}{}".format(*group_of(d))
        tails[node] = f"{table}:{name}{east}"
        heads[node] = ("op" + name if d["op"] and G.in_degree(node)
                       else f"{table}:in{name}{west}")
    return tails, heads


def group_body(G, group, nodes, names, style, max_grad) -> str:
    """A group's table of named values, their op nodes, and its inner nodes."""
    table = "{}{}".format(*group)
    named = sorted((n for n in nodes if is_named(G.nodes[n])),
                   key=lambda n: (G.nodes[n].get("position", 0), sort_key(n)))
    body = ""
    if named:
        members = [(names[n], G.nodes[n]) for n in named]
        arrivals = any(G.nodes[n]["op"] and G.in_degree(n) for n in named)
        body += vector_node(table, members, table_title(G, group), style, max_grad, arrivals)
    for n in named:
        if G.nodes[n]["op"] and G.in_degree(n):
            body += op_node("op" + names[n], op_symbol(G, n, G.nodes[n]), style)
            body += edge_stmt("op" + names[n], f"{table}:in{names[n]}"
                              + (":w" if style.rankdir == "LR" else ":n"),
                              f"e_op{names[n]}_{names[n]}", "result")
    inner = (n for n in nodes if not is_named(G.nodes[n]))
    return body + "".join(inner_node(G, n, names[n], style, max_grad, group[0]) for n in inner)


def key_groups(G: nx.Graph, groups: dict, rankdir: str) -> dict:
    """The groups with each key's dot product in a group of its own beside the key's
    table, so the q·k lines stay near their key instead of fanning over every product.

    The ops inside the scores computing key t's score form group ("dot", t): the i-th
    score in id order is key position i's (as for attention_weights). Top to bottom,
    where the tables are wider than the products, they join the key's group instead,
    so that one cluster holds the table and its products.
    """
    scores = sorted((n for n in G if G.nodes[n].get("role") == "score"), key=sort_key)
    moved = {}
    for group, nodes in groups.items():
        for n in nodes:
            if group[0] == "scores" and not is_named(G.nodes[n]):
                reached = nx.descendants(G, n)
                key = next(t for t, score in enumerate(scores) if score in reached)
                moved.setdefault(("dot" if rankdir == "LR" else "k", key), []).append(n)
            else:
                moved.setdefault(group, []).append(n)
    return moved


def stacked(names: list, name: str) -> str:
    """Nodes in one column (one rank), top to bottom in this order."""
    if len(names) < 2:
        return ""
    chain = "".join(edge_stmt(a, b, f"o_{a}_{b}", "order", style="invis")
                    for a, b in zip(names, names[1:]))
    return subgraph(name, chain, rank="same")


def attention_weights(G: nx.Graph) -> list:
    """The softmax weights of the head, in node id order: the model computes the
    weight for key t=0 first, then t=1, ..., so the i-th is key position i's.

    >>> G = nx.MultiDiGraph(pos=1)
    >>> G.add_node(7, role="weight", data=0.75)
    >>> G.add_node(5, role="weight", data=0.25)
    >>> attention_weights(G)
    [0.25, 0.75]
    """
    return [G.nodes[n]["data"] for n in sorted(G.nodes, key=sort_key)
            if G.nodes[n].get("role") == "weight"]


def alpha(colour: str, weight: float) -> str:
    """The colour with an opacity for weight in [0, 1]; never fully invisible.

    >>> alpha("#762a83", 1.0), alpha("#762a83", 0.0)
    ('#762a83ff', '#762a831f')
    """
    return colour + "{:02x}".format(round(255 * (0.12 + 0.88 * min(max(weight, 0.0), 1.0))))


def attention_strip(G: nx.Graph, style: Style) -> str:
    """What attention does, in the style of bertviz: the query token on the left, the
    tokens it sees on the right, and a line to each whose opacity, width and label
    are its softmax weight. Pure layout: these nodes and edges are not values.
    """
    weights = attention_weights(G)
    if not weights:
        return ""
    t = style.theme
    pos = G.graph.get("pos", 0)
    token = dict(shape="box", style="rounded,filled", fillcolor=t.input, color=t.input,
                 fontsize="14", margin="0.06,0.02", height="0.3")
    body = node_stmt("strip_q", "strip", label=f"pos {pos} {token_at(G, pos)}", **token)
    for k in range(len(weights)):
        body += node_stmt(f"strip_k{k}", "strip", label=f"t={k} {token_at(G, k)}", **token)
    for k, w in enumerate(weights):
        body += edge_stmt("strip_q", f"strip_k{k}", f"strip_e{k}", "strip", label=number(w),
                          color=alpha(t.magnitude, w / max(weights)), fontcolor=t.text,
                          penwidth=f"{1 + 5 * w:.2f}", arrowhead="none")
    keys = [f"strip_k{k}" for k in range(len(weights))]
    # t=0 first: on top left to right (dot stacks a rank bottom up), at left top down
    body += stacked(keys[::-1] if style.rankdir == "LR" else keys, "strip_keys")
    return subgraph("cluster_strip", body,
                    label="attention: line width and number = softmax weight; darkest = largest",
                    style="rounded", color=t.cluster_border, fontcolor=t.muted)


def head_lines(G: nx.MultiDiGraph, style: Style) -> str:
    """q, k and v tables, each key's products, then scores, softmax and the weighted
    sum as clusters. No cluster has a title of its own (edges would cross it): the
    heading of the table inside says what it is."""
    names = node_names(G)
    max_grad, max_flow = scales(G)
    groups = {}
    for node in names:
        groups.setdefault(group_of(G.nodes[node]), []).append(node)
    groups = key_groups(G, groups, style.rankdir)
    order = sorted(groups, key=lambda g: (GROUP_ORDER.index(g[0]), g[1]))
    # a key's table with its products (top to bottom) is boxed like the products alone
    boxed_keys = {g for g in order if g[0] == "k"
                  and any(not is_named(G.nodes[n]) for n in groups[g])}
    body = ""
    for group in order:
        inner = group_body(G, group, groups[group], names, style, max_grad)
        if group[0] in CLUSTERS or group[0] == "dot" or group in boxed_keys:
            name = "dot{}".format(group[1]) if group[0] in ("k", "dot") else group[0]
            inner = subgraph(f"cluster_{name}", inner, label="",
                             style="rounded,filled", fillcolor=style.theme.cluster,
                             color=style.theme.cluster_border)
        body += inner
    body += stacked(["{}{}".format(*g) for g in order if g[0] == "v"], "column_v")
    tails, heads = endpoints(G, names, style.rankdir)
    for u, v, key, e in keyed_edges(G):
        body += value_edge(tails[u], heads[v], e, style, max_flow,
                           edge_id(names[u], names[v], key))
    # room between columns for the q and k lines to reach their products one by one;
    # and little crossing reduction, which would shuffle the keys' clusters
    layout = f"\tgraph{attrs(ranksep='0.55', mclimit='0.1')}\n"
    return layout + attention_strip(G, style) + body


def head_title(G: nx.Graph, style: Style) -> str:
    """"layer 0 · head 2 · query position 3 'n'", the text so far, and the key.

    Every fill the view uses is in the key. Drawn backward, the key also names the
    two grads the tables show: `grad`, from the whole text's loss (a k or v of an
    earlier position also holds what later queries sent it), and q, k and v's `from
    here`, this position's share (what the animation, which replays this head only,
    builds up).
    """
    t = style.theme
    pos = G.graph.get("pos", 0)
    tokens = " ".join(token_text(t) for t in G.graph.get("tokens", ()))
    title = (f"layer {G.graph.get('layer', 0)} \u00b7 head {G.graph.get('head', 0)} \u00b7 "
             f"query position {pos} {token_at(G, pos)} \u00b7 text: {tokens}")
    extra = [("op giving a named value", t.op_symbol)]
    if not style.backward:
        extra.append(("inner op (numbers in its tooltip)", t.kind_fill("op")))
    if attention_weights(G):
        extra += [("token", t.input), ("attention weight", t.magnitude)]
    if style.backward:
        extra.append(("grad: whole text's loss", ""))
        if any("from_here" in d for _, d in G.nodes(data=True)):
            extra.append(("from here: this position's share, what this head sends q, k, v",
                          ""))
    kinds = {d.get("kind", "op") for _, d in G.nodes(data=True)}  # constants are unfilled
    return key_label(title, style, [k for k in ("param", "input", "op") if k in kinds],
                     flows=G.number_of_edges() > 0, extra=extra)
