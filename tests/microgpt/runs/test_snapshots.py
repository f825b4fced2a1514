import json
import math
import re

import pytest

from microgpt_trace.microgpt.exceptions import ConfigError
from microgpt_trace.microgpt.runs.metrics import LogError, MetricsLog, read_log, step_record
from microgpt_trace.microgpt.runs.snapshots import (
    check_snapshot_text,
    default_snapshot_text,
    lower_triangular,
    residual_stream,
    snapshot_record,
)
from microgpt_trace.microgpt.train import TrainConfig, probed_loss, start, train_steps

SHAPE = dict(n_layer=2, n_embd=8, n_head=2, block_size=6)


def weights(state):
    return [p.data for p in state.model.parameters()]


@pytest.mark.parametrize("engine", ["float", "fused"])
def test_probing_changes_no_loss_no_weight_no_moment_no_rng(tiny_docs, engine):
    plain = start(tiny_docs, TrainConfig(steps=12), engine, **SHAPE)
    probed = start(tiny_docs, TrainConfig(steps=12), engine, **SHAPE)
    plain_metrics = list(train_steps(plain))
    probed_metrics = list(train_steps(probed, probe_every=5, snapshot_text="fade"))
    assert [m.loss for m in probed_metrics] == [m.loss for m in plain_metrics]  # to the bit
    assert [m.grad_norm for m in probed_metrics] == [m.grad_norm for m in plain_metrics]
    assert weights(probed) == weights(plain)
    assert (probed.m, probed.v) == (plain.m, plain.v)
    assert probed.rng.getstate() == plain.rng.getstate()
    assert [p.grad for p in probed.model.parameters()] == [0.0] * len(weights(probed))
    assert [m.step for m in probed_metrics if m.probe] == [1, 6, 11, 12]  # and the last


@pytest.fixture
def snapshots(tiny_docs):
    state = start(tiny_docs, TrainConfig(steps=7), **SHAPE)
    records = []
    for metrics in train_steps(state, probe_every=3):
        if metrics.probe:
            records.append((snapshot_record(state, metrics), metrics))
    return state, records


def test_every_snapshot_shows_the_default_text(snapshots):
    state, records = snapshots
    assert [r["step"] for r, _ in records] == [1, 4, 7]
    text = default_snapshot_text(state.docs, SHAPE["block_size"])
    # the first two documents in training order are too long: the third is the first to fit
    assert [len(doc) for doc in state.docs[:3]] == [8, 6, 3] and text == state.docs[2] == "bbe"
    assert {r["text"] for r, _ in records} == {text}


def test_snapshot_record_shapes(snapshots):
    state, records = snapshots
    tok = state.tokenizer
    for record, _metrics in records:
        n = len(record["text"]) + 1
        ids = [tok.bos] + tok.encode(record["text"]) + [tok.bos]
        assert record["tokens"] == [tok.token_text(t) for t in ids]
        assert record["targets"] == ids[1:]
        assert [len(layer) for layer in record["attn"]] == [2, 2]
        assert [len(layer) for layer in record["head_out"]] == [2, 2]
        assert all(len(m) == n and all(len(row) == n for row in m)
                   for layer in record["attn"] for m in layer)
        assert all(len(h) == n and all(len(row) == 4 for row in h)
                   for layer in record["head_out"] for h in layer)
        assert [len(layer) for layer in record["mlp"]] == [n, n]
        assert all(len(row) == 32 and min(row) >= 0 for layer in record["mlp"] for row in layer)
        assert len(record["probs"]) == n
        assert all(len(p) == tok.vocab_size and math.isclose(sum(p), 1.0, rel_tol=1e-12)
                   for p in record["probs"])
        json.dumps(record, allow_nan=False)  # plain JSON data


@pytest.mark.parametrize("before", [0, 3])
def test_a_snapshot_is_a_direct_forward_and_backward_with_the_same_weights(tiny_docs, before):
    """The oracle: a recorder around document_loss on the text, weights of step `before`."""
    direct = start(tiny_docs, TrainConfig(steps=7), **SHAPE)
    for _ in zip(range(before), train_steps(direct)):
        pass
    tok, text = direct.tokenizer, "cafe"
    ids = [tok.bos] + tok.encode(text) + [tok.bos]
    wte = [[p.data for p in row] for row in direct.model.params["wte"]]
    loss, positions = probed_loss(direct.model, ids)
    loss.backward()
    norms = {name: math.sqrt(sum(p.grad * p.grad for row in rows for p in row))
             for name, rows in direct.model.params.items()}

    probed = start(tiny_docs, TrainConfig(steps=7), **SHAPE)
    metrics = [m for m in train_steps(probed, probe_every=1, snapshot_text=text)][before]
    record = snapshot_record(probed, metrics)
    assert record["loss"] == loss.data
    assert record["probs"] == [p["probs"] for p in positions]
    assert record["mlp"][1] == [p["mlp"][1] for p in positions]
    assert record["attn"][0][1][2][:3] == positions[2]["attn"][0][1]
    assert record["wte"] == wte
    assert record["grad_norm"] == pytest.approx(norms, rel=1e-12)
    assert record["residual"] == residual_stream([p["residual"] for p in positions])


