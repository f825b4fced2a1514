"""The examples the demo, the README and --help show are chosen by what they teach.

Each test states the property an example exists to show, read from the command as
the Makefile's demo or the README writes it, so a changed example must keep it.
"""

import re
import shlex
import time
from pathlib import Path

import click
import pytest

from microgpt_trace.cli import COMMANDS, cli
from microgpt_trace.microgpt.adam_explained import next_update
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_head, trace_checkpoint_text
from microgpt_trace.tracer.expression.evaluate import parse_assignments, trace_expression
from microgpt_trace.tracer.expression.parse import FUNCTIONS
from microgpt_trace.tracer.scope_view import scope_view

ROOT = Path(__file__).resolve().parents[2]


def demo_lines():
    """The demo's commands, each as its argv after `microgpt-trace`."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.strip().startswith("$(BIN)/microgpt-trace "):
            yield shlex.split(line.split(">")[0])[1:]


def demo_command(name):
    """The argv after the command name of the demo's first `name` command."""
    for words in demo_lines():
        if words[0] == name:
            return words[1:]
    raise AssertionError(f"no {name} command in the demo")


def option(argv, flag, default=None):
    return argv[argv.index(flag) + 1] if flag in argv else default


def scope_named(part):
    """(scope, text) of the demo's `scope` command whose scope contains `part`."""
    for words in demo_lines():
        if words[0] == "scope" and part in words[1]:
            return words[1], option(words, "--text")
    raise AssertionError(f"no scope with {part} in the demo")


def test_the_demo_mlp_has_gates_open_and_closed():
    scope, text = scope_named("mlp")
    view = scope_view(trace_checkpoint_text(text=text, engine="fused"), scope)
    relus = [d["data"] for _, d in view.nodes(data=True) if d["op"] == "relu"]
    open_gates = sum(x > 0 for x in relus)
    assert 0 < open_gates < len(relus) == 64
    assert min(open_gates, len(relus) - open_gates) >= 8  # enough of each to see


def test_the_demo_rmsnorm_scale_is_far_from_one():
    scope, text = scope_named("embed")
    view = scope_view(trace_checkpoint_text(text=text, engine="fused"), scope)
    scales = [d["data"] for _, d in view.nodes(data=True) if d["op"] == "**"]
    assert len(scales) == 1 and abs(scales[0] - 1) > 0.1


@pytest.mark.parametrize("argv", [w for w in demo_lines() if "--head" in w],
                         ids=lambda w: w[0])
def test_the_demo_head_is_selective(argv):
    pos, head = int(option(argv, "--pos")), int(option(argv, "--head"))
    view = trace_checkpoint_head(text=option(argv, "--text"), pos=pos, layer=0, head=head)
    weights = [d["data"] for _, d in view.nodes(data=True) if d.get("role") == "weight"]
    assert len(weights) == pos + 1
    assert max(weights) > 0.5 and max(weights) > 2.5 / len(weights)  # uniform: 1/(pos+1)


def test_the_demo_adam_update_is_mid_schedule_with_a_real_gradient():
    argv = demo_command("adam")
    replayed = []
    start = time.perf_counter()
    a = next_update(None, argv[0], text=None, steps=int(option(argv, "--steps")),
                    on_replay=replayed.append)
    assert time.perf_counter() - start < 2 and not replayed
    assert abs(a.grad) > 0.01 and 0.1 * a.lr < a.lr_t < 0.9 * a.lr


def shown_expressions():
    """(expression, its --set values) of every expr/step/backward/export example in the
    README and the commands' --help."""
    texts = [(ROOT / "README.md").read_text()]
    ctx = click.Context(cli)
    texts += [cli.get_command(ctx, name).help or "" for name in COMMANDS]
    pattern = re.compile(r'microgpt-trace (?:expr|step|backward|export) ("[^"]*")([^\n`#]*)')
    for text in texts:
        for quoted, rest in pattern.findall(text):
            words = shlex.split(rest)
            sets = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--set"]
            if quoted != '"..."':
                yield shlex.split(quoted)[0], sets


@pytest.mark.parametrize("expression, sets", sorted(set(
    (e, tuple(s)) for e, s in shown_expressions())))
def test_shown_expressions_are_defined_and_tanh_unsaturated(expression, sets):
    G = trace_expression(expression, parse_assignments(sets))
    for n, d in G.nodes(data=True):
        if d["op"] == "tanh":
            (child,) = G.predecessors(n)
            assert abs(G.nodes[child]["data"]) < 2, (expression, G.nodes[child]["data"])


def test_shown_expressions_include_the_help_examples():
    assert ("tanh(a*b + c)", ["a=-0.5"]) in list(shown_expressions())


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_defaults_are_in_every_functions_domain(function):
    for variable in "abc":
        trace_expression(f"{function}({variable})")
    trace_expression("relu(a)*exp(b)/log(c)")
    trace_expression("a**0.5 + b**-1 + c**1.5")
