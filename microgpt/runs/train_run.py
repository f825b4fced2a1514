"""A training run that never loses finished work.

Around train_steps: the outputs are checked before the first step, the checkpoint
is written every N steps and whenever the caller asks to stop (Ctrl-C, SIGTERM),
a second run on the same checkpoint or log is refused by a lock, and a loss that
stops being a number ends the run, keeping the last good checkpoint.
"""

import errno
import fcntl
import math
import os
import random
import stat
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ConfigError, OutputError
from ..sample import generate
from ..train import StepMetrics, train_steps
from . import checkpoint
from .files import check_replaceable
from .metrics import MetricsLog, sample_record, step_record
from .snapshots import check_snapshot_text, default_snapshot_text, snapshot_record

__all__ = ["DEFAULT_CHECKPOINT_EVERY", "DEFAULT_SAMPLE_EVERY", "SAMPLES", "Outcome",
           "DivergedError", "check_outputs", "train_run", "samples_at"]

DEFAULT_CHECKPOINT_EVERY = 100  # steps; a checkpoint costs about one step's time
DEFAULT_SAMPLE_EVERY = 100  # steps; 5 names cost about a step's time
SAMPLES, SAMPLE_TEMPERATURE = 5, 0.5


class DivergedError(ConfigError):
    """The loss stopped being a finite number: the weights are lost, the file is not."""


@dataclass
class Outcome:
    last: StepMetrics = None  # the last step completed
    saved: int = None  # the step of the last checkpoint written, if any
    stopped: bool = False  # ended early because the caller asked


def check_outputs(output=None, log_path=None, data_path=None, resume_path=None) -> None:
    """Refuse, before any work, outputs that could not be written at the end.

    Raises:
        ConfigError: a missing or unwritable folder, a folder given as a file, a
            symbolic link, device or FIFO, or an output that is also the dataset,
            the other output (by any path) or, for --log, the checkpoint resumed.
    """
    paths = {"-o": output, "--log": log_path}
    given = {flag: Path(p) for flag, p in paths.items() if p is not None}
    if len(given) == 2 and same_file(given["-o"], given["--log"]):
        raise ConfigError(f"-o {str(output)!r} and --log {str(log_path)!r} are the same file")
    if log_path is not None and resume_path is not None \
            and same_file(Path(log_path), Path(resume_path)):
        raise ConfigError(f"--log {str(log_path)!r} is the checkpoint resumed: give the "
                          "run's metrics log")
    for flag, path in given.items():
        if data_path is not None and same_file(path, Path(data_path)):
            raise ConfigError(f"{flag} {str(path)!r} is the dataset: give another file")
        try:
            check_replaceable(path)
        except OSError as e:
            raise ConfigError(f"{flag} {str(path)!r}: {e.strerror}") from None
        if os.path.isdir(path):  # False (not an error) for a name too long
            raise ConfigError(f"{flag} {str(path)!r} is a folder: give a file name")
        folder = path.absolute().parent
        if not folder.is_dir():
            raise ConfigError(f"{flag} {str(path)!r}: the folder {str(folder)!r} does not exist")
        try:  # the only reliable test of writability (root passes every access check)
            fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise ConfigError(f"{flag} {str(path)!r} cannot be written: "
                              f"{e.strerror or e}") from None


def same_file(a, b):
    """By any spelling: `x` and `d/../x`, a symlink and its target, two hard links."""
    return os.path.realpath(a) == os.path.realpath(b) or (
        a.exists() and b.exists() and a.samefile(b))


@contextmanager
def locked(path):
    """Hold `.NAME.lock` beside path for the run; a second run is refused at once."""
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    try:  # never through a symlink planted there: it could point at any file
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EEXIST, "it is not a regular file")
    except OSError as e:
        why = "it is a symbolic link" if e.errno == errno.ELOOP else e.strerror or e
        raise ConfigError(f"cannot use the lock file {str(lock)!r}: {why}; remove it if no "
                          "training run is writing there") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise ConfigError(f"{str(path)!r} is being written by another training run "
                          f"(pid {owner}); wait for it or pick another file") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        remove_stale_temps(path)  # under the lock, no writer of ours is alive
        yield
    finally:
        os.unlink(lock)
        os.close(fd)


