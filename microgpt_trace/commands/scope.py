from pathlib import Path

import click

from ..options import diagram_options, emit, load_traced_text, model_options

NO_LAYOUT = ("dot", "json", "graphml", "gexf")  # outputs written without running dot


@click.command()
@click.argument("scope_name", metavar="SCOPE", required=False)
@model_options(engine="fused")
@click.option("--list", "list_scopes", is_flag=True,
              help="Print the scopes the text has, one per line, and exit.")
@diagram_options
def scope(scope_name, checkpoint, text, engine, list_scopes, no_backward, output, fmt,
          rankdir, edge_labels, theme, max_nodes):
    """Draw any scope of the model at op level: its values, the inputs flowing in
    from outside it, and what it teaches (ReLU gates, RMSNorm's shared scale, the
    residual's pass-through, the grad reaching the logits).

    Gradients come from the loss of the whole text; an input's `from here` column
    is what this scope alone sends it. Weight matrices are summarised, a row per
    matrix row with its norms. Prints what the scope is, its outputs and its notes.

    \b
      microgpt-trace scope pos3/layer0/mlp --text anna -o mlp.svg
      microgpt-trace scope --list --text anna
    """
    from tracer.scope_notes import scope_summary
    from tracer.scope_view import scope_names, scope_view

    if scope_name is None and not list_scopes:
        raise click.UsageError("give a SCOPE such as pos3/layer0/mlp (--list shows them all)")
    graph, _ = load_traced_text(checkpoint, text, engine)
    if list_scopes:
        click.echo("\n".join(scope_names(graph)))
        return
    view = scope_view(graph, scope_name)
    check_size(view, output, fmt, max_nodes, engine)
    emit(view, scope_summary(view), output, fmt, max_nodes, rankdir=rankdir,
         edge_labels=edge_labels, backward=not no_backward, theme=theme)


def check_size(view, output, fmt, max_nodes, engine):
    """Refuse a view over the layout cap with a hint for scopes, before any output."""
    from renderers.diagrams.render import check_layout_size

    suffix = Path(output).suffix.lstrip(".").lower() if output and output != "-" else ""
    if not output or (fmt or suffix) in NO_LAYOUT:
        return
    hint = "draw a smaller scope (--list shows them)"
    if engine == "atomic":
        hint += ", use --engine fused (one node per dot product)"
    check_layout_size(view, max_nodes, hint + ", or raise --max-nodes")
