"""The blocks view: a model collapsed by scope, one box per block, a row per position.

Readable at 50-150 blocks: the numbers a reader compares (node count, gradient norm)
are in each box, op counts in smaller text under them, every block kind in one column
across the rows, the weights are cylinders in a row of their own (each block tagged
with the weights it reads), and edge width says how much gradient crossed between
two blocks.
"""

import re

import networkx as nx

from microgpt_trace.tracer.text import number, token_text

from ..quoting import escape_html
from ..themes import text_on
from .values import (
    Html,
    Style,
    edge_id,
    edge_stmt,
    grad_cell,
    keyed_edges,
    node_names,
    node_stmt,
    sort_key,
    subgraph,
    tag,
)

__all__ = ["blocks_lines", "blocks_title"]


def natural(scope: str) -> tuple:
    """Sort key putting head2 before head10 (digits compared as numbers).

    >>> sorted(["h10", "h2", "h1"], key=natural)
    ['h1', 'h2', 'h10']
    """
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", scope))


def position_title(G: nx.Graph, t: int) -> str:
    tokens = G.graph.get("tokens", ())
    return f"pos {t} {token_text(tokens[t])}" if 0 <= t < len(tokens) else f"pos {t}"


def block_node(name: str, d: dict, style: Style, max_norm: float, root: bool) -> str:
    """Label, the scope it stands for, node count, gradient norm, then op counts."""
    t = style.theme
    muted = {"color": t.muted, "point_size": "9"}
    scope = d.get("scope", "")
    where = scope.split("/", 1)[1] if scope.startswith("pos") and "/" in scope else scope
    rows = tag("tr", tag("td", tag("b", escape_html(d.get("label", ""))), colspan="2"))
    if where and where != d.get("label"):
        rows += tag("tr", tag("td", tag("font", escape_html(where), **muted), colspan="2"))
    size, norm = ("grad norm", d.get("grad_norm", 0.0)) if style.backward else (
        "data norm", d.get("data_norm", 0.0))
    fill = t.magnitude_fill(norm, max_norm) if style.backward else "#ffffff"
    rows += tag("tr", tag("td", escape_html(f"{d.get('n_nodes', 0)} nodes"), align="left")
                + tag("td", tag("font", escape_html(f"{size} {number(norm)}"), color=text_on(fill)),
                      bgcolor=fill, border="1", align="right",
                      **(grad_cell(name, style) if style.backward else {})))
    if d.get("relu_total"):
        rows += tag("tr", tag("td", escape_html(
            f"relu: {d['relu_active']}/{d['relu_total']} active"), colspan="2", align="left"))
    if d.get("op_counts"):
        rows += tag("tr", tag("td", tag("font", escape_html(op_counts_text(d["op_counts"])),
                                        **muted),
                              colspan="2", align="left"))
    table = tag("table", rows, border="0", cellborder="0", cellspacing="1", cellpadding="2",
                color=t.text)
    param = d.get("kind") == "param"
    return node_stmt(name, "block", shape="cylinder" if param else "box",
                     style="filled" if param else "filled,rounded",
                     fillcolor=t.param if param else t.op, label=Html(table), margin="0.05",
                     penwidth="3" if root else "1")


# each op a block can hold, in words: (one, many)
OP_WORDS = {"dot": ("dot product", "dot products"), "relu": ("ReLU", "ReLUs"),
            "tanh": ("tanh", "tanhs"), "*": ("product", "products"), "+": ("sum", "sums"),
            "**": ("power", "powers"), "exp": ("exp", "exps"), "log": ("log", "logs")}


def op_counts_text(op_counts: str) -> str:
    """A block's op counts in words, most frequent first as the counts are given.

    >>> op_counts_text("dot:166 relu:64 *:42 **:1 +:1")
    '166 dot products · 64 ReLUs · 42 products · 1 power · 1 sum'
    >>> op_counts_text("neg:2")
    '2 neg ops'
    """
    words = []
    for item in op_counts.split():
        op, _, count = item.rpartition(":")
        n = int(count)
        one, many = OP_WORDS.get(op, (f"{op} op", f"{op} ops"))
        words.append(f"{n} {one if n == 1 else many}")
    return " \u00b7 ".join(words)


