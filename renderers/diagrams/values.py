"""DOT building blocks, and the value-graph views: expressions and whole models.

Every piece of DOT is a tiny function returning a string, as in the graphviz
package's dot.py. Attribute values always go through `quoting.quote` and label text
through `quoting.escape_html`, so no user text is ever pasted into DOT unescaped.
Nodes and edges are emitted sorted by id, and numbers with a fixed format, so the
same graph always gives the same bytes.

Every node, edge and grad cell carries a stable `id` (the node's DOT name "n12",
"e_<tail>_<head>_<arg>" for an argument edge, "g_n12" for a grad cell), and nodes and
edges a `class` ("value", "op", "compact", "table", "const", "block"; "arg",
"result", "order"), which dot copies into its SVG and JSON: an animation finds what
it recolours by these, never by the shape of dot's output. (dot 2.43 refuses `class`
on a table cell, so cells have an id only.)
"""

from dataclasses import dataclass
from typing import Optional

import networkx as nx

from microgpt_trace.tracer.names import display_label, power_exponent
from microgpt_trace.tracer.text import number

from ..quoting import escape_html, quote
from ..themes import Theme, text_on

__all__ = ["Style", "Frames", "Html", "attrs", "tag", "node_stmt", "edge_stmt",
           "subgraph", "digraph", "node_names", "sort_key", "sorted_edges", "keyed_edges",
           "edge_id", "grad_cell", "scales", "op_symbol",
           "value_node", "op_node", "compact_node", "value_edge", "edge_label", "key_label",
           "value_lines"]

# What each op looks like in its small node (x*y is shown as a multiplication sign).
OP_SYMBOLS = {"+": "+", "*": "\u00d7", "**": "^", "exp": "exp", "log": "log",
              "relu": "relu", "tanh": "tanh", "dot": "dot"}


@dataclass(frozen=True)
class Frames:
    """What the base drawing of an animation needs beyond a static diagram.

    Every grad cell becomes a link, so that dot draws it as a <g> of its own (id
    "a_g_<name>") which a frame can recolour, and is made wide enough for the longest
    number it will show; argument edges are drawn idle, in one colour and width, until
    gradient flows along them.
    """

    cell_widths: dict  # DOT name -> width (points) of its grad cell
    idle_edge: str


@dataclass(frozen=True)
class Style:
    """The drawing options of dot_source, shared by every view."""

    rankdir: str
    edge_labels: bool
    backward: bool
    theme: Theme
    frames: Optional[Frames] = None  # set when drawing the base of an animation


class Html(str):
    """An HTML-like label whose text parts are already escaped; attrs() wraps it in <>."""


def attrs(**pairs) -> str:
    """A DOT attribute list; Html values become <...>, everything else is quoted."""
    if not pairs:
        return ""
    items = (f"{k}=<{v}>" if isinstance(v, Html) else f"{k}={quote(v)}" for k, v in pairs.items())
    return " [" + ", ".join(items) + "]"


def tag(name: str, content: str = "", **attributes) -> str:
    """One HTML-like element; `point_size` becomes point-size, values are escaped."""
    attr = "".join(f' {k.replace("_", "-")}="{escape_html(v)}"' for k, v in attributes.items())
    return f"<{name}{attr}>{content}</{name}>"


def node_stmt(name: str, classes: str = "", **pairs) -> str:
    """A node whose SVG group and JSON object carry its name as id, and its classes."""
    return f"\t{name}{attrs(id=name, **{'class': classes} if classes else {}, **pairs)}\n"


def edge_stmt(tail: str, head: str, ident: str = "", classes: str = "", **pairs) -> str:
    """An edge; with an id (and classes) when anything will look for it."""
    marks = {"id": ident} if ident else {}
    marks.update({"class": classes} if classes else {})
    return f"\t{tail} -> {head}{attrs(**marks, **pairs)}\n"


def edge_id(tail: str, head: str, key) -> str:
    """An argument edge's id: its ends' DOT names and its argument position.

    >>> edge_id("n0", "n2", 1)
    'e_n0_n2_1'
    """
    return f"e_{tail}_{head}_{key}"