def remove_stale_temps(path):
    """Temp files that a killed run of ours left beside path
    (microgpt_trace.microgpt.runs.files)."""
    for stale in path.absolute().parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def train_run(state, docs_sha256, *, output=None, log_path=None, probe_every=0,
              snapshot_text=None, checkpoint_every=DEFAULT_CHECKPOINT_EVERY, stop=(),
              on_step=None, sample_every=0, on_record=None) -> Outcome:
    """Train to the end of the schedule (or until `stop` is truthy), writing as it goes.

    Args:
        state: from train.start or checkpoint.load + train.resume.
        docs_sha256: the fingerprint the checkpoints carry (train.docs_digest).
        output: the checkpoint path, written every `checkpoint_every` steps, at
            the end, and when stopping early.
        log_path: the metrics log (appended to, when state has done steps); with
            probe_every=N, snapshots every N steps.
        snapshot_text: the text every snapshot shows (microgpt_trace.microgpt.runs.snapshots)
            [default: the first document in training order].
        sample_every: with a log, every N steps (and the last) a sample record of
            samples_at(state): names drawn with an RNG of their own, so the run trains
            to the same bits with or without them.
        stop: checked after every step; a signal handler appends to it.
        on_step: called with each StepMetrics (a progress bar, a printout).
        on_record: with a log, called with each step, snapshot and sample record once
            it is written (train --tensorboard: the log stays the one channel).

    Raises:
        ConfigError: an output that cannot be written or a snapshot text the model
            cannot read (both before the first step), or the file is locked by
            another run.
        DivergedError: the loss is not finite; the last good checkpoint is kept.
    """
    check_outputs(output, log_path)
    if probe_every:
        block_size = state.model.config.block_size
        snapshot_text = default_snapshot_text(state.docs, block_size) \
            if snapshot_text is None else snapshot_text
        check_snapshot_text(snapshot_text, state.tokenizer, block_size)
    outcome = Outcome()
    with ExitStack() as stack:
        if output:
            stack.enter_context(locked(output))
        log = stack.enter_context(MetricsLog(
            log_path, state, append=state.step > 0,
            snapshot_text=snapshot_text if probe_every else None)) \
            if log_path else None
        for metrics in checked_steps(state, probe_every, snapshot_text, output, outcome):
            outcome.last = metrics
            if log:
                log_step(log, state, metrics, outcome, sample_every, on_record)
            if on_step:
                on_step(metrics)
            outcome.stopped = bool(stop) and state.step < state.train_config.steps
            if outcome.stopped:
                break
            if output and checkpoint_every and state.step % checkpoint_every == 0:
                save(state, output, docs_sha256, outcome)
        if output and outcome.saved != state.step:
            save(state, output, docs_sha256, outcome)
    return outcome


def samples_at(state, n=SAMPLES, temperature=SAMPLE_TEMPERATURE):
    """n names from the model as it is now, drawn with random.Random("samples:SEED:STEP"):
    never the run's own RNG (which sampling after training goes on to use)."""
    rng = random.Random(f"samples:{state.train_config.seed}:{state.step}")
    return generate(state.model, state.tokenizer, rng, n, temperature)


def log_step(log, state, metrics, outcome, sample_every=0, on_record=None):
    records = [step_record(metrics)]
    if metrics.probe:
        records.append(snapshot_record(state, metrics))
    if sample_every and (state.step % sample_every == 0
                         or state.step == state.train_config.steps):
        records.append(sample_record(state.step, samples_at(state), SAMPLE_TEMPERATURE))
    for record in records:
        try:
            log.write(record)
        except OSError as e:
            raise log_error(log, metrics, outcome, e) from None
        if on_record:
            on_record(record)


def log_error(log, metrics, outcome, e):
    kept = f"; the checkpoint of step {outcome.saved} is kept" if outcome.saved else ""
    return OutputError(f"cannot write the metrics log {str(log.path)!r} at step "
                       f"{metrics.step}: {e.strerror or e}{kept}")


def save(state, output, docs_sha256, outcome):
    try:
        checkpoint.save(state, output, docs_sha256)
    except OSError as e:
        kept = (f"; it keeps step {outcome.saved}" if outcome.saved else "")
        raise OutputError(f"cannot write the checkpoint {str(output)!r} at step "
                          f"{state.step}: {e.strerror or e}{kept}") from None
    outcome.saved = state.step


def checked_steps(state, probe_every, snapshot_text, output, outcome):
    """train_steps, ending in DivergedError the moment a loss is not finite."""
    steps = train_steps(state, probe_every, snapshot_text)
    while True:
        step = state.step + 1
        try:
            metrics = next(steps)
        except StopIteration:
            return
        except (ValueError, OverflowError, ZeroDivisionError) as e:  # log(0), exp overflow
            raise diverged(state, step, f"the step failed ({e})", output, outcome) from None
        if not math.isfinite(metrics.loss):
            raise diverged(state, step, f"the loss is {metrics.loss}", output, outcome)
        yield metrics


def diverged(state, step, what, output, outcome):
    kept = ("nothing was saved (no -o)" if not output else
            f"{str(output)!r} keeps step {outcome.saved}" if outcome.saved else
            f"{str(output)!r} was not written")
    return DivergedError(f"training diverged at step {step}: {what}; the learning rate "
                         f"{state.train_config.lr!r} may be too high; {kept}")
