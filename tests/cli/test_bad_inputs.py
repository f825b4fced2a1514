"""Every bad input a careless or unlucky user can give, as one matrix.

Each case runs one command and must end with a non-zero exit, exactly one line on
stderr that says what was wrong (an expression error may add the text and a caret
under it), no traceback, and no new or changed file anywhere in the sandbox.
"""

import json
import math
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, start, train_steps

from .runner import invoke

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--embd", "8", "--heads", "2", "--block-size", "8"]
DOCS = ["anna", "bob", "nab", "abba", "ban", "nan", "bab", "anab"]


def good_checkpoint(folder):
    state = start(DOCS, TrainConfig(steps=3), n_embd=8, n_head=2, block_size=8)
    next(train_steps(state))
    checkpoint.save(state, folder / "ck.json", docs_digest(state.docs))
    return json.loads((folder / "ck.json").read_text())


def good_log(folder):
    result = invoke("train", "--data", folder / "docs.txt", "--steps", "2", *TINY,
                    "--log", folder / "log.jsonl", "--snapshot-every", "1", "--verbose")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def mutated(d, path, value):
    """A deep copy of d with d[path[0]][path[1]]... set to value (or deleted)."""
    d = json.loads(json.dumps(d))
    *outer, last = path
    target = d
    for key in outer:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return d


DELETE = object()
NAN = float("nan")

# checkpoint field -> what a hand-edited or foreign file may hold there
CHECKPOINT_EDITS = {
    "format-wrong": (("format",), "something-else"),
    "version-string": (("version",), "1"),
    "version-newer": (("version",), 99),
    "config-not-a-dict": (("config",), "x"),
    "config-embd-string": (("config", "n_embd"), "8"),
    "config-embd-zero": (("config", "n_embd"), 0),
    "config-extra-key": (("config", "colour"), "red"),
    "config-vocab-mismatch": (("config", "vocab_size"), 99),
    "train-lr-string": (("train_config", "lr"), "0.01"),
    "train-lr-nan": (("train_config", "lr"), NAN),
    "chars-int": (("chars",), 5),
    "chars-repeated": (("chars",), "aabn"),
    "step-string": (("step",), "1"),
    "step-negative": (("step",), -1),
    "step-float": (("step",), 1.5),
    "step-past-schedule": (("step",), 99),
    "weights-missing-group": (("weights", "wte"), DELETE),
    "weights-short-row": (("weights", "wte", 0), [0.1]),
    "weights-string": (("weights", "wpe", 0, 0), "0.1"),
    "weights-nan": (("weights", "lm_head", 0, 0), NAN),
    "weights-inf": (("weights", "lm_head", 0, 1), float("inf")),
    "weights-bool": (("weights", "lm_head", 0, 2), True),
    "adam-short": (("adam", "m"), [0.0]),
    "adam-string": (("adam", "v", 0), "0"),
    "adam-negative-v": (("adam", "v", 0), -1.0),
    "rng-string": (("rng_state",), "x"),
    "rng-short": (("rng_state",), [3, [1, 2], None]),
    "digest-int": (("docs_sha256",), 5),
    "adam-missing": (("adam",), DELETE),
}


def log_edits(lines):
    """name -> the log's lines with one field changed."""
    header, step, snapshot = lines[0], lines[1], lines[2]
    assert header["type"] == "header" and step["type"] == "step" \
        and snapshot["type"] == "snapshot"
    n_tokens = len(snapshot["tokens"])

    def edit(index, path, value):
        out = list(lines)
        out[index] = mutated(lines[index], path, value)
        return out

    return {
        "loss-string": edit(1, ("loss",), "3.2"),
        "loss-nan": edit(1, ("loss",), NAN),
        "lr-list": edit(1, ("lr",), [0.01]),
        "grad-norm-list": edit(1, ("grad_norm",), [1.0]),
        "grad-norm-string-value": edit(1, ("grad_norm", "wte"), "big"),
        "chars-int": edit(0, ("chars",), 5),
        "config-string": edit(0, ("config",), "x"),
        "version-newer": edit(0, ("version",), 4),
        "attn-ragged": edit(2, ("attn", 0, 0), [[1.0]]),
        "attn-string": edit(2, ("attn",), "x"),
        "tokens-outside-vocab": edit(2, ("targets", 0), 999),
        "probs-short": edit(2, ("probs",), [1.0]),
        "wte-nan": edit(2, ("wte", 0, 0), NAN),
        "snapshot-grad-norm-list": edit(2, ("grad_norm",), [1.0]),
        "tokens-int": edit(2, ("tokens",), [1] * n_tokens),
        "residual-string": edit(2, ("residual",), "x"),
        "mlp-short": edit(2, ("mlp",), []),
        "text-int": edit(2, ("text",), 5),
        "snapshot-loss-string": edit(2, ("loss",), "low"),
        "probs-one-position": edit(2, ("probs",), [snapshot["probs"][0]]),
        "step-zero": edit(1, ("step",), 0),
    }


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """The sandbox: good and bad inputs; a case may change nothing in it."""
    return make_box(tmp_path_factory.mktemp("box"))


