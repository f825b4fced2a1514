import sys
from contextlib import contextmanager

import click

from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.renderers.panels.report import check_position, frame_count, write_report

from ..options import FilePath, refuse_unused


@click.command()
@click.option("--log", "log_path", required=True, type=FilePath(dir_okay=False),
              help="Metrics log written by `train --log` (snapshots come from --snapshot-every).")
@click.option("-o", "--output", required=True, type=FilePath(file_okay=False),
              help="Folder for the panels (PNG; SVG for the whole-run ones) and "
              "report.html: new, empty, or an earlier report's (replaced).")
@click.option("--position", type=click.IntRange(min=0),
              help="Show the top --top-k next tokens at this position of the snapshot "
              "text (0: after BOS) [default: p(next token) at every position].")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Next tokens listed at --position.")
@click.option("--grad-scale", type=click.Choice(["log", "linear"]), default="log",
              show_default=True, help="Axis of the snapshot's gradient-flow panel.")
@click.option("--svg", is_flag=True,
              help="Also write every snapshot panel as SVG (several times slower).")
def report(log_path, output, position, top_k, grad_scale, svg):
    """Draw the training panels of a metrics log, and report.html with a step slider.

    On top, the whole run: the loss with its moving average and the loss of a
    uniform guess, ln(vocab size); the snapshot text's loss and p(true next token)
    at each position over the snapshots, and its loss per position; each parameter
    group's gradient norm and update-to-data ratio at every step; histograms of the
    weights and gradients per group at the snapshots; the names sampled during
    training (train --sample-every). Below, a slider over the snapshots: attention, next-token
    probabilities, embeddings, residual stream, head outputs, MLP activations and
    gradient flow of the one snapshot text, on the same scales at every step.
    A log from an interrupted run reports the steps it has.
    """
    if position is None:
        refuse_unused(["top_k"], "lists the likeliest tokens at --position: give one")
    log = read_log(log_path)
    for warning in log.warnings:
        click.echo(f"warning: {warning}", err=True)
    check_position(log.snapshots, position)  # before any drawing
    info = {**log.header["config"], **log.header["train_config"], "log": log_path}
    with progress(frame_count(log.snapshots, log.steps)) as on_progress:
        paths = write_report(output, log.steps, log.snapshots, log.vocab, info, top_k,
                             grad_scale == "log", position, svg, on_progress, log.samples)
    click.echo(f"wrote {len(paths)} files for {len(log.steps)} steps and "
               f"{len(log.snapshots)} snapshots; open {paths[-1]}")


@contextmanager
def progress(total):
    """A progress bar on a terminal's stderr naming the panel and step being drawn."""
    with click.progressbar(length=total, label="drawing", file=sys.stderr,
                           item_show_func=lambda what: what,
                           hidden=not sys.stderr.isatty()) as bar:
        yield lambda what: bar.update(1, what)
