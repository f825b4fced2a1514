import math
from collections import Counter
from functools import reduce
from operator import add, mul

import networkx as nx
import pytest

from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.recorder import per_position, recording
from microgpt_trace.tracer.exceptions import SelectionError
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.queries import (
    ancestors_of,
    auto_depth,
    collapse,
    head_view,
    select_scope,
)

from .tiny_models import snapshot, tiny_graph, tiny_model

ENGINES = ["fused", "atomic"]


def test_select_scope_keeps_exactly_the_scope_and_its_attributes():
    G = tiny_graph("fused")
    before = snapshot(G)
    S = select_scope(G, "pos2/layer0/attn/")
    assert snapshot(G) == before
    expected = [n for n, s in G.nodes(data="scope")
                if s == "pos2/layer0/attn" or s.startswith("pos2/layer0/attn/")]
    assert list(S) == expected
    assert all(S.nodes[n] == G.nodes[n] and S.nodes[n] is not G.nodes[n] for n in S)
    assert sorted(S.edges(keys=True)) == sorted(
        (u, v, k) for u, v, k in G.edges(keys=True) if u in S and v in S)
    assert S.graph["roots"] == tuple(n for n in S if S.out_degree(n) == 0)
    assert S.graph["text"] == "abca" and G.graph["roots"] == before[2]["roots"]


def test_select_scope_matches_whole_components():
    G = nx.MultiDiGraph()
    G.add_nodes_from([(0, {"scope": "pos1/x"}), (1, {"scope": "pos10/x"}), (2, {"scope": "pos1"})])
    assert list(select_scope(G, "pos1")) == [0, 2]


@pytest.mark.parametrize("prefix, message", [
    ("pos9", "no nodes in scope 'pos9'; top-level scopes: loss, params, pos0, pos1, pos2, "
             "pos3, pos4$"),
    ("pos1/layer0/attn/head7",
     "scopes under 'pos1/layer0/attn': head0, head1, proj, qkv, rmsnorm$"),
    ("", "top-level scopes"),
])
def test_select_scope_errors_list_nearby_scopes(prefix, message):
    with pytest.raises(SelectionError, match=message):
        select_scope(tiny_graph("fused"), prefix)


def test_ancestors_of():
    G = trace_expression("a*b + exp(c)")
    A = ancestors_of(G, 2)
    assert [d["label"] for _, d in A.nodes(data=True)] == ["a", "b", "a*b"]
    assert A.graph["roots"] == (2,) and G.graph["roots"] == (5,)
    big = tiny_graph("fused")
    root = big.graph["roots"][0]
    assert len(ancestors_of(big, root)) == len(big)
    with pytest.raises(SelectionError, match=r"node 99 is not in the graph \(ids 0\.\.5\)"):
        ancestors_of(G, 99)


def by_role(H):
    roles = {}
    for n, d in H.nodes(data=True):
        roles.setdefault(d["role"], []).append(n)
    return roles


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("pos, layer, head", [(0, 0, 0), (3, 1, 1), (4, 0, 1)])
def test_head_view_matches_the_model_probes(engine, pos, layer, head):
    G = tiny_graph(engine, "abca", n_layer=2)
    before = snapshot(G)
    H = head_view(G, pos, layer, head)
    assert snapshot(G) == before
    hd = G.graph["head_dim"]
    roles = by_role(H)
    counts = {role: len(nodes) for role, nodes in roles.items() if role != "internal"}
    assert counts == {"q": hd, "k": hd * (pos + 1), "v": hd * (pos + 1),
                      "score": pos + 1, "weight": pos + 1, "out": hd}
    with recording() as records:
        document_loss(tiny_model(engine, n_layer=2), [3, 0, 1, 2, 0, 3])
    probes = per_position(records)
    data = {H.nodes[n]["label"]: H.nodes[n]["data"] for n in H}
    tag = f"L{layer}.h{head}"
    assert [data[f"{tag}.w[t={t}]"] for t in range(pos + 1)] == probes[pos]["attn"][layer][head]
    assert [data[f"{tag}.out[{j}]"] for j in range(hd)] == probes[pos]["head_out"][layer][head]
    # scores recomputed from the view's own q and k, exactly as the model does it
    q = {H.nodes[n]["label"]: H.nodes[n]["data"] for n in roles["q"]}
    ks = [n for n in roles["k"]]
    for t in range(pos + 1):
        k = [H.nodes[n]["data"] for n in ks if H.nodes[n]["position"] == t]
        score = reduce(add, map(mul, q.values(), k), 0) * (hd ** 0.5) ** -1
        assert data[f"{tag}.score[t={t}]"] == score
    assert H.graph["roots"] == tuple(roles["out"])
    assert {k: H.graph[k] for k in ("view", "pos", "layer", "head", "tokens")} == {
        "view": "head", "pos": pos, "layer": layer, "head": head,
        "tokens": ("BOS", "a", "b", "c", "a", "BOS")}


