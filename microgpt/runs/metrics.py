"""The training metrics log: JSON lines, a header then one record per step.

Records: {"type": "step"} after every step (step, loss, lr, grad_norm, update_ratio) and,
every N steps, {"type": "snapshot"} (see microgpt_trace.microgpt.runs.snapshots) right after
its step's record; every M steps a {"type": "sample"} (names generated there).
A resumed run appends to the same file. `read_log` reads what an interrupted run left
behind: the steps it has, minus a last line cut off mid-write.
"""

import errno
import fcntl
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import ConfigError, LogError
from ..model import Config
from ..train import MAX_STEPS, TrainConfig
from .checkpoint import CONFIG_FIELDS, TRAIN_FIELDS, distinct_chars, has_surrogate
from .files import read_input
from .schema import COUNT, NUMBER, TEXT, Mapping, Optional, SchemaError, check

__all__ = ["FORMAT", "VERSION", "MetricsLog", "step_record", "sample_record", "Log", "LogError",
           "read_log"]

FORMAT = "microgpt-trace-metrics"
# 2: every snapshot shows one fixed text (text, loss, targets, probs at every position).
# A version 1 log is still read: its steps, without its snapshots (a warning says so).
# 3: the header's config has the experiment flags (train --no-attention ...); step records
# add update_ratio, snapshots hist; "sample" records (train --sample-every). Version 2
# is read as it is: every part on, no ratios, histograms or samples.
VERSION = 3
MAX_STEP = MAX_STEPS  # steps a log may name: a schedule's cap
# Bounds of the numbers a run can write; past them a record was edited, and would draw
# nonsense or overflow the charts. A loss is -ln p averaged, p a float above 0: at most
# -ln(5e-324) = 744.4. A norm is the root of a sum of squares: past sqrt(1.8e308) the
# sum is inf. Probabilities and attention weights are a softmax's, in [0, 1].
MAX_LOSS = 745
MAX_NORM = 1.35e154


def step_record(metrics):
    record = {"type": "step", "step": metrics.step, "loss": metrics.loss, "lr": metrics.lr,
              "grad_norm": metrics.grad_norm}
    if metrics.update_ratio is not None:
        record["update_ratio"] = metrics.update_ratio
    return record


def sample_record(step, samples, temperature):
    """{"type": "sample"}: names the model generates after `step` (train --sample-every)."""
    return {"type": "sample", "step": step, "temperature": temperature, "samples": samples}