def make_box(folder):
    (folder / "docs.txt").write_text("\n".join(DOCS) + "\n")
    good = good_checkpoint(folder)
    text = (folder / "ck.json").read_text()
    for name, (path, value) in CHECKPOINT_EDITS.items():
        (folder / f"ck-{name}.json").write_text(json.dumps(mutated(good, path, value)))
    (folder / "ck-truncated.json").write_text(text[: len(text) // 2])
    lines = good_log(folder)
    for name, edited in log_edits(lines).items():
        (folder / f"log-{name}.jsonl").write_text(
            "".join(json.dumps(line) + "\n" for line in edited))
    (folder / "empty").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b"\n \n\t\n")
    (folder / "binary").write_bytes(bytes(range(256)) * 8)
    (folder / "latin1.txt").write_bytes("anna\njos\u00e9\n".encode("latin-1"))
    (folder / "long-line").write_bytes(b"x" * 10_000_000)
    (folder / "a-folder").mkdir()
    (folder / "a-folder" / "notes.txt").write_text("keep")
    (folder / "a-file.txt").write_text("keep")
    return folder


def tree(folder):
    """Every file under folder with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def check_refused(result, box, before):
    assert result.exit_code not in (0, None), result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("Error:"), (result.stderr, result.exception)
    assert len(lines) == 1 or lines[-1].strip().strip("^") == "", result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert tree(box) == before


ROAD = "/sys"  # a folder no one may create files in, root included
CK = ["--checkpoint", "{box}/ck.json"]
EXPRESSIONS = {
    "unbalanced": ["expr", "a*(b"],
    "empty": ["expr", ""],
    "dangling-op": ["expr", "a+"],
    "call": ["expr", "__import__('os').system('x')"],
    "attribute": ["expr", "a.data"],
    "unknown-function": ["expr", "sin(a)"],
    "variable-exponent": ["expr", "a**b"],
    "log-of-negative": ["expr", "log(a)", "--set", "a=-1"],
    "divide-by-zero": ["expr", "a/b", "--set", "b=0"],
    "exp-overflow": ["expr", "exp(a)", "--set", "a=1000"],
    "too-deep": ["expr", "(" * 5000 + "a" + ")" * 5000],
    "too-long": ["expr", "a+" * 60_000 + "a"],
    "set-no-equals": ["expr", "a*b", "--set", "a"],
    "set-no-name": ["expr", "a*b", "--set", "=1"],
    "set-not-a-number": ["expr", "a*b", "--set", "a=x"],
    "set-nan": ["expr", "a*b", "--set", "a=nan"],
    "set-inf": ["expr", "a*b", "--set", "a=inf"],
    "set-unknown-variable": ["expr", "a*b", "--set", "zz=1"],
    "set-twice": ["expr", "a*b", "--set", "a=1", "--set", "a=2"],
    "step-bad": ["step", "a*(b"],
    "step-set": ["step", "a*b", "--set", "a=x"],
    "export-bad": ["export", "a*(b", "-o", "{box}/x.json"],
    "backward-bad": ["backward", "a*(b", "-o", "{box}/x.html"],
    "backward-set": ["backward", "a*b", "--set", "q=1", "-o", "{box}/x.html"],
}
OPTIONS = {
    "max-nodes-zero": ["expr", "a*b", "--max-nodes", "0", "-o", "{box}/x.svg"],
    "max-nodes-negative": ["expr", "a*b", "--max-nodes", "-1", "-o", "{box}/x.svg"],
    "max-nodes-word": ["expr", "a*b", "--max-nodes", "lots", "-o", "{box}/x.svg"],
    "max-nodes-over-cap": ["expr", "a*b+a", "--max-nodes", "2", "-o", "{box}/x.svg"],
    "fan-in-over-cap": ["expr", "+".join(["a"] * 100), "-o", "{box}/x.svg"],
    "fan-in-animation": ["backward", "+".join(["a*b"] * 100), "-o", "{box}/x.html"],
    "bad-format": ["expr", "a*b", "-o", "{box}/x.svg", "--format", "jpg"],
    "bad-extension": ["expr", "a*b", "-o", "{box}/x.jpg"],
    "bad-rankdir": ["expr", "a*b", "--rankdir", "RL"],
    "bad-theme": ["expr", "a*b", "--theme", "neon"],
    "unknown-option": ["expr", "a*b", "--colour"],
    "unknown-command": ["exprs", "a*b"],
    "head-no-text": ["head", *CK],
    "head-empty-text": ["head", *CK, "--text", ""],
    "head-unknown-chars": ["head", *CK, "--text", "ANNA"],
    "head-control-char": ["head", *CK, "--text", "an\x07na"],
    "head-text-too-long": ["head", *CK, "--text", "a" * 40],
    "head-pos-too-big": ["head", *CK, "--text", "anna", "--pos", "9"],
    "head-pos-negative": ["head", *CK, "--text", "anna", "--pos", "-1"],
    "head-pos-word": ["head", *CK, "--text", "anna", "--pos", "last"],
    "head-head-too-big": ["head", *CK, "--text", "anna", "--head", "2"],
    "head-layer-too-big": ["head", *CK, "--text", "anna", "--layer", "1"],
    "head-layer-nan": ["head", *CK, "--text", "anna", "--layer", "nan"],
    "head-max-nodes": ["head", *CK, "--text", "anna", "--max-nodes", "5", "-o", "{box}/h.svg"],
    "model-depth-zero": ["model", *CK, "--text", "anna", "--depth", "0"],
    "model-depth-word": ["model", *CK, "--text", "anna", "--depth", "deep"],
    "model-over-cap": ["model", *CK, "--text", "anna", "--depth", "3", "--max-nodes", "3",
                       "-o", "{box}/m.svg"],
    "model-engine": ["model", *CK, "--text", "anna", "--engine", "turbo"],
    "scope-unknown": ["scope", "pos3/layer0/mlpp", *CK, "--text", "anna"],
    "scope-params": ["scope", "params", *CK, "--text", "anna"],
    "scope-missing": ["scope", *CK, "--text", "anna"],
    "scope-no-text": ["scope", "loss", *CK],
    "scope-bad-text": ["scope", "loss", *CK, "--text", "ANNA"],
    "scope-pos-past-text": ["scope", "pos7/embed", *CK, "--text", "anna"],
    "scope-over-cap": ["scope", "pos3/layer0/mlp", *CK, "--text", "anna", "--max-nodes", "5",
                       "-o", "{box}/s.svg"],
    "scope-engine": ["scope", "loss", *CK, "--text", "anna", "--engine", "turbo"],
    "export-no-output": ["export", "a*b"],
    "export-bad-format": ["export", "a*b", "-o", "{box}/x.csv"],
    "export-both": ["export", "a*b", "--text", "anna", *CK, "-o", "{box}/x.json"],
    "export-neither": ["export", "-o", "{box}/x.json"],
    "sample-n-zero": ["sample", *CK, "-n", "0"],
    "sample-n-negative": ["sample", *CK, "-n", "-3"],
    "sample-n-huge": ["sample", *CK, "-n", "100000000000"],
    "sample-temperature-zero": ["sample", *CK, "--temperature", "0"],
    "sample-temperature-negative": ["sample", *CK, "--temperature", "-1"],
    "sample-temperature-nan": ["sample", *CK, "--temperature", "nan"],
    "sample-temperature-inf": ["sample", *CK, "--temperature", "inf"],
    "sample-seed-word": ["sample", *CK, "--seed", "x"],
    "step-granularity": ["step", "a*b", "--granularity", "scope"],
    "backward-no-output": ["backward", "a*b"],
    "backward-bad-output": ["backward", "a*b", "-o", "{box}/x.mp4"],
    "backward-both": ["backward", "a*b", "--text", "anna", *CK, "-o", "{box}/x.html"],
    "backward-pos": ["backward", "--text", "anna", *CK, "--pos", "7", "-o", "{box}/x.html"],
    "backward-head": ["backward", "--text", "anna", *CK, "--head", "5", "-o", "{box}/x.html"],
    "backward-depth-zero": ["backward", "--text", "anna", *CK, "--model", "--depth", "0",
                            "-o", "{box}/x.html"],
    "backward-depth-no-model": ["backward", "--text", "anna", *CK, "--depth", "2",
                                "-o", "{box}/x.html"],
    "backward-model-no-text": ["backward", "a*b", "--model", "-o", "{box}/x.html"],
    "backward-scope-no-text": ["backward", "--scope", "loss", *CK, "-o", "{box}/x.html"],
    "backward-scope-unknown": ["backward", "--text", "anna", *CK, "--scope", "pos3/mlp",
                               "-o", "{box}/x.html"],
    "backward-scope-and-model": ["backward", "--text", "anna", *CK, "--scope", "loss",
                                 "--model", "-o", "{box}/x.html"],
    "backward-scope-over-cap": ["backward", "--text", "anna", *CK, "--scope",
                                "pos3/layer0/mlp", "--max-nodes", "5", "-o", "{box}/x.html"],
    "backward-scope-bad-output": ["backward", "--text", "anna", *CK, "--scope", "loss",
                                  "-o", "{box}/x.mp4"],
    "backward-gif-cap": ["backward", "+".join(f"a{i}*b{i}" for i in range(300)),
                         "-o", "{box}/x.gif"],
    "report-top-k-zero": ["report", "--log", "{box}/log.jsonl", "-o", "{box}/r",
                          "--top-k", "0"],
    "report-scale": ["report", "--log", "{box}/log.jsonl", "-o", "{box}/r",
                     "--grad-scale", "cubic"],
    "report-no-output": ["report", "--log", "{box}/log.jsonl"],
    "docs-extra": ["docs", "--check", "extra"],
    "adam-unknown-group": ["adam", "foo[1][2]", *CK],
    "adam-bad-syntax": ["adam", "wte[1, 2]", *CK],
    "adam-out-of-range": ["adam", "wte[99][0]", *CK],
    "adam-negative-index": ["adam", "wte[-1][0]", *CK],
    "adam-bad-text": ["adam", "wte[0][0]", *CK, "--text", "ZZ"],
    "adam-steps-negative": ["adam", "wte[0][0]", *CK, "--steps", "-1"],
    "adam-other-data": ["adam", "wte[0][0]", *CK, "--data", "{box}/a-file.txt"],
}
TRAIN = ["train", "--data", "{box}/docs.txt", "--steps", "2", *TINY]
TRAIN_OPTIONS = {
    "steps-negative": ["--steps", "-1"],
    "steps-word": ["--steps", "many"],
    "steps-nan": ["--steps", "nan"],
    "layers-zero": ["--layers", "0"],
    "layers-huge": ["--layers", "100000"],
    "embd-zero": ["--embd", "0"],
    "embd-huge": ["--embd", "100000"],
    "embd-not-divisible": ["--embd", "7"],
    "heads-zero": ["--heads", "0"],
    "heads-huge": ["--heads", "1000000"],
    "block-zero": ["--block-size", "0"],
    "block-huge": ["--block-size", "1000000000"],
    "lr-zero": ["--lr", "0"],
    "lr-negative": ["--lr", "-0.01"],
    "lr-nan": ["--lr", "nan"],
    "lr-inf": ["--lr", "inf"],
    "lr-huge": ["--lr", "1e6"],
    "seed-word": ["--seed", "x"],
    "snapshot-negative": ["--snapshot-every", "-1", "--log", "{box}/new.jsonl"],
    "snapshot-without-log": ["--snapshot-every", "5"],
    "snapshot-text-without-log": ["--snapshot-text", "anna"],
    "snapshot-text-empty": ["--snapshot-text", "", "--log", "{box}/new.jsonl"],
    "snapshot-text-unknown-char": ["--snapshot-text", "anne", "--log", "{box}/new.jsonl"],
    "snapshot-text-too-long": ["--snapshot-text", "annabannab", "--log", "{box}/new.jsonl"],
    "engine": ["--engine", "quantum"],
    "checkpoint-every-zero": ["--checkpoint-every", "0", "-o", "{box}/new.json"],
    "checkpoint-every-without-output": ["--checkpoint-every", "5"],
    "data-missing": ["--data", "{box}/missing.txt"],
    "data-folder": ["--data", "{box}/a-folder"],
    "data-empty": ["--data", "{box}/empty"],
    "data-blank": ["--data", "{box}/blank.txt"],
    "data-binary": ["--data", "{box}/binary"],
    "data-latin1": ["--data", "{box}/latin1.txt"],
    "output-missing-folder": ["-o", "{box}/missing/ck.json"],
    "output-read-only": ["-o", ROAD + "/ck.json"],
    "output-is-folder": ["-o", "{box}/a-folder"],
    "output-equals-data": ["-o", "{box}/docs.txt"],
    "log-missing-folder": ["--log", "{box}/missing/log.jsonl"],
    "log-read-only": ["--log", ROAD + "/log.jsonl"],
    "log-is-folder": ["--log", "{box}/a-folder"],
    "log-equals-output": ["-o", "{box}/same", "--log", "{box}/same"],
    "resume-missing": ["--resume", "{box}/missing.json"],
    "resume-truncated": ["--resume", "{box}/ck-truncated.json"],
    "resume-step-string": ["--resume", "{box}/ck-step-string.json"],
    "resume-contradicts": ["--resume", "{box}/ck.json", "--embd", "16", "--heads", "4"],
    "resume-other-data": ["--resume", "{box}/ck.json", "--data", "{box}/a-file.txt"],
}
READERS = {  # commands that read a checkpoint
    "sample": ["sample", "--checkpoint", "{file}"],
    "head": ["head", "--checkpoint", "{file}", "--text", "anna"],
    "model": ["model", "--checkpoint", "{file}", "--text", "anna"],
    "scope": ["scope", "loss", "--checkpoint", "{file}", "--text", "anna"],
    "export": ["export", "--text", "anna", "--checkpoint", "{file}", "-o", "{box}/g.json"],
    "backward": ["backward", "--text", "anna", "--checkpoint", "{file}", "-o", "{box}/b.html"],
    "resume": ["train", "--data", "{box}/docs.txt", "--resume", "{file}"],
    "adam": ["adam", "wte[0][0]", "--checkpoint", "{file}", "--data", "{box}/docs.txt"],
}
BAD_FILES = ["missing.json", "a-folder", "empty", "binary", "long-line", "ck-truncated.json",
             "latin1.txt"]
OUTPUTS = {  # command -> (args before -o, a good output name)
    "expr": (["expr", "a*b"], "x.svg"),
    "expr-png": (["expr", "a*b"], "x.png"),
    "expr-json": (["expr", "a*b"], "x.json"),
    "head": (["head", *CK, "--text", "anna"], "h.svg"),
    "model": (["model", *CK, "--text", "anna"], "m.svg"),
    "scope": (["scope", "loss", *CK, "--text", "anna"], "s.svg"),
    "export": (["export", "a*b"], "g.graphml"),
    "backward-html": (["backward", "a*b"], "b.html"),
    "backward-gif": (["backward", "a*b"], "b.gif"),
    "backward-frames": (["backward", "a*b"], "frames/"),
    "report": (["report", "--log", "{box}/log.jsonl"], "report"),
}


def cases():
    for name, args in EXPRESSIONS.items():
        yield pytest.param(args, id=f"expression-{name}")
    for name, args in OPTIONS.items():
        yield pytest.param(args, id=f"option-{name}")
    for name, args in TRAIN_OPTIONS.items():
        yield pytest.param(TRAIN + args, id=f"train-{name}")
    for command, args in READERS.items():
        for name in BAD_FILES:
            yield pytest.param([a.replace("{file}", "{box}/" + name) for a in args],
                               id=f"checkpoint-{command}-{name}")
    for name in CHECKPOINT_EDITS:
        yield pytest.param(["sample", "--checkpoint", f"{{box}}/ck-{name}.json"],
                           id=f"checkpoint-field-{name}")
    for name in ("step-string", "weights-nan", "config-embd-string", "rng-short"):
        yield pytest.param(["head", "--checkpoint", f"{{box}}/ck-{name}.json", "--text", "ab"],
                           id=f"checkpoint-field-head-{name}")
    for name in ["missing.json", "a-folder", "empty", "binary", "long-line", "latin1.txt",
                 "ck.json"]:
        yield pytest.param(["report", "--log", "{box}/" + name, "-o", "{box}/r"],
                           id=f"log-file-{name}")
    for name in ("loss-string", "loss-nan", "lr-list", "grad-norm-list",
                 "grad-norm-string-value", "chars-int", "config-string", "version-newer",
                 "attn-ragged", "attn-string", "tokens-outside-vocab", "probs-short",
                 "wte-nan", "snapshot-grad-norm-list", "tokens-int", "residual-string",
                 "mlp-short", "step-zero", "text-int", "snapshot-loss-string",
                 "probs-one-position"):
        yield pytest.param(["report", "--log", f"{{box}}/log-{name}.jsonl", "-o", "{box}/r"],
                           id=f"log-field-{name}")
    for command, (args, good) in OUTPUTS.items():
        for where, path in (("missing-folder", "{box}/missing/" + good),
                            ("read-only", ROAD + "/" + good),
                            ("existing-folder", "{box}/a-folder" + ("" if good.endswith("/")
                                                                    else "/"))):
            yield pytest.param(args + ["-o", path], id=f"output-{command}-{where}")


@pytest.mark.parametrize("args", list(cases()))
def test_refused_in_one_line(box, monkeypatch, args):
    """From inside the box, so a file written to the working folder shows in its tree too."""
    monkeypatch.chdir(box)
    before = tree(box)
    result = invoke(*[a.replace("{box}", str(box)) for a in args])
    check_refused(result, box, before)


def test_the_matrix_is_big_enough():
    assert len(list(cases())) >= 150


FULL_DISK_CASES = {
    "expr": ["expr", "a*b+a", "-o", "out.svg"],
    "expr-dot": ["expr", "a*b+a", "-o", "out.dot"],
    "export": ["export", "+".join(f"a{i}*b{i}" for i in range(10)), "-o", "out.json"],
    "backward-html": ["backward", "a*b+a", "-o", "out.html"],
    "backward-gif": ["backward", "a*b+a", "-o", "out.gif"],
    "backward-frames": ["backward", "a*b+a", "-o", "frames/"],
    "train": ["train", "--data", "docs.txt", "--steps", "1", *TINY, "-o", "ck.json"],
    "train-log": ["train", "--data", "docs.txt", "--steps", "3", *TINY, "--log", "m.jsonl",
                  "--snapshot-every", "1"],
    "report": ["report", "--log", "log.jsonl", "-o", "report"],
}


def small_disk():
    """In the child: files may grow to 2 kB, and writing past that fails (EFBIG)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.mark.parametrize("name", FULL_DISK_CASES)
def test_a_full_disk_is_one_line_and_leaves_nothing(box, tmp_path, name):
    for source in ("docs.txt", "log.jsonl"):
        (tmp_path / source).write_bytes((box / source).read_bytes())
    before = tree(tmp_path)
    done = subprocess.run([sys.executable, "-m", "microgpt_trace", *FULL_DISK_CASES[name]],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          preexec_fn=small_disk, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode not in (0, None), done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), done.stderr
    assert "Traceback" not in done.stderr
    after = tree(tmp_path)
    if name == "train-log":  # the lines before the one that did not fit are kept, whole
        assert read_log(tmp_path / "m.jsonl").warnings == []
        del after["m.jsonl"]
    assert after == before


def test_bare_command_shows_help_and_succeeds():
    result = invoke()
    assert result.exit_code == 0 and "Commands:" in result.output


def test_nan_survives_json_for_these_cases():
    # the NaN cases above rely on json writing NaN; they would test nothing otherwise
    assert math.isnan(json.loads(json.dumps({"x": NAN}))["x"])
