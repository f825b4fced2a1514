import click

from microgpt_trace.tracer.expression.evaluate import parse_assignments, trace_expression
from microgpt_trace.tracer.replay import backward_frames


@click.command()
@click.argument("expression")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A variable's value; repeat for each [default: a=2, b=3, ...].")
@click.option("--granularity", type=click.Choice(["node", "level"]), default="node",
              show_default=True,
              help="One frame per node, or per distance from the output (level).")
@click.option("--no-color", is_flag=True, help="Plain text without ANSI colours.")
def step(expression, assignments, granularity, no_color):
    """Step through backward on EXPRESSION, one node at a time.

    Each frame shows the chain rule at work (child.grad += local_grad × grad) and
    the gradients it changes. In a terminal: Enter or n for the next frame, p back,
    q to quit. With stdin or stdout not a terminal it prints every frame.

    \b
      microgpt-trace step "a*b + a" --set a=2 --set b=3
      microgpt-trace step "tanh(x - 1)/x" --granularity level | less
    """
    from microgpt_trace import api

    graph = trace_expression(expression, parse_assignments(assignments))
    frames = backward_frames(graph, granularity)
    api.step_frames(graph, frames, color=api.is_terminal("stdout") and not no_color)