@pytest.mark.parametrize("engine", ENGINES)
def test_head_view_keeps_only_final_qkv_and_head_internals(engine):
    G = tiny_graph(engine)
    H = head_view(G, 2, 0, 1)
    for _, d in H.nodes(data=True):
        if d["role"] in ("q", "k", "v"):
            assert d["scope"] == f"pos{d['position']}/layer0/attn/qkv"
            assert d["label"].startswith(f"L0.{d['role']}[") and d["label"][-2] in "4567"
        else:
            assert d["scope"].startswith("pos2/layer0/attn/head1/") and d["position"] == 2
    assert {d["position"] for _, d in H.nodes(data=True) if d["role"] == "k"} == {0, 1, 2}
    # the whole head is there: every op inside the head scope is in the view
    inside = [n for n, s in G.nodes(data="scope") if s.startswith("pos2/layer0/attn/head1/")]
    assert set(inside) <= set(H)
    # and each score is wired to this head's q and to the keys it compares with
    q_nodes = {n for n, d in H.nodes(data=True) if d["role"] == "q"}
    assert all(any(u in q_nodes for u in nx.ancestors(H, n))
               for n, d in H.nodes(data=True) if d["role"] == "score")


def test_head_view_engines_agree():
    def numbers(H):
        return sorted((d["role"], d["position"], d["label"], d["data"], d["grad"])
                      for _, d in H.nodes(data=True) if d["role"] != "internal")
    assert numbers(head_view(tiny_graph("fused"), 3, 0, 0)) \
        == numbers(head_view(tiny_graph("atomic"), 3, 0, 0))


@pytest.mark.parametrize("pos, layer, head, message", [
    (5, 0, 0, r"^--pos 5: the text 'abca' has positions 0\.\.4$"),
    (-1, 0, 0, r"^--pos -1"),
    (0, 1, 0, r"^--layer 1: the model has layers 0\.\.0$"),
    (0, 0, 7, r"^--head 7: the model has heads 0\.\.1$"),
])
def test_head_view_ranges(pos, layer, head, message):
    with pytest.raises(SelectionError, match=message):
        head_view(tiny_graph("fused"), pos, layer, head)


def test_head_view_needs_a_model_graph():
    with pytest.raises(SelectionError, match="needs a model graph"):
        head_view(trace_expression("a*b"), 0, 0, 0)


def block_of(G, n, depth):
    """An independent spelling of the block key, for the non-constant nodes."""
    d = G.nodes[n]
    if d["kind"] == "param":
        return "params/" + d["label"][:d["label"].index("[")]
    parts = d["scope"].split("/")
    return "/".join(parts[:depth + 1] if parts[0].startswith("pos") else parts[:depth])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_collapse_accounts_for_every_node_and_edge(engine, depth):
    G = tiny_graph(engine)
    before = snapshot(G)
    B = collapse(G, depth)
    assert snapshot(G) == before
    assert list(B) == list(range(len(B)))
    non_const = [n for n, k in G.nodes(data="kind") if k != "const"]
    assert sum(n for _, n in B.nodes(data="n_nodes")) == len(non_const)
    keys = {n: block_of(G, n, depth) for n in non_const}
    assert sorted(B.nodes[i]["scope"] for i in B) == sorted(set(keys.values()))
    # blocks are numbered in order of first appearance
    assert [B.nodes[i]["scope"] for i in B] == list(dict.fromkeys(keys[n] for n in non_const))
    assert nx.number_of_selfloops(B) == 0
    crossing = [(keys[u], keys[v]) for u, v in G.edges() if u in keys and keys[u] != keys[v]]
    scope = dict(B.nodes(data="scope"))
    assert Counter({(scope[u], scope[v]): c for u, v, c in B.edges(data="count")}) \
        == Counter(crossing)
    root_block = keys[G.graph["roots"][0]]
    assert [scope[r] for r in B.graph["roots"]] == [root_block] == ["loss"]
    assert (B.graph["view"], B.graph["depth"], B.graph["text"]) == ("blocks", depth, "abca")