def grad_cell(name: str, style: Style) -> dict:
    """The attributes of a grad cell: its id; in an animation a link, and its width."""
    cell = {"id": "g_" + name}
    if style.frames:
        cell.update(href="#", width=str(style.frames.cell_widths[name]))
    return cell


def subgraph(name: str, body: str, **pairs) -> str:
    """A subgraph (a cluster if name starts with "cluster"), its body indented once."""
    inner = "".join("\t" + line + "\n" for line in body.splitlines())
    head = f"\tgraph{attrs(**pairs)}\n" if pairs else ""
    return f"\tsubgraph {quote(name)} {{\n\t{head}{inner}\t}}\n"


def digraph(body: str, style: Style, label: str = "", **graph) -> str:
    """The whole DOT document: defaults for graph, nodes and edges, then the body."""
    t = style.theme
    title = {"label": Html(label), "labelloc": "t", "labeljust": "l"} if label else {}
    graph_attrs = attrs(rankdir=style.rankdir, bgcolor="#ffffff", fontname=t.fontname,
                        fontcolor=t.text, nodesep="0.2", ranksep="0.35", **title, **graph)
    node_attrs = attrs(fontname=t.fontname, fontsize="12", fontcolor=t.text, color=t.edge)
    edge_attrs = attrs(fontname=t.fontname, fontsize="10", fontcolor=t.muted, color=t.edge,
                       arrowsize="0.6")
    return f"digraph {{\n\tgraph{graph_attrs}\n\tnode{node_attrs}\n\tedge{edge_attrs}\n{body}}}\n"


def sort_key(node):
    return (0, node, "") if isinstance(node, int) else (1, 0, str(node))


def node_names(G: nx.Graph) -> dict:
    """DOT names by sorted node id ("n0", "n1", ...), whatever the ids' type."""
    return {node: f"n{i}" for i, node in enumerate(sorted(G.nodes, key=sort_key))}


def keyed_edges(G: nx.Graph) -> list:
    """(u, v, key, data) by (u, v, key): one entry per argument; key 0 in a DiGraph."""
    if G.is_multigraph():
        return sorted(G.edges(keys=True, data=True),
                      key=lambda e: (sort_key(e[0]), sort_key(e[1]), e[2]))
    edges = sorted(G.edges(data=True), key=lambda e: (sort_key(e[0]), sort_key(e[1])))
    return [(u, v, 0, d) for u, v, d in edges]


def sorted_edges(G: nx.Graph) -> list:
    """(u, v, data) by (u, v, key): one entry per argument in a multigraph."""
    return [(u, v, d) for u, v, _, d in keyed_edges(G)]


def scales(G: nx.Graph) -> tuple:
    """The largest |grad| over nodes and |contribution| over edges (0 if none)."""
    grad = max((abs(d.get("grad", 0.0)) for _, d in G.nodes(data=True)), default=0.0)
    flow = max((abs(d.get("contribution", 0.0)) for *_, d in G.edges(data=True)), default=0.0)
    return grad, flow


def power_symbol(G, node) -> str:
    k = power_exponent(G, node)
    return OP_SYMBOLS["**"] if k is None else "**" + number(k)


def op_symbol(G, node, d) -> str:
    if d["op"] == "**":
        return power_symbol(G, node)
    return OP_SYMBOLS.get(d["op"], d["op"])


def number_rows(name: str, d: dict, style: Style, max_grad: float, with_data: bool = True,
                name_fill: str = "#ffffff") -> str:
    """The data row, and the grad row coloured by sign and size when drawing backward."""
    t = style.theme

    def row(title, value, fill="#ffffff", **cell):
        name_cell = tag("td", tag("font", title, color=t.muted, point_size="9"),
                        align="left", bgcolor=name_fill)
        shown = tag("font", escape_html(number(value)), color=text_on(fill))
        return tag("tr", name_cell + tag("td", shown, align="right", bgcolor=fill, **cell))

    rows = row("data", d["data"]) if with_data else ""
    if style.backward:
        rows += row("grad", d["grad"], t.signed_fill(d["grad"], max_grad),
                    **grad_cell(name, style))
    return rows


