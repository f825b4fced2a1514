"""Any scope of a traced model at op level: what it computes, what flows in, what it
teaches.

`scope_view(G, "pos3/layer0/mlp")` returns the scope's nodes and edges (ids and
attributes copied from G), plus the values flowing in from outside it, annotated so
a renderer can draw it the way the head view is drawn:

- role: "input" (a value computed or stored outside the scope), "value" (a named
  value computed inside), "output" (a named value used outside the scope, or the
  loss itself) or "internal" (an unnamed op or a constant inside);
- group: the table a named value sits in (its label without the last index, e.g.
  "L0.fc1"; inputs get "in:" and, when the scope reads several positions, "@pos2"),
  and cluster: the sub-scope an inside node belongs to ("rmsnorm", "fc1", ...).

Weight matrices are summarised, not drawn. A dot product reads a whole row of a
matrix (fc1 is 64 rows of 16): drawing every weight would put 1,024 boxes and edges
around 64 dot nodes. So the weights feeding one op are dropped from the graph and
become attributes of that op: `weights` (the row, "layer0.mlp_fc1[5]"), their count,
`weights_norm` (‖row‖), `weights_grad_norm` (‖its grad‖ from the whole loss) and
`weights_here_norm` (‖what this scope sends it‖), which a renderer shows as one table
per matrix, a row per matrix row. A weight that is the only weight of its op (an
embedding, a `*` of the atomic engine) stays a node, an input like any other.

Dense wiring is bundled: when more than BUNDLE_MIN edges run from one table into one
op, they get a common edge attribute `bundle` (and when every row of a table reads
a whole table, as fc1 reads xn2, one bundle joins the two tables). Every edge stays
in the graph, so backward replays exactly; a renderer draws each bundle once, and
the layout cap counts it once.

The teaching marks are attributes too: `gate` ("open"/"closed") on each ReLU;
`mark` = "scale" on RMSNorm's shared scale, "passthrough" on an add of two values
(a residual, the embedding sum); `prob`, `target` and `softmax_grad` = (p - y)/n on
logits and `prob` on p[target]. Inputs carry `from_here` (the grad this scope alone
sends them) and outputs `seed` (the grad they receive from outside, where backward
through the scope starts).
"""

import math
import re
from collections import defaultdict
from dataclasses import replace

import networkx as nx

from .exceptions import SelectionError
from .graph import PARAM_SCOPE
from .names import power_exponent
from .queries import POSITION, in_scope, induced, l2, natural, nearby_scopes, sent_from

__all__ = ["scope_view", "scope_names", "scope_seeds", "seeded_from_the_loss", "BUNDLE_MIN",
           "ROLES"]

ROLES = ("input", "value", "output", "internal")
BUNDLE_MIN = 4  # more edges than this from one table into one op are drawn as one
INDEX = re.compile(r"\[[^\[\]]*\]$")


def scope_names(G: nx.MultiDiGraph) -> list:
    """Every scope of a model graph that computes something, parents before children,
    in the order the model computes them (pos0 before pos1, embed before layer0), and
    the scopes of no position (the mean loss) last.

    >>> G = nx.MultiDiGraph()
    >>> for n, s in enumerate(["params", "pos0/embed", "pos0/layer0/mlp", "loss"]):
    ...     G.add_node(n, scope=s)
    >>> scope_names(G)
    ['pos0', 'pos0/embed', 'pos0/layer0', 'pos0/layer0/mlp', 'loss']
    """
    first = {}
    for n, scope in G.nodes(data="scope"):
        parts = scope.split("/") if scope else []
        if not parts or parts[0] == PARAM_SCOPE:
            continue
        for k in range(1, len(parts) + 1):
            first.setdefault("/".join(parts[:k]), n)
    def key(s):
        t = position_of(s)
        return (t if t >= 0 else math.inf, min(first[p] for p in first if in_scope(p, s)),
                s.count("/"), natural(s))

    return sorted(first, key=key)


