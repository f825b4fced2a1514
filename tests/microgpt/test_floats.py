"""The float engine against the Value graph and the microgpt.py oracle, bit for bit.

Equality here is `repr` equality: the same float, not a close one. The order of the
additions in the hand-written backward is what these tests pin down; a sum taken in
another order differs in the last bit on most random documents.
"""

import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgpt_trace.microgpt import floats
from microgpt_trace.microgpt.engine import Value
from microgpt_trace.microgpt.model import GPT, Config, document_loss
from microgpt_trace.microgpt.runs.snapshots import snapshot_record
from microgpt_trace.microgpt.sample import generate
from microgpt_trace.microgpt.train import TrainConfig, start, train, train_steps

from . import reference

ROOT = Path(__file__).resolve().parents[2]
# heads -> the widths 6..16 they divide
WIDTHS = {h: [n for n in range(6, 17) if n % h == 0] for h in (1, 2, 3, 4, 5, 16)}


def random_model(rng, engine="fused", std=0.5, **shape):
    """A model with weights drawn wider than the init, so ReLUs and softmaxes vary."""
    config = Config(vocab_size=rng.randint(2, 9), **shape)
    model = GPT.init(config, rng, engine)
    for p in model.parameters():
        p.data = rng.gauss(0, std)
    return model


def random_tokens(rng, config, length):
    bos = config.vocab_size - 1
    return [bos] + [rng.randrange(config.vocab_size) for _ in range(length)] + [bos]


def value_grads(model, tokens):
    """Loss and gradients from the Value graph, as floats in state-dict layout."""
    loss = document_loss(model, tokens)
    loss.backward()
    grads = {name: [[p.grad for p in row] for row in rows] for name, rows in model.params.items()}
    return loss.data, grads


def assert_bit_equal(actual, expected):
    """Loss and every gradient the same float (repr also tells -0.0 from 0.0)."""
    assert repr(actual[0]) == repr(expected[0])
    assert list(actual[1]) == list(expected[1])  # state-dict order
    for name, rows in expected[1].items():
        for i, row in enumerate(rows):
            assert list(map(repr, actual[1][name][i])) == list(map(repr, row)), (name, i)