def block_edge(tail: str, head: str, e: dict, style: Style, max_width: float,
               drawn_from: str = None, **layout) -> str:
    """Width by the gradient that crossed (backward) or by how many edges (forward);
    in an animation, idle until gradient crosses. `drawn_from` starts the line
    elsewhere than its tail (a weight's tag) under the same id."""
    measure = e.get("contribution_norm", 0.0) if style.backward else e.get("count", 0)
    extra = {"penwidth": f"{1 + 4 * measure / max_width:.2f}"} if max_width else {}
    if style.frames:
        extra = {"color": style.frames.idle_edge}
    if style.edge_labels and not drawn_from:  # a weight's flow is written in its tag
        # xlabel on an edge left out of the ranking: dot 2.43's cluster ranking fails
        # ("trouble in init_rank") on some block graphs whose such edges carry labels
        extra["label" if not layout else "xlabel"] = flow_text(e, style)
    return edge_stmt(drawn_from or tail, head, edge_id(tail, head, 0), "arg", **extra, **layout)


def flow_text(e: dict, style: Style) -> str:
    """"16 edges · flow norm 0.375": how many edges of the graph a block edge stands
    for, and (backward) the L2 norm of the gradient that crossed it."""
    count = e.get("count", 0)
    text = f"{count} edge" + ("" if count == 1 else "s")
    if style.backward:
        text += f" \u00b7 flow norm {number(e.get('contribution_norm', 0.0))}"
    return text


def heads_in_order(G: nx.Graph, names: dict, t: int) -> str:
    """Each position's head blocks in one column, head0 on top: dot alone would order
    them to shorten edges (0, 3, 2, 1), and a reader looks for them in order."""
    siblings = {}
    for n in sorted(G.nodes, key=lambda n: natural(G.nodes[n].get("scope", ""))):
        if G.nodes[n].get("position", -1) != t:
            continue
        parent, _, last = G.nodes[n].get("scope", "").rpartition("/")
        if re.fullmatch(r"head\d+", last):
            siblings.setdefault(parent, []).append(names[n])
    body = ""
    for parent, column in siblings.items():
        if len(column) > 1:
            # top to bottom in a left-to-right rank is the reverse of the edges' order
            chain = "".join(edge_stmt(b, a, f"o_{b}_{a}", "order", style="invis")
                            for a, b in zip(column, column[1:]))
            body += subgraph("heads_" + parent, chain, rank="same")
    return body


def weight_tags(G: nx.Graph, names: dict, style: Style) -> tuple:
    """A small tag beside each block naming the weights it reads ("attn_wq attn_wk"),
    in the weights' colour, and the tail each weight's edge is drawn from.

    Every position reads the same weights: drawn from the cylinders, their edges
    would cross the whole figure. The edges keep their ids (an animation finds them),
    they only start at the tag of the block they enter; the cylinders, in their own
    column, hold the grads summed over every position.
    """
    tails, tags = {}, {}
    for u, v in sorted(G.edges, key=lambda e: (sort_key(e[1]), sort_key(e[0]))):
        if G.nodes[u].get("kind") == "param" and G.nodes[v].get("position", -1) >= 0:
            tag_name = "w_" + names[v]
            tails[u, v] = tag_name
            label = weight_name(G.nodes[u])
            if style.edge_labels:  # one line per weight: labels on the short edges would pile up
                label += ": " + flow_text(G.edges[u, v], style)
            tags.setdefault(v, (tag_name, []))[1].append(label)
    tags = {v: (name, sorted(labels, key=natural)) for v, (name, labels) in tags.items()}
    # in the block's own column, right above it: a column earlier it would sit
    # among other blocks (the heads), and dot would reorder them around it
    stmts = {v: node_stmt(name, "weights", shape="box", style="filled,rounded",
                          fillcolor=style.theme.param, color=style.theme.param,
                          fontsize="9", margin="0.04,0.02", height="0.2", width="0.3",
                          label=Html('<br align="left"/>'.join(map(escape_html, labels))
                                     + ('<br align="left"/>' if style.edge_labels else ""))
                          if style.edge_labels else " ".join(labels))
             + subgraph("column_" + name, f"\t{name}\n\t{names[v]}\n", rank="same")
             for v, (name, labels) in tags.items()}
    return tails, stmts


def weight_name(d: dict) -> str:
    """"layer0.attn_wq" -> "attn_wq": the row already says which position it is."""
    return d.get("label", "").split(".", 1)[-1]


def same_block(a: dict, b: dict) -> bool:
    """The same block (its scope below the position) at two different positions.

    >>> same_block({"scope": "pos0/layer0/attn", "position": 0},
    ...            {"scope": "pos2/layer0/attn", "position": 2})
    True
    """
    def below(d):
        return d.get("scope", "").split("/", 1)[-1]
    return -1 < a.get("position", -1) != b.get("position", -1) > -1 and below(a) == below(b)