@pytest.mark.parametrize("text, message", [
    ("", "the snapshot text is empty"),
    ("cab!", "characters not in the vocabulary of the data: '!'"),
    ("abcdef", "has 6 characters; with block size 6 at most 5 fit"),
])
def test_a_snapshot_text_the_model_cannot_read_is_refused_before_any_step(
        tiny_docs, text, message):
    state = start(tiny_docs, TrainConfig(steps=3), **SHAPE)
    with pytest.raises(ConfigError, match=re.escape(message)):
        next(train_steps(state, probe_every=1, snapshot_text=text))
    assert state.step == 0
    check_snapshot_text("abcde", state.tokenizer, 6)  # five fit


def test_the_default_text_is_the_first_document_that_fits():
    assert default_snapshot_text(["abcdefghij", "ab", "c"], block_size=4) == "ab"
    assert default_snapshot_text(["abcdefghij"], block_size=4) == "abc"


def test_attention_rows_sum_to_one_and_see_only_the_past(snapshots):
    _, records = snapshots
    for record, metrics in records:
        for li, layer in enumerate(record["attn"]):
            for h, matrix in enumerate(layer):
                for t, row in enumerate(matrix):
                    assert math.isclose(sum(row), 1.0, rel_tol=1e-12)
                    assert row[t + 1:] == [0.0] * (len(row) - t - 1)
                    assert row[:t + 1] == metrics.probe.positions[t]["attn"][li][h]


def test_residual_norms_and_cosines_by_hand():
    stream = [{"embed": [3.0, 4.0], "L0_attn": [0.0, 2.0], "L0_mlp": [0.0, 0.0]},
              {"embed": [1.0, 0.0], "L0_attn": [-1.0, 0.0], "L0_mlp": [2.0, 2.0]}]
    result = residual_stream(stream)
    assert result["stages"] == ["embed", "L0_attn", "L0_mlp"]
    assert result["norm"] == [[5.0, 2.0, 0.0], [1.0, 1.0, math.sqrt(8)]]
    assert result["cosine"] == [[8 / 10, 0.0], [-1.0, -2 / math.sqrt(8)]]


def test_snapshot_residual_matches_the_probes(snapshots):
    _, records = snapshots
    record, metrics = records[-1]
    for t, probe in enumerate(metrics.probe.positions):
        embed, attn = probe["residual"]["embed"], probe["residual"]["L0_attn"]
        norm = math.sqrt(sum(x * x for x in embed))
        assert math.isclose(record["residual"]["norm"][t][0], norm, rel_tol=1e-12)
        cos = sum(a * b for a, b in zip(embed, attn)) / norm / math.sqrt(sum(x * x for x in attn))
        assert math.isclose(record["residual"]["cosine"][t][0], cos, rel_tol=1e-12)
    assert record["residual"]["stages"] == ["embed", "L0_attn", "L0_mlp", "L1_attn", "L1_mlp"]


