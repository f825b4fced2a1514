"""scope_view: every number checked against the model's own Values; the marks
(gates, the shared scale, pass-through adds, (p - y)/n) against the arithmetic they
claim; replay from the seeds lands on the model's grads."""

import math

import pytest

from microgpt_trace.microgpt.engine import topological_order
from microgpt_trace.microgpt.model import document_loss, softmax
from microgpt_trace.renderers.diagrams.render import layout_size
from microgpt_trace.tracer.exceptions import SelectionError
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.names import node_name
from microgpt_trace.tracer.replay import backward_frames
from microgpt_trace.tracer.scope_notes import scope_summary, teaching_notes
from microgpt_trace.tracer.scope_view import ROLES, scope_names, scope_seeds, scope_view

from .tiny_models import TOKENIZER, snapshot, tiny_graph, tiny_model

TEXT = "abca"
KINDS = ["pos3/layer0/mlp", "pos3/layer0/attn/rmsnorm", "pos3/layer0/residual1",
         "pos0/embed", "pos3/lm_head", "pos3/softmax", "pos3/loss", "loss",
         "pos2/layer0/attn/head1", "pos1/layer0/attn/qkv"]


@pytest.fixture(scope="module")
def values():
    """The model's own Values after backward: (scope, label) -> Value for named ones,
    and the loss."""
    model = tiny_model("fused")
    for p in model.parameters():
        p.grad = 0.0
    tokens = [TOKENIZER.bos] + TOKENIZER.encode(TEXT) + [TOKENIZER.bos]
    loss = document_loss(model, tokens)
    loss.backward()
    named = {(v.scope, v.label): v for v in topological_order(loss) if v.label}
    return named, loss, model, tokens


def view(scope, engine="fused"):
    return scope_view(tiny_graph(engine, TEXT), scope)


@pytest.mark.parametrize("scope", KINDS)
def test_named_values_are_the_models_own(values, scope):
    named, *_ = values
    H = view(scope)
    checked = 0
    for _, d in H.nodes(data=True):
        if d["label"]:
            v = named[d["scope"], d["label"]]
            assert (d["data"], d["grad"]) == (float(v.data), float(v.grad))
            checked += 1
    assert checked >= 2
    assert {d["role"] for _, d in H.nodes(data=True)} <= set(ROLES)


@pytest.mark.parametrize("scope", KINDS)
def test_replay_from_the_seeds_gives_the_models_grads(scope):
    """Backward through the scope alone, started from its outputs' seeds, ends with
    every inside grad the whole backward gave, and each input's `from here`."""
    H = view(scope)
    last = backward_frames(H, seeds=scope_seeds(H))
    grads = dict.fromkeys(H, 0.0)
    for frame in last:
        grads.update(frame.grads)
    for n, d in H.nodes(data=True):
        expected = d["from_here"] if d["role"] == "input" else d["grad"]
        if d["kind"] != "const":
            assert grads[n] == expected, (n, d["label"], d["op"])


def test_outputs_are_what_leaves_the_scope():
    H = view("pos3/layer0/mlp")
    outputs = [H.nodes[n]["label"] for n in H.graph["roots"]]
    assert outputs == [f"L0.fc2[{i}]" for i in range(8)]
    inputs = sorted({d["group"] for _, d in H.nodes(data=True) if d["role"] == "input"})
    assert inputs == ["in:L0.res1"]
    loss = view("loss")
    assert [loss.nodes[n]["label"] for n in loss.graph["roots"]] == ["loss"]
    assert loss.nodes[loss.graph["roots"][0]]["seed"] == 1.0


def test_relu_gates_count_the_models_active_units(values):
    named, *_ = values
    for t in range(5):
        H = view(f"pos{t}/layer0/mlp")
        relus = [v for (s, _), v in named.items() if s == f"pos{t}/layer0/mlp/relu"]
        assert H.graph["relu_total"] == len(relus) == 32
        assert H.graph["relu_active"] == sum(v.data > 0 for v in relus)
        for _, d in H.nodes(data=True):
            if d["op"] == "relu":
                fc1 = named[f"pos{t}/layer0/mlp/fc1", d["label"].replace("relu", "fc1")]
                assert d["gate"] == ("open" if fc1.data > 0 else "closed")


