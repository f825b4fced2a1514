import click

from ..options import diagram_options, emit, model_options


@click.command()
@model_options(engine="atomic")
@click.option("--pos", type=click.IntRange(min=0),
              help="Query position (0 reads BOS) [default: the last].")
@click.option("--layer", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--head", "head_index", type=click.IntRange(min=0), default=0, show_default=True)
@diagram_options
def head(checkpoint, text, engine, pos, layer, head_index, no_backward, output, fmt, rankdir,
         edge_labels, theme, max_nodes):
    """Draw one attention head at one position: q, k, v, scores, softmax, output.

    Gradients come from the loss of the whole text. Prints the head's attention
    weights over the positions it sees.

    \b
      microgpt-trace head --text anna --pos 4 --head 2 -o head.svg
    """
    from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_head

    view = trace_checkpoint_head(text=text, pos=pos, layer=layer, head=head_index,
                                 checkpoint=checkpoint, engine=engine)
    emit(view, format_weights(view), output, fmt, max_nodes, rankdir=rankdir,
         edge_labels=edge_labels, backward=not no_backward, theme=theme)


def format_weights(view):
    """One line per key position: token, score and softmax weight."""
    tokens = view.graph["tokens"]
    rows = {}
    for _, d in view.nodes(data=True):
        if d.get("role") in ("score", "weight"):
            rows.setdefault(d["label"].split("[t=")[1].rstrip("]"), {})[d["role"]] = d["data"]
    lines = [f"layer {view.graph['layer']}, head {view.graph['head']}, query position "
             f"{view.graph['pos']} ({tokens[view.graph['pos']]!r})",
             "   t  token       score  weight"]
    for t in sorted(rows, key=int):
        lines.append(f"{int(t):4d}  {tokens[int(t)]!r:8}  {rows[t]['score']:9.4f}  "
                     f"{rows[t]['weight']:6.4f}")
    return "\n".join(lines)
