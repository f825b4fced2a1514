"""The scope view: any part of the model at op level, drawn as the head view is.

Named values are tables, a row per element with data and grad; unnamed inner ops are
small circles coloured by their grad (numbers in the tooltip), a constant used once
written into its op ("×0.0625", "−max"); inputs from outside the scope are tables
too, with a column `from here` for the grad this scope alone sends them (what an
animation of the scope builds up). Sub-scopes (rmsnorm, fc1, relu, ...) are clusters.

Weights are summarised, not drawn one by one. fc1 is 64 rows of 16: drawn weight by
weight it would put 1,024 boxes and edges around the 64 dot products they feed. A dot
product reads exactly one row, so its own table row carries that weights row as three
L2 norms, in the weights' colour: the row's norm, its grad's norm (whole loss) and the
norm of what this scope sends it (0 for every row of fc1 when all ReLUs are closed).
Kept in the consumer's row, the weights add no edge and no column of the layout; a
separate table per matrix would stand in the same rank as the vector the dots read
and push every cluster into a staircase. Dense wiring (every row of xn2 into every
dot of fc1) is one bundled edge between the tables.

The marks of what the scope teaches are drawn where they happen, each in the key: a
ReLU whose input is ≤ 0 is a closed gate (a dark cell "off" where its edge arrives);
RMSNorm's scale is one ringed node feeding every output; the first residual `+`
writes the grad it passes back on both its operand edges; logits get p and
(p − y)/n beside their grad; the notes under the title (microgpt_trace.tracer.scope_notes) say it
in words, with the numbers.
"""

import math
from collections import Counter, defaultdict

import networkx as nx

from microgpt_trace.tracer.names import by_character, display_label
from microgpt_trace.tracer.scope_notes import scope_heading, teaching_notes
from microgpt_trace.tracer.text import number, token_text