def test_collapse_block_keys_per_depth():
    G = tiny_graph("fused")

    def at(depth):
        B = collapse(G, depth)
        return [s for _, s in B.nodes(data="scope") if s.startswith("pos1/")]
    assert sorted(at(1)) == ["pos1/embed", "pos1/layer0", "pos1/lm_head", "pos1/loss",
                             "pos1/softmax"]
    assert {s for s in at(2) if s.startswith("pos1/layer0/")} == {
        "pos1/layer0/attn", "pos1/layer0/residual1", "pos1/layer0/mlp", "pos1/layer0/residual2"}
    assert {s for s in at(3) if s.startswith("pos1/layer0/attn/")} == {
        "pos1/layer0/attn/rmsnorm", "pos1/layer0/attn/qkv", "pos1/layer0/attn/head0",
        "pos1/layer0/attn/head1", "pos1/layer0/attn/proj"}
    params = {d["scope"]: d for _, d in collapse(G, 1).nodes(data=True) if d["kind"] == "param"}
    assert sorted(params) == sorted(["params/wte", "params/wpe", "params/lm_head",
                                     "params/layer0.attn_wq", "params/layer0.attn_wk",
                                     "params/layer0.attn_wv", "params/layer0.attn_wo",
                                     "params/layer0.mlp_fc1", "params/layer0.mlp_fc2"])
    wte = params["params/wte"]
    assert (wte["label"], wte["position"], wte["op_counts"]) == ("wte", -1, "")
    assert wte["n_nodes"] == 4 * 8  # rows of the input tokens BOS, a, b, c x n_embd


@pytest.mark.parametrize("engine", ENGINES)
def test_collapse_norms_and_op_counts_by_hand(engine):
    G = tiny_graph(engine)
    B = collapse(G, 3)
    i = next(i for i, s in B.nodes(data="scope") if s == "pos2/layer0/attn/head1")
    members = [d for _, d in G.nodes(data=True)
               if d["scope"].startswith("pos2/layer0/attn/head1/") and d["kind"] != "const"]
    block = B.nodes[i]
    assert block["grad_norm"] == math.sqrt(math.fsum(d["grad"] ** 2 for d in members))
    assert block["data_norm"] == math.sqrt(math.fsum(d["data"] ** 2 for d in members))
    ops = Counter(d["op"] for d in members)
    expected = " ".join(f"{op}:{n}" for op, n in sorted(ops.items(), key=lambda x: (-x[1], x[0])))
    assert block["op_counts"] == expected
    assert (block["label"], block["position"], block["kind"]) == ("head1", 2, "block")
    # one edge by hand: the head's outputs flowing into the output projection
    proj = next(j for j, s in B.nodes(data="scope") if s == "pos2/layer0/attn/proj")
    flows = [c for u, v, c in G.edges(data="contribution")
             if G.nodes[u]["scope"].startswith("pos2/layer0/attn/head1/")
             and G.nodes[v]["scope"] == "pos2/layer0/attn/proj"]
    assert B.edges[i, proj]["count"] == len(flows) == 4 * 8  # head_dim outputs x n_embd rows
    assert B.edges[i, proj]["contribution_norm"] == math.sqrt(math.fsum(c * c for c in flows))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_collapse_counts_active_relus_as_a_direct_count_does(depth):
    G = tiny_graph("atomic")
    B = collapse(G, depth)
    counted = {d["scope"]: (d["relu_active"], d["relu_total"])
               for _, d in B.nodes(data=True) if "relu_total" in d}
    direct = {}
    for _, d in G.nodes(data=True):
        if d["op"] == "relu":
            key = block_of(G, _, depth)
            active, total = direct.get(key, (0, 0))
            direct[key] = (active + (d["data"] > 0), total + 1)
    assert counted == direct and direct
    assert all(t == 8 * 4 for _, t in direct.values())  # 4 * n_embd relus per position
    assert "relu_total" not in collapse(trace_expression("a*b"), 1).nodes[0]


