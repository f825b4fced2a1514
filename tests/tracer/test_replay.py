from collections import Counter
from itertools import chain

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgpt_trace.microgpt.engine import Value, scope
from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.train import TrainConfig, start
from microgpt_trace.tracer.exceptions import SelectionError
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.replay import GRANULARITIES, Flow, backward_frames, grads_after

from .tiny_models import traced, worked_example


def first3(scope_name):
    return "/".join(scope_name.split("/")[:3])


def last_grads(G, frames):
    """The grad state after the last frame (grads_after copies it per frame)."""
    state = dict.fromkeys(G, 0.0)
    for frame in frames:
        state.update(frame.grads)
    return state


def backward_grads(G):
    """What Value.backward computed, as trace() stored it."""
    return {n: G.nodes[n]["grad"] for n in G}


def check_replay(G, granularity, scope_key=None):
    """The invariants every replay keeps; returns the frames."""
    frames = backward_frames(G, granularity, scope_key)
    root = G.graph["roots"][0]
    assert frames[0].nodes == () and frames[0].grads == ((root, 1.0),)
    assert [f.index for f in frames] == list(range(len(frames)))
    needed = nx.ancestors(G, root) | {root}
    processed = list(chain.from_iterable(f.nodes for f in frames))
    assert Counter(processed) == Counter(n for n in needed if G.in_degree(n))  # once each
    assert sorted(chain.from_iterable(f.final for f in frames)) == sorted(G)
    seen = set()
    for frame in frames[1:]:
        for n in frame.nodes:  # a node sends only once its own grad is final
            assert {p for p in G.successors(n) if p in needed} <= seen
            seen.add(n)
        assert {f.parent for f in frame.flows} == set(frame.nodes)
        for f in frame.flows:
            assert f.contribution == f.local_grad * f.upstream == G.edges[
                f.child, f.parent, f.arg]["contribution"]
    assert last_grads(G, frames) == backward_grads(G)
    return frames


@pytest.fixture
def worked():
    return worked_example()


def test_worked_example_frames(worked):
    frames = check_replay(worked, "node")
    assert [f.nodes for f in frames] == [(), (3,), (2,)]
    assert frames[1].flows == (Flow(3, 2, 0, 1, 1.0, 1.0, 0.0, 1.0),
                               Flow(3, 0, 1, 1, 1.0, 1.0, 0.0, 1.0))
    assert frames[2].flows == (Flow(2, 0, 0, 3.0, 1.0, 3.0, 1.0, 4.0),
                               Flow(2, 1, 1, 2.0, 1.0, 2.0, 0.0, 2.0))
    assert [f.grads for f in frames] == [((3, 1.0),), ((2, 1.0), (0, 1.0)),
                                         ((0, 4.0), (1, 2.0))]
    assert [f.final for f in frames] == [(3,), (2,), (0, 1)]
    assert [f.caption for f in frames] == [
        "seed: d.grad = 1",
        "backward through d (+), grad 1:\n  c.grad += 1 × 1 → 1\n  a.grad += 1 × 1 → 1",
        "backward through c (*), grad 1:\n  a.grad += 3 × 1 → 4\n  b.grad += 2 × 1 → 2",
    ]
    assert last_grads(worked, frames) == {0: 4.0, 1: 2.0, 2: 1.0, 3: 1.0}


def test_grads_after_starts_from_the_seed(worked):
    states = list(grads_after(worked, backward_frames(worked)))
    assert states[0] == {0: 0.0, 1: 0.0, 2: 0.0, 3: 1.0}
    assert states[1] == {0: 1.0, 1: 0.0, 2: 1.0, 3: 1.0}


def test_same_child_twice_gets_two_flows_that_add_up():
    a = Value(3.0, label="a")
    b = a * a
    G = traced(b)
    frames = check_replay(G, "node")
    assert [(f.arg, f.contribution, f.before, f.after) for f in frames[1].flows] == [
        (0, 3.0, 0.0, 3.0), (1, 3.0, 3.0, 6.0)]
    assert frames[1].grads == ((0, 6.0),) and frames[1].final == (0,)
    assert frames[1].caption.splitlines() == [
        "backward through a*a, grad 1:", "  a.grad += 3 × 1 → 3", "  a.grad += 3 × 1 → 6"]


def test_reused_intermediate_is_final_only_after_its_last_parent():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c * c + c  # dd/dc = 2c + 1 = -11
    G = traced(d)
    frames = check_replay(G, "node")
    c_id = next(n for n in G if G.nodes[n]["label"] == "c")
    final_at = {n: f.index for f in frames for n in f.final}
    last_flow_in = max(f.index for f in frames for fl in f.flows if fl.child == c_id)
    assert final_at[c_id] == last_flow_in
    assert last_grads(G, frames)[c_id] == -11.0


