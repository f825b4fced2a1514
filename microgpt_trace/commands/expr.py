import click

from ..options import diagram_options, emit


@click.command()
@click.argument("expression")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A variable's value; repeat for each [default: a=2, b=3, then "
              "0.5, -1.5, 4, -2, 1.5, -0.5 in order of appearance].")
@diagram_options
def expr(expression, assignments, no_backward, output, fmt, rankdir, edge_labels, theme,
         max_nodes):
    """Trace EXPRESSION, print every node, and draw it with -o.

    Operators + - * / ** and unary minus, parentheses, numbers such as 1e-3, and
    exp, log, relu, tanh. The expression is parsed, never evaluated as Python.

    \b
      microgpt-trace expr "a*b + a"
      microgpt-trace expr "tanh(a*b + c)" --set a=-0.5 -o graph.png --edge-labels
    """
    from microgpt_trace.tracer.expression.evaluate import (
        node_table,
        parse_assignments,
        trace_expression,
    )

    graph = trace_expression(expression, parse_assignments(assignments),
                             backward=not no_backward)
    emit(graph, format_table(node_table(graph), grads=not no_backward), output, fmt,
         max_nodes, rankdir=rankdir, edge_labels=edge_labels, backward=not no_backward,
         theme=theme)


def format_table(rows, grads=True):
    """Aligned columns: node id, label, op, data and (unless forward-only) grad."""
    header = ("node", "label", "op", "data") + (("grad",) if grads else ())
    lines = [(str(i), label, op, f"{data:.6g}") + ((f"{grad:.6g}",) if grads else ())
             for i, (label, op, data, grad) in enumerate(rows)]
    widths = [max(len(row[c]) for row in [header] + lines) for c in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if c in (0, 3, 4) else cell.ljust(w)
                               for c, (cell, w) in enumerate(zip(row, widths))).rstrip()
                     for row in [header] + lines)
