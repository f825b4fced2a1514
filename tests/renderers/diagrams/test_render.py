"""render and write_diagram: formats, the cap, a missing `dot`, no partial files."""

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from microgpt_trace.renderers.diagrams.render import (
    INSTALL_HINT,
    render,
    render_formats,
    write_diagram,
)
from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.renderers.exceptions import (
    DotNotFoundError,
    FormatError,
    GraphTooLargeError,
    RenderError,
)

from . import diagram_graphs as graphs

MAGIC = {"svg": b"<?xml", "png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


def chain(n):
    """x0 + x1 + ... as a traced graph of about 3n nodes."""
    from microgpt_trace.microgpt.engine import Value

    total = Value(0.0, label="x0")
    for i in range(1, n):
        total = total + Value(float(i), label=f"x{i}")
    return graphs.expression(total, f"sum of {n}")


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """A PATH on which there is no `dot`."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def files_in(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.exe
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_formats(tmp_path, fmt):
    write_diagram(graphs.ten_ops(), tmp_path / f"g.{fmt}")
    assert (tmp_path / f"g.{fmt}").read_bytes().startswith(MAGIC[fmt])
    assert files_in(tmp_path) == [f"g.{fmt}"]


@pytest.mark.exe
@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_same_graph_same_file(fmt):
    first = render(dot_source(graphs.tiny_head()), fmt)
    assert render(dot_source(graphs.tiny_head()), fmt) == first


@pytest.mark.exe
def test_png_is_twice_the_svg_size():
    """144 dpi: every SVG point becomes two pixels."""
    text = dot_source(graphs.a_times_b_plus_a())
    svg_width = int(re.search(rb'<svg width="(\d+)pt"', render(text, "svg")).group(1))
    png_width = struct.unpack(">I", render(text, "png")[16:20])[0]
    assert abs(png_width - 2 * svg_width) <= 2


@pytest.mark.exe
def test_svg_shows_hostile_labels_as_text():
    G = nx.MultiDiGraph(source="<b>&", view="model")
    labels = ['<script>alert("x")</script>', "a&b", "it's", "line\nbreak", "名前"]
    for i, label in enumerate(labels):
        G.add_node(i, op="", data=1.0, grad=0.5, label=label, scope=label, kind="input")
    root = ET.fromstring(render(dot_source(G), "svg"))  # well-formed XML
    texts = {el.text for el in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {'<script>alert("x")</script>', "a&b", "it's", "line\\nbreak", "名前", "<b>&"} <= texts


@pytest.mark.exe
@pytest.mark.parametrize("build", [graphs.ten_ops, graphs.tiny_head, graphs.tiny_blocks,
                                   graphs.tiny_model])
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
@pytest.mark.parametrize("edge_labels", [False, True])
@pytest.mark.parametrize("backward", [True, False])
def test_every_view_and_style_renders(build, rankdir, edge_labels, backward):
    text = dot_source(build(), rankdir=rankdir, edge_labels=edge_labels, backward=backward)
    assert render(text, "svg").startswith(b"<?xml")


@pytest.mark.exe
def test_dot_syntax_error_is_a_render_error():
    with pytest.raises(RenderError, match="dot failed: .*syntax error"):
        render("digraph {", "svg")


def test_missing_dot_gives_the_install_hint(no_dot, tmp_path):
    with pytest.raises(DotNotFoundError) as error:
        write_diagram(graphs.a_times_a(), tmp_path / "g.svg")
    assert str(error.value) == INSTALL_HINT == (
        "Graphviz's dot is not installed: sudo apt-get install graphviz "
        "(.dot and .json outputs work without it)")
    assert files_in(tmp_path) == ["empty-bin"]
    write_diagram(graphs.a_times_a(), tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == dot_source(graphs.a_times_a())


def test_over_the_cap_runs_no_dot_and_writes_nothing(no_dot, tmp_path):
    G = chain(30)
    out = tmp_path / "big.svg"
    out.write_bytes(b"old")
    with pytest.raises(GraphTooLargeError) as error:
        write_diagram(G, out, max_nodes=50)
    assert str(error.value) == (
        f"graph of {G.number_of_nodes()} nodes and {G.number_of_edges()} edges (at most 3 on "
        f"one node) has layout size {G.number_of_nodes()}, over the cap of 50: collapse it "
        "(--depth), select a scope, or raise --max-nodes")
    assert out.read_bytes() == b"old"
    write_diagram(G, tmp_path / "big.dot", max_nodes=50)  # text is cheap: no cap
    assert (tmp_path / "big.dot").read_text().startswith("digraph {")


@pytest.mark.exe
def test_a_failed_render_leaves_the_old_file(tmp_path, monkeypatch):
    import microgpt_trace.renderers.diagrams.render as module

    out = tmp_path / "g.svg"
    out.write_bytes(b"old")
    monkeypatch.setattr(module, "dot_source", lambda G, **style: "digraph {")
    with pytest.raises(RenderError, match="dot failed: .*syntax error"):
        write_diagram(graphs.a_times_a(), out)
    assert out.read_bytes() == b"old" and files_in(tmp_path) == ["g.svg"]


@pytest.mark.parametrize("path, fmt, message", [
    ("g.gif", None, "unsupported output extension '.gif' in 'g.gif': use .svg, .png, .pdf or .dot"),
    ("g", None, "no extension in 'g': use .svg, .png, .pdf or .dot"),
    ("g.svg", "jpeg", "unsupported format 'jpeg': use one of svg, png, pdf, dot"),
    ("-", None, "writing to stdout ('-') needs a format: svg, png, pdf, dot"),
])
def test_bad_formats(tmp_path, monkeypatch, path, fmt, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FormatError, match=re.escape(message)):
        write_diagram(graphs.a_times_a(), path, fmt)
    assert files_in(tmp_path) == []


def test_render_refuses_text_formats():
    with pytest.raises(FormatError,
                       match="unsupported format 'dot': dot renders svg, png, pdf or json"):
        render("digraph {}", "dot")


def test_format_from_argument_and_upper_case_extension(tmp_path):
    write_diagram(graphs.a_times_a(), tmp_path / "g.txt", "dot")
    write_diagram(graphs.a_times_a(), tmp_path / "G.DOT")
    assert (tmp_path / "g.txt").read_text() == (tmp_path / "G.DOT").read_text()


def test_stdout(capsysbinary):
    write_diagram(graphs.a_times_a(), "-", "dot", edge_labels=True)
    assert capsysbinary.readouterr().out == dot_source(graphs.a_times_a(),
                                                       edge_labels=True).encode()


def test_unwritable_path_is_a_render_error(tmp_path):
    with pytest.raises(RenderError, match="cannot write .*missing.*the folder .*missing' does "
                       "not exist"):
        write_diagram(graphs.a_times_a(), tmp_path / "missing" / "g.dot")
    with pytest.raises(RenderError, match="cannot write"):
        write_diagram(graphs.a_times_a(), tmp_path, "dot")  # a directory
    assert files_in(tmp_path) == []


def test_layout_size_counts_edges_and_fan():
    from microgpt_trace.renderers.diagrams.render import layout_size

    assert layout_size(chain(30)) == chain(30).number_of_nodes()
    many = nx.MultiDiGraph([(0, 1)] * 40)  # 2 nodes, 40 edges between them
    assert layout_size(many) == 20 + 2 * (40 - 16) ** 2


def test_a_variable_used_too_often_is_refused_before_dot(no_dot, tmp_path):
    from microgpt_trace.tracer.expression.evaluate import trace_expression

    G = trace_expression("+".join(["a"] * 80))  # minutes of layout for dot
    with pytest.raises(GraphTooLargeError, match="at most 80 on one node"):
        write_diagram(G, tmp_path / "x.svg")
    assert not (tmp_path / "x.svg").exists()


HARD = "+".join(["a*b"] * 80)  # within a raised cap, but minutes of dot


@pytest.mark.exe
def test_dot_runs_under_a_timeout_and_is_killed(tmp_path, monkeypatch):
    import microgpt_trace.renderers.diagrams.render as module
    from microgpt_trace.tracer.expression.evaluate import trace_expression

    monkeypatch.setattr(module, "DOT_TIMEOUT", 1)
    spawned = []
    real = module.subprocess.Popen
    monkeypatch.setattr(module.subprocess, "Popen",
                        lambda *a, **k: spawned.append(real(*a, **k)) or spawned[-1])
    with pytest.raises(RenderError, match="did not finish its layout in 1 s: draw a smaller"):
        write_diagram(trace_expression(HARD), tmp_path / "x.svg", max_nodes=10**6)
    assert spawned and spawned[0].poll() is not None  # dot is gone
    assert list(tmp_path.iterdir()) == []


@pytest.mark.exe
def test_dot_dies_with_the_command(tmp_path):
    import os
    import signal as signals
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[3]
    cli = subprocess.Popen([sys.executable, "-m", "microgpt_trace", "expr", HARD, "-o",
                            tmp_path / "x.svg", "--max-nodes", "1000000"], cwd=root,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dot = None
    for _ in range(200):  # wait for its dot to start
        time.sleep(0.05)
        children = Path(f"/proc/{cli.pid}/task/{cli.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        if pids:
            dot = int(pids[0])
            break
    assert dot, "dot never started"
    os.kill(cli.pid, signals.SIGKILL)
    cli.wait()
    for _ in range(100):
        if (not Path(f"/proc/{dot}").exists()
                or "Z" in Path(f"/proc/{dot}/stat").read_text().split()[2]):
            break
        time.sleep(0.05)
    else:
        os.kill(dot, signals.SIGKILL)
        pytest.fail("dot outlived the command")


def test_a_small_figure_is_as_wide_as_its_graph_not_its_key():
    """#19: the key wraps, so exp(a) (three nodes) is not drawn 900 pt wide for its
    key: the figure is at most 1.5 times as wide as the same graph without title/key."""
    import re
    import shutil

    import graphviz

    from microgpt_trace.renderers.diagrams.source import dot_source
    from microgpt_trace.tracer.expression.evaluate import trace_expression

    if not shutil.which("dot"):
        pytest.skip("needs Graphviz dot")
    dot = dot_source(trace_expression("exp(a)", {"a": 1.0}), edge_labels=True)
    bare = re.sub(r"label=<<font.*?</font>>, ", "", dot, count=1)
    assert bare != dot

    def width(text):
        svg = graphviz.Source(text).pipe(format="svg").decode()
        return float(re.search(r'width="([0-9.]+)pt"', svg).group(1))

    assert width(dot) <= 1.5 * width(bare)


HUGE = "digraph { a [shape=box, fixedsize=true, width=120, height=100] }"  # 17280 x 14400 px


@pytest.mark.exe
@pytest.mark.parametrize("formats", [("png",), ("json", "png"), ("svg", "png", "pdf")])
def test_render_formats_refuses_a_png_over_the_pixel_cap_before_drawing(formats, monkeypatch):
    import microgpt_trace.renderers.diagrams.render as module

    runs = []
    real = module.run_dot
    monkeypatch.setattr(module, "run_dot", lambda args, text: runs.append(args) or real(args, text))
    with pytest.raises(RenderError, match=r"^the png would be 17280 x 14400 pixels, over the cap "
                                          r"of 16384 a side and 64 megapixels: write \.svg"):
        render_formats(HUGE, formats)
    assert runs == [["dot", "-Tjson0"]]  # the layout's size only: nothing was drawn
    assert render_formats(HUGE, ("json", "svg"))[1].startswith(b"<?xml")  # no png: no cap


@pytest.mark.exe
def test_render_formats_draws_a_png_under_the_cap():
    layout, png = render_formats("digraph { a -> b }", ("json", "png"))
    assert layout.startswith(b"{") and png.startswith(MAGIC["png"])
