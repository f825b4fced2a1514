"""Each view a backward animation steps through: the graph it draws and frames that end
with the grads the model's own backward gave; the arguments are keywords only."""

import networkx as nx
import pytest

from microgpt_trace.microgpt.engine import Value
from microgpt_trace.tracer.block_frames import block_frames
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_head, trace_checkpoint_text
from microgpt_trace.tracer.exceptions import SelectionError
from microgpt_trace.tracer.queries import auto_depth
from microgpt_trace.tracer.replay import grads_after
from microgpt_trace.tracer.replay_views import (
    SHARE,
    replay_expression,
    replay_head,
    replay_model,
    replay_scope,
)
from microgpt_trace.tracer.scope_view import scope_view

from .tiny_models import save_tiny_checkpoint, snapshot


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ck") / "ck.json")


def last_grads(G, frames):
    return list(grads_after(G, frames))[-1]


@pytest.mark.parametrize("granularity", ["node", "scope", "level"])
def test_an_expression_ends_with_the_grads_of_value_backward(granularity):
    G, frames = replay_expression(expression="tanh(a*b + c) * a", granularity=granularity,
                                  values={"a": 0.5, "b": -1.5, "c": 0.25})
    a, b, c = Value(0.5), Value(-1.5), Value(0.25)
    ((a * b + c).tanh() * a).backward()
    grads = last_grads(G, frames)
    leaves = {d["label"]: grads[n] for n, d in G.nodes(data=True) if d["kind"] == "input"}
    assert leaves == {"a": a.grad, "b": b.grad, "c": c.grad}
    assert frames[0].grads == ((G.graph["roots"][0], 1.0),)


def test_an_expression_without_values_takes_the_defaults():
    G, _ = replay_expression(expression="a*b")
    assert sorted(d["data"] for _, d in G.nodes(data=True) if d["kind"] == "input") == [2, 3]


@pytest.mark.parametrize("granularity", ["node", "scope", "level"])
def test_a_head_sends_the_grads_the_whole_backward_gave(ck, granularity):
    H, frames = replay_head(text="abc", pos=2, head=1, checkpoint=ck, granularity=granularity)
    assert snapshot(H) == snapshot(trace_checkpoint_head(text="abc", pos=2, head=1,
                                                         checkpoint=ck))
    roots = H.graph["roots"]
    assert dict(frames[0].grads) == {r: H.nodes[r]["grad"] for r in roots}
    flows = [f for frame in frames for f in frame.flows]
    assert flows and all(f.upstream == H.nodes[f.parent]["grad"] for f in flows)
    if granularity == "scope":  # each frame waits for one whole scope
        assert all(len({H.nodes[n]["scope"] for n in f.nodes}) == 1 for f in frames[1:])


def test_a_scope_starts_from_the_loss_and_ends_with_its_grads(ck):
    view, frames = replay_scope(text="abc", scope="pos2/layer0/mlp", checkpoint=ck)
    assert snapshot(view) == snapshot(scope_view(trace_checkpoint_text(text="abc",
                                                                       checkpoint=ck),
                                                 "pos2/layer0/mlp"))
    assert frames[0].caption.startswith("backward through pos2/layer0/mlp starts from")
    grads = last_grads(view, frames)
    inside = [n for n, d in view.nodes(data=True) if d["role"] != "input"
              and d["kind"] != "const"]
    assert inside and all(grads[n] == view.nodes[n]["grad"] for n in inside)


def test_a_scope_refuses_an_unknown_scope(ck):
    with pytest.raises(SelectionError):
        replay_scope(text="abc", scope="pos2/mlp", checkpoint=ck)


def test_the_model_steps_block_by_block(ck):
    graph = trace_checkpoint_text(text="abc", checkpoint=ck)
    B, frames = replay_model(text="abc", depth=2, checkpoint=ck)
    expected_B, expected = block_frames(graph, 2)
    assert nx.utils.graphs_equal(B, expected_B) and frames == expected
    auto, _ = replay_model(text="abc", max_nodes=20, checkpoint=ck)
    assert auto.graph["depth"] == auto_depth(graph, 20) < 3
    with pytest.raises(ValueError, match="depth or max_nodes"):
        replay_model(text="abc", checkpoint=ck)


@pytest.mark.parametrize("replay, args", [
    (replay_expression, ("a*b", {"a": 1.0})),
    (replay_head, ("abc", 2, 0, 1)),
    (replay_scope, ("abc", "pos2/layer0/mlp")),
    (replay_model, ("abc", 2)),
])
def test_arguments_are_keywords_only(replay, args):
    with pytest.raises(TypeError, match="positional"):
        replay(*args)


@pytest.mark.parametrize("engine", ["atomic", "fused"])
def test_a_heads_captions_name_each_value_once(ck, engine):
    """The keys and values of four positions share labels (`L0.k[5]`); the captions
    add the position and its character, so no two values read the same. Constants
    (0, −max) and the softmax's copies of 1/Σ (one per weight, all equal) may."""
    from microgpt_trace.tracer.names import node_name
    H, frames = replay_head(text="abc", pos=2, head=1, checkpoint=ck, engine=engine)
    shown = {n for f in frames for flow in f.flows for n in (flow.parent, flow.child)}
    names = {}
    for n in shown:
        if H.nodes[n]["op"] and node_name(H, n) != "1/Σ":
            names.setdefault(node_name(H, n), set()).add(n)
    assert not {name: ns for name, ns in names.items() if len(ns) > 1}
    key = next(n for n in H if H.nodes[n].get("role") == "k" and H.nodes[n]["position"] == 1)
    assert node_name(H, key) == H.nodes[key]["label"] + " @1 'a'"
    text = "\n".join(f.caption for f in frames)
    assert "(" + node_name(H, key) + ").grad" in text


@pytest.mark.parametrize("engine", ["atomic", "fused"])
def test_a_heads_captions_say_what_their_constants_are(ck, engine):
    """1/√d scales each score and −1/Σ² is the local grad of 1/Σ: the captions say so
    beside the number, never a bare 0.5 or -0.118."""
    _, frames = replay_head(text="abc", pos=2, head=1, checkpoint=ck, engine=engine)
    lines = [line for f in frames for line in f.caption.splitlines()]
    sigma = [line for line in lines if line.startswith("  Σ.grad += ")]
    assert sigma and all(line.startswith("  Σ.grad += (−1/Σ² = ") for line in sigma)
    assert any("(1/√d = " in line for line in lines)


@pytest.mark.parametrize("granularity", ["node", "level"])
def test_a_head_s_captions_say_q_k_v_get_this_position_s_share(ck, granularity):
    H, frames = replay_head(text="abc", pos=1, head=1, checkpoint=ck, granularity=granularity)
    first = frames[0].caption.splitlines()
    assert first[:2] == ["backward through layer 0 · head 1 at position 1 starts from the "
                         "grads its outputs receive from the loss of the whole text",
                         "q, k and v collect this position's share of their grad"]
    inputs = {n for n, d in H.nodes(data=True) if d["role"] in ("q", "k", "v")}
    sending = [any(f.child in inputs for f in frame.flows) for frame in frames]
    assert any(sending) and not all(sending)
    for frame, sends in zip(frames, sending):
        assert frame.caption.endswith("\n" + SHARE) == sends
    assert SHARE == "q, k, v: this position's share of their grad (the head view's 'from here')"
    grads = last_grads(H, frames)
    assert all(grads[n] == H.nodes[n]["from_here"] for n in inputs)
