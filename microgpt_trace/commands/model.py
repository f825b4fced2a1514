import click

from ..options import diagram_options, emit, load_traced_text, model_options


@click.command()
@model_options
@click.option("--depth", default="auto", show_default=True,
              type=click.Choice(["1", "2", "3", "auto"]),
              help="Levels of scope below each position: 1 layers, 2 attention/MLP, "
              "3 heads and sublayers; auto: the deepest that fits --max-nodes.")
@click.option("--engine", type=click.Choice(["fused", "atomic"]), default="fused",
              show_default=True, help="How dot products were recorded (same blocks).")
@diagram_options
def model(checkpoint, text, depth, engine, output, fmt, rankdir, edge_labels, theme,
          max_nodes):
    """Draw the whole model on a text, collapsed by scope into blocks.

    Each block shows its node count and gradient L2 norm; prints the blocks.

    \b
      microgpt-trace model --text anna --depth 2 -o model.svg
    """
    from tracer.queries import auto_depth, collapse

    graph, _ = load_traced_text(checkpoint, text, engine)
    depth = auto_depth(graph, max_nodes) if depth == "auto" else int(depth)
    blocks = collapse(graph, depth)
    emit(blocks, format_blocks(blocks), output, fmt, max_nodes, rankdir=rankdir,
         edge_labels=edge_labels, backward=True, theme=theme)


def format_blocks(blocks):
    lines = [f"{blocks.number_of_nodes()} blocks at depth {blocks.graph['depth']}",
             "block                               nodes   grad norm"]
    for _, d in sorted(blocks.nodes(data=True)):
        lines.append(f"{d['scope']:34}  {d['n_nodes']:6d}  {d['grad_norm']:10.4g}")
    return "\n".join(lines)
