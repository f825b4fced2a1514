"""`microgpt-trace train --snapshot-every` and `microgpt-trace report`: wiring and errors."""

import json

import pytest

from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.renderers.panels.report import RUN_PANELS, STEP_PANELS

from .runner import invoke

TINY_FLAGS = ["--embd", "8", "--heads", "2", "--block-size", "6"]
DOCS = "anna\nbob\ncarla\ndave\neve\nfrank\n"


def train_log(tmp_path, *flags, steps=6):
    data, log = tmp_path / "docs.txt", tmp_path / "m.jsonl"
    data.write_text(DOCS)
    result = invoke("train", "--data", data, "--steps", steps, *TINY_FLAGS, "--log", log, *flags)
    assert result.exit_code == 0, result.output
    return log


def records(log, kind):
    return [r for r in map(json.loads, log.read_text().splitlines()) if r["type"] == kind]


@pytest.mark.slow
def test_train_snapshots_then_report(tmp_path):
    log = train_log(tmp_path, "--snapshot-every", "5")
    assert [r["step"] for r in records(log, "snapshot")] == [1, 6]
    assert [r["step"] for r in records(log, "step")] == [1, 2, 3, 4, 5, 6]
    out = tmp_path / "report"
    result = invoke("report", "--log", log, "-o", out, "--top-k", "3", "--grad-scale", "linear",
                    "--position", "2")
    assert result.exit_code == 0, result.output
    files = 2 * len(RUN_PANELS) + 2 * len(STEP_PANELS) + 1
    assert result.stdout == f"wrote {files} files for 6 steps and " \
        f"2 snapshots; open {out / 'report.html'}\n"
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "attention-step6.png").exists() and not (out / "attention-step6.svg").exists()
    assert invoke("report", "--log", log, "-o", out, "--svg").exit_code == 0
    assert (out / "attention-step6.svg").exists()


@pytest.mark.slow
def test_a_run_without_attention_and_mlp_reports_the_panels_it_has(tmp_path):
    log = train_log(tmp_path, "--snapshot-every", "5", "--no-attention", "--no-mlp")
    out = tmp_path / "report"
    result = invoke("report", "--log", log, "-o", out)
    assert result.exit_code == 0, result.output + result.stderr
    drawn = {p.name for p in out.iterdir()}
    for name in STEP_PANELS:
        assert (f"{name}-step6.png" in drawn) == (name not in ("attention", "head_outputs",
                                                               "mlp")), name
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "This run switched off attention (train --no-attention)" in page
    assert "and the MLP (train --no-mlp)" in page


def test_snapshot_text_is_every_snapshots_text(tmp_path):
    log = train_log(tmp_path, "--snapshot-every", "2", "--snapshot-text", "bad")
    assert [(r["step"], r["text"]) for r in records(log, "snapshot")] == [
        (1, "bad"), (3, "bad"), (5, "bad"), (6, "bad")]


def test_a_position_past_the_text_is_one_line(tmp_path):
    log = train_log(tmp_path, "--snapshot-every", "5", "--snapshot-text", "bob", steps=2)
    result = invoke("report", "--log", log, "-o", tmp_path / "out", "--position", "4")
    assert result.exit_code == 1
    assert result.stderr == "Error: position 4 is outside the snapshot text “bob”: " \
        "give 0 to 3\n"
    assert not (tmp_path / "out").exists()


def test_default_snapshots_are_the_first_and_last_step_of_a_short_run(tmp_path):
    log = train_log(tmp_path, steps=3)
    assert [r["step"] for r in records(log, "snapshot")] == [1, 3]


def test_snapshot_every_zero_writes_none_and_report_still_draws_the_loss(tmp_path):
    log = train_log(tmp_path, "--snapshot-every", "0")
    assert records(log, "snapshot") == []
    result = invoke("report", "--log", log, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "grad_curves.png", "grad_curves.svg", "loss.png", "loss.svg", "report.html",
        "update_ratio.png", "update_ratio.svg"]


def test_snapshot_every_needs_a_log():
    result = invoke("train", "--steps", "1", "--snapshot-every", "5")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --snapshot-every needs --log: snapshots go into the metrics log "
        "(see 'cli train --help')"]


def test_a_cut_off_log_reports_its_steps_with_one_warning(tmp_path):
    log = train_log(tmp_path, "--snapshot-every", "0", "--sample-every", "0")
    log.write_bytes(log.read_bytes()[:-20])
    result = invoke("report", "--log", log, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"warning: {log}: line 7 is cut off (an interrupted write?); " \
        "skipped it\n"
    assert "for 5 steps" in result.stdout
    assert len(read_log(log).steps) == 5


@pytest.mark.parametrize("content, message", [
    ('{"type": "header"}\n', "is not a microgpt-trace metrics log"),
    (None, "line 3: corrupt (not JSON)"),
])
def test_a_bad_log_is_one_line_and_writes_nothing(tmp_path, content, message):
    log = train_log(tmp_path, "--snapshot-every", "0")
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(content or "".join(lines[:2] + ["garbage\n"] + lines[2:]))
    out = tmp_path / "out"
    result = invoke("report", "--log", log, "-o", out)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    assert not out.exists()
