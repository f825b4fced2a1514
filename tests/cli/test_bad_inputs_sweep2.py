"""The second reliability sweep (issue #19, part 6): what the first matrix missed.

Control, bidi and line-break characters echoed to the terminal; paths that are FIFOs,
devices, symlinks (loops, or planted to point outside), names too long; '' and '-'
where they name nothing; one file named by two paths; hostile values; a resumed run
on another run's log; standard output closed or full. Each case: one line on stderr,
a non-zero exit, no changed file in the sandbox, nothing written outside it.
"""

import json
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .runner import invoke
from .test_bad_inputs import TINY, make_box

ROOT = Path(__file__).resolve().parents[2]
CK = ["--checkpoint", "{box}/ck.json"]
TRAIN = ["train", "--data", "{box}/docs.txt", "--steps", "2", *TINY]


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    folder = make_box(tmp_path_factory.mktemp("box2"))
    os.mkfifo(folder / "fifo")
    os.mkfifo(folder / "fifo.svg")
    os.mknod(folder / "null.json", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null
    os.symlink("loop.2", folder / "loop")
    os.symlink("loop", folder / "loop.2")
    os.symlink("docs.txt", folder / "docs-link")
    os.symlink("/proc/self/fd/1", folder / "stdout")  # as /dev/stdout is
    os.link(folder / "log.jsonl", folder / "log-hardlink.jsonl")
    resumable(folder)
    impossible_logs(folder)
    return folder


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A file outside the sandbox that symlinks in it point at: it must never change."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "target").write_text("precious")
    return folder


def resumable(folder):
    """part.json: step 2 of a 4-step run whose snapshots show 'bab'; part.jsonl its log."""
    train = [a.replace("{box}", str(folder)) for a in TRAIN]
    result = invoke(*train, "-o", folder / "part.json", "--log", folder / "part.jsonl",
                    "--snapshot-every", "1", "--snapshot-text", "bab")
    assert result.exit_code == 0, result.output
    for name in ("part.json", "part.jsonl"):
        lines = (folder / name).read_text().splitlines()
        first = json.loads(lines[0])
        first["train_config"]["steps"] = 4
        (folder / name).write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")
    result = invoke(*train, "--seed", "7", "--log", folder / "other.jsonl")
    assert result.exit_code == 0, result.output
    ck = json.loads((folder / "ck.json").read_text())
    ck["train_config"]["steps"] = ck["step"] = 10 ** 8  # a finished 10^8-step schedule
    (folder / "ck-done-1e8.json").write_text(json.dumps(ck))


def impossible_logs(folder):
    """log-NAME.jsonl: log.jsonl with a number no run writes, or its groups changed;
    finished.jsonl: part.jsonl carried on to the end of its 4-step schedule."""
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    step, snapshot = 1, 2
    assert records[step]["type"] == "step" and records[snapshot]["type"] == "snapshot"
    edits = {
        "loss-1e308": (step, ["loss"], 1e308), "loss-inf": (step, ["loss"], math.inf),
        "loss-negative": (step, ["loss"], -0.5), "lr-negative": (step, ["lr"], -0.01),
        "grad-norm-negative": (step, ["grad_norm", "wte"], -1.0),
        "grad-norm-1e300": (step, ["grad_norm", "wte"], 1e300),
        "probs-over-one": (snapshot, ["probs", 0, 0], 1.5),
        "attn-negative": (snapshot, ["attn", 0, 0, 0, 0], -0.1),
        "snapshot-loss-1e308": (snapshot, ["loss"], 1e308),
        "cosine-two": (snapshot, ["residual", "cosine", 0, 0], 2.0),
        "snapshot-other-group": (snapshot, ["grad_norm", "extra"], 1.0),
        "step-other-group": (3, ["grad_norm", "lm_head"], None),
    }
    for name, (index, path, value) in edits.items():
        edited = json.loads(json.dumps(records))
        target = edited[index]
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        (folder / f"log-{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edited))
    lines = (folder / "part.jsonl").read_text().splitlines()
    last = [json.loads(line) for line in lines if '"type": "step"' in line][-1]
    (folder / "finished.jsonl").write_text(
        "\n".join(lines + [json.dumps({**last, "step": k}) for k in (3, 4)]) + "\n")


def tree(folder):
    """Every entry under folder, symlinks and devices included, without following any."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            st = path.lstat()
            out[str(path.relative_to(folder))] = (
                path.read_bytes() if stat.S_ISREG(st.st_mode) else
                os.readlink(path) if stat.S_ISLNK(st.st_mode) else stat.S_IFMT(st.st_mode))
    return out


def check_one_line(stderr, code):
    assert code not in (0, None), stderr
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("Error:"), stderr
    assert lines[0].isprintable(), repr(lines[0])  # no control, bidi or line-break character


CHARS = {"esc": "\x1b[2J", "bel": "\x07", "cr": "x\ry", "newline": "x\ny", "rlo": "\u202e",
         "zero-width": "\u200b", "del": "\x7f", "line-separator": "\u2028", "nel": "\x85"}
ECHOED = {  # where a user's text comes back in an error message
    "set-name": lambda c: ["expr", "a*b", "--set", f"a{c}=1"],
    "set-value": lambda c: ["expr", "a*b", "--set", f"a=1{c}"],
    "text": lambda c: ["head", *CK, "--text", f"an{c}na"],
    "scope": lambda c: ["scope", f"pos1/{c}", *CK, "--text", "anna"],
    "param": lambda c: ["adam", f"wte{c}[0][0]", *CK, "--data", "{box}/docs.txt"],
    "checkpoint-path": lambda c: ["sample", "--checkpoint", f"{{box}}/miss{c}.json"],
    "data-path": lambda c: ["train", "--data", f"{{box}}/miss{c}.txt", "--steps", "1"],
    "output-extension": lambda c: ["expr", "a*b", "-o", f"{{box}}/x{c}.jpg"],
    "snapshot-text": lambda c: [*TRAIN, "--log", "{box}/n.jsonl", "--snapshot-text", f"a{c}"],
    "backward-scope": lambda c: ["backward", "--text", "anna", *CK, "--scope", f"loss{c}",
                                 "-o", "{box}/b.html"],
    "log-path": lambda c: ["report", "--log", f"{{box}}/m{c}.jsonl", "-o", "{box}/r"],
    "option-name": lambda c: ["expr", "a*b", f"--col{c}our"],
    "choice": lambda c: ["expr", "a*b", "--theme", f"n{c}eon"],
}
STRIPPED = ("set-name", "set-value", "scope", "backward-scope")
FILES = {  # an input that is not a regular file, or cannot be opened
    "fifo": "{box}/fifo", "dev-zero": "/dev/zero", "dev-urandom": "/dev/urandom",
    "symlink-loop": "{box}/loop", "name-too-long": "{box}/" + "n" * 300,
    "path-too-long": "/".join(["d" * 200] * 30), "proc-mem": "/proc/self/mem",
    "dev-null": "/dev/null",
}
READERS = {
    "sample": lambda f: ["sample", "--checkpoint", f],
    "head": lambda f: ["head", "--checkpoint", f, "--text", "anna"],
    "train-data": lambda f: ["train", "--data", f, "--steps", "1", *TINY],
    "train-resume": lambda f: ["train", "--data", "{box}/docs.txt", "--resume", f],
    "report": lambda f: ["report", "--log", f, "-o", "{box}/r"],
    "adam-data": lambda f: ["adam", "wte[0][0]", *CK, "--data", f],
}
WRITERS = {  # an output that is a FIFO, a device, a symlink loop or a name too long
    "expr-fifo": ["expr", "a*b", "-o", "{box}/fifo.svg"],
    "expr-device": ["expr", "a*b", "-o", "{box}/null.json"],
    "expr-loop": ["expr", "a*b", "-o", "{box}/loop", "--format", "svg"],
    "export-device": ["export", "a*b", "-o", "{box}/null.json"],
    "train-o-device": [*TRAIN, "-o", "{box}/null.json"],
    "train-o-fifo": [*TRAIN, "-o", "{box}/fifo"],
    "train-o-loop": [*TRAIN, "-o", "{box}/loop"],
    "train-log-device": [*TRAIN, "--log", "{box}/null.json"],
    "train-log-fifo": [*TRAIN, "--log", "{box}/fifo"],
    "train-log-loop": [*TRAIN, "--log", "{box}/loop"],
    # never the real /dev/null or /dev/stdout: a regression would replace them for everyone
    "train-log-stdout-link": [*TRAIN, "--log", "{box}/stdout"],
    "report-o-fifo": ["report", "--log", "{box}/log.jsonl", "-o", "{box}/fifo"],
    "report-o-loop": ["report", "--log", "{box}/log.jsonl", "-o", "{box}/loop"],
    "frames-fifo": ["backward", "a*b", "-o", "{box}/fifo/"],
    "expr-stdout-link": ["expr", "a*b", "-o", "{box}/stdout", "--format", "dot"],
}
NOTHING = {  # '' and '-' where they name no file
    "expr-o-empty": ["expr", "a*b", "-o", ""],
    "head-o-empty": ["head", *CK, "--text", "anna", "-o", ""],
    "export-o-empty": ["export", "a*b", "-o", ""],
    "backward-o-empty": ["backward", "a*b", "-o", ""],
    "backward-o-dash": ["backward", "a*b", "-o", "-"],
    "train-o-empty": [*TRAIN, "-o", ""],
    "train-o-dash": [*TRAIN, "-o", "-"],
    "train-log-empty": [*TRAIN, "--log", ""],
    "train-log-dash": [*TRAIN, "--log", "-"],
    "train-resume-empty": ["train", "--data", "{box}/docs.txt", "--resume", ""],
    "report-o-empty": ["report", "--log", "{box}/log.jsonl", "-o", ""],
    "report-o-dash": ["report", "--log", "{box}/log.jsonl", "-o", "-"],
    "report-log-empty": ["report", "--log", "", "-o", "{box}/r"],
    "report-log-dash": ["report", "--log", "-", "-o", "{box}/r"],
    "sample-checkpoint-empty": ["sample", "--checkpoint", ""],
    "sample-checkpoint-dash": ["sample", "--checkpoint", "-"],
    "adam-checkpoint-empty": ["adam", "wte[0][0]", "--checkpoint", ""],
}
TWO_PATHS = {  # one file named twice, or an input named as an output
    "o-log-dotdot": [*TRAIN, "-o", "{box}/x", "--log", "{box}/a-folder/../x"],
    "o-log-hardlink": [*TRAIN, "-o", "{box}/log-hardlink.jsonl", "--log", "{box}/log.jsonl"],
    "o-is-data-symlink": [*TRAIN, "-o", "{box}/docs-link"],
    "log-is-resumed-checkpoint": ["train", "--data", "{box}/docs.txt", "--resume",
                                  "{box}/part.json", "--log", "{box}/part.json"],
}
VALUES = {  # numbers and runs the caps promise to refuse
    "temperature-subnormal": ["sample", *CK, "--temperature", "5e-324"],
    "temperature-tiny": ["sample", *CK, "--temperature", "1e-310"],
    "adam-replays-1e8-steps": ["adam", "wte[0][0]", "--checkpoint", "{box}/ck-done-1e8.json",
                               "--data", "{box}/docs.txt"],
    "resume-other-runs-log": ["train", "--data", "{box}/docs.txt", "--resume",
                              "{box}/part.json", "--log", "{box}/other.jsonl"],
    "resume-forgets-snapshot-text": ["train", "--data", "{box}/docs.txt", "--resume",
                                     "{box}/part.json", "--log", "{box}/part.jsonl"],
    "resume-other-snapshot-text": ["train", "--data", "{box}/docs.txt", "--resume",
                                   "{box}/part.json", "--log", "{box}/part.jsonl",
                                   "--snapshot-text", "anna"],
    "train-steps-1e18": ["train", "--data", "{box}/docs.txt", "--steps", str(10 ** 18), *TINY],
    "train-steps-over-cap": [*TRAIN[:4], str(10 ** 9 + 1), *TINY],
    "resume-onto-finished-log": ["train", "--data", "{box}/docs.txt", "--resume",
                                 "{box}/part.json", "--log", "{box}/finished.jsonl",
                                 "--snapshot-text", "bab"],
}
VALUES["png-too-many-pixels"] = [  # under the node cap, 153588 x 122354 pixels at 144 dpi
    "expr", "+".join(f"a{i}*b{i}" for i in range(450)), "--rankdir", "TB", "-o", "{box}/w.png"]
IMPOSSIBLE = ("loss-1e308", "loss-inf", "loss-negative", "lr-negative", "grad-norm-negative",
              "grad-norm-1e300", "probs-over-one", "attn-negative", "snapshot-loss-1e308",
              "cosine-two", "snapshot-other-group", "step-other-group")
VALUES.update({f"report-{name}": ["report", "--log", f"{{box}}/log-{name}.jsonl", "-o",
                                  "{box}/r"] for name in IMPOSSIBLE})


def cases():
    for where, build in ECHOED.items():
        for name, c in CHARS.items():
            if where in STRIPPED and c.isspace():
                continue  # str.strip() drops it: "a\u2028=1" sets a, as "a =1" does
            yield pytest.param(build(c), id=f"echo-{where}-{name}")
    for reader, build in READERS.items():
        for name, path in FILES.items():
            yield pytest.param(build(path), id=f"read-{reader}-{name}")
    for family in (WRITERS, NOTHING, TWO_PATHS, VALUES):
        for name, args in family.items():
            yield pytest.param(args, id=name)


@pytest.mark.parametrize("args", list(cases()))
def test_refused_in_one_line(box, args):
    before = tree(box)
    result = invoke(*[a.replace("{box}", str(box)) for a in args])
    check_one_line(result.stderr, result.exit_code)
    assert "Traceback" not in result.output + result.stderr
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert tree(box) == before


PLANTED = {  # name in the sandbox -> the command; the name is a symlink to outside
    "log.jsonl": [*TRAIN, "--log", "{box}/log.jsonl"],
    "new.jsonl": [*TRAIN, "--log", "{box}/new.jsonl"],  # dangling: would create outside
    ".c.json.lock": [*TRAIN, "-o", "{box}/c.json"],
    "c.json": [*TRAIN, "-o", "{box}/c.json"],
    "x.svg": ["expr", "a*b", "-o", "{box}/x.svg"],
    "g.json": ["export", "a*b", "-o", "{box}/g.json"],
    "r": ["report", "--log", "{box}/ck-log.jsonl", "-o", "{box}/r"],
}


@pytest.mark.parametrize("name", PLANTED)
def test_a_planted_symlink_is_never_followed(box, outside, tmp_path, name):
    for source in ("docs.txt", "log.jsonl"):
        (tmp_path / source).write_bytes((box / source).read_bytes())
    (tmp_path / "ck-log.jsonl").write_bytes((box / "log.jsonl").read_bytes())
    (tmp_path / name).unlink(missing_ok=True)
    target = outside / ("target" if name != "new.jsonl" else "new")
    os.symlink(outside if name == "r" else target, tmp_path / name)
    before, outside_before = tree(tmp_path), tree(outside)
    result = invoke(*[a.replace("{box}", str(tmp_path)) for a in PLANTED[name]])
    check_one_line(result.stderr, result.exit_code)
    assert "symbolic link" in result.stderr or name == "r"  # r: "holds other files"
    assert tree(outside) == outside_before
    assert tree(tmp_path) == before


@pytest.mark.parametrize("text", ["$a\\b$", "\\frac{a}{$", "a$$b"])
def test_report_text_is_not_mathtext(box, tmp_path, text):
    lines = (box / "log.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        if record["type"] in ("step", "snapshot"):  # a run names the same groups in both
            record["grad_norm"] = {text: 1.0}
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = invoke("report", "--log", tmp_path / "log.jsonl", "-o", tmp_path / "r")
    assert result.exit_code == 0, result.output + result.stderr
    assert "Traceback" not in result.stderr


def test_resuming_onto_an_empty_log_starts_it_afresh(box, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    result = invoke("train", "--data", box / "docs.txt", "--resume", box / "part.json",
                    "--log", tmp_path / "empty.jsonl", "--snapshot-text", "bab")
    assert result.exit_code == 0, result.output + result.stderr
    records = [json.loads(line) for line in (tmp_path / "empty.jsonl").read_text().splitlines()]
    assert records[0]["type"] == "header"
    assert [r["step"] for r in records if r["type"] == "step"] == [3, 4]


def run(args, cwd, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "microgpt_trace", *map(str, args)],
                            cwd=cwd, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)


STDOUT = {
    "sample": ["sample", "-n", "500"],
    "expr": ["expr", "+".join(f"a{i}*b{i}" for i in range(40))],
    "expr-dash": ["expr", "+".join(f"a{i}*b{i}" for i in range(40)), "-o", "-",
                  "--format", "dot"],
    "step": ["step", "a*b+a", "--no-color"],
}


@pytest.mark.parametrize("name", STDOUT)
def test_stdout_closed_is_quiet_and_full_is_one_line(tmp_path, name):
    proc = run(STDOUT[name], tmp_path, stdout=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141) and stderr == "", stderr
    with open("/dev/full", "wb") as full:
        proc = run(STDOUT[name], tmp_path, stdout=full)
        stderr = proc.communicate(timeout=60)[1].decode()
    check_one_line(stderr, proc.returncode)
    assert "standard output" in stderr or "'-'" in stderr


@pytest.mark.parametrize("where", ["pipe", "full"])
def test_train_verbose_into_a_closed_or_full_stdout_keeps_its_steps(box, tmp_path, where):
    args = ["train", "--data", box / "docs.txt", "--steps", "40", *TINY, "-o", "c.json",
            "--verbose"]
    if where == "pipe":
        proc = run(args, tmp_path, stdout=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        proc.wait(timeout=120)
    else:
        with open("/dev/full", "wb") as full:
            proc = run(args, tmp_path, stdout=full)
            stderr = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 141, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved["step"] >= 1 and "--resume c.json" in stderr


def test_the_sweep_matrix_is_big_enough():
    assert len(list(cases())) + len(PLANTED) + len(STDOUT) >= 200