from ..quoting import escape_html
from ..themes import text_on
from .head import stacked
from .values import (
    Html,
    Style,
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

__all__ = ["scope_lines", "scope_title", "GATE_CLOSED", "PASS_FILL"]

GATE_CLOSED = "#3b3b3b"  # a ReLU that passes nothing: a dark cell, "off"
GATE_OPEN = "#ffffff"  # ... one that passes data and grad: "on"
PASS_FILL = "#fff2b3"  # a + that hands its grad to both operands unchanged
SCALE_RING = "#e66100"  # RMSNorm's one shared scale


def table_order(G: nx.Graph) -> list:
    """Table groups: inputs first (a name's positions together, in order), then the
    rest in the order the model computes them."""
    first, family = {}, {}
    for n in sorted(G, key=sort_key):
        group = G.nodes[n].get("group")
        if group is not None:
            name = group.split("@")[0]
            family.setdefault(name, n)
            first.setdefault(group, (G.nodes[n]["role"] != "input", family[name],
                                     position(group), n))
    return sorted(first, key=first.get)


def position(group: str) -> int:
    return int(group.split("@pos")[1]) if "@pos" in group else -1


def has_op_circle(G: nx.Graph, node) -> bool:
    """A named value gets its op drawn as a circle unless every edge into it is part
    of a bundle between whole tables (then the table's title names the op)."""
    d = G.nodes[node]
    if not d["op"] or d["role"] == "input" or d.get("gate"):
        return False
    edges = list(G.in_edges(node, data="bundle"))
    return not edges or any(b is None or ">n" in b for *_, b in edges)


def header_row(style: Style, columns: list, gates: bool = False) -> str:
    t = style.theme
    muted = {"color": t.muted, "point_size": "9"}
    first = tag("td", tag("font", "gate", **muted)) + "<td></td>" if gates else "<td></td>"
    return tag("tr", first + "".join(tag("td", tag("font", escape_html(c), **muted))
                                            for c in columns))


def columns_of(members: list, style: Style) -> list:
    """The numeric columns a table shows, from what its rows carry."""
    first = members[0][1]
    columns = ["data"]
    if style.backward:
        columns.append("grad")
        if first["role"] == "input":
            columns.append("from here")
    if any("prob" in d for _, d in members):
        columns.append("p")
    if style.backward and any("softmax_grad" in d for _, d in members):
        columns.append("(p − y)/n")
    return columns


def number_cell(value: float, style: Style, max_grad: float, coloured: bool, **extra) -> str:
    fill = style.theme.signed_fill(value, max_grad) if coloured else "#ffffff"
    return tag("td", tag("font", escape_html(number(value)), color=text_on(fill)),
               align="right", bgcolor=fill, **extra)


def row_cells(port: str, d: dict, columns: list, style: Style, max_grad: float,
              before: str = "") -> str:
    """One row: the label (edges arrive at its `in` port), then the numbers; the grad
    this replay builds up (grad, or from here for an input) is the animated cell."""
    t = style.theme
    label = escape_html(d.get("label") or d["op"])
    if d.get("target"):
        label = tag("b", label + " ← target")
    gate = d.get("gate")
    if gate:  # edges arrive at the gate, which passes the value on, or does not
        cells = tag("td", tag("font", "off" if gate == "closed" else "on",
                              color="#ffffff" if gate == "closed" else t.text,
                              point_size="10"),
                    port="in" + port, bgcolor=GATE_CLOSED if gate == "closed" else GATE_OPEN)
        cells += tag("td", label, align="left", bgcolor=t.kind_fill(d["kind"]), id="l_" + port)
    else:
        cells = tag("td", label, align="left", port="in" + port,
                    bgcolor=t.kind_fill(d["kind"]), id="l_" + port)
    cells += before
    last = columns[-1]
    for column in columns:
        leaving = {"port": port} if column == last else {}
        if column == "data":
            cells += tag("td", escape_html(number(d["data"])), align="right", **leaving)
        elif column == "p":
            cells += tag("td", escape_html(number(d["prob"])), align="right", **leaving)
        elif column == "(p − y)/n":
            cells += number_cell(d["softmax_grad"], style, max_grad, True, **leaving)
        else:
            animated = column == ("from here" if d["role"] == "input" else "grad")
            value = d["from_here"] if column == "from here" else d["grad"]
            extra = grad_cell(port, style) if animated else {}
            cells += number_cell(value, style, max_grad, True, **extra, **leaving)
    return tag("tr", cells)


def weight_cells(d: dict, style: Style) -> str:
    """The norms of the weights row a dot product reads, in the weights' colour."""
    t = style.theme
    if "weights" not in d:
        return "<td></td>" * (3 if style.backward else 1)
    values = [d["weights_norm"]] + ([d["weights_grad_norm"], d["weights_here_norm"]]
                                    if style.backward else [])
    return "".join(tag("td", escape_html(number(v)), align="right", bgcolor=t.param)
                   for v in values)


def weight_header(G: nx.Graph, members: list, style: Style, columns: list) -> str:
    """Over the columns: which matrix the weight norms come from, and the values'."""
    t = style.theme
    matrix = next(d["weights"] for _, d in members if "weights" in d).split("[")[0]
    span = 3 if style.backward else 1
    muted = {"color": t.muted, "point_size": "9"}
    return tag("tr", "<td></td>" + tag("td", tag("font", escape_html(
        f"weights {matrix}{row_index(G, matrix)}"), **muted), colspan=str(span), bgcolor=t.param)
        + tag("td", tag("font", "value", **muted), colspan=str(len(columns))))


def row_index(G: nx.Graph, family: str) -> str:
    """How a table's title names its row: `[i]`, or ` c` where rows are tokens."""
    return " c" if by_character(G, family) else "[i]"


def table_node(G: nx.Graph, name: str, title: str, members: list, style: Style,
               max_grad: float, output: bool) -> str:
    """Named values as one table, a row each; an output table has a thick border.
    Dot products that read a weights row carry that row's norms in their own row."""
    t = style.theme
    columns = columns_of(members, style)
    weights = any("weights" in d for _, d in members)
    norms = (["norm"] + (["grad norm", "from here"] if style.backward else [])) if weights else []
    gates = any("gate" in d for _, d in members)
    rows = tag("tr", tag("td", tag("b", escape_html(title)),
                         colspan=str(len(norms) + len(columns) + 1 + gates), bgcolor=t.cluster))
    if weights:
        rows += weight_header(G, members, style, columns)
    rows += header_row(style, norms + columns, gates)
    rows += "".join(row_cells(port, d, columns, style, max_grad,
                              weight_cells(d, style) if weights else "")
                    for port, d in members)
    table = tag("table", rows, border="2" if output else "0", cellborder="1",
                cellspacing="0", cellpadding="3", color=t.text)
    return node_stmt(name, "table", shape="plain", label=Html(table))


def table_title(G: nx.Graph, group: str, nodes: list) -> str:
    """"input L0.k · pos 2 'n'", "input wte 'a'" (the row of token 'a'), "input
    wpe[4] · the row of position 4", "output L0.fc2[i] = dot(weights row i, L0.relu)",
    "output logit c = dot(weights row c, L0.res2) for each token c"."""
    d = G.nodes[nodes[0]]
    name = group.split(":", 1)[-1].split("@")[0]
    where = ""
    tokens, t = G.graph.get("tokens", ()), G.graph.get("position", -1)
    if "@pos" in group:
        t = position(group)
        where = f" · pos {t} " + token_text(tokens[t])
    elif name.startswith("wte[") and 0 <= t < len(tokens) and display_label(G, name) == name:
        where = f" · the row of token {token_text(tokens[t])}"
    elif name.startswith("wpe["):
        where = f" · the row of position {t}"
    if d["role"] == "input":
        return f"input {display_label(G, name)}{where}"
    kind = "output " if d["role"] == "output" else ""
    sources = sorted({b.split(">")[0].split(":", 1)[-1] for n in nodes
                      for *_, b in G.in_edges(n, data="bundle") if b})
    if d["op"] == "dot" and sources:
        i = row_index(G, name)
        operands = ([f"weights row {i.strip(' []')}"] if "weights" in d else []) + sources
        each = f" for each token{i}" if by_character(G, name) else ""
        return f"{kind}{name}{i} = dot({', '.join(operands)}){each}"
    return f"{kind}{name}"


def pass_node(name: str, style: Style) -> str:
    return node_stmt(name, "op passthrough", shape="circle", label="+", style="filled",
                     fillcolor=PASS_FILL, width="0.3", height="0.3", margin="0.02",
                     fontsize="13")


def folded(G: nx.Graph) -> dict:
    """Constants used once, by an op of the scope: op -> the constant, written into
    the op's symbol ("×0.0625", "+1e-05", "−max") instead of a node of its own (27
    "−max" numbers around a softmax would each draw a long edge)."""
    out = {}
    for c in G:
        d = G.nodes[c]
        if d["kind"] == "const" and G.out_degree(c) == 1 and d.get("role") == "internal":
            (v,) = G.successors(c)
            if G.nodes[v].get("role") != "input" and G.nodes[v]["op"] in ("+", "*"):
                out.setdefault(v, c)
    return out


def symbol_of(G: nx.Graph, node, consts: dict) -> str:
    """The op's symbol with its folded constant; a softmax's steps by name."""
    d = G.nodes[node]
    symbol = "scale" if d.get("mark") == "scale" else op_symbol(G, node, d)
    softmax = d.get("scope", "").endswith("softmax")
    if softmax and symbol == "**-1":
        return "1/Σ"
    if node in consts:
        c = G.nodes[consts[node]]["data"]
        if softmax and d["op"] == "+" and c:
            return "−max"  # minus the largest logit, so exp cannot overflow
        return symbol + number(c)
    return symbol


def inner_node(G, node, name, style, max_grad, consts) -> str:
    """An unnamed value: a constant as its small grey number, an op as a small circle
    (the shared RMSNorm scale ringed and named; in a softmax "−max" and "1/Σ")."""
    d = G.nodes[node]
    t = style.theme
    if not d["op"]:
        return node_stmt(name, "const", shape="plain", label=number(d["data"]), fontsize="9",
                         fontcolor=t.muted)
    symbol = symbol_of(G, node, consts)
    fill = t.signed_fill(d["grad"], max_grad) if style.backward else t.kind_fill("op")
    tip = f"data {number(d['data'])}" + (f", grad {number(d['grad'])}" if style.backward else "")
    if node in consts:
        tip = f"the constant {number(G.nodes[consts[node]]['data'])}; " + tip
    ring = ({"color": SCALE_RING, "penwidth": "3", "fontsize": "11"}
            if d.get("mark") == "scale" else {"fontsize": "9"})
    return node_stmt(name, "compact", shape="circle" if len(symbol) == 1 else "ellipse",
                     label=symbol, style="filled", fillcolor=fill, fontcolor=text_on(fill),
                     width="0.28", height="0.28", margin="0.01",
                     tooltip=f"{symbol}: {tip} ({d.get('scope', '')})", **ring)


def endpoints(G, names, tables, circles, rankdir):
    """Where each node's edges leave and arrive (a row's port, its op circle, the node)."""
    east, west = (":e", ":w") if rankdir == "LR" else ("", "")
    tails, heads = {}, {}
    for node, name in names.items():
        if node not in tables:
            tails[node] = heads[node] = name
            continue
        tails[node] = f"{tables[node]}:{name}{east}"
        heads[node] = "op" + name if node in circles else f"{tables[node]}:in{name}{west}"
    return tails, heads


def reads_text(reads: Counter) -> str:
    """What a bundle into one op stands for: how many values the op reads, and how
    many times each (a sum of squares reads each value twice).

    >>> reads_text(Counter({1: 2, 2: 2}))
    'one op reads each of 2 values twice'
    >>> reads_text(Counter({1: 1, 2: 1, 3: 1}))
    'one op reads 3 values'
    >>> reads_text(Counter({1: 1, 2: 2}))
    'one op reads 2 values, 3 times in all'
    """
    times = set(reads.values())
    if times == {1}:
        return f"one op reads {len(reads)} values"
    if len(times) == 1:
        k = times.pop()
        return f"one op reads each of {len(reads)} values " + ("twice" if k == 2 else f"{k} times")
    return f"one op reads {len(reads)} values, {sum(reads.values())} times in all"


def bundle_edges(G, names, tables, heads, style, max_flow) -> str:
    """One edge per bundle: from a table to a table, or to the op reading it."""
    bundles = defaultdict(list)
    for u, v, _key, e in keyed_edges(G):
        if e.get("bundle"):
            bundles[e["bundle"]].append((u, v, e))
    body = ""
    for i, (_ident, edges) in enumerate(sorted(bundles.items())):
        tail = tables[edges[0][0]]
        targets = {v for _, v, _ in edges}
        head = tables[edges[0][1]] if len(targets) > 1 else heads[edges[0][1]]
        sources = len({u for u, _, _ in edges})
        label = (f"each of {len(targets)} reads all {sources}" if len(targets) > 1
                 else reads_text(Counter(u for u, _, _ in edges)))
        flow = math.sqrt(math.fsum(e["contribution"] ** 2 for *_, e in edges))
        extra = {"penwidth": f"{1 + 3 * min(1.0, flow / max_flow):.2f}"} if (
            style.backward and max_flow and not style.frames) else {}
        body += edge_stmt(tail, head, f"b{i}", "bundle", label=label, style="bold",
                          fontcolor=style.theme.muted, **extra)
    return body


def passthrough_edge(tail, head, e, style, max_flow, ident) -> str:
    """An operand edge of a pass-through +: what it sends back is written on it."""
    if not style.backward or style.frames:
        return value_edge(tail, head, e, style, max_flow, ident)
    return edge_stmt(tail, head, ident, "arg", label="grad back " + number(e["contribution"]),
                     fontcolor=style.theme.text,
                     penwidth=f"{1 + 3 * abs(e['contribution']) / max_flow:.2f}" if max_flow
                     else "1")


def scope_lines(G: nx.MultiDiGraph, style: Style) -> str:
    """Input tables, then each sub-scope as a cluster of tables and inner ops, the
    weight tables beside their ops, and the edges (bundles drawn once)."""
    names = node_names(G)
    max_grad, max_flow = scales(G)
    groups = defaultdict(list)
    for n in sorted(G, key=sort_key):
        if "group" in G.nodes[n]:
            groups[G.nodes[n]["group"]].append(n)
    order = table_order(G)
    table_names = {group: f"t{i}" for i, group in enumerate(order)}
    tables = {n: table_names[g] for g, members in groups.items() for n in members}
    circles = {n for n in tables if has_op_circle(G, n)}
    consts = folded(G)
    clusters = defaultdict(str)  # sub-scope -> DOT statements
    for group in order:
        members = [(names[n], shown(G, n)) for n in groups[group]]
        first = G.nodes[groups[group][0]]
        where = first.get("cluster", "") if first["role"] != "input" else None
        stmt = table_node(G, table_names[group], table_title(G, group, groups[group]),
                          members, style, max_grad, first["role"] == "output")
        ops = [n for n in groups[group] if n in circles]
        for n in ops:
            stmt += op_circle(G, n, names[n], table_names[group], style, consts)
        stmt += stacked(["op" + names[n] for n in ops], "ops_" + table_names[group])
        clusters[where] += stmt
    hidden = set(consts.values())
    for n in sorted(G, key=sort_key):
        if n not in tables and n not in hidden:
            d = G.nodes[n]
            clusters[d.get("cluster", "") if d["role"] != "input" else None] += inner_node(
                G, n, names[n], style, max_grad, consts)
    tails, heads = endpoints(G, names, tables, circles, style.rankdir)
    body = clusters.pop(None, "") + cluster_statements(G, clusters, style)
    # the first pass-through + writes what it sends back on both its edges; the notes
    # and the `from here` columns say the same for all of them
    first_add = next((n for n in sorted(G, key=sort_key)
                      if G.nodes[n].get("mark") == "passthrough"), None)
    for u, v, key, e in keyed_edges(G):
        if e.get("bundle") or u in hidden:
            continue
        draw = passthrough_edge if v == first_add else value_edge
        body += draw(tails[u], heads[v], e, style, max_flow, edge_id(names[u], names[v], key))
    return body + bundle_edges(G, names, tables, heads, style, max_flow)


def shown(G: nx.Graph, node) -> dict:
    """The node's attributes with its label as a reader sees it (`logit 'a'`)."""
    d = G.nodes[node]
    return dict(d, label=display_label(G, d["label"]))


def op_circle(G, node, name, table, style, consts) -> str:
    """The op giving a named value, and the edge from it to its row."""
    d = G.nodes[node]
    if d.get("mark") == "passthrough":
        stmt = pass_node("op" + name, style)
    else:
        stmt = op_node("op" + name, symbol_of(G, node, consts), style)
    return stmt + edge_stmt("op" + name, f"{table}:in{name}"
                            + (":w" if style.rankdir == "LR" else ""),
                            f"e_op{name}_{name}", "result")


CLUSTER_NOTES = {"relu": "relu{active}: a closed gate passes no gradient",
                 "rmsnorm": "rmsnorm: one scale for every output"}


def cluster_statements(G, clusters: dict, style: Style) -> str:
    """The scope's own statements, then one cluster per sub-scope, titled."""
    t = style.theme
    body = clusters.pop("", "")
    if len(clusters) < 1:
        return body
    active = (f" {G.graph['relu_active']}/{G.graph['relu_total']} active"
              if "relu_total" in G.graph else "")
    for sub, stmts in clusters.items():
        title = CLUSTER_NOTES.get(sub, sub).format(active=active)
        body += subgraph(f"cluster_{sub}", stmts, label=title, style="rounded,filled",
                         fillcolor=t.cluster, color=t.cluster_border, fontcolor=t.muted)
    return body


def scope_title(G: nx.Graph, style: Style) -> str:
    """The heading, the key (every fill and shape the picture uses), and the notes."""
    t = style.theme
    tokens = " ".join(tok if len(tok) > 1 else repr(tok) for tok in G.graph.get("tokens", ()))
    circles = [n for n in G if G.nodes[n].get("group") and has_op_circle(G, n)]
    extra = [("op giving a named value", t.op_symbol)] if circles else []
    if not style.backward and any(G.nodes[n].get("role") == "internal" for n in G):
        extra.append(("inner op (numbers in its tooltip)", t.kind_fill("op")))
    marks = {d.get("mark") for _, d in G.nodes(data=True)}
    gates = {d.get("gate") for _, d in G.nodes(data=True)}
    if "open" in gates:
        extra.append(("on: relu open, passes data and grad", GATE_OPEN))
    if "closed" in gates:
        extra.append(("off: relu closed, passes nothing", GATE_CLOSED))
    if "scale" in marks:
        extra.append(("scale: rmsnorm's one shared scale (orange ring)", ""))
    if "passthrough" in marks:
        extra.append(("+ passing its grad to both operands", PASS_FILL))
    if any("weights" in d for _, d in G.nodes(data=True)):
        extra.append(("weights: a row per matrix row, its L2 norms", t.param))
    if any(d.get("role") == "output" for _, d in G.nodes(data=True)):
        extra.append(("thick border: outputs", ""))
    kinds = {d.get("kind", "op") for _, d in G.nodes(data=True)}
    key = key_label(f"{scope_heading(G)} · text: {tokens}", style,
                    [k for k in ("param", "input", "op") if k in kinds],
                    flows=G.number_of_edges() > 0, extra=extra)
    notes = teaching_notes(G) if style.backward else []
    lines = "".join(tag("tr", tag("td", tag("font", escape_html(line), point_size="12",
                                            color=t.text), align="left")) for line in notes)
    return tag("table", tag("tr", tag("td", key, align="left")) + lines, border="0",
               cellspacing="0", cellpadding="1")