@st.composite
def shapes(draw):
    n_head = draw(st.sampled_from(sorted(WIDTHS)))
    n_embd = draw(st.sampled_from(WIDTHS[n_head]))
    return dict(n_layer=draw(st.integers(1, 3)), n_head=n_head, n_embd=n_embd,
                block_size=draw(st.integers(4, 16)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_hand_written_backward_equals_value_backward(shape, seed, data):
    rng = random.Random(seed)
    model = random_model(rng, std=data.draw(st.sampled_from([0.08, 0.3, 0.7])), **shape)
    # documents shorter than, as long as and longer than the block (truncated)
    length = data.draw(st.integers(0, shape["block_size"] + 3))
    tokens = random_tokens(rng, model.config, length)
    expected = value_grads(model, tokens)
    assert_bit_equal(floats.loss_and_grads(model.config, floats.weights_of(model.params),
                                           tokens), expected)


def test_atomic_graph_too():
    rng = random.Random(3)
    model = random_model(rng, "atomic", n_layer=2, n_embd=6, n_head=3, block_size=6)
    tokens = random_tokens(rng, model.config, 7)
    assert_bit_equal(floats.loss_and_grads(model.config, floats.weights_of(model.params),
                                           tokens), value_grads(model, tokens))


def test_repeated_tokens_sum_their_wte_rows_last_position_first():
    # token 0 at every position: its wte row gets one contribution per position
    rng = random.Random(5)
    model = random_model(rng, n_layer=1, n_embd=8, n_head=2, block_size=8)
    tokens = [model.config.vocab_size - 1] + [0] * 7 + [0]
    assert_bit_equal(floats.loss_and_grads(model.config, floats.weights_of(model.params),
                                           tokens), value_grads(model, tokens))


def test_forward_gives_the_models_logits():
    rng = random.Random(1)
    model = random_model(rng, n_layer=2, n_embd=8, n_head=4, block_size=5)
    weights = floats.weights_of(model.params)
    value_cache, float_cache = model.new_cache(), floats.new_cache(model.config)
    for pos, token in enumerate([4, 0, 1, 1, 0]):
        logits = [v.data for v in model.forward(token % model.config.vocab_size, pos,
                                                value_cache)]
        assert floats.forward(model.config, weights, token % model.config.vocab_size, pos,
                              float_cache) == logits


def test_weights_and_grads_keep_the_state_dict_layout():
    model = random_model(random.Random(0), n_layer=2, n_embd=6, n_head=2, block_size=4)
    weights = floats.weights_of(model.params)
    _, grads = floats.loss_and_grads(model.config, weights, [1, 0, 1])
    assert list(grads) == list(weights) == list(model.params)
    assert all(len(grads[k]) == len(w) and all(len(g) == len(r) for g, r in zip(grads[k], w))
               for k, w in weights.items())
    assert weights["wte"][0][0] == model.params["wte"][0][0].data
    assert not any(isinstance(x, Value) for rows in grads.values() for r in rows for x in r)


def test_float_is_the_default_engine(tiny_docs):
    # test_train.py compares the float engine with the reference oracle; the slow
    # tests below do it over hundreds of steps
    assert start(tiny_docs, TrainConfig(steps=1)).engine == "float"
    assert start(tiny_docs, TrainConfig(steps=1)).model.engine == "fused"  # for probes


def run(docs, engine, steps, **shape):
    state = start(docs, TrainConfig(steps=steps), engine, **shape)
    metrics = list(train_steps(state))
    return state, metrics


@pytest.mark.parametrize("steps, shape", [
    (25, dict()),
    (20, dict(n_layer=2, n_embd=12, n_head=3, block_size=5)),
], ids=["default", "2-layer"])
def test_float_and_fused_agree_on_losses_weights_moments_and_norms(tiny_docs, steps, shape):
    fused, fused_metrics = run(tiny_docs, "fused", steps, **shape)
    flt, float_metrics = run(tiny_docs, "float", steps, **shape)
    assert [m.loss for m in float_metrics] == [m.loss for m in fused_metrics]
    assert [m.grad_norm for m in float_metrics] == [m.grad_norm for m in fused_metrics]
    assert [p.data for p in flt.model.parameters()] == [p.data for p in fused.model.parameters()]
    assert flt.m == fused.m and flt.v == fused.v
    assert flt.rng.getstate() == fused.rng.getstate()
    for engine in ("float", "fused"):
        rng = random.Random(9)
        assert generate(flt.model, flt.tokenizer, rng, 8, engine=engine) == \
            generate(fused.model, fused.tokenizer, random.Random(9), 8, engine="fused")


def test_snapshot_steps_give_the_same_panel_data(tiny_docs):
    """Snapshots run on the Value graph whatever the engine: the same data from both."""
    shape = dict(n_layer=2, n_embd=8, n_head=2, block_size=6)
    records = {}
    for engine in ("float", "fused"):
        state = start(tiny_docs, TrainConfig(steps=9), engine, **shape)
        records[engine] = [snapshot_record(state, m) if m.probe else (m.loss, m.grad_norm)
                           for m in train_steps(state, probe_every=4)]
    assert records["float"] == records["fused"]
    assert [r["step"] for r in records["float"] if isinstance(r, dict)] == [1, 5, 9]


def test_gc_is_paused_during_a_step_and_restored(tiny_docs, monkeypatch):
    import gc

    seen = []
    real = floats.loss_and_grads

    def spy(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(floats, "loss_and_grads", spy)
    state = start(tiny_docs, TrainConfig(steps=2))
    assert gc.isenabled()
    for _ in train_steps(state):
        assert gc.isenabled()  # never left off while the caller runs
    assert seen == [False, False]
    gc.disable()
    try:
        list(train_steps(start(tiny_docs, TrainConfig(steps=1))))
        assert not gc.isenabled()  # the previous state comes back, whatever it was
    finally:
        gc.enable()


@pytest.mark.parametrize("page", ["docs/backprop-by-hand.md", "docs/ja/backprop-by-hand.md"])
def test_the_chapter_quotes_the_real_code(page):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S)
    sources = "".join((ROOT / "microgpt" / name).read_text(encoding="utf-8")
                      for name in ("floats.py", "model.py"))
    assert len(blocks) == 3
    for block in blocks:
        assert block in sources, block


@pytest.mark.slow
@pytest.mark.parametrize("steps, shape", [
    (300, dict()),
    (120, dict(n_layer=3, n_embd=12, n_head=4, block_size=6)),
], ids=["default", "3-layer"])
def test_long_run_matches_the_reference(tiny_docs, steps, shape):
    ref_losses, ref_samples, ref_weights = reference.run(tiny_docs, steps, num_samples=10,
                                                         **shape)
    state, losses = train(tiny_docs, TrainConfig(steps=steps), **shape)
    assert losses == ref_losses
    assert {k: [[p.data for p in row] for row in rows]
            for k, rows in state.model.params.items()} == ref_weights
    assert generate(state.model, state.tokenizer, state.rng, 10) == ref_samples


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_many_more_random_documents(shape, seed, data):
    test_hand_written_backward_equals_value_backward.hypothesis.inner_test(shape, seed, data)


EXPERIMENTS = [dict(attention=a, mlp=m, residual=r, activation=act)
               for a in (True, False) for m in (True, False) for r in (True, False)
               for act in ("relu", "tanh", "gelu")]


@pytest.mark.parametrize("flags", EXPERIMENTS, ids=lambda f: "-".join(
    f"{k}={v}" for k, v in f.items()))
def test_every_experiment_backward_equals_value_backward(flags):
    # two documents per combination: wide weights (saturating tanh, gelu's tails) and a
    # document longer than the block; 3 layers so a missing residual compounds
    for seed, std in ((11, 0.5), (12, 0.9)):
        rng = random.Random(seed)
        model = random_model(rng, std=std, n_layer=3, n_embd=8, n_head=2, block_size=6,
                             **flags)
        tokens = random_tokens(rng, model.config, 8)
        expected = value_grads(model, tokens)
        assert_bit_equal(floats.loss_and_grads(model.config, floats.weights_of(model.params),
                                               tokens), expected)


@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_experiments_on_the_atomic_graph_too(activation):
    rng = random.Random(4)
    model = random_model(rng, "atomic", n_layer=2, n_embd=6, n_head=3, block_size=5,
                         residual=False, activation=activation)
    tokens = random_tokens(rng, model.config, 6)
    assert_bit_equal(floats.loss_and_grads(model.config, floats.weights_of(model.params),
                                           tokens), value_grads(model, tokens))


def test_gelu_is_the_tanh_approximation_and_its_derivative():
    from microgpt_trace.microgpt.model import gelu
    for x in (-3.0, -0.5, 0.0, 0.7, 2.5):
        v = Value(x)
        out = gelu(v)
        out.backward()
        c = (2 / 3.141592653589793) ** 0.5
        t = __import__("math").tanh(c * (x + 0.044715 * x ** 3))
        assert out.data == pytest.approx(0.5 * x * (1 + t), abs=1e-15)
        # d/dx: 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2)
        assert v.grad == pytest.approx(0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c
                                       * (1 + 3 * 0.044715 * x * x), rel=1e-12, abs=1e-15)
        assert repr(floats.gelu(x)[0]) == repr(out.data)
        assert repr(floats.gelu_backward(x, 1.0)) == repr(v.grad)


def test_skipped_parts_leave_their_weights_without_gradient():
    rng = random.Random(2)
    model = random_model(rng, n_layer=2, n_embd=6, n_head=2, block_size=5, attention=False,
                         mlp=False)
    _, grads = floats.loss_and_grads(model.config, floats.weights_of(model.params),
                                     random_tokens(rng, model.config, 4))
    assert all(g == 0 for name, rows in grads.items() if name.startswith("layer")
               for row in rows for g in row)
    assert any(g != 0 for row in grads["wte"] for g in row)