class MetricsLog:
    """Appends records; a new file starts with a header naming the format and run.

    The file stays locked (flock) while open: a second run on the same log is
    refused instead of interleaving its lines. Appending for a resumed run first
    drops what the checkpoint does not have: a line cut off by a crash and the
    records of steps after the checkpoint's (they will be run again), unless the
    log reached the end of the schedule (a finished run's: refused). An empty file
    is started afresh, as a new one is: its steps begin after the checkpoint's.
    """

    def __init__(self, path, state, append=False, snapshot_text=None):
        path = Path(path)
        self.path = path
        try:  # never through a symlink (it could point anywhere), never into a device
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_NONBLOCK, 0o644)
        except OSError as e:
            why = "it is a symbolic link" if e.errno == errno.ELOOP else e.strerror or e
            raise LogError(f"cannot write metrics log {str(path)!r}: {why}") from None
        self.file = os.fdopen(fd, "ab", buffering=0)  # each record reaches the OS at once
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            self.file.close()
            raise LogError(f"cannot write metrics log {str(path)!r}: it is a device, FIFO "
                           "or socket, not a regular file")
        os.set_blocking(fd, True)
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise LogError(f"metrics log {str(path)!r} is being written by another "
                           "training run; wait for it or pick another file") from None
        fresh = not (append and path.stat().st_size > 0)
        if fresh:
            self.file.truncate(0)
            self.write({"type": "header", "format": FORMAT, "version": VERSION,
                        "config": state.model.config.to_dict(),
                        "train_config": state.train_config.to_dict(),
                        "chars": state.tokenizer.chars})
        else:
            refuse_older_version(path, self.file)
            refuse_other_run(path, self.file, state, snapshot_text)
            refuse_finished_run(path, self.file, state)
            keep_steps_up_to(path, state.step)

    def write(self, record):
        """Append one record as one line, or nothing (a full disk leaves no half line)."""
        line = memoryview((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        size = self.file.seek(0, 2)
        try:
            while line:
                line = line[self.file.write(line):]
        except OSError:
            self.file.truncate(size)
            raise

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def refuse_older_version(path, file):
    """A resumed run appends records of this version: not below another version's header."""
    with path.open("rb") as f:
        try:
            version = json.loads(f.readline()).get("version")
        except (ValueError, AttributeError):
            version = None
    if version != VERSION:
        file.close()
        raise LogError(f"metrics log {str(path)!r} has format version {version!r}; a resumed "
                       f"run appends version {VERSION} records: give a new --log")


def refuse_other_run(path, file, state, snapshot_text):
    """A resumed run appends only to its own log: the header's model, training settings
    (but the schedule's length, which --steps may extend) and characters, and the
    text its snapshots show, must be this run's."""
    lines = path.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    ours = {"config": state.model.config.to_dict(), "chars": state.tokenizer.chars,
            "train_config": {**state.train_config.to_dict(), "steps": None}}
    theirs = {**header, "train_config": {**header.get("train_config", {}), "steps": None}}
    differs = [key for key in ours if theirs.get(key) != ours[key]]
    texts = {record.get("text") for record in map(parsed, lines[1:])
             if record.get("type") == "snapshot"}
    why = (f"its {differs[0]} is another run's" if differs else
           f"its snapshots show {texts.pop()!r}, this run's would show {snapshot_text!r}: "
           "give the run's --snapshot-text" if snapshot_text is not None
           and texts - {snapshot_text} else None)
    if why:
        file.close()
        raise LogError(f"metrics log {str(path)!r} is not this run's ({why}); give the "
                       "run's own log or a new --log")


def refuse_finished_run(path, file, state):
    """A log that reached the end of the schedule, its last line whole, belongs to a
    finished run: resuming an earlier checkpoint onto it would cut its last steps.
    A log ahead of its checkpoint after a crash (cut mid-line, or short of the end)
    is cut instead: those steps are run again, to the same numbers."""
    data = path.read_bytes()
    steps = [record["step"] for record in map(parsed, data.split(b"\n")[1:])
             if record.get("type") == "step" and type(record.get("step")) is int]
    last, end = max(steps, default=0), state.train_config.steps
    if last >= end > state.step and data.endswith(b"\n"):
        file.close()
        raise LogError(f"metrics log {str(path)!r} holds a finished run (its last step is "
                       f"{last} of {end}) and the checkpoint is at step {state.step}: "
                       "resuming would cut its steps after that; give a new --log")


def parsed(line):
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return {}
    return record if isinstance(record, dict) else {}


def keep_steps_up_to(path, step):
    """Cut the log after the last record of `step`, and any line that lost its
    newline in a crash (appending to it would glue two records into one)."""
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    offset = 0
    for line in data[:keep].splitlines(keepends=True):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and type(record.get("step")) is int \
                and record["step"] > step:
            keep = offset
            break
        offset += len(line)
    with path.open("r+b") as f:
        f.truncate(keep)


@dataclass
class Log:
    """A metrics log as read: records are the plain dicts that were written."""

    path: str
    header: dict
    steps: list = field(default_factory=list)  # step records, ascending step
    snapshots: list = field(default_factory=list)  # snapshot records, ascending step
    samples: list = field(default_factory=list)  # sample records, ascending step
    warnings: list = field(default_factory=list)  # one line each, for stderr

    @property
    def vocab(self):
        """Printable token names by id: the characters, then "BOS"."""
        return list(self.header["chars"]) + ["BOS"]


def read_log(path):
    """Read a metrics log, tolerating what an interrupted run leaves behind.

    A last line without its newline that does not parse (a write cut off by a crash)
    is skipped with a warning in `Log.warnings`. When a resumed run repeated steps,
    the later records win.

    Raises:
        LogError: the file is missing or empty, its first line is not a header of
            this format, its version is newer, or a line other than the last is corrupt.
    """
    name = str(path)
    try:
        data = read_input(path)
    except FileNotFoundError:
        raise LogError(f"metrics log not found: {name!r}") from None
    except IsADirectoryError:
        raise LogError(f"metrics log is a directory: {name!r}") from None
    except OSError as e:
        raise LogError(f"cannot read metrics log {name!r}: {e.strerror or e}") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, as written
    if not lines:
        raise_not_a_log(name, "it is empty" if not tail else "it has no complete line")
    log = Log(name, parse_header(lines[0], name))
    shapes = snapshot_fields(log.header) if log.header["version"] >= 2 else None
    if shapes is None and b'"type": "snapshot"' in data:
        log.warnings.append(f"{name}: format version {log.header['version']} snapshots "
                            "showed each step's own document; skipped them (train again "
                            "for snapshots of one fixed text)")
    records = {"step": {}, "snapshot": {}, "sample": {}}
    groups = {}  # the parameter groups of the first record with gradient norms, its line
    for number, raw in enumerate(lines[1:], 2):
        add_record(records, same_groups(parse_record(raw, number, name, shapes), number,
                                        name, groups))
    if tail.strip():
        try:
            add_record(records, same_groups(parse_record(tail, len(lines) + 1, name, shapes),
                                            len(lines) + 1, name, groups))
        except LogError:
            log.warnings.append(f"{name}: line {len(lines) + 1} is cut off (an interrupted "
                                f"write?); skipped it")
    log.steps = [records["step"][k] for k in sorted(records["step"])]
    log.snapshots = [records["snapshot"][k] for k in sorted(records["snapshot"])]
    log.samples = [records["sample"][k] for k in sorted(records["sample"])]
    return log


def same_groups(record, number, name, groups):
    """A run names the same parameter groups in every record's grad_norm (the report
    draws one bar or curve per group): refuse a record that names others."""
    if record is None or "grad_norm" not in record:
        return record
    keys = list(record["grad_norm"])
    if not groups:
        groups.update(keys=keys, line=number)
    elif sorted(keys) != sorted(groups["keys"]):
        other = sorted(set(keys) ^ set(groups["keys"]))
        raise LogError(f"metrics log {name!r}, line {number}: {record['type']} record: "
                       f"grad_norm names other parameter groups than line {groups['line']} "
                       f"(differs in {', '.join(other)[:60]!r}): not what a run writes")
    return record


def add_record(records, record):
    if record is not None:
        records[record["type"]][record["step"]] = record


def raise_not_a_log(name, why):
    raise LogError(f"{name!r} is not a microgpt-trace metrics log ({why})")


def parse_header(raw, name):
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        header = None
    if has_surrogate(header):
        raise LogError(f"metrics log {name!r}, line 1: holds a lone surrogate: not text")
    if not isinstance(header, dict) or header.get("type") != "header" \
            or header.get("format") != FORMAT:
        raise_not_a_log(name, f"its first line is not a {FORMAT} header")
    version = header.get("version")
    if type(version) is not int or not 1 <= version <= VERSION:
        raise LogError(f"metrics log {name!r} has format version {version!r}; this "
                       f"microgpt-trace reads versions 1 to {VERSION}: upgrade microgpt-trace")
    try:
        check(header, {"type": TEXT, "format": TEXT, "version": COUNT, "config": CONFIG_FIELDS,
                       "train_config": TRAIN_FIELDS, "chars": distinct_chars})
        config = Config(**header["config"])
        TrainConfig(**header["train_config"])
        if header["train_config"]["steps"] > MAX_STEP:
            raise SchemaError("train_config.steps", f"is more than {MAX_STEP}")
        if len(header["chars"]) + 1 != config.vocab_size:
            raise SchemaError("chars", "does not match the config's vocab_size")
    except (SchemaError, ConfigError) as e:
        raise LogError(f"metrics log {name!r}, line 1: {e}") from None
    return header


def NUMBER_OR_NONE(x):
    return None if x is None else NUMBER(x)


def within(low, high):
    """A spec: a finite number in [low, high]."""
    def spec(x):
        return NUMBER(x) or (None if low <= x <= high else
                             f"must be within [{low:g}, {high:g}], got {x!r:.30}")
    return spec


LOSS, NORM, PROB = within(0, MAX_LOSS), within(0, MAX_NORM), within(0, 1)
COSINE = within(-1 - 1e-9, 1 + 1e-9)  # rounding may pass 1 by an ulp or two
STEP_FIELDS = {"type": TEXT, "step": COUNT, "loss": LOSS, "lr": within(0, math.inf),
               "grad_norm": Mapping(NORM), "update_ratio": Optional(Mapping(NUMBER_OR_NONE))}
SAMPLE_FIELDS = {"type": TEXT, "step": COUNT, "temperature": NUMBER, "samples": [TEXT, None]}
HIST = Mapping({"lo": NUMBER, "hi": NUMBER, "counts": [COUNT, None]})


def snapshot_fields(header):
    """The exact shape of a snapshot record of this run (microgpt_trace.microgpt.runs.snapshots).

    The number of positions n depends on the snapshot text, so shapes that depend
    on it are checked against the record's own `tokens`, see parse_record.
    """
    c = header["config"]
    L, H, n_embd = c["n_layer"], c["n_head"], c["n_embd"]
    L_attn = L if c.get("attention", True) else 0  # train --no-attention: no heads to show
    L_mlp = L if c.get("mlp", True) else 0
    vocab = list(header["chars"]) + ["BOS"]

    def token(x):
        return None if x in vocab else f"is not a token of the vocabulary: {x!r:.20}"

    def target(x):
        return COUNT(x) or (None if x < len(vocab) else f"{x} is past the vocabulary")

    stages = 1 + (L_attn > 0) * L + (L_mlp > 0) * L  # embed, then after each block
    return lambda n: {
        "type": TEXT, "step": COUNT, "text": TEXT, "loss": LOSS, "tokens": [token, n + 1],
        "targets": [target, n], "attn": [[[[PROB, n], n], H], L_attn],
        "probs": [[PROB, len(vocab)], n],
        "wte": [[NUMBER, n_embd], len(vocab)],
        "residual": {"stages": [TEXT, stages], "norm": [[NORM, stages], n],
                     "cosine": [[COSINE, stages - 1], n]},
        "head_out": [[[[NUMBER, n_embd // H], n], H], L_attn],
        "mlp": [[[NUMBER, 4 * n_embd], n], L_mlp],
        "grad_norm": Mapping(NORM),
        "hist": Optional({"weights": HIST, "grads": HIST}),
    }


def parse_record(raw, number, name, shapes):
    """One step or snapshot record, checked field by field; None for a blank line."""
    if not raw.strip():
        return None
    try:
        record = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise LogError(f"metrics log {name!r}, line {number}: corrupt (not JSON)") from None
    kind = record.get("type") if isinstance(record, dict) else None
    if kind not in ("step", "snapshot", "sample"):
        raise LogError(f"metrics log {name!r}, line {number}: unexpected record type {kind!r}")
    if kind == "snapshot" and shapes is None:  # an older version's snapshot
        return None
    try:
        if kind == "step":
            check(record, STEP_FIELDS)
        elif kind == "sample":
            check(record, SAMPLE_FIELDS)
        else:
            tokens = record.get("tokens")
            n = len(tokens) - 1 if isinstance(tokens, list) and len(tokens) > 1 else 1
            check(record, shapes(n))
        if record["step"] < 1:
            raise SchemaError("step", f"must be 1 or more, got {record['step']!r}")
        if record["step"] > MAX_STEP:
            raise SchemaError("step", f"must be at most {MAX_STEP}, got {record['step']!r:.30}")
        if has_surrogate(record):
            raise SchemaError("text", "holds a lone surrogate: not text")
    except SchemaError as e:
        raise LogError(f"metrics log {name!r}, line {number}: {kind} record: {e}") from None
    return record