def first_use(G: nx.Graph, param) -> tuple:
    """The first block reading a weight (blocks are numbered in the order the model
    computes them), so the weights row runs in reading order too; weights first read
    by the same block (all of a layer's, at depth 1) by name."""
    return (min(G.successors(param), key=sort_key, default=param),
            natural(G.nodes[param].get("label", "")))


def weights_row(params: list, style: Style) -> str:
    """The weight cylinders side by side in a row of their own, headed by what their
    grads are: one column of them would be as tall as all the positions."""
    text = "weights (grads summed over every position)" if style.backward else "weights"
    title = row_title("title_weights", text, style)
    chain = ["title_weights"] + params
    return title + "".join(edge_stmt(a, b, f"o_{a}_{b}", "order", style="invis")
                           for a, b in zip(chain, chain[1:]))


def row_title(name: str, text: str, style: Style) -> str:
    """A position's title as a node at the start of its row: flow labels, which dot
    places clear of nodes but not of cluster titles, never cover it."""
    return node_stmt(name, "title", shape="plain", label=text, fontsize="14",
                     fontcolor=style.theme.muted)


def blocks_lines(G: nx.DiGraph, style: Style) -> str:
    """Blocks in a cluster per position, each row headed by its title; each block's
    weights tagged beside it; the weights themselves in one column."""
    names = node_names(G)
    roots = set(G.graph.get("roots", ()))
    max_norm = max((d.get("grad_norm", 0.0) if style.backward else d.get("data_norm", 0.0)
                    for _, d in G.nodes(data=True)), default=0.0)
    tails, tags = weight_tags(G, names, style)
    by_position = {}
    for node in sorted(names, key=lambda n: natural(G.nodes[n].get("scope", ""))):
        by_position.setdefault(G.nodes[node].get("position", -1), []).append(
            tags.get(node, "") + block_node(names[node], G.nodes[node], style, max_norm,
                                            node in roots))
    body = "".join(by_position.pop(-1, ()))
    for t in sorted(by_position):
        title = row_title(f"title_pos{t}", position_title(G, t), style)
        body += subgraph(f"cluster_pos{t}", title + "".join(by_position[t])
                         + heads_in_order(G, names, t), label="", style="rounded,filled",
                         fillcolor=style.theme.cluster, color=style.theme.cluster_border)
    params = sorted((n for n in G.nodes if G.nodes[n].get("kind") == "param"),
                    key=lambda n: first_use(G, n))
    params = [names[n] for n in params]
    if params:
        body += weights_row(params, style)
    key = "contribution_norm" if style.backward else "count"
    max_width = max((e.get(key, 0) for *_, e in G.edges(data=True)), default=0)
    for u, v, _, e in keyed_edges(G):
        # keys and values reaching the same block of a later position: left out of
        # the ranking, which would otherwise shift every row one column right
        across = same_block(G.nodes[u], G.nodes[v])
        body += block_edge(names[u], names[v], e, style, max_width, tails.get((u, v)),
                           **({"constraint": "false"} if across else {}))
    return body


def blocks_title(G: nx.Graph, style: Style) -> str:
    """What was collapsed, to which depth, the text, and a key."""
    t = style.theme
    tokens = " ".join(token_text(x) for x in G.graph.get("tokens", ()))
    title = " \u00b7 ".join(part for part in (
        G.graph.get("source", ""), f"blocks at depth {G.graph.get('depth', '?')}",
        f"tokens: {tokens}" if tokens else "") if part)
    cells = tag("td", tag("font", tag("b", escape_html(title)), point_size="16", color=t.text),
                align="left")
    cells += tag("td", "parameter", bgcolor=t.param, border="1")
    cells += tag("td", "block", bgcolor=t.op, border="1")
    if style.backward:
        full = t.magnitude_fill(1, 1)
        cells += tag("td", tag("font", "large grad norm", color=text_on(full)),
                     bgcolor=full, border="1")
        cells += tag("td", escape_html("grad norm = \u221a(sum of grad\u00b2) over the "
                                       "block's values"))
        cells += tag("td", "edge width: gradient that crossed")
    else:
        cells += tag("td", "edge width: number of edges")
    return tag("font", tag("table", tag("tr", cells), border="0", cellspacing="4",
                           cellpadding="3"), point_size="10", color=t.muted)