def scope_view(G: nx.MultiDiGraph, scope: str) -> nx.MultiDiGraph:
    """The scope's op-level graph, its inputs, and the marks of what it teaches.

    Args:
        G: a model graph from microgpt_trace.tracer.model_trace.trace_text (after backward).
        scope: e.g. "pos3/layer0/mlp", "pos0/embed", "loss" (a trailing "/" is ignored).

    Returns:
        A new MultiDiGraph (see the module docstring for its node and edge attributes)
        with graph attrs view="scope", scope, position (t, or -1 for "loss"),
        positions (n, the positions the loss averages over), relu_active and
        relu_total (when the scope holds ReLUs), and roots = the outputs.

    Raises:
        SelectionError: G is not a model graph, the scope holds no op, or it is the
            weights' scope; the message names the scopes nearby.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> scope_view(trace_expression("a"), "x")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    microgpt_trace.tracer.exceptions.SelectionError: a scope view needs a model graph
    (traced from a text), not view 'expression'
    """
    if G.graph.get("view") != "model":
        raise SelectionError("a scope view needs a model graph (traced from a text), "
                             f"not view {G.graph.get('view')!r}")
    scope = scope.strip().rstrip("/")
    if in_scope(scope, PARAM_SCOPE):
        raise SelectionError(f"scope {scope!r} holds the weights, which compute nothing; "
                             f"{nearby_scopes(G, 'x')} (see --list)")
    inside = {n for n, s in G.nodes(data="scope") if scope and in_scope(s, scope)}
    if not any(G.nodes[n]["op"] for n in inside):
        raise SelectionError(f"no ops in scope {scope!r}; {nearby_scopes(G, scope)} "
                             "(see --list)")
    summarised = summarised_weights(G, inside)
    outside = {u for n in inside for u in G.predecessors(n) if u not in inside}
    keep = inside | {u for u in outside if any(
        v in inside and v not in summarised for v in G.successors(u))
        or G.nodes[u]["kind"] != "param"}
    H = induced(G, keep)
    H.remove_edges_from([(u, v, k) for u, v, k in H.edges(keys=True)
                         if v in summarised and G.nodes[u]["kind"] == "param"
                         and u not in inside])
    H.graph.update(view="scope", scope=scope, position=position_of(scope),
                   positions=len(G.graph["tokens"]) - 1,
                   source=f"{G.graph.get('source', '')}, scope {scope}".lstrip(", "))
    annotate(G, H, inside, summarised, scope)
    return H


def summarised_weights(G, inside):
    """op -> the weights it reads, for the inside ops reading several weights of one
    matrix row (a dot product); an embedding's sum of two rows' weights is not one."""
    out = {}
    for n in inside:
        rows = defaultdict(set)
        for u in G.predecessors(n):
            if u not in inside and G.nodes[u]["kind"] == "param":
                rows[INDEX.sub("", G.nodes[u]["label"])].add(u)
        weights = sorted(w for row in rows.values() if len(row) > 1 for w in row)
        if weights:
            out[n] = weights
    return out


def annotate(G, H, inside, summarised, scope):
    """Roles, groups, clusters, weight summaries, seeds, marks and bundles."""
    roots = set(G.graph.get("roots", ()))
    positions = {n: position_of(H.nodes[n]["scope"]) for n in H if n not in inside}
    seen = defaultdict(set)  # an input label read from several positions (L0.k[8])
    for n, t in positions.items():
        seen[H.nodes[n]["label"]].add(t)
    several = {family(H.nodes[n]) for n in positions if H.nodes[n]["label"]
               and len(seen[H.nodes[n]["label"]]) > 1}
    outputs = []
    for n in H:
        d = H.nodes[n]
        if n not in inside:
            d.update(role="input" if d["op"] or d["label"] else "internal",
                     from_here=sent_from(G, n, lambda v: v in inside))
            if d["role"] == "input":
                d["group"] = "in:" + family(d) + (f"@pos{positions[n]}" if family(d) in several
                                                  else "")
            continue
        used_outside = n in roots or any(v not in inside for v in G.successors(n))
        named = bool(d["label"]) and bool(d["op"])
        d["role"] = ("output" if used_outside and (named or d["op"]) else
                     "value" if named else "internal")
        if d["role"] != "internal":
            d["group"] = family(d)
        d["cluster"] = d["scope"][len(scope):].lstrip("/").split("/")[0]
        if used_outside:
            d["seed"] = (1.0 if n in roots else 0.0) + sent_from(G, n, lambda v: v not in inside)
            outputs.append(n)
    for n, weights in summarised.items():
        H.nodes[n].update(weight_summary(G, n, weights))
    H.graph["roots"] = tuple(outputs)
    mark_gates(H)
    mark_scales_and_adds(H)
    mark_logits(G, H)
    bundle(H)


def position_of(scope):
    match = POSITION.match(scope.split("/")[0])
    return int(match.group(1)) if match else -1


def family(d):
    """A label without its last index ("L0.fc1[5]" -> "L0.fc1"), or the op for an
    unnamed value."""
    return INDEX.sub("", d["label"]) if d["label"] else d["op"] or "const"


def weight_summary(G, op, weights):
    """The attributes that stand for the weights one op reads (one matrix row)."""
    rows = sorted({INDEX.sub("", G.nodes[w]["label"]) for w in weights})
    name = rows[0] if len(rows) == 1 else INDEX.sub("", rows[0])
    here = [sum(d["contribution"] for d in G.get_edge_data(w, op).values()) for w in weights]
    return {"weights": name, "weights_count": len(weights),
            "weights_norm": l2(G.nodes[w]["data"] for w in weights),
            "weights_grad_norm": l2(G.nodes[w]["grad"] for w in weights),
            "weights_here_norm": l2(here)}


