"""Experiments, update ratios, histograms and samples: recorded, and training unchanged."""

import json
import math

import pytest

from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.microgpt.runs.train_run import samples_at, train_run
from microgpt_trace.microgpt.train import HIST_BINS, TrainConfig, docs_digest, start, train_steps

SHAPE = dict(n_layer=2, n_embd=8, n_head=2, block_size=8)
FLAGS = dict(attention=False, residual=False, activation="gelu")


def run(tiny_docs, tmp_path, name, steps=4, **kwargs):
    state = start(tiny_docs, TrainConfig(steps=steps), **SHAPE, **kwargs.pop("model", {}))
    out, log = tmp_path / f"{name}.json", tmp_path / f"{name}.jsonl"
    train_run(state, docs_digest(state.docs), output=out, log_path=log, **kwargs)
    return state, out, log


def test_flags_are_recorded_in_checkpoint_and_log_and_resume(tiny_docs, tmp_path):
    state, out, log = run(tiny_docs, tmp_path, "x", probe_every=2, model=FLAGS)
    saved = json.loads(out.read_text())
    assert saved["version"] == 2
    assert {k: saved["config"][k] for k in ("attention", "mlp", "residual", "activation")} == \
        dict(FLAGS, mlp=True)
    loaded, _ = checkpoint.load(out)
    assert loaded.model.config == state.model.config
    assert loaded.model.config.experiments() == ["--no-attention", "--no-residual",
                                                 "--activation gelu"]
    read = read_log(log)
    assert read.header["config"] == state.model.config.to_dict()
    assert read.snapshots and all(s["attn"] == [] and len(s["mlp"]) == 2 for s in read.snapshots)
    assert read.snapshots[0]["residual"]["stages"] == ["embed", "L0_mlp", "L1_mlp"]


def test_a_version_1_checkpoint_is_microgpt_py_s_model(tiny_docs, tmp_path):
    _, out, _ = run(tiny_docs, tmp_path, "x", steps=2)
    d = json.loads(out.read_text())
    d["version"] = 1
    for key in ("attention", "mlp", "residual", "activation"):
        del d["config"][key]
    out.write_text(json.dumps(d))
    loaded, _ = checkpoint.load(out)
    assert loaded.model.config.experiments() == []
    d["config"]["activation"] = "swish"
    out.write_text(json.dumps(d))
    with pytest.raises(checkpoint.CheckpointError, match="activation must be one of"):
        checkpoint.load(out)


def test_samples_do_not_change_training(tiny_docs, tmp_path):
    _, with_samples, log = run(tiny_docs, tmp_path, "a", steps=5, sample_every=2)
    _, without, _ = run(tiny_docs, tmp_path, "b", steps=5)
    assert with_samples.read_bytes() == without.read_bytes()  # weights, moments, RNG state
    samples = read_log(log).samples
    assert [s["step"] for s in samples] == [2, 4, 5]
    assert all(len(s["samples"]) == 5 and s["temperature"] == 0.5 for s in samples)


def test_samples_at_uses_its_own_rng(tiny_docs):
    state = start(tiny_docs, TrainConfig(steps=3), **SHAPE)
    before = state.rng.getstate()
    assert samples_at(state) == samples_at(state)
    assert state.rng.getstate() == before


def norm(xs):
    return math.sqrt(sum(x * x for x in xs))


def test_update_ratio_recomputed_from_two_checkpoints(tiny_docs, tmp_path):
    state = start(tiny_docs, TrainConfig(steps=4), **SHAPE)
    steps = train_steps(state)
    next(steps)
    checkpoint.save(state, tmp_path / "1.json", "0" * 64)
    metrics = next(steps)
    checkpoint.save(state, tmp_path / "2.json", "0" * 64)
    w1, w2 = (json.loads((tmp_path / f"{i}.json").read_text())["weights"] for i in (1, 2))
    for name in w1:
        before = [x for row in w1[name] for x in row]
        after = [x for row in w2[name] for x in row]
        expected = math.log10(norm([a - b for a, b in zip(after, before)]) / norm(before))
        assert metrics.update_ratio[name] == pytest.approx(expected, abs=1e-12)


def test_a_skipped_part_has_no_update_ratio(tiny_docs):
    state = start(tiny_docs, TrainConfig(steps=2), **SHAPE, mlp=False)
    metrics = next(train_steps(state))
    assert metrics.update_ratio["layer0.mlp_fc1"] is None
    assert metrics.update_ratio["layer0.attn_wq"] < 0


def test_histograms_count_every_parameter(tiny_docs, tmp_path):
    state, _, log = run(tiny_docs, tmp_path, "x", probe_every=2)
    snapshots = read_log(log).snapshots
    assert [s["step"] for s in snapshots] == [1, 3, 4]
    sizes = {name: len(rows) * len(rows[0]) for name, rows in state.model.params.items()}
    for snapshot in snapshots:
        for kind in ("weights", "grads"):
            hist = snapshot["hist"][kind]
            assert {name: sum(h["counts"]) for name, h in hist.items()} == sizes
            assert all(len(h["counts"]) == HIST_BINS and h["lo"] <= h["hi"]
                       for h in hist.values())
    # step 1's weights are the initial ones: the histogram's range is theirs
    fresh = start(tiny_docs, TrainConfig(steps=4), **SHAPE)
    wte = [p.data for row in fresh.model.params["wte"] for p in row]
    assert snapshots[0]["hist"]["weights"]["wte"]["lo"] == min(wte)
    assert snapshots[0]["hist"]["weights"]["wte"]["hi"] == max(wte)