def value_node(name: str, label: str, d: dict, style: Style, max_grad: float,
               root: bool = False) -> str:
    """A value as a table: its label (as a reader sees it) on the kind's colour, then
    data and grad.

    A constant (an unnamed leaf) is headed by its number, so it reads as the number
    it is; an unnamed op has no header and its kind colour tints the row names.
    A root gets a thick border: it is where backward starts.
    """
    fill = style.theme.kind_fill(d.get("kind", "op"))
    header = label or ("" if d["op"] else number(d["data"]))
    if header:
        rows = tag("tr", tag("td", tag("b", escape_html(header)), colspan="2", bgcolor=fill))
        rows += number_rows(name, d, style, max_grad, with_data=bool(label or d["op"]))
    else:
        rows = number_rows(name, d, style, max_grad, name_fill=fill)
    table = tag("table", rows, border="2" if root else "0", cellborder="1",
                cellspacing="0", cellpadding="3", color=style.theme.text)
    return node_stmt(name, "value", shape="plain", label=Html(table))


def op_node(name: str, symbol: str, style: Style) -> str:
    """The small node holding an op's symbol, between its operands and its value."""
    return node_stmt(name, "op", shape="circle" if len(symbol) == 1 else "ellipse",
                     label=symbol, style="filled", fillcolor=style.theme.op_symbol,
                     width="0.3", height="0.3", margin="0.02", fontsize="13")


def compact_node(name: str, symbol: str, d: dict, style: Style, max_grad: float) -> str:
    """A tiny unnamed value (an inner op or a constant), coloured by its grad.

    The numbers go into the tooltip: shown on every inner node they would drown the
    labelled values a reader came for.
    """
    t = style.theme
    fill = t.signed_fill(d["grad"], max_grad) if style.backward else t.kind_fill(d["kind"])
    tip = f"data {number(d['data'])}" + (f", grad {number(d['grad'])}" if style.backward else "")
    return node_stmt(name, "compact", shape="circle" if len(symbol) == 1 else "ellipse",
                     label=symbol, style="filled", fillcolor=fill, fontcolor=text_on(fill),
                     width="0.28", height="0.28", margin="0.01", fontsize="9",
                     tooltip=f"{symbol}: {tip} ({d.get('scope', '')})")


def value_edge(tail: str, head: str, e: dict, style: Style, max_flow: float,
               ident: str = "") -> str:
    """An argument edge: width by how much gradient flowed back along it (in an
    animation, idle until it flows)."""
    extra = {}
    if style.frames:
        extra["color"] = style.frames.idle_edge
    elif style.backward and max_flow:
        extra["penwidth"] = f"{1 + 3 * abs(e['contribution']) / max_flow:.2f}"
    if style.edge_labels:
        extra.update(label=edge_label(e, style.backward))
    return edge_stmt(tail, head, ident, "arg", **extra)


def edge_label(e: dict, backward: bool) -> Html:
    """"local ∂ = 2", and below it "grad back = 1": two named numbers, never a product
    to misread. An xlabel, which dot places beside its own edge after the layout.

    >>> print(edge_label({"local_grad": 2.0, "contribution": 1.0}, True))
    local ∂ = 2<br align="left"/>grad back = 1<br align="left"/>
    """
    lines = ["local \u2202 = " + number(e["local_grad"])]
    if backward:
        lines.append("grad back = " + number(e["contribution"]))
    return Html("".join(escape_html(line) + '<br align="left"/>' for line in lines))


KIND_NAMES = {"param": "parameter", "input": "input", "const": "constant", "op": "computed"}


KEY_CHARS = 56  # a key row's budget in characters: about 300 pt at the key's 10 pt


