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


def test_plot_draws_the_replayed_run_and_names_its_largest_step(inputs, tmp_path):
    from microgpt_trace.microgpt.adam_explained import adam_history, largest_step

    done = tmp_path / "done.json"
    invoke("train", "--resume", inputs / "ck.json", "--data", inputs / "tiny.txt", "-o", done)
    out = tmp_path / "adam.png"
    result = invoke("adam", "layer0.mlp_fc2[1][7]", "--checkpoint", done,
                    "--data", inputs / "tiny.txt", "--plot", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    header, records = adam_history(done, "layer0.mlp_fc2[1][7]", inputs / "tiny.txt")
    step, ratio = largest_step(header, records)
    assert result.stdout == (f"wrote {out}: layer0.mlp_fc2[1][7] over 3 steps; its largest "
                             f"step is {ratio:.2f} × lr_t, at step {step}\n")
    assert result.stderr == "replaying 3 steps from the seed...\n"
    # the last record is the update the checkpoint's last step made, as `adam` shows it
    last = new_value(invoke("adam", "layer0.mlp_fc2[1][7]", "--checkpoint", done,
                            "--data", inputs / "tiny.txt"))
    assert last == weight(done, "layer0.mlp_fc2[1][7]")
    assert [r["step"] for r in records] == [1, 2, 3]
    assert records[0]["m_hat"] == records[0]["grad"] and records[0]["correction2"] == 1 - 0.99


def test_plot_records_each_steps_numbers_as_training_makes_them(inputs):
    from microgpt_trace.microgpt.adam_explained import adam_history, flat_index
    from microgpt_trace.microgpt.model import param_shapes

    loaded, digest = checkpoint.load(inputs / "ck.json")  # step 1 of 3
    header, records = adam_history(inputs / "ck.json", "wte[2][3]", inputs / "tiny.txt")
    i = flat_index(param_shapes(loaded.model.config), "wte", 2, 3)
    assert len(records) == 1 and (records[0]["m"], records[0]["v"]) == (loaded.m[i], loaded.v[i])
    assert header == {"param": "wte[2][3]", "steps": 3, "lr": 0.01, "beta1": 0.85,
                      "beta2": 0.99, "eps": 1e-8}


@pytest.mark.parametrize("args, fragment", [
    (["--text", "anna"], "--text goes with the next update; --plot draws the whole run"),
    (["--steps", "9"], "--steps goes with the next update; --plot draws the whole run"),
])
def test_plot_refuses_next_update_options(inputs, tmp_path, args, fragment):
    out = tmp_path / "a.png"
    result = invoke("adam", "wte[0][0]", "--checkpoint", inputs / "ck.json", "--data",
                    inputs / "tiny.txt", "--plot", out, *args)
    assert_one_line_error(result, fragment, code=2)
    assert not out.exists()


def test_plot_refuses_a_format_it_cannot_draw_before_replaying(inputs, tmp_path):
    out = tmp_path / "a.gif"
    result = invoke("adam", "wte[0][0]", "--checkpoint", inputs / "ck.json", "--data",
                    inputs / "tiny.txt", "--plot", out)
    assert_one_line_error(result, f"--plot {str(out)!r}: give a .png or .svg file", code=2)
    assert not out.exists() and "replaying" not in result.stderr


def test_plot_of_a_checkpoint_its_seed_does_not_reproduce(inputs, tmp_path):
    loaded, digest = checkpoint.load(inputs / "ck.json")
    loaded.model.params["wte"][0][0].data += 1e-9  # trained elsewhere
    odd = tmp_path / "odd.json"
    checkpoint.save(loaded, odd, digest)
    out = tmp_path / "a.png"
    result = invoke("adam", "wte[0][0]", "--checkpoint", odd, "--data", inputs / "tiny.txt",
                    "--plot", out)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [  # the notice of the replay, then one error line
        "replaying 1 steps from the seed...",
        "Error: replaying the checkpoint's schedule from its seed does not reproduce its "
        "weights (trained elsewhere, or with other settings?)"]
    assert not out.exists()
