import click

from ..options import FilePath, check_fits, refuse_unused


@click.command()
@click.argument("expression", required=False)
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A variable's value (with EXPRESSION); repeatable.")
@click.option("--text", help="Export the model's whole graph on this text instead.")
@click.option("--checkpoint", type=FilePath(dir_okay=False),
              help="Model for --text [default: the shipped checkpoint].")
@click.option("--engine", type=click.Choice(["fused", "atomic"]), default="fused",
              show_default=True, help="How --text records dot products.")
@click.option("-o", "--output", required=True, type=FilePath(dir_okay=False, allow_dash=True),
              help="graph.graphml, graph.gexf or graph.json (node-link); '-' with --format.")
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf", "json"]),
              help="[default: from the -o extension]")
def export(expression, assignments, text, checkpoint, engine, output, fmt):
    """Write a traced graph for networkx, Gephi or yEd, every attribute intact.

    \b
      microgpt-trace export "a*b + a" -o graph.graphml
      microgpt-trace export --text anna -o anna.json
    """
    from microgpt_trace.tracer.export import write_graph

    if (expression is None) == (text is None):
        raise click.UsageError("give either an EXPRESSION or --text, not both")
    check_fits(output, fmt)
    if text is not None:
        refuse_unused(["assignments"], "goes with an EXPRESSION, not --text")
    else:
        refuse_unused(["checkpoint", "engine"], "goes with --text, not an EXPRESSION")
    if text is not None:
        from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text

        graph = trace_checkpoint_text(text=text, checkpoint=checkpoint, engine=engine)
    else:
        from microgpt_trace.tracer.expression.evaluate import parse_assignments, trace_expression

        graph = trace_expression(expression, parse_assignments(assignments))
    write_graph(graph, output, fmt)
    if output != "-":
        click.echo(f"wrote {output} ({graph.number_of_nodes()} nodes, "
                   f"{graph.number_of_edges()} edges)", err=True)