def test_unlabelled_nodes_are_spelled_from_their_operands():
    x = Value(2.0) * 3.0
    frames = check_replay(traced(x), "node")
    assert frames[1].caption == ("backward through 2*3, grad 1:\n"
                                 "  (2).grad += 3 × 1 → 3\n"
                                 "  (3).grad += 2 × 1 → 2")


def test_names_that_are_expressions_are_bracketed():
    a = Value(2.0, label="a")
    s = a + 1.0
    s.label = "a + 1"
    r = s * s
    r.label = "L0.h2.w[t=0]"
    frames = check_replay(traced(r), "node")
    assert frames[0].caption == "seed: L0.h2.w[t=0].grad = 1"
    assert frames[1].caption.splitlines()[1] == "  (a + 1).grad += 3 × 1 → 3"


def test_long_captions_end_with_a_count():
    xs = [Value(float(i), label=f"x{i}") for i in range(10)]
    total = Value(0.0, (*xs,), (1,) * 10, "sum")  # one node with ten inputs
    frames = check_replay(traced(total), "node")
    lines = frames[1].caption.splitlines()
    assert len(lines) == 1 + 6 + 1 and lines[-1] == "  … and 4 more"


def test_scope_frames_are_runs_of_equal_scope_keys():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    with scope("f"):
        c = a * b
    with scope("g"):
        d = c + a
        e = d * 2.0
    with scope("f"):
        r = e + 1.0
    G = traced(r)
    frames = check_replay(G, "scope")
    assert [f.caption.split(":")[0] for f in frames[1:]] == ["scope f", "scope g", "scope f"]
    assert [len(f.nodes) for f in frames] == [0, 1, 2, 1]
    merged = check_replay(G, "scope", scope_key=lambda s: "all")
    assert len(merged) == 2 and merged[1].caption.startswith(
        "scope all: backward through 4 nodes, 8 edges:")


def test_level_frames_follow_distance_from_the_root():
    a = Value(1.0, label="a")
    p2 = a * 2.0
    t = (a + 1.0) * 3.0
    G = traced(p2 + t)
    frames = check_replay(G, "level")
    assert [f.nodes for f in frames] == [(), (7,), (6, 2), (4,)]
    assert [f.caption.split(":")[0] for f in frames[1:]] == ["level 0", "level 1", "level 2"]


def test_level_frames_sum_in_backward_order_so_the_last_frame_is_exact():
    # a gets 1 from x (shallow, low id) and +-1e16 from w, z (deep, high ids).
    # Value.backward adds w, z, x: (1e16 - 1e16) + 1 = 1; adding in level order
    # (x, w, z) would give (1 + 1e16) - 1e16 = 0.
    a = Value(1.0, label="a")
    x = a * 1.0
    z, w = a * -1e16, a * 1e16
    G = traced(x + (z + w))
    assert G.nodes[0]["grad"] == 1.0
    frames = check_replay(G, "level")
    assert [fl.after for f in frames for fl in f.flows if fl.child == 0] == [1.0, 1e16, 1.0]


def test_nodes_the_first_root_does_not_need_are_final_at_the_seed():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    y, other = a * a, b * 2.0
    y.backward()
    G = trace(y, other)
    frames = backward_frames(G)
    assert frames[0].final == (1, 2, 3, 4) and len(frames) == 2
    assert last_grads(G, frames) == {0: 4.0, 1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0}


def test_a_leaf_root_has_only_the_seed_frame():
    G = traced(Value(5.0, label="x"))
    assert [(f.caption, f.final) for f in backward_frames(G, "level")] == [
        ("seed: x.grad = 1", (0,))]


def test_unknown_granularity_names_the_valid_ones(worked):
    with pytest.raises(SelectionError, match=r"node, scope, level, got 'edge'"):
        backward_frames(worked, "edge")


def test_graph_without_roots():
    G = trace(Value(1.0))
    G.graph["roots"] = ()
    with pytest.raises(SelectionError, match="no root"):
        backward_frames(G)


@st.composite
def expressions(draw):
    """Random DAGs of +, *, exp, tanh over a few leaves, reusing nodes freely."""
    leaves = draw(st.lists(st.floats(-3, 3), min_size=1, max_size=4))
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(leaves)]
    for _ in range(draw(st.integers(1, 14))):
        op = draw(st.sampled_from(["+", "*", "*c", "exp", "tanh"]))
        a, b = draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))
        with scope(draw(st.sampled_from(["", "f", "f/g", "h"]))):
            v = {"+": lambda a=a, b=b: a + b, "*": lambda a=a, b=b: a * b,
                 "*c": lambda a=a: a * -1.5,
                 "exp": lambda a=a: a.exp() if abs(a.data) < 20 else a.tanh(),
                 "tanh": a.tanh}[op]()
            nodes.append(v.tanh() if abs(v.data) > 1e6 else v)
    return nodes[-1]