def test_lower_triangular():
    assert lower_triangular([[1.0], [0.5, 0.5], [0.2, 0.3, 0.5]]) == [
        [1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]


# --- the metrics log: writing and robust reading ---

@pytest.fixture
def log_path(tiny_docs, tmp_path):
    """A log of 6 steps with snapshots at steps 1, 4 and 6."""
    state = start(tiny_docs, TrainConfig(steps=6), n_embd=8, n_head=2, block_size=6)
    path = tmp_path / "m.jsonl"
    with MetricsLog(path, state) as log:
        for metrics in train_steps(state, probe_every=3):
            log.write(step_record(metrics))
            if metrics.probe:
                log.write(snapshot_record(state, metrics))
    return path


def test_read_log_round_trip(log_path):
    log = read_log(log_path)
    assert [s["step"] for s in log.steps] == [1, 2, 3, 4, 5, 6]
    assert [s["step"] for s in log.snapshots] == [1, 4, 6]
    assert log.vocab == list("abcdef") + ["BOS"]
    assert log.warnings == []
    assert log.header["config"]["n_embd"] == 8


def test_a_cut_off_last_line_is_skipped_with_a_warning(log_path):
    text = log_path.read_bytes()
    log_path.write_bytes(text[:-40])  # the last snapshot, cut mid-write
    log = read_log(log_path)
    assert [s["step"] for s in log.snapshots] == [1, 4]
    assert len(log.steps) == 6
    assert log.warnings == [f"{log_path}: line 10 is cut off (an interrupted write?); skipped it"]


def test_an_interrupted_run_reports_the_steps_it_has(log_path):
    lines = log_path.read_text().splitlines(keepends=True)
    log_path.write_text("".join(lines[:4]))  # header, step 1, snapshot 1, step 2
    log = read_log(log_path)
    assert ([s["step"] for s in log.steps], log.warnings) == ([1, 2], [])


@pytest.mark.parametrize("mutate, message", [
    (lambda lines: lines[:2] + ['{"type": "step", "st\n'] + lines[2:], "line 3: corrupt"),
    (lambda lines: lines[:2] + ['{"type": "epoch", "step": 1}\n'] + lines[2:],
     "line 3: unexpected record type 'epoch'"),
    (lambda lines: lines[:1] + ['{"type": "step", "step": 1}\n'] + lines[1:],
     "line 2: step record: lacks grad_norm, loss, lr"),
    (lambda lines: lines[:1] + ['{"type": "step", "step": 0, "loss": 1, "lr": 1, '
                                '"grad_norm": {}}\n'],
     "line 2: step record: step: must be 1 or more, got 0"),
    (lambda lines: ['{"some": "other format"}\n'] + lines[1:], "not a microgpt-trace metrics log"),
    (lambda lines: ["plain text\n"] + lines[1:], "not a microgpt-trace metrics log"),
    (lambda lines: [lines[0].replace('"version": 3', '"version": 4')] + lines[1:],
     "has format version 4; this microgpt-trace reads versions 1 to 3"),
    (lambda lines: [], "(it is empty)"),
    (lambda lines: [lines[0][:30]], "(it has no complete line)"),
])
def test_bad_logs_are_clear_errors(log_path, mutate, message):
    lines = log_path.read_text().splitlines(keepends=True)
    log_path.write_text("".join(mutate(lines)))
    with pytest.raises(LogError, match=repr(str(log_path)).replace("\\", "\\\\")) as info:
        read_log(log_path)
    assert message in str(info.value)


def test_missing_log_and_folder(tmp_path):
    with pytest.raises(LogError, match="metrics log not found: '.*nope.jsonl'"):
        read_log(tmp_path / "nope.jsonl")
    with pytest.raises(LogError, match="metrics log is a directory"):
        read_log(tmp_path)


def test_resuming_after_a_crash_appends_cleanly_after_the_checkpoint_step(log_path, tiny_docs):
    text = log_path.read_text()
    log_path.write_text(text[:-40])  # crashed mid-write
    state = start(tiny_docs, TrainConfig(steps=6), n_embd=8, n_head=2, block_size=6)
    state.step = 3  # resumed from a checkpoint of step 3: steps 4-6 will run again
    with MetricsLog(log_path, state, append=True) as log:
        groups = dict.fromkeys(json.loads(text.splitlines()[1])["grad_norm"], 1.0)
        log.write({"type": "step", "step": 4, "loss": 9.0, "lr": 0.0, "grad_norm": groups})
    log = read_log(log_path)
    assert log.warnings == []
    assert [(s["step"], s["loss"]) for s in log.steps][3] == (4, 9.0)
    assert [s["step"] for s in log.steps] == [1, 2, 3, 4]
    assert [s["step"] for s in log.snapshots] == [1]


def test_a_second_writer_of_the_same_log_is_refused(log_path, tiny_docs):
    state = start(tiny_docs, TrainConfig(steps=6), n_embd=8, n_head=2, block_size=6)
    state.step = 6
    before = log_path.read_bytes()
    with MetricsLog(log_path, state, append=True):
        with pytest.raises(LogError, match="being written by another training run"):
            MetricsLog(log_path, state, append=True)
    assert log_path.read_bytes() == before


def version_1(log_path):
    """The log as version 1 wrote it: the header's version, snapshots of another shape."""
    lines = log_path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"version": 3', '"version": 1')
    lines = [line.replace('"text": ', '"doc": ') for line in lines]
    log_path.write_text("".join(lines))


def test_a_version_1_log_gives_its_steps_and_skips_its_snapshots(log_path):
    version_1(log_path)
    log = read_log(log_path)
    assert [s["step"] for s in log.steps] == [1, 2, 3, 4, 5, 6]
    assert log.snapshots == []
    assert log.warnings == [f"{log_path}: format version 1 snapshots showed each step's own "
                            "document; skipped them (train again for snapshots of one "
                            "fixed text)"]


def test_a_resumed_run_does_not_append_to_a_version_1_log(log_path, tiny_docs):
    version_1(log_path)
    before = log_path.read_bytes()
    state = start(tiny_docs, TrainConfig(steps=6), n_embd=8, n_head=2, block_size=6)
    state.step = 3
    with pytest.raises(LogError, match="has format version 1; a resumed run appends "
                                       "version 3 records: give a new --log"):
        MetricsLog(log_path, state, append=True)
    assert log_path.read_bytes() == before
