"""Option bundles shared by the diagram commands, and where their output goes."""

import click

from microgpt_trace.renderers.diagrams.render import DEFAULT_MAX_NODES
from microgpt_trace.renderers.themes import THEMES

__all__ = ["diagram_options", "model_options", "engine_option", "depth_option", "data_option",
           "write_output", "emit", "GRAPH_FORMATS", "DIAGRAM_FORMATS"]

DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot")
GRAPH_FORMATS = ("json", "graphml", "gexf")


def diagram_options(command):
    """--no-backward, -o, --format, --rankdir, --edge-labels, --theme, --max-nodes."""
    options = [
        click.option("--no-backward", is_flag=True,
                     help="Draw the forward pass only (gradients are shown by default)."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
                     help="Write the diagram: .svg .png .pdf .dot, or the graph as .json "
                     "(node-link); '-' for stdout (with --format)."),
        click.option("--format", "fmt", type=click.Choice(DIAGRAM_FORMATS + ("json",)),
                     help="Output format [default: from the -o extension]."),
        click.option("--rankdir", type=click.Choice(["LR", "TB"]), default="LR",
                     show_default=True, help="Left to right or top to bottom."),
        click.option("--edge-labels", is_flag=True,
                     help="Label each edge with its local gradient and what flowed back."),
        click.option("--theme", type=click.Choice(list(THEMES)), default="default",
                     show_default=True, help="Colours; colorblind is the Okabe-Ito palette."),
        click.option("--max-nodes", type=click.IntRange(min=1), default=DEFAULT_MAX_NODES,
                     show_default=True, help="Refuse to lay out larger graphs (dot gets slow)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def model_options(engine):
    """--checkpoint, --text, --engine (default `engine`) for commands that trace the model."""
    options = [
        click.option("--checkpoint", type=click.Path(dir_okay=False),
                     help="Model to trace [default: the shipped checkpoint]."),
        click.option("--text", required=True, help="The document to run, e.g. anna."),
        engine_option(engine),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def data_option(what):
    """--data NAME|FILE: a shipped dataset by name, or a file; `what` says what it is for."""
    from microgpt_trace.microgpt.data import DEFAULT_DATA, SHIPPED

    return click.option("--data", default=DEFAULT_DATA, show_default=True, metavar="NAME|FILE",
                        help=f"{what}: a shipped dataset ({', '.join(SHIPPED)}) or a UTF-8 "
                        "file, one document per line.")


def engine_option(default):
    """--engine atomic|fused: how dot products are recorded, the same in every command."""
    return click.option("--engine", type=click.Choice(["atomic", "fused"]), default=default,
                        show_default=True, help="atomic: the reference's own * and + ops; "
                        "fused: one node per dot product (same numbers).")


def depth_option(help_text):
    """--depth 1|2|3|auto, auto by default, for the block views."""
    return click.option("--depth", type=click.Choice(["1", "2", "3", "auto"]),
                        help=help_text + " [default: auto, the deepest that fits --max-nodes].")


def write_output(graph, output, fmt, max_nodes, **style):
    """Write through microgpt_trace.api.save_graph, as Diagram.save does (style:
    write_diagram's keywords, the refusal's hint and dot_source's options)."""
    if output == "-" and not fmt:
        raise click.UsageError("writing to stdout ('-') needs --format: "
                               + ", ".join(DIAGRAM_FORMATS + ("json",)))
    from microgpt_trace.api import save_graph

    save_graph(graph, output, fmt, max_nodes, **style)


def emit(graph, summary, output, fmt, max_nodes, **style):
    """Write the diagram or graph file when -o is given, then print the text summary
    (unless the diagram itself went to stdout): a refused output prints nothing."""
    if output:
        write_output(graph, output, fmt, max_nodes, **style)
    if output != "-":
        click.echo(summary)
    if output and output != "-":
        click.echo(f"wrote {output}", err=True)

