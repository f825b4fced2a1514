import os
import signal
import sys
from contextlib import contextmanager

import click

from microgpt_trace.microgpt.data import dataset_path, load_docs
from microgpt_trace.microgpt.runs import checkpoint
from microgpt_trace.microgpt.runs.snapshots import DEFAULT_SNAPSHOT_EVERY
from microgpt_trace.microgpt.runs.train_run import (
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_SAMPLE_EVERY,
    check_outputs,
    train_run,
)
from microgpt_trace.microgpt.train import TrainConfig, docs_digest, resume, start

from ..options import FilePath, data_option
from .serve import server_options, start_server


@click.command()
@data_option("What to train on")
@click.option("--steps", type=click.IntRange(min=0), help="Length of the schedule, at most 10^9 "
              "[default: 1000].")
@click.option("--seed", type=int, help="Seed of the one RNG [default: 42].")
@click.option("--layers", "n_layer", type=click.IntRange(min=1),
              help="Transformer blocks [default: 1].")
@click.option("--embd", "n_embd", type=click.IntRange(min=1), help="Embedding width [default: 16].")
@click.option("--heads", "n_head", type=click.IntRange(min=1), help="Attention heads [default: 4].")
@click.option("--block-size", type=click.IntRange(min=1), help="Context length [default: 16].")
@click.option("--lr", type=float, help="Adam learning rate, decayed linearly to 0 [default: 0.01].")
@click.option("--no-attention", "attention", flag_value=False, default=None,
              help="Experiment: skip every attention block (each position sees only itself).")
@click.option("--no-mlp", "mlp", flag_value=False, default=None,
              help="Experiment: skip every MLP block.")
@click.option("--no-residual", "residual", flag_value=False, default=None,
              help="Experiment: drop the residual connections (x = block(x), not x + block(x)); "
              "watch the gradient norms of the lower layers.")
@click.option("--activation", type=click.Choice(["relu", "tanh", "gelu"]),
              help="Experiment: the MLP's nonlinearity; gelu is GPT-2's tanh approximation "
              "[default: relu]. Skipped blocks keep their weights, unchanged; with no "
              "experiment the run is microgpt.py's to the bit. Recorded in -o and --log.")
@click.option("--engine", type=click.Choice(["float", "fused", "atomic"]), default="float",
              show_default=True, help="float: plain floats and a hand-written backward; "
              "fused: a Value graph with one node per dot product; atomic: the "
              "reference's own * and + nodes. Same numbers to the bit.")
@click.option("-o", "--output", type=FilePath(dir_okay=False),
              help="Write the checkpoint here: every --checkpoint-every steps, at the end, "
              "and on Ctrl-C or SIGTERM.")
@click.option("--checkpoint-every", type=click.IntRange(min=1),
              help=f"Steps between checkpoints (with -o) [default: {DEFAULT_CHECKPOINT_EVERY}].")
@click.option("--log", "log_path", type=FilePath(dir_okay=False),
              help="Write per-step metrics as JSON lines (appended when resuming).")
@click.option("--snapshot-every", type=click.IntRange(min=0),
              help="Add a snapshot for `report` to the --log every N steps, and at the "
              f"first and last; 0: none [default: {DEFAULT_SNAPSHOT_EVERY}].")
@click.option("--snapshot-text", metavar="TEXT",
              help="The text every snapshot shows, so the report's slider follows one "
              "example as it is learned: characters of the data, at most block size - 1 "
              "of them [default: the first document in training order that fits].")
@click.option("--sample-every", type=click.IntRange(min=0),
              help="Add 5 names generated at temperature 0.5 to the --log every N steps, "
              "and at the last; drawn with an RNG of their own, so training is unchanged; "
              f"0: none [default: {DEFAULT_SAMPLE_EVERY}].")
@click.option("--resume", type=FilePath(dir_okay=False),
              help="Continue a checkpoint to the end of its schedule.")
@click.option("--verbose", is_flag=True, help="One line per step instead of a progress bar.")
@click.option("--live", is_flag=True,
              help="Follow the run in the browser (needs --log): the address is printed "
              "first; the page has pause, resume, stop (= Ctrl-C) and, when paused, "
              "explore this step.")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(file_okay=False),
              help="Also write TensorBoard event files here (needs --log; what the log "
              "records: scalars, histograms, the embedding projector, samples as text). "
              "Needs pip install 'microgpt-trace[tensorboard]'.")