def test_a_closed_gate_sends_fc1_nothing():
    H = view("pos3/layer0/mlp")
    for n, d in H.nodes(data=True):
        if d.get("gate") == "closed":
            (fc1, _, e), = H.in_edges(n, data=True)
            assert e["contribution"] == 0.0 and e["local_grad"] == 0.0


def test_weight_rows_summarise_the_models_weights(values):
    named, _, model, _ = values
    H = view("pos1/layer0/mlp")
    x = [d["data"] for _, d in sorted(H.nodes(data=True)) if d["label"].startswith("L0.xn2[")]
    rows = [d for _, d in sorted(H.nodes(data=True)) if "weights" in d]
    assert len(rows) == 32 + 8 and not any(d["kind"] == "param" for _, d in H.nodes(data=True))
    for d in rows[:32]:
        i = int(d["label"][len("L0.fc1["):-1])
        row = model.params["layer0.mlp_fc1"][i]
        assert d["weights"] == f"layer0.mlp_fc1[{i}]" and d["weights_count"] == 8
        assert d["weights_norm"] == math.sqrt(math.fsum(w.data ** 2 for w in row))
        assert d["weights_grad_norm"] == math.sqrt(math.fsum(w.grad ** 2 for w in row))
        # d fc1[i] / d w[i][j] = x[j]: what this scope sends row i is grad(fc1[i]) * x
        assert math.isclose(d["weights_here_norm"],
                            abs(d["grad"]) * math.sqrt(math.fsum(v * v for v in x)),
                            rel_tol=1e-12, abs_tol=1e-300)


def test_rmsnorm_has_one_scale_for_every_output(values):
    named, *_ = values
    H = view("pos3/layer0/attn/rmsnorm")
    scale, = [n for n, d in H.nodes(data=True) if d.get("mark") == "scale"]
    inputs = {d["label"]: d for _, d in H.nodes(data=True) if d["role"] == "input"}
    x = [inputs[f"x[{i}]"]["data"] for i in range(8)]
    s = H.nodes[scale]["data"]
    assert math.isclose(s, (math.fsum(v * v for v in x) / 8 + 1e-5) ** -0.5, rel_tol=1e-12)
    outputs = [H.nodes[n] for n in H.graph["roots"]]
    assert len(outputs) == H.out_degree(scale) == 8
    for xi, out in zip(x, outputs):
        assert out["data"] == xi * s  # each output is its input times the one scale
        assert named[out["scope"], out["label"]].data == out["data"]
    assert node_name(H, scale) == "scale"  # captions say what the picture draws


@pytest.mark.parametrize("scope", ["pos3/layer0/residual1", "pos2/layer0/residual2"])
def test_residual_add_passes_the_grad_unchanged(scope):
    H = view(scope)
    adds = [n for n, d in H.nodes(data=True) if d.get("mark") == "passthrough"]
    assert len(adds) == 8
    for n in adds:
        for u in H.predecessors(n):
            assert H.nodes[u]["from_here"] == H.nodes[n]["grad"]  # to the bit


def test_embedding_sum_passes_through_to_both_weights(values):
    named, *_ = values
    H = view("pos0/embed")
    params = {d["label"] for _, d in H.nodes(data=True) if d["kind"] == "param"}
    bos = TOKENIZER.bos
    assert params == {f"wte[{bos}][{j}]" for j in range(8)} | {f"wpe[0][{j}]" for j in range(8)}
    assert sum(d.get("mark") == "passthrough" for _, d in H.nodes(data=True)) == 8
    assert sum(d.get("mark") == "scale" for _, d in H.nodes(data=True)) == 1


