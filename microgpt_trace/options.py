"""Option bundles shared by the diagram commands, and where their output goes."""

from pathlib import Path

import click

from microgpt_trace.renderers.diagrams.render import DEFAULT_MAX_NODES
from microgpt_trace.renderers.themes import THEMES

__all__ = ["FilePath", "diagram_options", "model_options", "engine_option", "depth_option",
           "data_option",
           "write_output", "emit", "GRAPH_FORMATS", "DIAGRAM_FORMATS"]

DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot")


class FilePath(click.Path):
    """click.Path refusing '' (names no file) and, unless allow_dash, '-' (which
    would name a file called '-' where a user means standard input or output)."""

    def convert(self, value, param, ctx):
        if value == "":
            self.fail("an empty name names no file", param, ctx)
        if value == "-" and not self.allow_dash:
            self.fail("'-' (standard input or output) cannot be used here: give a file "
                      "name (./- for a file called '-')", param, ctx)
        return super().convert(value, param, ctx)
GRAPH_FORMATS = ("json", "graphml", "gexf")


def diagram_options(command):
    """--no-backward, -o, --format, --rankdir, --edge-labels, --theme, --max-nodes."""
    options = [
        click.option("--no-backward", is_flag=True,
                     help="Draw the forward pass only (gradients are shown by default)."),
        click.option("-o", "--output", type=FilePath(dir_okay=False, allow_dash=True),
                     help="Write the diagram: .svg .png .pdf .dot, or the graph as .json "
                     "(node-link); '-' for stdout (DOT text unless --format)."),
        click.option("--format", "fmt", type=click.Choice(DIAGRAM_FORMATS + ("json",)),
                     help="Output format [default: from the -o extension; dot for '-']."),
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
        click.option("--checkpoint", type=FilePath(dir_okay=False),
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
                        help=help_text + " [default: auto, the deepest whose layout fits "
                        "--max-nodes].")


def write_output(graph, output, fmt, max_nodes, **style):
    """Write through microgpt_trace.api.save_graph, as Diagram.save does (style:
    write_diagram's keywords, the refusal's hint and dot_source's options)."""
    if output == "-" and not fmt:
        fmt = "dot"  # text for a pipe: `-o - | dot -Tpng`
    from microgpt_trace.api import save_graph

    save_graph(graph, output, fmt, max_nodes, **style)


def given(*names):
    """The options among `names` (parameter names) typed on the command line."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    spelled = {p.name: max(p.opts, key=len) for p in ctx.command.params}
    return [spelled[name] for name in names
            if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]


def refuse_unused(names, why):
    """A UsageError naming the first of `names` given, which `why` says does not apply."""
    unused = given(*names)
    if unused:
        raise click.UsageError(f"{unused[0]} {why}")


def check_fits(output, fmt, formats=DIAGRAM_FORMATS + GRAPH_FORMATS):
    """--format contradicting the -o extension is refused, not silently obeyed."""
    suffix = Path(output).suffix.lstrip(".").lower() if output and output != "-" else ""
    if fmt and suffix in formats and suffix != fmt:
        raise click.UsageError(f"--format {fmt} contradicts -o {output!r} (a .{suffix} file)")


def emit(graph, summary, output, fmt, max_nodes, **style):
    """Write the diagram or graph file when -o is given, then print the text summary
    (unless the diagram itself went to stdout): a refused output prints nothing."""
    drawing = ("fmt", "theme", "rankdir", "edge_labels")  # --max-nodes: model's auto depth
    if not output:
        refuse_unused(drawing, "goes with -o: without it only the text summary is printed")
    check_fits(output, fmt)
    suffix = Path(output).suffix.lstrip(".").lower() if output and output != "-" else ""
    if (fmt or suffix) in GRAPH_FORMATS:
        refuse_unused(drawing[1:] + ("no_backward",), f"draws a diagram; a {fmt or suffix} "
                      "graph file holds every value and gradient")
    if output:
        write_output(graph, output, fmt, max_nodes, **style)
    if output != "-":
        click.echo(summary)
    if output and output != "-":
        click.echo(f"wrote {output}", err=True)