def key_label(title: str, style: Style, kinds=(), flows: bool = False, extra=()) -> str:
    """The title, then a key: kind colours, gradient signs, what edges mean.

    The key wraps into rows of at most KEY_CHARS characters (a long note into lines),
    each row a table of its own so that no cell is stretched to another row's width:
    a figure is as wide as its graph needs, not as its key (three nodes of `exp(a)`
    are not drawn 900 pt wide). `extra` adds (text, fill) cells after the kinds, a
    view's own colours (a fill of "" for a note in plain text).
    """
    t = style.theme
    items = [(KIND_NAMES.get(k, k), t.kind_fill(k)) for k in kinds] + list(extra)
    if style.backward:
        items += [(sign, t.signed_fill(value, 1))
                  for sign, value in (("grad < 0", -1), ("grad > 0", 1))]
        if flows:
            items.append(("edge width: |gradient flowing back|", ""))
    if style.edge_labels and flows:
        items.append(("edge labels: local \u2202 = \u2202 op / \u2202 this operand", ""))
        if style.backward:
            items.append(("grad back = local \u2202 \u00d7 grad of the op, added to the "
                          "operand's grad", ""))
    rows = [tag("tr", tag("td", tag("font", tag("b", escape_html(title)), point_size="16",
                                    color=t.text), align="left"))] if title else []
    rows += [tag("tr", tag("td", key_row(row), align="left")) for row in wrapped(items)]
    return tag("font", tag("table", "".join(rows), border="0", cellspacing="0",
                           cellpadding="0"), point_size="10", color=t.muted)


def wrapped(items: list) -> list:
    """Key items greedily in rows of at most KEY_CHARS characters (one item a row
    when it is longer)."""
    rows, width = [], KEY_CHARS
    for text, fill in items:
        if not rows or width + len(text) + 2 > KEY_CHARS:
            rows.append([])
            width = 0
        rows[-1].append((text, fill))
        width += len(text) + 2
    return rows


def key_row(items: list) -> str:
    """One row of the key: a coloured cell per swatch, plain text for a note."""
    cells = [tag("td", tag("font", escape_html(text), color=text_on(fill)), bgcolor=fill,
                 border="1") if fill else tag("td", escape_html(text), align="left")
             for text, fill in items]
    return tag("table", tag("tr", "".join(cells)), border="0", cellspacing="4",
               cellpadding="3", align="left")


def value_box_and_op(G, node, names, style, max_grad, roots) -> str:
    """A value's box, plus its op node when its operands are in the graph."""
    d, name = G.nodes[node], names[node]
    stmts = value_node(name, display_label(G, d.get("label", "")), d, style, max_grad,
                       node in roots)
    if d["op"] and G.in_degree(node):
        stmts += op_node("op" + name, op_symbol(G, node, d), style)
        stmts += edge_stmt("op" + name, name, f"e_op{name}_{name}", "result")
    return stmts


def child_scopes(scopes, prefix: str) -> list:
    """The scopes one level below prefix, in order of first appearance."""
    children = {}
    for scope in scopes:
        if scope != prefix and (not prefix or scope.startswith(prefix + "/")):
            children.setdefault(scope[len(prefix):].lstrip("/").split("/")[0], None)
    return [f"{prefix}/{child}" if prefix else child for child in children]


def scope_clusters(by_scope: dict, style: Style, prefix: str = "") -> str:
    """Nested clusters from "a/b/c" scopes, children in order of first appearance.

    A scope with no nodes of its own and a single child is merged into it (one
    cluster "layer0/attn", not two nested ones).
    """
    body = "".join(by_scope.get(prefix, ()))
    for full in child_scopes(by_scope, prefix):
        while full not in by_scope and len(child_scopes(by_scope, full)) == 1:
            full = child_scopes(by_scope, full)[0]
        body += subgraph("cluster_" + full, scope_clusters(by_scope, style, full),
                         label=full[len(prefix):].lstrip("/"), style="rounded",
                         color=style.theme.cluster_border, fontcolor=style.theme.muted)
    return body


def value_lines(G: nx.MultiDiGraph, style: Style, clustered: bool = False) -> str:
    """Expression style: a box per value, a small node per op, an edge per argument.

    Edges run from each operand's box to the op node of the value using it, so `a*a`
    shows two edges. With `clustered`, values are grouped in nested scope clusters.
    """
    names = node_names(G)
    max_grad, max_flow = scales(G)
    roots = set(G.graph.get("roots", ()))
    by_scope = {}
    for node in names:
        scope = G.nodes[node].get("scope", "") if clustered else ""
        by_scope.setdefault(scope, []).append(
            value_box_and_op(G, node, names, style, max_grad, roots))
    body = scope_clusters(by_scope, style)
    for u, v, key, e in keyed_edges(G):
        head = "op" + names[v] if G.nodes[v]["op"] else names[v]
        body += value_edge(names[u], head, e, style, max_flow, edge_id(names[u], names[v], key))
    return body
