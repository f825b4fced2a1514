"""`train` under faults: kill -9, SIGINT and SIGTERM mid-run, and a second run.

Real processes, real signals. Whatever happens, the checkpoint on disk is a whole
one (old or new), a resumed run ends on the same bytes as an uninterrupted one,
and two runs never write the same checkpoint or log at once.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.runs.metrics import read_log

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--embd", "8", "--heads", "2", "--block-size", "8"]
STEPS = 300


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    rng = random.Random(1)
    path = tmp_path_factory.mktemp("docs") / "docs.txt"
    path.write_text("\n".join("".join(rng.choice("abcdef") for _ in range(rng.randint(3, 9)))
                              for _ in range(60)) + "\n")
    return path


def train_args(docs, folder, *extra):
    return ["train", "--data", docs, "--steps", STEPS, *TINY, "-o", folder / "ck.json",
            "--log", folder / "log.jsonl", "--snapshot-every", "40", *extra]


def spawn(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "microgpt_trace", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})


def run_until_step(args, cwd, step, signum):
    """Start a run with --verbose, send signum once it reports `step`; its result."""
    proc = spawn([*args, "--verbose"], cwd)
    for line in proc.stdout:
        if line.startswith("step") and int(line.split()[1]) >= step:
            proc.send_signal(signum)
            break
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


@pytest.fixture(scope="module")
def straight(docs, tmp_path_factory):
    """The uninterrupted run every interrupted one must end up equal to."""
    folder = tmp_path_factory.mktemp("straight")
    proc = spawn(train_args(docs, folder), folder)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return folder


def same_run(folder, straight):
    assert (folder / "ck.json").read_bytes() == (straight / "ck.json").read_bytes()
    log, reference = read_log(folder / "log.jsonl"), read_log(straight / "log.jsonl")
    assert log.steps == reference.steps and log.snapshots == reference.snapshots
    assert log.warnings == []
    assert sorted(p.name for p in folder.iterdir()) == ["ck.json", "log.jsonl"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_three_times_then_resumed_ends_on_the_same_bytes(docs, tmp_path, straight,
                                                                      signum):
    resume = ["--resume", tmp_path / "ck.json"]
    for k, step in enumerate((3, 120, 260)):
        code, stderr = run_until_step(train_args(docs, tmp_path, *(resume if k else [])),
                                      tmp_path, step, signum)
        assert code == 128 + signum, stderr
        assert stderr.startswith("interrupted after step") and "Traceback" not in stderr
        assert checkpoint.load(tmp_path / "ck.json")[0].step >= step
    proc = spawn(train_args(docs, tmp_path, *resume), tmp_path)
    assert proc.wait(timeout=300) == 0
    same_run(tmp_path, straight)


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_a_whole_checkpoint(docs, tmp_path, straight):
    rng = random.Random(7)
    resume = []
    for _ in range(6):
        proc = spawn(train_args(docs, tmp_path, "--checkpoint-every", "1", *resume), tmp_path)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.kill()
        proc.communicate(timeout=60)
        if (tmp_path / "ck.json").exists():  # the old or a new one, whole
            state, _ = checkpoint.load(tmp_path / "ck.json")
            assert 0 < state.step <= STEPS
            resume = ["--resume", tmp_path / "ck.json"]
    proc = spawn(train_args(docs, tmp_path, *resume), tmp_path)
    assert proc.wait(timeout=300) == 0
    same_run(tmp_path, straight)  # also: no temp file of a killed write is left over


@pytest.mark.slow
def test_a_second_run_on_the_same_files_is_refused(docs, tmp_path):
    first = spawn(train_args(docs, tmp_path, "--verbose"), tmp_path)
    first.stdout.readline()  # it has taken its locks and finished a step
    try:
        for flag in ("-o", "--log"):
            second = tmp_path / "second"
            second.mkdir(exist_ok=True)
            args = train_args(docs, second)
            args[args.index(flag) + 1] = tmp_path / ("ck.json" if flag == "-o" else "log.jsonl")
            proc = spawn(args, second)
            _, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 1
            assert len(stderr.splitlines()) == 1 and "being written by another training run" \
                in stderr, stderr
    finally:
        first.kill()
        first.communicate()
    lines = (tmp_path / "log.jsonl").read_bytes().splitlines()
    assert lines and all(json.loads(line) for line in lines)  # nothing interleaved
