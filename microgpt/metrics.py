"""The training metrics log: JSON lines, a header then one record per step.

Records: {"type": "step"} after every step (step, loss, lr, grad_norm) and, every N
steps, {"type": "snapshot"} (see microgpt.snapshots) right after its step's record.
A resumed run appends to the same file. `read_log` reads what an interrupted run
left behind: the steps it has, minus a last line cut off mid-write.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from .exceptions import LogError

__all__ = ["FORMAT", "VERSION", "MetricsLog", "step_record", "Log", "LogError", "read_log"]

FORMAT = "microgpt-trace-metrics"
VERSION = 1
REQUIRED = {
    "header": ("format", "version", "config", "train_config", "chars"),
    "step": ("step", "loss", "lr", "grad_norm"),
    "snapshot": ("step", "doc", "tokens", "attn", "probs", "target", "wte", "residual",
                 "head_out", "mlp", "grad_norm"),
}


def step_record(metrics):
    return {"type": "step", "step": metrics.step, "loss": metrics.loss, "lr": metrics.lr,
            "grad_norm": metrics.grad_norm}


class MetricsLog:
    """Appends records; a new file starts with a header naming the format and run."""

    def __init__(self, path, state, append=False):
        path = Path(path)
        if append and path.exists():
            drop_partial_line(path)
        fresh = not (append and path.exists() and path.stat().st_size > 0)
        self.file = path.open("w" if fresh else "a", encoding="utf-8")
        if fresh:
            self.write({"type": "header", "format": FORMAT, "version": VERSION,
                        "config": state.model.config.to_dict(),
                        "train_config": state.train_config.to_dict(),
                        "chars": state.tokenizer.chars})

    def write(self, record):
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def drop_partial_line(path):
    """Cut a last line that lost its newline in a crash; appending to it would glue
    two records into one corrupt line in the middle of the log."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


@dataclass
class Log:
    """A metrics log as read: records are the plain dicts that were written."""

    path: str
    header: dict
    steps: list = field(default_factory=list)  # step records, ascending step
    snapshots: list = field(default_factory=list)  # snapshot records, ascending step
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
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise LogError(f"metrics log not found: {name!r}") from None
    except IsADirectoryError:
        raise LogError(f"metrics log is a directory: {name!r}") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, as written
    if not lines:
        raise_not_a_log(name, "it is empty" if not tail else "it has no complete line")
    log = Log(name, parse_header(lines[0], name))
    records = {"step": {}, "snapshot": {}}
    for number, raw in enumerate(lines[1:], 2):
        add_record(records, parse_record(raw, number, name))
    if tail.strip():
        try:
            add_record(records, parse_record(tail, len(lines) + 1, name))
        except LogError:
            log.warnings.append(f"{name}: line {len(lines) + 1} is cut off (an interrupted "
                                f"write?); skipped it")
    log.steps = [records["step"][k] for k in sorted(records["step"])]
    log.snapshots = [records["snapshot"][k] for k in sorted(records["snapshot"])]
    return log


def add_record(records, record):
    if record is not None:
        records[record["type"]][record["step"]] = record


def raise_not_a_log(name, why):
    raise LogError(f"{name!r} is not a microgpt-trace metrics log ({why})")


def parse_header(raw, name):
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("type") != "header" \
            or header.get("format") != FORMAT:
        raise_not_a_log(name, f"its first line is not a {FORMAT} header")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise LogError(f"metrics log {name!r} has format version {version!r}; this "
                       f"microgpt-trace reads version {VERSION}: upgrade microgpt-trace")
    check_fields(header, "header", 1, name)
    return header


def parse_record(raw, number, name):
    """One step or snapshot record, checked; None for a blank line."""
    if not raw.strip():
        return None
    try:
        record = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise LogError(f"metrics log {name!r}, line {number}: corrupt (not JSON)") from None
    kind = record.get("type") if isinstance(record, dict) else None
    if kind not in ("step", "snapshot"):
        raise LogError(f"metrics log {name!r}, line {number}: unexpected record type {kind!r}")
    check_fields(record, kind, number, name)
    if not isinstance(record["step"], int) or record["step"] < 1:
        raise LogError(f"metrics log {name!r}, line {number}: bad step {record['step']!r}")
    return record


def check_fields(record, kind, number, name):
    missing = [key for key in REQUIRED[kind] if key not in record]
    if missing:
        raise LogError(f"metrics log {name!r}, line {number}: {kind} record lacks "
                       f"{', '.join(missing)}")
