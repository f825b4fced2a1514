"""`microgpt-trace train`: wiring, bad input, the verbose and metrics output, Ctrl-C."""

import json
import math
import random
import re
import signal
import subprocess
import sys
import time

import pytest

from microgpt_trace.microgpt.model import document_loss
from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start, train, train_steps

from .runner import invoke

TINY = dict(n_embd=8, n_head=2, block_size=8)  # a model small enough for CLI tests
TINY_FLAGS = ["--embd", "8", "--heads", "2", "--block-size", "8"]


def tiny_docs():
    rng = random.Random(0)
    return ["".join(rng.choice("abcdef") for _ in range(rng.randint(2, 8))) for _ in range(40)]


def make_inputs(folder):
    """Datasets and checkpoints, good and bad, that the error cases point at."""
    docs = tiny_docs()
    (folder / "tiny.txt").write_text("\n".join(docs) + "\n")
    (folder / "other.txt").write_text("\n".join(docs[1:]) + "\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b"\n  \n\t\r\n")
    (folder / "latin1.txt").write_bytes("anna\njos\u00e9\n".encode("latin-1"))
    (folder / "adir").mkdir()
    state = start(docs, TrainConfig(steps=3), **TINY)
    next(train_steps(state))
    checkpoint.save(state, folder / "ck.json", docs_digest(state.docs))
    text = (folder / "ck.json").read_text()
    (folder / "truncated.json").write_text(text[: len(text) // 2])
    (folder / "corrupt.json").write_bytes(b"\x00\xff garbage")
    (folder / "future.json").write_text(text.replace('"version":2,', '"version":99,', 1))
    (folder / "notack.json").write_text('{"weights": []}')
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


def assert_one_line_error(result, expected, *absent):
    """Non-zero exit, one 'Error: ...' line on stderr, no traceback, no output files."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for path in absent:
        assert not path.exists(), path


# args use {d} for the inputs folder; --data tiny.txt is added unless a case sets --data
TRAIN_ERRORS = {
    "missing data": (["--data", "{d}/nope.txt"], "dataset not found: '{d}/nope.txt'"),
    "empty data": (["--data", "{d}/empty.txt"], "no non-blank lines"),
    "blank data": (["--data", "{d}/blank.txt"], "no non-blank lines"),
    "non-UTF-8 data": (["--data", "{d}/latin1.txt"], "not UTF-8: '{d}/latin1.txt', line 2"),
    "data is a directory": (["--data", "{d}/adir"], "is a directory"),
    "--layers 0": (["--layers", "0"], "'--layers': 0 is not in the range"),
    "--embd 0": (["--embd", "0"], "'--embd': 0 is not in the range"),
    "embd not divisible": (["--embd", "10", "--heads", "4"],
                           "n_embd (10) must be divisible by n_head (4)"),
    "negative --steps": (["--steps", "-1"], "'--steps': -1 is not in the range"),
    "--steps not a number": (["--steps", "ten"], "'ten' is not a valid integer"),
    "--lr 0": (["--lr", "0"], "lr must be a positive number, got 0.0"),
    "unknown engine": (["--engine", "jax"], "'jax' is not one of"),
    "unknown option": (["--bogus"], "No such option '--bogus'"),
    "missing checkpoint": (["--resume", "{d}/nope.json"], "checkpoint not found: '{d}/nope.json'"),
    "corrupt checkpoint": (["--resume", "{d}/corrupt.json"], "corrupt or truncated"),
    "truncated checkpoint": (["--resume", "{d}/truncated.json"], "corrupt or truncated"),
    "future checkpoint": (["--resume", "{d}/future.json"], "format version 99"),
    "not a checkpoint": (["--resume", "{d}/notack.json"], "not a microgpt-trace checkpoint"),
    "contradicting --embd": (["--resume", "{d}/ck.json", "--embd", "16"],
                             "n_embd 16 contradicts the checkpoint's n_embd 8"),
    "contradicting --layers": (["--resume", "{d}/ck.json", "--layers", "2"],
                               "n_layer 2 contradicts the checkpoint's n_layer 1"),
    "contradicting --steps": (["--resume", "{d}/ck.json", "--steps", "7"],
                              "steps 7 contradicts the checkpoint's steps 3"),
    "contradicting --seed": (["--resume", "{d}/ck.json", "--seed", "1"],
                             "seed 1 contradicts the checkpoint's seed 42"),
    "different data": (["--resume", "{d}/ck.json", "--data", "{d}/other.txt"],
                       "the dataset differs"),
}


@pytest.mark.parametrize("case", TRAIN_ERRORS)
def test_bad_input_is_one_line(inputs, tmp_path, case):
    args, expected = TRAIN_ERRORS[case]
    args = [a.format(d=inputs) for a in args]
    if "--data" not in args:
        args += ["--data", inputs / "tiny.txt"]
    out, log = tmp_path / "out.json", tmp_path / "out.jsonl"
    result = invoke("train", *args, "-o", out, "--log", log)
    assert_one_line_error(result, expected.format(d=inputs), out, log)


def test_resume_with_agreeing_flags_runs_to_the_end(inputs, tmp_path):
    out = tmp_path / "out.json"
    result = invoke("train", "--resume", inputs / "ck.json", "--data", inputs / "tiny.txt",
                    *TINY_FLAGS, "--steps", "3", "--seed", "42", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("trained 3 / 3 steps, final loss ")
    assert checkpoint.load(out)[0].step == 3


def test_verbose_prints_the_reference_line_per_step(inputs):
    result = invoke("train", "--data", inputs / "tiny.txt", "--steps", "5", *TINY_FLAGS,
                    "--verbose")
    assert result.exit_code == 0, result.output
    first, *steps, last = result.stdout.splitlines()
    assert first == ("no -o given: the trained model will not be saved "
                     "(add -o checkpoint.json to keep it)")
    _, losses = train(tiny_docs(), TrainConfig(steps=5), **TINY)
    assert steps == [f"step {i:4d} / {5:4d} | loss {loss:.4f}" for i, loss in enumerate(losses, 1)]
    assert all(re.fullmatch(r"step +\d+ / +5 \| loss \d+\.\d{4}", line) for line in steps)
    assert last == f"trained 5 / 5 steps, final loss {losses[-1]:.4f}; no -o given, nothing saved"
    assert result.stderr == ""  # no progress bar next to the step lines


def test_with_output_no_warning(inputs, tmp_path):
    result = invoke("train", "--data", inputs / "tiny.txt", "--steps", "2", *TINY_FLAGS,
                    "-o", tmp_path / "ck.json")
    assert result.exit_code == 0, result.output
    assert "will not be saved" not in result.output


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_metrics_log_and_checkpoint_match_the_library(inputs, tmp_path):
    out, log = tmp_path / "ck.json", tmp_path / "m.jsonl"
    result = invoke("train", "--data", inputs / "tiny.txt", "--steps", "4", *TINY_FLAGS,
                    "-o", out, "--log", log)
    assert result.exit_code == 0, result.output
    state = start(tiny_docs(), TrainConfig(steps=4), **TINY)
    expected = list(train_steps(state))

    header, *records = read_jsonl(log)
    assert header["type"] == "header"
    assert (header["format"], header["version"]) == ("microgpt-trace-metrics", 3)
    assert header["config"] == state.model.config.to_dict()
    assert header["train_config"] == TrainConfig(steps=4).to_dict()
    assert header["chars"] == "abcdef"
    steps = [r for r in records if r["type"] == "step"]
    assert [(r["step"], r["loss"], r["lr"]) for r in steps] == \
        [(m.step, m.loss, m.lr) for m in expected]
    assert [r["lr"] for r in steps] == [0.01 * (1 - s / 4) for s in range(4)]
    for record, metrics in zip(steps, expected):
        assert list(record["grad_norm"]) == list(state.model.params)
        assert record["grad_norm"] == metrics.grad_norm
    # step 1 by hand: the norms of the gradients before Adam uses (and zeroes) them
    fresh = start(tiny_docs(), TrainConfig(steps=4), **TINY)
    tok = fresh.tokenizer
    document_loss(fresh.model, [tok.bos] + tok.encode(fresh.docs[0]) + [tok.bos]).backward()
    assert steps[0]["grad_norm"] == {
        name: math.sqrt(sum(p.grad * p.grad for row in rows for p in row))
        for name, rows in fresh.model.params.items()}

    saved, _ = checkpoint.load(out)
    assert saved.step == 4
    assert [p.data for p in saved.model.parameters()] == [p.data for p in state.model.parameters()]


def test_a_line_longer_than_block_size_is_truncated_not_an_error(tmp_path):
    docs = ["abcdefghijklmnopqrstuvwxyz" * 2, "ab", "ba"]
    data = tmp_path / "long.txt"
    data.write_text("\n".join(docs) + "\n")
    result = invoke("train", "--data", data, "--steps", "3", "--block-size", "4", "--verbose")
    assert result.exit_code == 0, result.output
    _, losses = train(docs, TrainConfig(steps=3), block_size=4)
    assert result.stdout.splitlines()[1:4] == [f"step {i:4d} /    3 | loss {loss:.4f}"
                                              for i, loss in enumerate(losses, 1)]


def test_train_restores_the_sigint_handler(inputs):
    before = signal.getsignal(signal.SIGINT)
    result = invoke("train", "--data", inputs / "tiny.txt", "--steps", "1", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGINT) is before


# --- Ctrl-C: a real process and a real SIGINT ---

def start_and_interrupt(args, log, cwd, min_steps=2):
    """Run `python -m microgpt_trace train ...`, SIGINT it once the log shows min_steps."""
    proc = subprocess.Popen([sys.executable, "-m", "microgpt_trace", "train", *map(str, args),
                             "--log", str(log)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while logged_steps(log) < min_steps and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


def logged_steps(log):
    try:
        return log.read_text().count('"type": "step"')
    except FileNotFoundError:
        return 0


INTERRUPTED_STEPS = 150  # about a second of training: ample time to interrupt after 2 steps


@pytest.fixture(scope="module")
def interrupted(inputs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("interrupted")
    args = ["--data", inputs / "tiny.txt", "--steps", INTERRUPTED_STEPS, *TINY_FLAGS,
            "-o", folder / "ck.json", "--verbose"]
    code, stdout, stderr = start_and_interrupt(args, folder / "run.jsonl", folder)
    return folder, code, stdout, stderr


def test_ctrl_c_writes_a_resumable_checkpoint(interrupted):
    folder, code, stdout, stderr = interrupted
    assert code == 130, stderr
    state, _ = checkpoint.load(folder / "ck.json")
    assert 2 <= state.step < INTERRUPTED_STEPS
    ck = folder / "ck.json"
    assert stderr.splitlines() == [f"interrupted after step {state.step}: checkpoint saved "
                                   f"to {ck}; continue with --resume {ck}"]
    assert len(stdout.splitlines()) == state.step  # --verbose: one line per finished step
    steps = [r["step"] for r in read_jsonl(folder / "run.jsonl") if r["type"] == "step"]
    assert steps == list(range(1, state.step + 1))
    assert sorted(p.name for p in folder.iterdir()) == ["ck.json", "run.jsonl"]  # no temp file


def test_resumed_run_ends_where_an_uninterrupted_one_does(interrupted, inputs, tmp_path):
    folder, code, _, _ = interrupted
    assert code == 130
    ck, log = folder / "ck.json", folder / "run.jsonl"
    resumed = invoke("train", "--resume", ck, "--data", inputs / "tiny.txt", "-o", ck, "--log", log)
    assert resumed.exit_code == 0, resumed.output
    straight_ck, straight_log = tmp_path / "straight.json", tmp_path / "straight.jsonl"
    straight = invoke("train", "--data", inputs / "tiny.txt", "--steps", INTERRUPTED_STEPS,
                      *TINY_FLAGS, "-o", straight_ck, "--log", straight_log)
    assert straight.exit_code == 0, straight.output
    # weights, Adam moments, step and RNG state: the same bytes
    assert ck.read_bytes() == straight_ck.read_bytes()
    steps = [r for r in read_jsonl(log) if r["type"] == "step"]
    assert steps == [r for r in read_jsonl(straight_log) if r["type"] == "step"]


def test_ctrl_c_without_output_saves_nothing(inputs, tmp_path):
    args = ["--data", inputs / "tiny.txt", "--steps", 100000, *TINY_FLAGS]
    code, _, stderr = start_and_interrupt(args, tmp_path / "run.jsonl", tmp_path)
    assert code == 130
    step = logged_steps(tmp_path / "run.jsonl")
    assert stderr.splitlines()[-1] == f"interrupted after step {step}: nothing saved (no -o given)"
    assert "Traceback" not in stderr
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]


def test_experiment_flags_reach_checkpoint_and_log(inputs, tmp_path):
    out, log = tmp_path / "ck.json", tmp_path / "m.jsonl"
    result = invoke("train", "--data", inputs / "tiny.txt", "--steps", "2", *TINY_FLAGS,
                    "--no-mlp", "--no-residual", "--activation", "tanh", "-o", out, "--log", log)
    assert result.exit_code == 0, result.output
    header = read_jsonl(log)[0]
    assert {k: header["config"][k] for k in ("attention", "mlp", "residual", "activation")} == \
        {"attention": True, "mlp": False, "residual": False, "activation": "tanh"}
    assert checkpoint.load(out)[0].model.config.experiments() == [
        "--no-mlp", "--no-residual", "--activation tanh"]
    again = invoke("train", "--data", inputs / "tiny.txt", "--resume", out, "--activation", "gelu")
    assert again.exit_code != 0
    assert "activation 'gelu' contradicts the checkpoint's activation 'tanh'" in again.output
