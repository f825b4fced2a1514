import click

from microgpt_trace.renderers.themes import THEMES

from ..options import FilePath, depth_option, engine_option, refuse_unused


@click.command()
@click.argument("expression", required=False)
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A variable's value (with EXPRESSION); repeatable.")
@click.option("--text", help="Explore the model on this text instead of an expression.")
@click.option("--checkpoint", type=FilePath(dir_okay=False),
              help="Model for --text [default: the shipped checkpoint].")
@engine_option("fused")
@depth_option("The first view's blocks: 1 layers, 2 attention/MLP, 3 heads and sublayers")
@click.option("--max-nodes", type=click.IntRange(min=1), default=None,
              help="The largest layout drawn at op level; a bigger scope opens as blocks "
              "of its child scopes (a scope with none: one view per value it computes) "
              "[default: 400].")
@click.option("--theme", type=click.Choice(list(THEMES)), default="default",
              show_default=True, help="Colours; colorblind is the Okabe-Ito palette.")
@click.option("-o", "--output", required=True, type=FilePath(dir_okay=False),
              help="The page to write: one .html file that works offline.")
def explore(expression, assignments, text, checkpoint, engine, depth, max_nodes, theme,
            output):
    """Explore a traced graph in one offline page: the model in blocks, a click opens a
    block's scope, down to single ops; zoom, pan, hover, inspect any number, search,
    and step backward through the view you are in.

    \b
      microgpt-trace explore --text anna -o explore.html
      microgpt-trace explore "a*b + a" --set a=2 -o expr.html
    """
    from microgpt_trace.renderers.explorer.page import (
        EXPLORE_MAX_NODES,
        explorer_page,
        write_explorer,
    )

    if (expression is None) == (text is None):
        raise click.UsageError("give either an EXPRESSION or --text, not both")
    if not output.lower().endswith((".html", ".htm")):
        raise click.UsageError(f"-o {output!r}: the explorer is one page, name it .html")
    if expression is not None:
        refuse_unused(["checkpoint", "engine", "depth"], "goes with --text, not an EXPRESSION")
        from microgpt_trace.tracer.expression.evaluate import (
            parse_assignments,
            trace_expression,
        )

        graph = trace_expression(expression, parse_assignments(assignments))
    else:
        if assignments:
            raise click.UsageError("--set goes with an EXPRESSION, not --text")
        from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text

        graph = trace_checkpoint_text(text=text, checkpoint=checkpoint, engine=engine)
    page = explorer_page(graph, max_nodes=max_nodes or EXPLORE_MAX_NODES,
                         depth=None if depth in (None, "auto") else int(depth), theme=theme)
    write_explorer(page, output)
    views = page.count('"payload":')
    size = len(page.encode("utf-8"))
    click.echo(f"wrote {output} ({views} view{'s' * (views != 1)}, "
               f"{f'{size / 1e6:.1f} MB' if size >= 1e6 else f'{size / 1e3:.0f} kB'})", err=True)