def mark_gates(H):
    """Each ReLU is a gate: open when its input is above 0 (it passes data and grad),
    closed otherwise (output 0, local grad 0)."""
    relus = [n for n in H if H.nodes[n]["op"] == "relu" and H.nodes[n].get("role") != "input"]
    for n in relus:
        H.nodes[n]["gate"] = "open" if H.nodes[n]["data"] > 0 else "closed"
    if relus:
        H.graph.update(relu_active=sum(H.nodes[n]["gate"] == "open" for n in relus),
                       relu_total=len(relus))


def mark_scales_and_adds(H):
    """RMSNorm's scale (x**-0.5 used by several products) and adds of two values."""
    for n in H:
        d = H.nodes[n]
        if d.get("role") == "input":
            continue
        if d["op"] == "**" and H.out_degree(n) > 1 and power_exponent(H, n) == -0.5:
            d["mark"] = "scale"
        elif d["op"] == "+" and d["label"] and H.in_degree(n) == 2 and all(
                H.nodes[u]["label"] for u in H.predecessors(n)):
            d["mark"] = "passthrough"


def mark_logits(G, H):
    """p, the target and (p - y)/n, the grad the loss sends each logit, on the logits
    in H; p on p[target]. p is computed as the model does: exp(l - max) * (1/Σ)."""
    n_positions = H.graph["positions"]
    for t in sorted({position_of(H.nodes[n]["scope"]) for n in H} - {-1}):
        probs = position_probs(G, t)
        for logit, (p, target) in probs.items():
            if logit in H:
                H.nodes[logit].update(prob=p, target=target,
                                      softmax_grad=(p - target) / n_positions)
        for n in H:
            d = H.nodes[n]
            if d["label"].startswith("p[") and position_of(d["scope"]) == t:
                d["prob"] = d["data"]


def position_probs(G, t):
    """logit node -> (p, 1 if it is the target else 0) at position t; {} if the
    position's softmax is not in G."""
    where = f"pos{t}/softmax"
    exps = [n for n, d in G.nodes(data=True) if d["op"] == "exp" and d["scope"] == where]
    if not exps:
        return {}
    target = next(n for n, d in G.nodes(data=True) if d["scope"] == where and d["label"])
    ops = sorted(G.predecessors(target), key=lambda u: G.nodes[u]["op"] == "exp")
    inv = G.nodes[ops[0]]["data"]
    out = {}
    for e in exps:
        shifted = next(iter(G.predecessors(e)))
        logit = next(u for u in G.predecessors(shifted) if G.nodes[u]["kind"] != "const")
        out[logit] = (G.nodes[e]["data"] * inv, int(e in G.predecessors(target)))
    return out


def bundle(H):
    """Give the edges of dense wiring a common `bundle` id (see the module docstring)."""
    tables = {n: H.nodes[n]["group"] for n in H if "group" in H.nodes[n]}
    into = defaultdict(list)  # (table, op) -> edges
    for u, v, k in H.edges(keys=True):
        if u in tables:
            into[tables[u], v].append((u, v, k))
    bundled = {key: edges for key, edges in into.items() if len(edges) > BUNDLE_MIN}
    rows = defaultdict(set)
    for n, group in tables.items():
        rows[group].add(n)
    by_pair = defaultdict(set)
    for source, v in bundled:
        if v in tables:
            by_pair[source, tables[v]].add(v)
    whole = {pair for pair, heads in by_pair.items() if heads == rows[pair[1]] and len(heads) > 1}
    for (source, v), edges in bundled.items():
        ident = (f"{source}>{tables[v]}" if (source, tables.get(v)) in whole
                 else f"{source}>n{v}")
        for u, v_, k in edges:
            H.edges[u, v_, k]["bundle"] = ident


def scope_seeds(H: nx.MultiDiGraph) -> dict:
    """{output: the grad it receives from outside the scope}: where backward through
    the scope starts, so every node inside ends with the grad the model gave it.

    >>> H = nx.MultiDiGraph(roots=(3,)); H.add_node(3, seed=0.25)
    >>> scope_seeds(H)
    {3: 0.25}
    """
    return {n: H.nodes[n]["seed"] for n in H.graph["roots"]}


def seeded_from_the_loss(H: nx.MultiDiGraph, frames: list) -> list:
    """The frames of a replay through the scope from scope_seeds, frame 0's caption
    saying where its seeds come from.

    >>> from microgpt_trace.tracer.replay import Frame
    >>> H = nx.MultiDiGraph(scope="pos3/layer0/mlp")
    >>> frames = seeded_from_the_loss(H, [Frame(0, (), (), (), (), "seed: ...")])
    >>> print(frames[0].caption)  # doctest: +NORMALIZE_WHITESPACE
    backward through pos3/layer0/mlp starts from the grads its outputs receive from the loss
    of the whole text
    seed: ...
    """
    first = frames[0]
    heading = (f"backward through {H.graph['scope']} starts from the grads its outputs "
               "receive from the loss of the whole text")
    return [replace(first, caption=f"{heading}\n{first.caption}")] + list(frames[1:])