@server_options
def train(data, steps, seed, n_layer, n_embd, n_head, block_size, lr, attention, mlp, residual,
          activation, engine, output, checkpoint_every, log_path, snapshot_every, snapshot_text,
          sample_every, resume, verbose, live, tensorboard_dir, port, host):
    """Train the scalar GPT (the algorithm of microgpt.py) on a dataset.

    --steps is the length of the learning-rate schedule; a resumed run continues to
    its end. Ctrl-C or SIGTERM stops after the current step and writes a resumable
    checkpoint; a second run on the same -o or --log is refused.
    """
    if snapshot_every is not None and not log_path:
        raise click.UsageError("--snapshot-every needs --log: snapshots go into the metrics log")
    if sample_every is not None and not log_path:
        raise click.UsageError("--sample-every needs --log: samples go into the metrics log")
    if snapshot_text is not None and not log_path:
        raise click.UsageError("--snapshot-text needs --log: snapshots go into the metrics log")
    if tensorboard_dir and not log_path:
        raise click.UsageError("--tensorboard needs --log: the event files hold what the "
                               "metrics log records")
    if live and not log_path:
        raise click.UsageError("--live needs --log: the page follows the metrics log")
    if not live and (port or host != "127.0.0.1"):
        raise click.UsageError("--port and --host need --live")
    if snapshot_text is not None and snapshot_every == 0:
        raise click.UsageError("--snapshot-text is what snapshots show; --snapshot-every 0 "
                               "writes none")
    if checkpoint_every is not None and not output:
        raise click.UsageError("--checkpoint-every needs -o: the checkpoints go there")
    # a finished run must not fail at its end
    check_outputs(output, log_path, dataset_path(data), resume)
    settings = dict(steps=steps, seed=seed, n_layer=n_layer, n_embd=n_embd,
                    n_head=n_head, block_size=block_size, lr=lr, attention=attention, mlp=mlp,
                    residual=residual, activation=activation)
    docs = load_docs(data)
    state = resume_state(resume, docs, engine, settings) if resume else new_state(
        docs, engine, settings)
    probe_every = DEFAULT_SNAPSHOT_EVERY if snapshot_every is None else snapshot_every
    with stop_on_signals() as stop, progress(state, verbose, stop) as on_step, \
            live_view(live, state, log_path, snapshot_text, host, port, stop, on_step) as on_step, \
            tensorboard_log(tensorboard_dir, state) as on_record:
        if not output:  # said before the run (after --live's address), the options being good
            click.echo("no -o given: the trained model will not be saved "
                       "(add -o checkpoint.json to keep it)")
        outcome = train_run(state, docs_digest(state.docs), output=output, log_path=log_path,
                            probe_every=probe_every if log_path else 0,
                            snapshot_text=snapshot_text,
                            checkpoint_every=checkpoint_every or DEFAULT_CHECKPOINT_EVERY,
                            stop=stop, on_step=on_step, on_record=on_record,
                            sample_every=DEFAULT_SAMPLE_EVERY if sample_every is None
                            else sample_every)
    if outcome.stopped:
        where = f"checkpoint saved to {output}; continue with --resume {output}" if output \
            else "nothing saved (no -o given)"
        why = "" if isinstance(stop[0], int) else f" ({stop[0].strerror})"
        click.echo(f"interrupted after step {state.step}{why}: {where}", err=True)
        sys.exit(128 + (stop[0] if isinstance(stop[0], int) else signal.SIGPIPE))
    loss = f", final loss {outcome.last.loss:.4f}" if outcome.last else ""
    click.echo(f"trained {state.step} / {state.train_config.steps} steps{loss}"
               + (f"; checkpoint: {output}" if output else "; no -o given, nothing saved"))


@contextmanager
def tensorboard_log(logdir, state):
    """With --tensorboard: the callback that writes each log record as TensorBoard events."""
    if not logdir:
        yield None
        return
    from microgpt_trace.tensorboard import TensorBoardLog

    try:
        tb = TensorBoardLog(logdir, state.tokenizer.chars)
    except ImportError as e:
        raise click.ClickException(str(e)) from None
    with tb:
        yield tb.record


@contextmanager
def live_view(live, state, log_path, snapshot_text, host, port, stop, on_step):
    """With --live: a page server for the log, its controls called between steps
    (pausing there), closed with how the run ended. Without: on_step as it is."""
    if not live:
        yield on_step
        return
    from microgpt_trace.live import Controls
    from microgpt_trace.microgpt.runs.snapshots import check_snapshot_text, default_snapshot_text

    block_size = state.model.config.block_size
    text = default_snapshot_text(state.docs, block_size) if snapshot_text is None \
        else snapshot_text
    check_snapshot_text(text, state.tokenizer, block_size)  # before the address is printed
    controls = Controls(stop, state, text)
    server = start_server(log_path, host, port, controls)
    click.echo(server.url)

    def between_steps(metrics):
        on_step(metrics)
        controls.between_steps(metrics)

    final = "failed"
    try:
        yield between_steps
        final = "stopped" if stop and state.step < state.train_config.steps else "finished"
    finally:
        server.close(final)


def new_state(docs, engine, settings):
    given = {k: v for k, v in settings.items() if v is not None}
    train_config = TrainConfig(**{k: given.pop(k) for k in ("steps", "seed", "lr") if k in given})
    return start(docs, train_config, engine, **given)


def resume_state(path, docs, engine, settings):
    state, digest = checkpoint.load(path, engine)
    return resume(state, docs, digest, **settings)


@contextmanager
def stop_on_signals():
    """A list that gets the signal number on Ctrl-C or SIGTERM, checked between steps;
    the previous handlers come back afterwards."""
    stop = []
    previous = {s: signal.signal(s, lambda signum, frame: stop.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def progress(state, verbose, stop):
    """on_step for train_run: a progress bar on a terminal's stderr, or one line per step.

    Standard output closed (`| head`) or full stops the run like Ctrl-C (the error
    goes into `stop`): the steps done are saved, not lost with the pipe."""
    total = state.train_config.steps
    with click.progressbar(length=total - state.step, label="training", file=sys.stderr,
                           item_show_func=lambda m: m and f"loss {m.loss:.4f}",
                           hidden=verbose or not sys.stderr.isatty()) as bar:
        def on_step(metrics):
            if verbose and not any(isinstance(s, OSError) for s in stop):
                try:
                    click.echo(f"step {metrics.step:4d} / {total:4d} | loss {metrics.loss:.4f}")
                except OSError as e:  # nothing more can go there: not even at exit
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                    stop.append(e)
            bar.update(1, metrics)

        yield on_step
