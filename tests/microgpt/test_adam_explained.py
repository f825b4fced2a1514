"""One weight's Adam arithmetic equals what a real training step writes, to the bit."""

import json
import random

import pytest

from microgpt_trace.microgpt import floats
from microgpt_trace.microgpt.adam_explained import (
    adam_numbers,
    flat_index,
    format_arithmetic,
    next_update,
    parse_param,
)
from microgpt_trace.microgpt.exceptions import (
    CheckpointError,
    ConfigError,
    DataError,
    ParameterError,
)
from microgpt_trace.microgpt.model import param_shapes
from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, resume, start, train_steps

SHAPE = dict(n_layer=1, n_embd=8, n_head=2, block_size=8)
# one weight per group, corners and middles
PARAMS = ["wte[0][0]", "wpe[1][7]", "lm_head[3][2]", "layer0.attn_wq[7][0]",
          "layer0.attn_wk[2][3]", "layer0.attn_wv[4][4]", "layer0.attn_wo[0][7]",
          "layer0.mlp_fc1[31][5]", "layer0.mlp_fc2[3][31]"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A data file, a checkpoint at step 3 of 5 and one at the end of its schedule."""
    rng = random.Random(0)  # the tiny_docs of tests/conftest.py, once for the module
    tiny_docs = ["".join(rng.choice("abcdef") for _ in range(rng.randint(2, 8)))
                 for _ in range(40)]
    folder = tmp_path_factory.mktemp("adam")
    data = folder / "docs.txt"
    data.write_text("\n".join(tiny_docs) + "\n", encoding="utf-8")
    state = start(tiny_docs, TrainConfig(steps=5), **SHAPE)
    for metrics in train_steps(state):
        if metrics.step in (3, 5):
            checkpoint.save(state, folder / f"step{metrics.step}.json", docs_digest(state.docs))
    return data, folder / "step3.json", folder / "step5.json", tiny_docs


def one_step(path, docs, steps=None):
    """The checkpoint resumed for exactly one step of the real training loop."""
    state, digest = checkpoint.load(path)
    if steps:
        state.train_config = TrainConfig(**{**state.train_config.to_dict(), "steps": steps})
    resume(state, docs, digest)
    next(train_steps(state))
    return state


def trained(state, param):
    name, row, col = parse_param(param, param_shapes(state.model.config))
    i = flat_index(param_shapes(state.model.config), name, row, col)
    return state.model.params[name][row][col].data, state.m[i], state.v[i]


@pytest.mark.parametrize("param", PARAMS)
def test_new_value_m_and_v_are_the_training_steps(run, param):
    data, step3, _, docs = run
    a = next_update(step3, param, data)
    assert (a.shows, a.step, a.steps, a.from_text) == ("next", 3, 5, False)
    assert (a.new_value, a.m, a.v) == trained(one_step(step3, docs), param)  # to the bit
    before, _ = checkpoint.load(step3)
    assert (a.value, a.m_prev, a.v_prev) == trained(before, param)


def test_gradient_and_document_are_the_next_training_steps(run):
    data, step3, _, docs = run
    a = next_update(step3, "layer0.attn_wv[4][4]", data)
    state, digest = checkpoint.load(step3)
    resume(state, docs, digest)
    assert a.text == state.docs[3 % len(docs)]
    tokens = [state.tokenizer.bos] + state.tokenizer.encode(a.text) + [state.tokenizer.bos]
    loss, grads = floats.loss_and_grads(state.model.config,
                                        floats.weights_of(state.model.params), tokens)
    assert (a.loss, a.grad) == (loss, grads["layer0.attn_wv"][4][4])
    assert a.lr_t == 0.01 * (1 - 3 / 5)


def test_first_step_by_hand():
    # step 0 from zero moments: m̂ = g and v̂ = g² exactly, so Δ = lr·g/(|g| + eps)
    a = adam_numbers(TrainConfig(steps=10), 0, 1.0, 0.5, 0.0, 0.0)
    assert a["m"] == 0.85 * 0.0 + (1 - 0.85) * 0.5
    assert (a["m_hat"], a["v_hat"], a["lr_t"]) == (0.5, 0.25, 0.01)
    assert a["correction1"] == 1 - 0.85 and a["correction2"] == 1 - 0.99
    assert a["delta"] == 0.01 * 0.5 / (0.5 + 1e-8)
    assert a["new_value"] == 1.0 - a["delta"] == 0.9900000002


def test_later_step_by_hand():
    # s = 2 of 4, lr 0.1: lr_t = 0.05; t = 3 in both corrections
    a = adam_numbers(TrainConfig(steps=4, lr=0.1), 2, -0.25, -2.0, 0.4, 1.5)
    assert a["lr_t"] == 0.1 * (1 - 2 / 4) == 0.05
    assert a["m"] == 0.85 * 0.4 + (1 - 0.85) * -2.0
    assert a["v"] == 0.99 * 1.5 + (1 - 0.99) * 4.0
    assert a["m_hat"] == a["m"] / (1 - 0.85 ** 3)
    assert a["v_hat"] == a["v"] / (1 - 0.99 ** 3)
    assert a["new_value"] == -0.25 - 0.05 * a["m_hat"] / (a["v_hat"] ** 0.5 + 1e-8)


def test_text_gives_that_texts_gradient(run):
    data, step3, _, _ = run
    a = next_update(step3, "wte[0][1]", data, text="abc")
    state, _ = checkpoint.load(step3)
    tokens = [state.tokenizer.bos] + state.tokenizer.encode("abc") + [state.tokenizer.bos]
    _, grads = floats.loss_and_grads(state.model.config,
                                     floats.weights_of(state.model.params), tokens)
    assert (a.text, a.from_text, a.grad) == ("abc", True, grads["wte"][0][1])
    assert "document 'abc' (--text)" in format_arithmetic(a)


def test_text_needs_no_data(run):
    _, step3, _, _ = run
    assert next_update(step3, "wte[0][1]", "/nonexistent.txt", text="ab").text == "ab"


@pytest.mark.parametrize("text, fragment", [
    ("", "the text is empty"),
    ("abz", "text 'abz' has characters not in the vocabulary: 'z'"),
    ("abcdefabc", "text 'abcdefabc' has 9 characters; the model's block_size 8 allows at most 7"),
])
def test_bad_text(run, text, fragment):
    data, step3, _, _ = run
    with pytest.raises(DataError, match=fragment):
        next_update(step3, "wte[0][1]", data, text=text)


def test_finished_schedule_replays_its_last_step(run):
    data, _, step5, _ = run
    a = next_update(step5, "layer0.mlp_fc1[31][5]", data)
    final, _ = checkpoint.load(step5)
    assert (a.shows, a.step, a.steps, a.schedule) == ("replayed", 4, 5, 5)
    assert (a.new_value, a.m, a.v) == trained(final, "layer0.mlp_fc1[31][5]")
    assert a.lr_t == 0.01 * (1 - 4 / 5)
    text = format_arithmetic(a, "ck.json")
    assert text.startswith("ck.json finished its 5-step schedule: its next learning rate "
                           "is 0, so no weight would move.\nShowing its last step (5 of 5)")


def test_replay_tells_the_caller_first(run):
    data, _, step5, _ = run
    told = []
    next_update(step5, "wte[0][0]", data, on_replay=told.append)
    assert told == [4]


def test_replay_that_misses_the_checkpoint_is_refused(run, tmp_path):
    data, _, step5, _ = run
    d = json.loads(step5.read_text())
    d["weights"]["wpe"][0][0] += 1e-12  # not what this seed and data train to
    (tmp_path / "other.json").write_text(json.dumps(d))
    with pytest.raises(CheckpointError, match="does not reproduce its weights"):
        next_update(tmp_path / "other.json", "wte[0][0]", data)


def test_steps_extends_a_finished_schedule(run):
    data, _, step5, docs = run
    a = next_update(step5, "layer0.attn_wq[7][0]", data, steps=8)
    assert (a.shows, a.step, a.steps, a.schedule) == ("extended", 5, 8, 5)
    assert a.lr_t == 0.01 * (1 - 5 / 8) > 0
    assert (a.new_value, a.m, a.v) == trained(one_step(step5, docs, steps=8),
                                              "layer0.attn_wq[7][0]")
    assert "schedule set from 5 to 8 steps by --steps" in format_arithmetic(a)


def test_steps_equal_to_the_schedule_changes_nothing(run):
    data, step3, _, _ = run
    assert next_update(step3, "wte[0][0]", data, steps=5) == next_update(step3, "wte[0][0]", data)


def test_steps_must_leave_a_next_step(run):
    data, step3, _, _ = run
    with pytest.raises(ConfigError, match="--steps 3 leaves no next step: the checkpoint has "
                       "done 3; give more than 3"):
        next_update(step3, "wte[0][0]", data, steps=3)


def test_other_data_is_refused(run, tmp_path):
    _, step3, step5, _ = run
    other = tmp_path / "other.txt"
    other.write_text("abc\ncab\n")
    for path in (step3, step5):
        with pytest.raises(ConfigError, match="the dataset differs"):
            next_update(path, "wte[0][0]", other)


GROUPS = ("the groups are wte (7x8), wpe (8x8), lm_head (7x8), layer0.attn_wq (8x8), "
          "layer0.attn_wk (8x8), layer0.attn_wv (8x8), layer0.attn_wo (8x8), "
          "layer0.mlp_fc1 (32x8), layer0.mlp_fc2 (8x32)")


@pytest.mark.parametrize("param, message", [
    ("foo[1][2]", f"unknown parameter group 'foo' in 'foo[1][2]': {GROUPS}"),
    ("layer1.mlp_fc1[0][0]", "unknown parameter group 'layer1.mlp_fc1'"),
    ("wte[1]", f"cannot read parameter 'wte[1]': write GROUP[ROW][COL], e.g. wte[0][1]; "
               f"{GROUPS}"),
    ("wte[1, 2]", "cannot read parameter 'wte[1, 2]'"),
    ("wte[-1][0]", "cannot read parameter"),
    ("wte", "cannot read parameter"),
    ("wte[7][0]", "row 7 of wte is out of range: wte is 7x8, so its rows are 0 to 6"),
    ("layer0.mlp_fc2[0][32]", "column 32 of layer0.mlp_fc2 is out of range: layer0.mlp_fc2 "
                              "is 8x32, so its columns are 0 to 31"),
])
def test_bad_param(run, param, message):
    data, step3, _, _ = run
    with pytest.raises(ParameterError) as error:
        next_update(step3, param, data)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_param_accepts_spaces_around():
    assert parse_param(" wte[3][5] ", {"wte": (27, 16)}) == ("wte", 3, 5)


def test_format_shows_every_number(run):
    data, step3, _, _ = run
    a = next_update(step3, "lm_head[3][2]", data)
    text = format_arithmetic(a, "ck.json")
    assert text.splitlines()[0] == "lm_head[3][2]: its next Adam update, step 4 of 5 of ck.json"
    for number in (a.grad, a.m_prev, a.v_prev, a.m, a.v, a.correction1, a.correction2,
                   a.m_hat, a.v_hat, a.lr_t, a.delta):
        assert f"{number:.6g}" in text
    assert f"= {a.value!r}\n" in text and f"= {a.new_value!r}\n" in text  # to the bit
    assert "0.01 × (1 − 3/5)" in text and "(1 − 0.85^4)" in text and "(1 − 0.99^4)" in text


def test_a_zero_step_schedule_has_no_last_step(run, tmp_path):
    data, _, _, docs = run
    state = start(docs, TrainConfig(steps=0), **SHAPE)
    checkpoint.save(state, tmp_path / "zero.json", docs_digest(state.docs))
    with pytest.raises(ConfigError, match="0-step schedule: there is no last step"):
        next_update(tmp_path / "zero.json", "wte[0][0]", data)
    a = next_update(tmp_path / "zero.json", "wte[0][0]", data, steps=2)
    assert (a.shows, a.step, a.lr_t, a.m_prev, a.v_prev) == ("extended", 0, 0.01, 0.0, 0.0)
    assert a.new_value == trained(one_step(tmp_path / "zero.json", docs, steps=2), "wte[0][0]")[0]
