import json

import pytest

from microgpt_trace.microgpt.data import Tokenizer
from microgpt_trace.microgpt.exceptions import CheckpointError, ConfigError
from microgpt_trace.microgpt.model import Config
from microgpt_trace.microgpt.runs import checkpoint, files
from microgpt_trace.microgpt.sample import generate
from microgpt_trace.microgpt.train import (
    TrainConfig,
    docs_digest,
    resume,
    start,
    train,
    train_steps,
)

from . import reference


def weights_of(state):
    return {k: [[p.data for p in row] for row in rows] for k, rows in state.model.params.items()}


# Three steps put Adam's moments and the decaying learning rate to work over more than
# one update; the 50-step engine agreement below is the long run.
@pytest.mark.parametrize("engine", ["float", "fused", "atomic"])
def test_same_losses_weights_and_samples_as_reference(tiny_docs, engine):
    ref_losses, ref_samples, ref_weights = reference.run(tiny_docs, 3, num_samples=4)
    state, losses = train(tiny_docs, TrainConfig(steps=3), engine)
    assert losses == ref_losses  # to the last bit
    assert weights_of(state) == ref_weights
    assert generate(state.model, state.tokenizer, state.rng, 4) == ref_samples


def test_reference_match_with_other_shapes(tiny_docs):
    shape = dict(n_layer=2, n_embd=8, n_head=2, block_size=5)
    ref_losses, _, _ = reference.run(tiny_docs, 4, **shape)
    _, losses = train(tiny_docs, TrainConfig(steps=4), **shape)
    assert losses == ref_losses


@pytest.mark.slow
def test_atomic_and_fused_agree_bit_for_bit_over_50_steps(tiny_docs):
    fused, fused_losses = train(tiny_docs, TrainConfig(steps=50), "fused")
    atomic, atomic_losses = train(tiny_docs, TrainConfig(steps=50), "atomic")
    assert fused_losses == atomic_losses
    assert weights_of(fused) == weights_of(atomic)
    assert fused.m == atomic.m and fused.v == atomic.v


def test_resume_is_exact(tiny_docs, tmp_path):
    straight, _ = train(tiny_docs, TrainConfig(steps=10))
    first = start(tiny_docs, TrainConfig(steps=10))
    for metrics in train_steps(first):
        if metrics.step == 5:
            break
    path = tmp_path / "ck.json"
    checkpoint.save(first, path, docs_digest(first.docs))
    loaded, digest = checkpoint.load(path)
    assert loaded.step == 5
    resumed = resume(loaded, tiny_docs, digest)
    assert [m.step for m in train_steps(resumed)] == list(range(6, 11))
    assert weights_of(resumed) == weights_of(straight)
    assert resumed.rng.getstate() == straight.rng.getstate()


def test_resume_refuses_contradicting_settings(tiny_docs, tmp_path):
    state = start(tiny_docs, TrainConfig(steps=3))
    path = tmp_path / "ck.json"
    checkpoint.save(state, path, docs_digest(state.docs))
    loaded, digest = checkpoint.load(path)
    with pytest.raises(ConfigError, match="n_embd 32 contradicts"):
        resume(loaded, tiny_docs, digest, n_embd=32)
    with pytest.raises(ConfigError, match="dataset differs"):
        resume(loaded, tiny_docs[1:], digest)
    assert resume(loaded, tiny_docs, digest, n_embd=16, steps=None).docs == state.docs


def test_metrics_carry_grad_norms_before_the_update(tiny_docs):
    state = start(tiny_docs, TrainConfig(steps=2))
    metrics = next(train_steps(state))
    assert metrics.step == 1 and metrics.lr == 0.01
    assert list(metrics.grad_norm) == list(state.model.params)
    assert all(n > 0 for n in metrics.grad_norm.values())


@pytest.mark.parametrize("mutate, message", [
    (lambda text: text[: len(text) // 2], "corrupt or truncated"),
    (lambda text: "not json at all", "corrupt or truncated"),
    (lambda text: text.replace('"version":2', '"version":99'), "version 99"),
    (lambda text: text.replace('"format":"microgpt-trace-checkpoint"', '"format":"x"'),
     "not a microgpt-trace checkpoint"),
    (lambda text: text.replace('"n_embd":16', '"n_embd":15'),
     r"n_embd \(15\) must be divisible by n_head \(4\)"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "adam"}),
     "lacks adam"),
])
def test_bad_checkpoints(tiny_docs, tmp_path, mutate, message):
    state = start(tiny_docs, TrainConfig(steps=1))
    path = tmp_path / "ck.json"
    checkpoint.save(state, path, "x")
    path.write_text(mutate(path.read_text()))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load(tmp_path / "nope.json")


def test_interrupted_save_leaves_old_checkpoint(tiny_docs, tmp_path, monkeypatch):
    state = start(tiny_docs, TrainConfig(steps=1))
    path = tmp_path / "ck.json"
    checkpoint.save(state, path, "x")
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(state, path, "y")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_layer=0), "n_layer must be a positive integer"),
    (dict(n_embd=10, n_head=4), "divisible"),
    (dict(block_size=-1), "block_size"),
])
def test_bad_config(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Config(vocab_size=5, **kwargs)


def test_bad_train_config():
    with pytest.raises(ConfigError, match="steps"):
        TrainConfig(steps=-1)


def test_temperature_must_be_positive(tiny_docs):
    state = start(tiny_docs, TrainConfig(steps=0))
    with pytest.raises(ConfigError, match="temperature"):
        generate(state.model, state.tokenizer, state.rng, 1, temperature=0)


def test_long_lines_are_truncated_to_block_size():
    docs = ["abcdefghijklmnopqrstuvwxyz" * 2, "ab"]
    ref_losses, _, _ = reference.run(docs, 3, block_size=4)
    _, losses = train(docs, TrainConfig(steps=3), block_size=4)
    assert losses == ref_losses


def test_tokenizer_round_trip():
    tok = Tokenizer.from_docs(["anna", "bob"])
    assert tok.chars == "abno" and tok.bos == 4 and tok.vocab_size == 5
    assert tok.decode(tok.encode("anna")) == "anna"
    assert tok.token_text(4) == "BOS"


def test_fused_steps_skip_names_and_keep_the_losses(tiny_docs, monkeypatch):
    from microgpt_trace.microgpt import engine
    from microgpt_trace.microgpt import train as train_module

    naming = []
    real = train_module.document_loss
    monkeypatch.setattr(train_module, "document_loss",
                        lambda *args: naming.append(engine.naming()) or real(*args))
    fused = start(tiny_docs, TrainConfig(steps=3), "fused")
    atomic = start(tiny_docs, TrainConfig(steps=3), "atomic")
    assert [m.loss for m in train_steps(fused)] == [m.loss for m in train_steps(atomic)]
    assert naming == [False] * 3 + [True] * 3  # atomic keeps microgpt.py's own cost
    assert engine.naming()