@settings(max_examples=150, deadline=None)
@given(expressions())
def test_last_frame_is_value_backward_exactly(root):
    G = traced(root)
    for granularity in GRANULARITIES:
        frames = check_replay(G, granularity, first3)
        if granularity != "level":  # there, processing order is Value.backward's
            order = [fl for f in frames for fl in f.flows]
            assert [fl.parent for fl in order] == sorted(
                (fl.parent for fl in order), reverse=True)
            assert all(fl.after == fl.before + fl.contribution for fl in order)


def test_an_attention_head():
    state = start(["abc", "bca"], TrainConfig(steps=1), n_embd=8, n_head=2)
    model = state.model
    keys, values = [], []
    for pos, token in enumerate([0, 2, 1]):
        x = [t + p for t, p in zip(model.params["wte"][token], model.params["wpe"][pos])]
        q = model.linear(x, model.params["layer0.attn_wq"], "q[{}]")
        keys.append(model.linear(x, model.params["layer0.attn_wk"], "k[{}]"))
        values.append(model.linear(x, model.params["layer0.attn_wv"], "v[{}]"))
    out = model.head(q, keys, values, 0, 1)
    G = traced(sum(o * (i + 1) for i, o in enumerate(out)))
    for granularity in GRANULARITIES:
        check_replay(G, granularity, first3)


@pytest.mark.parametrize("engine", ["fused", pytest.param("atomic", marks=pytest.mark.slow)])
def test_a_whole_training_step(tiny_docs, engine):
    state = start(tiny_docs, TrainConfig(steps=1), engine=engine, n_embd=8, n_head=2)
    bos = state.tokenizer.bos
    loss = document_loss(state.model, [bos] + state.tokenizer.encode(state.docs[0]) + [bos])
    G = traced(loss)
    for granularity in GRANULARITIES:
        check_replay(G, granularity, first3)
    params = state.model.parameters()
    assert any(p.grad for p in params)


def test_seeds_replay_a_head_to_the_models_own_grads():
    from microgpt_trace.tracer.queries import head_view

    from .tiny_models import tiny_graph

    G = tiny_graph("atomic", "abca")
    pos = len(G.graph["tokens"]) - 2  # the last position: nothing later reads its k, v
    H = head_view(G, pos, 0, 1)
    seeds = {r: H.nodes[r]["grad"] for r in H.graph["roots"]}
    for granularity in GRANULARITIES:
        frames = backward_frames(H, granularity, seeds=seeds)
        assert frames[0].grads == tuple(sorted(seeds.items()))
        grads = last_grads(H, frames)
        for n, d in H.nodes(data=True):
            if d["role"] in ("k", "v") and d["position"] < pos:
                continue  # later positions' heads read them too
            assert grads[n] == d["grad"], (n, d["label"])
    shares = [n for n, d in H.nodes(data=True) if d["role"] in ("k", "v") and d["position"] < pos]
    assert any(grads[n] != H.nodes[n]["grad"] for n in shares)
    flows_in = {}
    for frame in frames:
        for f in frame.flows:
            flows_in.setdefault(f.child, []).append(f.contribution)
    for n in shares:  # only this position's share: the sum of what the head sent it
        assert grads[n] == pytest.approx(sum(flows_in[n]), rel=1e-12, abs=1e-15)


def test_several_seeds_are_listed_in_the_seed_caption(worked):
    frames = backward_frames(worked, seeds={3: 0.5, 2: -2.0})
    assert frames[0].caption.splitlines() == [
        "seed: 2 grads flowing in from the rest of the graph:",
        "  c.grad = -2", "  d.grad = 0.5"]
    assert frames[0].final == (3,)  # c still receives from d
    assert last_grads(worked, frames)[2] == -2.0 + 0.5
    assert backward_frames(worked, seeds={3: 2.0})[0].caption == "seed: d.grad = 2"


def test_seeds_must_be_nodes(worked):
    with pytest.raises(SelectionError, match=r"seeds must be nodes of the graph, got \[9\]"):
        backward_frames(worked, seeds={9: 1.0})


def test_grouped_frames_take_any_order_parents_first_and_stay_exact():
    from microgpt_trace.tracer.replay import grouped_frames

    a = Value(1.0, label="a")
    x = a * 1.0
    z, w = a * -1e16, a * 1e16
    G = traced(x + (z + w))
    ops = [n for n in sorted(G, reverse=True) if G.in_degree(n)]
    assert ops == [8, 7, 6, 4, 2]  # root, z + w, w, z, x
    frames = grouped_frames(G, [("top", [8]), ("rest", [2, 7, 4, 6])])  # x first
    assert frames[2].caption.startswith("rest: backward through 4 nodes")
    assert [fl.after for fl in frames[2].flows if fl.child == 0] == [1.0, -1e16, 1.0]
    assert last_grads(G, frames) == backward_grads(G)
    with pytest.raises(ValueError, match="each of the 5 op nodes once"):
        grouped_frames(G, [("top", [8])])
    with pytest.raises(ValueError, match="node 2 is processed before one of its parents"):
        grouped_frames(G, [("all", sorted(ops))])
