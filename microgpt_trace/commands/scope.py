import click

from ..options import diagram_options, emit, model_options, refuse_unused


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
      microgpt-trace scope pos4/layer0/mlp --text anna -o mlp.svg
      microgpt-trace scope --list --text anna
    """
    from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text
    from microgpt_trace.tracer.scope_notes import scope_summary
    from microgpt_trace.tracer.scope_view import scope_names, scope_view

    if scope_name is None and not list_scopes:
        raise click.UsageError("give a SCOPE such as pos4/layer0/mlp (--list shows them all)")
    if list_scopes and scope_name is not None:
        raise click.UsageError(f"--list prints every scope; drop it to draw {scope_name!r}")
    if list_scopes:
        refuse_unused(["output", "fmt", "theme", "rankdir", "edge_labels", "max_nodes",
                       "no_backward"], "draws a scope; --list only prints their names")
    graph = trace_checkpoint_text(text=text, checkpoint=checkpoint, engine=engine)
    if list_scopes:
        click.echo("\n".join(scope_names(graph)))
        return
    view = scope_view(graph, scope_name)
    emit(view, scope_summary(view), output, fmt, max_nodes, hint=too_large_hint(engine),
         rankdir=rankdir, edge_labels=edge_labels, backward=not no_backward, theme=theme)


def too_large_hint(engine):
    """What a scope over the layout cap suggests instead."""
    fused = ", use --engine fused (one node per dot product)" if engine == "atomic" else ""
    return f"draw a smaller scope (--list shows them){fused}, or raise --max-nodes"