def test_logits_get_p_minus_y_over_n(values):
    named, loss, model, tokens = values
    n = len(tokens) - 1
    logits = [named["pos3/lm_head", f"logit[{i}]"] for i in range(TOKENIZER.vocab_size)]
    probs = [p.data for p in softmax(logits)]  # the model's own softmax, on the same Values
    for scope in ("pos3/lm_head", "pos3/softmax"):
        H = view(scope)
        marked = {d["label"]: d for _, d in H.nodes(data=True) if "softmax_grad" in d}
        assert len(marked) == TOKENIZER.vocab_size
        for i, logit in enumerate(logits):
            d = marked[f"logit[{i}]"]
            y = int(i == tokens[4])
            assert d["prob"] == probs[i] and d["target"] == y
            assert d["softmax_grad"] == (probs[i] - y) / n
            assert math.isclose(d["softmax_grad"], logit.grad, rel_tol=1e-9, abs_tol=1e-15)


def test_loss_scopes_mean_and_log(values):
    named, loss, _, tokens = values
    n = len(tokens) - 1
    H = view("loss")
    for _, d in H.nodes(data=True):
        if d["role"] == "input":
            assert d["from_here"] == 1 / n == named[d["scope"], d["label"]].grad
    P = view("pos3/loss")
    p, = [d for _, d in P.nodes(data=True) if d["role"] == "input"]
    assert p["prob"] == p["data"] and math.isclose(p["from_here"], -(1 / n) / p["data"],
                                                   rel_tol=1e-12)
    assert any("1/n = 0.2" in note for note in teaching_notes(H))


def test_dense_wiring_is_bundled_and_the_layout_stays_small():
    H = view("pos3/layer0/mlp")
    bundles = {d["bundle"] for *_, d in H.edges(data=True) if "bundle" in d}
    assert {"L0.xn2>L0.fc1", "L0.relu>L0.fc2"} <= bundles
    assert layout_size(H) < 200 < H.number_of_edges()
    assert not any("bundle" in d for *_, d in view("pos3/layer0/residual1").edges(data=True))


def test_scope_names_are_parents_first_in_model_order():
    names = scope_names(tiny_graph("fused", TEXT))
    assert names[:3] == ["pos0", "pos0/embed", "pos0/layer0"] and names[-1] == "loss"
    assert "params" not in names and all(k in names for k in KINDS)
    assert names.index("pos1") > names.index("pos0/loss")
    for name in names:
        parent = name.rpartition("/")[0]
        assert not parent or names.index(parent) < names.index(name)


@pytest.mark.parametrize("scope, fragment", [
    ("pos3/layer0/mlpp", "scopes under 'pos3/layer0': attn, mlp, residual1, residual2"),
    ("pos9", "top-level scopes: loss, params, pos0"),
    ("params", "holds the weights"),
    ("params/wte", "holds the weights"),
    ("", "no ops in scope ''"),
])
def test_unknown_scopes_name_the_ones_nearby(scope, fragment):
    with pytest.raises(SelectionError) as info:
        view(scope)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_needs_a_model_graph():
    with pytest.raises(SelectionError, match="needs a model graph"):
        scope_view(trace_expression("a*b"), "x")


def test_the_query_is_pure():
    G = tiny_graph("fused", TEXT)
    before = snapshot(G)
    H = scope_view(G, "pos3/layer0/mlp")
    H.nodes[next(iter(H))]["data"] = 99.0
    assert snapshot(G) == before


def test_atomic_and_fused_agree_on_every_named_value():
    for scope in ("pos3/layer0/attn/rmsnorm", "pos2/layer0/residual1", "pos1/embed"):
        a, f = view(scope, "atomic"), view(scope, "fused")
        named = {(d["scope"], d["label"]): (d["data"], d["grad"])
                 for H in (a,) for _, d in H.nodes(data=True) if d["label"]}
        for _, d in f.nodes(data=True):
            if d["label"]:
                assert named[d["scope"], d["label"]] == pytest.approx((d["data"], d["grad"]),
                                                                      rel=1e-9, abs=1e-15)


def test_summary_says_what_the_scope_is():
    text = scope_summary(view("pos3/layer0/mlp"))
    lines = text.splitlines()
    assert lines[0] == "scope pos3/layer0/mlp · position 3 reads 'c', predicts 'a'"
    assert "weights: layer0.mlp_fc1 (32×8), layer0.mlp_fc2 (8×32)" in lines[1]
    assert lines[2].startswith("outputs: L0.fc2 (8) (grad norm ")
    assert any(line.startswith("relu: ") and "/32 active" in line for line in lines)