def test_collapse_folds_constants_into_their_consumer():
    G = tiny_graph("atomic")
    B = collapse(G, 1)
    assert all(n > 0 for _, n in B.nodes(data="n_nodes"))
    assert collapse(trace_expression("2*a"), 1).nodes[0]["n_nodes"] == 2


def test_collapse_is_deterministic():
    def dump(B):
        return list(B.nodes(data=True)), list(B.edges(data=True)), B.graph
    assert dump(collapse(tiny_graph("atomic"), 2)) == dump(collapse(tiny_graph("atomic"), 2))


def test_collapse_depth_must_be_positive():
    with pytest.raises(SelectionError, match=r"--depth 0: the depth must be an integer >= 1"):
        collapse(tiny_graph("fused"), 0)


def test_auto_depth():
    G = tiny_graph("fused")
    sizes = {d: len(collapse(G, d)) for d in (1, 2, 3)}
    assert sizes[1] < sizes[2] < sizes[3]
    assert auto_depth(G, sizes[3]) == 3
    assert auto_depth(G, sizes[3] - 1) == 2
    assert auto_depth(G, sizes[2] - 1) == 1
    assert auto_depth(G, 1) == 1


def test_auto_depth_measures_what_it_is_given():
    G = tiny_graph("fused")
    edges = {d: collapse(G, d).number_of_edges() for d in (2, 3)}
    assert auto_depth(G, edges[3], lambda B: B.number_of_edges()) == 3
    assert auto_depth(G, edges[3] - 1, lambda B: B.number_of_edges()) == 2


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("pos", [0, 2, 4])
def test_head_from_here_is_what_a_replay_of_this_head_alone_sends(engine, pos):
    """q, k, v's from_here: a replay seeded only from the head's outputs ends with it,
    bit for bit, and it is the sum of what flows into this head's ops in the whole graph."""
    from microgpt_trace.tracer.replay import backward_frames, grads_after

    G = tiny_graph(engine)
    H = head_view(G, pos, 0, 1)
    inputs = [n for n, d in H.nodes(data=True) if d["role"] in ("q", "k", "v")]
    assert len(inputs) == 4 * (1 + 2 * (pos + 1))  # head_dim 4: q, and k, v per position
    seeds = {r: H.nodes[r]["grad"] for r in H.graph["roots"]}
    replayed = list(grads_after(H, backward_frames(H, seeds=seeds)))[-1]
    inside = f"pos{pos}/layer0/attn/head1"
    for n in inputs:
        assert replayed[n] == H.nodes[n]["from_here"]
        into_head = [c for _, v, c in G.out_edges(n, data="contribution")
                     if G.nodes[v]["scope"].startswith(inside + "/")
                     or G.nodes[v]["scope"] == inside]
        assert H.nodes[n]["from_here"] == pytest.approx(math.fsum(into_head), rel=1e-12,
                                                         abs=1e-18)
    queries = [n for n in inputs if H.nodes[n]["role"] == "q"]  # read by this head only
    assert all(H.nodes[n]["from_here"] == H.nodes[n]["grad"] for n in queries)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_key_s_whole_grad_is_the_sum_of_the_shares_of_the_queries_reading_it(engine):
    G = tiny_graph(engine)
    last = len(G.graph["tokens"]) - 2
    shares = {}  # (role, position, label) -> [from_here at each query position]
    whole = {}
    for pos in range(last + 1):
        for _, d in head_view(G, pos, 0, 0).nodes(data=True):
            if d["role"] in ("k", "v"):
                key = (d["role"], d["position"], d["label"])
                shares.setdefault(key, []).append(d["from_here"])
                whole[key] = d["grad"]
    assert len(shares[("k", 0, "L0.k[0]")]) == last + 1  # read by every later query
    for key, parts in shares.items():
        assert math.fsum(parts) == pytest.approx(whole[key], rel=1e-9, abs=1e-15)
    assert any(len(parts) > 1 and parts[0] != whole[key] for key, parts in shares.items())
