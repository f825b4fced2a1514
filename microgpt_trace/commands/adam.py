from pathlib import Path

import click

from ..options import FilePath, data_option, refuse_unused


@click.command()
@click.argument("param")
@click.option("--checkpoint", type=FilePath(dir_okay=False),
              help="Checkpoint whose next update to show [default: the shipped checkpoint].")
@click.option("--text", help="Take the gradient of this text's loss [default: the next "
              "training document].")
@data_option("The checkpoint's dataset, which orders the training documents")
@click.option("--steps", type=click.IntRange(min=1), metavar="N",
              help="Set the schedule's length to N steps (more than the checkpoint has "
              "done), e.g. to extend a finished one [default: the checkpoint's].")
@click.option("--plot", type=FilePath(dir_okay=False), metavar="FILE",
              help="Instead, draw PARAM's g, m, √v̂, step / lr_t, bias corrections and "
              "learning rate at every step of the checkpoint's run, replayed from the "
              "seed (about 10 s for the shipped one), as FILE (.png or .svg).")
def adam(param, checkpoint, text, data, steps, plot):
    """Show the arithmetic of PARAM's next Adam update, with its numbers.

    PARAM is GROUP[ROW][COL], the label the model gives each weight, e.g.
    layer0.mlp_fc1[3][5] or wte[0][1]. The output goes from the gradient through
    m and v before and after, both bias corrections and the decayed learning rate
    to the new value, printed in full: the exact float `train --resume` writes.

    A checkpoint that finished its schedule (as the default one has) would not move
    its weights (the next learning rate is 0): its last step is shown instead,
    replayed from the seed (a few seconds); --steps N extends the schedule.

    \b
      microgpt-trace adam "layer0.mlp_fc1[2][5]" --steps 2000
      microgpt-trace adam "wte[0][1]" --text anna --steps 2000
      microgpt-trace adam "layer0.mlp_fc2[3][58]" --plot adam.png
    """
    if plot is not None:
        refuse_unused(["text", "steps"], "goes with the next update; --plot draws the whole run")
        return plot_history(param, checkpoint, data, plot)
    from microgpt_trace.microgpt.adam_explained import format_arithmetic, next_update

    arithmetic = next_update(checkpoint, param, data, text, steps, on_replay=lambda n: click.echo(
        f"replaying {n} steps from the seed to reach the last one (--steps N skips this)...",
        err=True))
    click.echo(format_arithmetic(arithmetic, checkpoint or "data/checkpoint.json"))


def plot_history(param, checkpoint, data, plot):
    from microgpt_trace.microgpt.adam_explained import adam_history, largest_step
    from microgpt_trace.renderers.diagrams.render import write_bytes
    from microgpt_trace.renderers.panels.charts import adam_figure, figure_bytes

    fmt = Path(plot).suffix.lstrip(".").lower()
    if fmt not in ("png", "svg"):
        raise click.UsageError(f"--plot {plot!r}: give a .png or .svg file")
    header, records = adam_history(checkpoint, param, data, on_replay=lambda n: click.echo(
        f"replaying {n} steps from the seed...", err=True))
    write_bytes(plot, figure_bytes(adam_figure(header, records))[fmt])
    step, ratio = largest_step(header, records)
    click.echo(f"wrote {plot}: {header['param']} over {len(records)} steps; its largest step "
               f"is {ratio:.2f} × lr_t, at step {step}")
