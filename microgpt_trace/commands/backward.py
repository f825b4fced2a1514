import click

from microgpt_trace.renderers.diagrams.render import DEFAULT_MAX_NODES, layout_size
from microgpt_trace.renderers.themes import THEMES

from ..options import FilePath, depth_option, refuse_unused


@click.command()
@click.argument("expression", required=False)
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A variable's value (with EXPRESSION); repeatable.")
@click.option("--text", help="Animate the model on this text instead: one attention head, "
              "or with --model the whole model in blocks.")
@click.option("--checkpoint", type=FilePath(dir_okay=False),
              help="Model for --text [default: the shipped checkpoint].")
@click.option("--pos", type=click.IntRange(min=0),
              help="Query position of the head (0 reads BOS) [default: the last].")
@click.option("--layer", type=click.IntRange(min=0), default=0, show_default=True,
              help="Layer of the head.")
@click.option("--head", "head_index", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which attention head.")
@click.option("--engine", type=click.Choice(["atomic", "fused"]),
              help="atomic: the reference's own * and + ops; fused: one node per dot "
              "product [default: atomic for a head, fused for --model and --scope].")
@click.option("--model", "whole_model", is_flag=True,
              help="With --text: the whole model, one frame per block of --depth.")
@click.option("--scope", "scope_name", metavar="SCOPE",
              help="With --text: one scope at op level, e.g. pos4/layer0/mlp "
              "(`scope --list` shows them).")
@depth_option("With --model: 1 layers, 2 attention/MLP, 3 heads and sublayers")
@click.option("--granularity", type=click.Choice(["node", "scope", "level"]),
              help="One frame per node, per scope (as soon as it can send), or per "
              "distance from the output [default: node]; --model steps by block.")
@click.option("-o", "--output", required=True, type=FilePath(allow_dash=False),
              help="out.html (a stepper), out.gif, or a folder ending in / for SVG frames.")
@click.option("--rankdir", type=click.Choice(["LR", "TB"]), default="LR", show_default=True,
              help="Left to right or top to bottom.")
@click.option("--theme", type=click.Choice(list(THEMES)), default="default", show_default=True,
              help="Colours; colorblind is the Okabe-Ito palette.")
@click.option("--max-nodes", type=click.IntRange(min=1), default=DEFAULT_MAX_NODES,
              show_default=True, help="Refuse to lay out larger graphs (dot gets slow).")
def backward(expression, assignments, text, checkpoint, pos, layer, head_index, engine,
             whole_model, scope_name, depth, granularity, output, rankdir, theme, max_nodes):
    """Animate backward: an HTML stepper, a GIF, or a folder of SVG frames.

    Each frame shows the node sending its grad, what flows along each of its edges
    (local grad × grad) and each grad as it adds up; the caption spells out the
    chain-rule arithmetic.

    \b
      microgpt-trace backward "a*b + a" -o backward.html
      microgpt-trace backward --text anna --pos 4 --head 2 -o head.gif
      microgpt-trace backward --text anna --scope pos4/layer0/mlp -o mlp.html
      microgpt-trace backward --text anna --model --depth 1 -o frames/
    """
    from microgpt_trace.renderers.animation.write import animation_kind, write_animation
    from microgpt_trace.tracer import replay_views

    check_scope(scope_name, text, whole_model, pos)
    check_options(expression, assignments, text, whole_model, granularity, depth)
    animation_kind(output)  # a bad -o fails before any tracing
    granularity = granularity or "node"
    if scope_name is not None:
        graph, frames = replay_views.replay_scope(
            text=text, scope=scope_name, checkpoint=checkpoint, engine=engine or "fused",
            granularity=granularity)
    elif text is None:
        from microgpt_trace.tracer.expression.evaluate import parse_assignments

        graph, frames = replay_views.replay_expression(
            expression=expression, values=parse_assignments(assignments),
            granularity=granularity)
    elif whole_model:
        graph, frames = replay_views.replay_model(
            text=text, depth=None if depth in (None, "auto") else int(depth),
            max_nodes=max_nodes, checkpoint=checkpoint, engine=engine or "fused",
            size=layout_size)
    else:
        graph, frames = replay_views.replay_head(
            text=text, pos=pos, layer=layer, head=head_index, checkpoint=checkpoint,
            engine=engine or "atomic", granularity=granularity)
    kind = write_animation(graph, frames, output, rankdir=rankdir, theme=theme,
                           max_nodes=max_nodes)
    what = "SVG frames" if kind == "frames" else "frames"
    click.echo(f"wrote {output} ({len(frames)} {what})", err=True)


def check_options(expression, assignments, text, whole_model, granularity, depth):
    if (expression is None) == (text is None):
        raise click.UsageError("give either an EXPRESSION or --text, not both")
    if expression is not None:
        refuse_unused(["pos", "layer", "head_index", "engine", "checkpoint"],
                      "goes with --text, not an EXPRESSION")
        if granularity == "scope":
            raise click.UsageError("--granularity scope goes with --text: an expression "
                                   "has no scopes")
    elif whole_model:
        refuse_unused(["pos", "layer", "head_index"], "picks one head; --model draws them all")
    if assignments and text is not None:
        raise click.UsageError("--set goes with an EXPRESSION, not --text")
    if whole_model and text is None:
        raise click.UsageError("--model needs --text")
    if depth is not None and not whole_model:
        raise click.UsageError("--depth goes with --model")
    if whole_model and granularity:
        raise click.UsageError("--model steps one block per frame; --granularity is for "
                               "expressions and heads (use --depth for bigger blocks)")


def check_scope(scope_name, text, whole_model, pos):
    if scope_name is None:
        return
    if text is None:
        raise click.UsageError("--scope needs --text")
    refuse_unused(["layer", "head_index"], "picks one head; --scope draws one scope")
    if whole_model or pos is not None:
        raise click.UsageError("--scope draws one scope; --model and --pos/--head are "
                               "other views")

