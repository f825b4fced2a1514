"""The face: mt.trace, draw, animate, step, and the CLI written through them."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

import microgpt_trace as mt
from microgpt_trace.cli import cli
from microgpt_trace.microgpt.engine import Value
from microgpt_trace.renderers.diagrams.render import DEFAULT_MAX_NODES
from microgpt_trace.renderers.exceptions import FormatError
from microgpt_trace.tracer.exceptions import GradsNotComputedError
from microgpt_trace.tracer.export import read_graph
from microgpt_trace.tracer.expression.evaluate import trace_expression

from .tracer.foreign_values import MG


def neuron():
    a, b = MG(2.0, label="a"), MG(-3.0, label="b")
    out = (a * b + a).tanh()
    out.backward()
    return out


def test_import_stays_light_and_the_face_loads_on_use():
    code = ("import sys, microgpt_trace as mt; print('networkx' in sys.modules); "
            "mt.trace; print('networkx' in sys.modules, 'microgpt_trace.api' in sys.modules, "
            "mt.__all__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "False" and out[1].startswith("False True ['__version__', 'trace', 'draw'")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mt.nope  # noqa: B018
    from microgpt_trace import api

    assert api.MAX_NODES == DEFAULT_MAX_NODES


def test_trace_passes_a_graph_through():
    G = mt.trace(neuron())
    assert mt.trace(G) is G and G.nodes[G.graph["roots"][0]]["op"] == "tanh"


def test_diagram_save_writes_what_the_cli_writes(tmp_path):
    graph = trace_expression("a*b + a", {"a": 2.0, "b": 3.0})
    result = CliRunner().invoke(cli, ["expr", "a*b + a", "--set", "a=2", "--set", "b=3",
                                      "--edge-labels", "-o", str(tmp_path / "cli.dot")])
    assert result.exit_code == 0, result.output
    diagram = mt.draw(graph, edge_labels=True)
    diagram.save(tmp_path / "api.dot")
    assert (tmp_path / "api.dot").read_text() == (tmp_path / "cli.dot").read_text()
    assert diagram.source == (tmp_path / "cli.dot").read_text()


def test_diagram_saves_graph_formats_and_refuses_unknown_extensions(tmp_path):
    diagram = mt.draw(neuron())
    diagram.save(tmp_path / "g.json")
    assert read_graph(tmp_path / "g.json").nodes(data=True) == diagram.graph.nodes(data=True)
    with pytest.raises(FormatError, match="unsupported output extension '.txt'"):
        diagram.save(tmp_path / "g.txt")
    assert not (tmp_path / "g.txt").exists()


@pytest.mark.exe
def test_diagram_svg_inline_and_saved(tmp_path):
    diagram = mt.draw(neuron())
    svg = diagram._repr_svg_()
    assert svg.startswith("<?xml") and ">a<" in svg and ">b<" in svg
    diagram.save(tmp_path / "n.svg")
    assert (tmp_path / "n.svg").read_text() == svg


@pytest.mark.exe
def test_animate_writes_what_the_cli_writes(tmp_path):
    result = CliRunner().invoke(cli, ["backward", "a*b + a", "--set", "a=2", "--set", "b=3",
                                      "-o", str(tmp_path / "cli.html")])
    assert result.exit_code == 0, result.output
    anim = mt.animate(trace_expression("a*b + a", {"a": 2.0, "b": 3.0}))
    assert anim.save(tmp_path / "api.html") == "html"
    assert (tmp_path / "api.html").read_bytes() == (tmp_path / "cli.html").read_bytes()
    assert anim._repr_html_().startswith('<iframe sandbox="allow-scripts"')


def test_animate_ends_on_the_objects_grads():
    out = neuron()
    a, b = sorted(_leaves(out), key=lambda v: v.label)
    anim = mt.animate(out)
    last = {}
    for frame in anim.frames:
        last.update(frame.grads)
    labels = {d["label"]: n for n, d in anim.graph.nodes(data=True)}
    assert (last[labels["a"]], last[labels["b"]]) == (a.grad, b.grad) == (-2.0 * (
        1 - out.data**2), 2.0 * (1 - out.data**2))


def _leaves(out):
    from .tracer.foreign_values import objects

    return [v for v in objects(out) if v.label]


def test_step_prints_what_the_cli_prints(capsys):
    result = CliRunner().invoke(cli, ["step", "a*b + a", "--set", "a=2", "--set", "b=3"])
    mt.step(trace_expression("a*b + a", {"a": 2.0, "b": 3.0}), color=False)
    printed = capsys.readouterr().out
    assert printed == result.output and "a.grad += 3 × 1 → 4" in printed
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    d = a * b + a
    d.backward()
    mt.step(d, color=False)
    assert "a.grad += 3 × 1 → 4" in capsys.readouterr().out


def test_grads_from_another_backward_are_refused_not_replayed_to_other_numbers():
    a, b = MG(2.0, label="a"), MG(-3.0, label="b")
    inner = a * b
    out = (inner + a).tanh()
    inner.backward()  # seeded from a node inside: out's grad stays 0, a and b get some
    out.grad = 0.5
    with pytest.raises(GradsNotComputedError, match=r"not what one backward\(\) from this"):
        mt.animate(out)


@pytest.mark.exe
def test_explore_saves_what_the_cli_writes(tmp_path):
    result = CliRunner().invoke(cli, ["explore", "a*b + a", "--set", "a=2", "--set", "b=3",
                                      "-o", str(tmp_path / "cli.html")])
    assert result.exit_code == 0, result.output
    explorer = mt.explore(trace_expression("a*b + a", {"a": 2.0, "b": 3.0}))
    explorer.save(tmp_path / "api.html")
    assert (tmp_path / "api.html").read_bytes() == (tmp_path / "cli.html").read_bytes()
    cell = explorer._repr_html_()
    assert cell.startswith('<iframe sandbox="allow-scripts"') and cell.count("<") == 2
    with pytest.raises(FormatError, match="name it .html"):
        explorer.save(tmp_path / "x.svg")


def test_explore_needs_grads_and_a_graph_it_can_lay_out():
    a = Value(2.0, label="a")
    with pytest.raises(GradsNotComputedError, match="cannot explore"):
        mt.explore(a * a)
    from microgpt_trace.renderers.exceptions import GraphTooLargeError

    with pytest.raises(GraphTooLargeError, match="over the cap of 3"):
        mt.explore(neuron(), max_nodes=3)
