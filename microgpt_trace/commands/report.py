import click

from microgpt.metrics import read_log
from renderers.panels.report import write_report


@click.command()
@click.option("--log", "log_path", required=True, type=click.Path(dir_okay=False),
              help="Metrics log written by `train --log` (snapshots come from --snapshot-every).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder for the PNG and SVG panels and report.html: new, "
              "empty, or an earlier report's (replaced).")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Next tokens listed in the probability panel.")
@click.option("--grad-scale", type=click.Choice(["log", "linear"]), default="log",
              show_default=True, help="Axis of the gradient-flow panel.")
def report(log_path, output, top_k, grad_scale):
    """Draw the training panels of a metrics log, and report.html with a step slider.

    A log from an interrupted run reports the steps it has.
    """
    log = read_log(log_path)
    for warning in log.warnings:
        click.echo(f"warning: {warning}", err=True)
    info = {**log.header["config"], **log.header["train_config"], "log": log_path}
    paths = write_report(output, log.steps, log.snapshots, log.vocab, info, top_k,
                         grad_scale == "log")
    click.echo(f"wrote {len(paths)} files for {len(log.steps)} steps and "
               f"{len(log.snapshots)} snapshots; open {paths[-1]}")
