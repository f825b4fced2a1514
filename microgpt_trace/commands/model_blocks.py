import click

from ..options import depth_option, diagram_options, emit, model_options


@click.command()
@model_options(engine="fused")
@depth_option("Levels of scope below each position: 1 layers, 2 attention/MLP, 3 heads "
              "and sublayers")
@diagram_options
def model(checkpoint, text, engine, depth, no_backward, output, fmt, rankdir, edge_labels,
          theme, max_nodes):
    """Draw the whole model on a text, collapsed by scope into blocks.

    Each block shows its node count and gradient L2 norm; prints the blocks.

    \b
      microgpt-trace model --text anna --depth 2 -o model.svg
    """
    from microgpt_trace.renderers.diagrams.render import layout_size
    from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text
    from microgpt_trace.tracer.queries import auto_depth, collapse

    graph = trace_checkpoint_text(text=text, checkpoint=checkpoint, engine=engine)
    depth = auto_depth(graph, max_nodes, layout_size) if depth in (None, "auto") else int(depth)
    blocks = collapse(graph, depth)
    emit(blocks, format_blocks(blocks), output, fmt, max_nodes, rankdir=rankdir,
         edge_labels=edge_labels, backward=not no_backward, theme=theme)


def format_blocks(blocks):
    lines = [f"{blocks.number_of_nodes()} blocks at depth {blocks.graph['depth']}",
             "block                               nodes   grad norm"]
    for _, d in sorted(blocks.nodes(data=True)):
        lines.append(f"{d['scope']:34}  {d['n_nodes']:6d}  {d['grad_norm']:10.4g}")
    return "\n".join(lines)
