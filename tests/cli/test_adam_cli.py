"""`microgpt-trace adam`: the printed new value is what `train --resume` writes."""

import json
import re

import pytest

from microgpt_trace.microgpt.data import load_docs
from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.runs.checkpoint import DEFAULT_CHECKPOINT
from microgpt_trace.microgpt.train import docs_digest, resume, train_steps

from .runner import assert_one_line_error, invoke
from .test_train_cli import make_inputs

NEW_VALUE = re.compile(r"new value (\S+): the exact float the training step writes")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("adam-inputs"))  # ck.json: step 1 of 3


def new_value(result):
    assert result.exit_code == 0, result.output + result.stderr
    return float(NEW_VALUE.search(result.stdout)[1])


def weight(path, param):
    name, row, col = re.fullmatch(r"(.+)\[(\d+)\]\[(\d+)\]", param).groups()
    return json.loads(path.read_text())["weights"][name][int(row)][int(col)]


@pytest.mark.parametrize("param", ["wte[2][3]", "layer0.mlp_fc2[1][7]"])
def test_printed_new_value_is_what_train_resume_writes(inputs, tmp_path, param):
    # a checkpoint at step 2 of 3 (one step past ck.json), so that `train --resume`
    # runs exactly one step
    loaded, digest = checkpoint.load(inputs / "ck.json")
    resume(loaded, load_docs(inputs / "tiny.txt"), digest)
    next(train_steps(loaded))
    ck = tmp_path / "step2.json"
    checkpoint.save(loaded, ck, docs_digest(loaded.docs))
    printed = new_value(invoke("adam", param, "--checkpoint", ck, "--data", inputs / "tiny.txt"))
    out = tmp_path / "resumed.json"
    result = invoke("train", "--resume", ck, "--data", inputs / "tiny.txt", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert printed == weight(out, param) != weight(ck, param)  # to the bit: repr round-trips


def test_finished_schedule_says_it_replays(inputs, tmp_path):
    done = tmp_path / "done.json"
    invoke("train", "--resume", inputs / "ck.json", "--data", inputs / "tiny.txt", "-o", done)
    result = invoke("adam", "wpe[0][0]", "--checkpoint", done, "--data", inputs / "tiny.txt")
    assert result.stdout.startswith(f"{done} finished its 3-step schedule: its next "
                                    "learning rate is 0, so no weight would move.\n")
    assert new_value(result) == weight(done, "wpe[0][0]")
    assert result.stderr == ("replaying 2 steps from the seed to reach the last one "
                             "(--steps N skips this)...\n")


def test_text_and_steps(inputs):
    result = invoke("adam", "wpe[0][0]", "--checkpoint", inputs / "ck.json", "--text", "abc",
                    "--steps", 10, "--data", "/nonexistent.txt")
    assert result.exit_code == 0, result.stderr
    assert "schedule set from 3 to 10 steps by --steps" in result.stdout
    assert "document 'abc' (--text)" in result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["foo[1][2]"], "unknown parameter group 'foo' in 'foo[1][2]': the groups are wte (7x8)"),
    (["wte[1]"], "cannot read parameter 'wte[1]': write GROUP[ROW][COL]"),
    (["wte[9][0]"], "row 9 of wte is out of range: wte is 7x8, so its rows are 0 to 6"),
    (["wte[0][0]", "--text", "xyz"], "text 'xyz' has characters not in the vocabulary"),
    (["wte[0][0]", "--steps", 1], "--steps 1 leaves no next step"),
    (["wte[0][0]", "--data", "other.txt"], "the dataset differs"),
])
def test_bad_input_is_one_line(inputs, monkeypatch, args, fragment):
    monkeypatch.chdir(inputs)
    result = invoke("adam", *args, "--checkpoint", "ck.json")
    assert_one_line_error(result, fragment, code=1)


@pytest.mark.slow
def test_default_checkpoint_replays_its_last_step():
    result = invoke("adam", "layer0.mlp_fc1[3][5]")
    assert result.stdout.startswith("data/checkpoint.json finished its 1000-step schedule")
    assert new_value(result) == weight(DEFAULT_CHECKPOINT, "layer0.mlp_fc1[3][5]")
