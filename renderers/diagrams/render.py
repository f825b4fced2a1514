"""The one module that runs Graphviz's `dot`: DOT text -> SVG/PNG/PDF, and files.

Everything else in the project produces DOT text and stays testable without the
binary; here the cap on graph size is checked before `dot` starts, because dot's
layout time grows much faster than the node count and a big graph would look like
a hang.
"""

import ctypes
import re
import signal
import subprocess
import tempfile
from pathlib import Path

import networkx as nx

from microgpt_trace.microgpt.runs.files import write_output

from ..exceptions import DotNotFoundError, FormatError, GraphTooLargeError, RenderError
from .source import dot_source

__all__ = ["render", "render_formats", "write_diagram", "layout_size", "check_layout_size",
           "FORMATS", "DEFAULT_MAX_NODES", "DOT_TIMEOUT"]

FORMATS = ("svg", "png", "pdf", "dot")
DRAWN = ("svg", "png", "pdf", "json")  # what dot itself writes; json: the layout as data
PNG_DPI = 144  # twice the screen default: sharp on slides and high-density screens
# From benchmarks/bench_trace.py (dot 2.43, 2 cores): svg of a traced model's first N
# nodes in the expression style took 0.65 s at 1000 nodes, 1.8 s at 2000, 5.2 s at
# 3000 and 13 s at 4000 (clustered: 0.9 s at 2000, 2.9 s at 4000). 2000 keeps svg and
# pdf near 2 s with room for denser graphs. PNG adds rasterising time that grows with
# the canvas (about 5 s at 500 nodes, 17 s at 2000): svg is the format for big graphs.
DEFAULT_MAX_NODES = 2000
TOO_LARGE_HINT = "collapse it (--depth), select a scope, or raise --max-nodes"
FREE_FAN = 16  # edges a node may have before it costs the layout extra (see layout_size)
MAX_PNG_SIDE = 16384  # pixels; a png past this is a picture no screen shows whole
MAX_PNG_PIXELS = 64 * 10 ** 6  # 256 MB of RGBA for cairo
DOT_TIMEOUT = 60  # seconds; a layout that needs more is refused, not waited for
PR_SET_PDEATHSIG = 1
PDF_DATE = re.compile(rb"(/CreationDate \(D:)\d{14}")
INSTALL_HINT = ("Graphviz's dot is not installed: sudo apt-get install graphviz "
                "(.dot and .json outputs work without it)")


def render(dot_text: str, fmt: str, dpi: float = PNG_DPI) -> bytes:
    """Lay out and draw DOT text with Graphviz's `dot`.

    Args:
        dot_text: a DOT document, e.g. from microgpt_trace.renderers.diagrams.source.dot_source.
        fmt: "svg", "png" (at 144 dpi), "pdf", or "json" (positions and drawing
            operations, for code that needs to know where dot put things).
        dpi: for png, the resolution (a big graph's thumbnail needs fewer pixels).

    Returns:
        The whole output file as bytes.

    Raises:
        FormatError: fmt is not svg, png, pdf or json.
        DotNotFoundError: the `dot` binary is not on PATH.
        RenderError: dot rejected the text.

    >>> render("digraph { a -> b }", "svg").startswith(b"<?xml")
    True
    """
    check_formats((fmt,))
    if fmt == "png":
        check_png_size(dot_text, dpi)
    args = ["dot", f"-T{fmt}"] + ([f"-Gdpi={dpi:g}"] if fmt == "png" else [])
    return stamped(fmt, run_dot(args, dot_text))


def render_formats(dot_text: str, formats: tuple) -> tuple:
    """Lay DOT text out once and write it in several formats (png at 144 dpi).

    One `dot` run with a -T/-o pair per format, so every output shows the very same
    layout: an animation reads positions from the json and draws on the svg.

    Args:
        dot_text: a DOT document.
        formats: names from render's fmt, e.g. ("json", "svg").

    Returns:
        The output files' bytes, in the order of formats.

    Raises:
        FormatError, DotNotFoundError, RenderError: as for render (a png over the
            pixel cap is refused before any output is drawn).

    >>> layout, svg = render_formats("digraph { a -> b }", ("json", "svg"))
    >>> layout.startswith(b"{"), svg.startswith(b"<?xml")
    (True, True)
    """
    check_formats(formats)
    if "png" in formats:
        check_png_size(dot_text, PNG_DPI)
    with tempfile.TemporaryDirectory(prefix="microgpt-trace-dot-") as folder:
        paths = [Path(folder) / f"out{i}.{fmt}" for i, fmt in enumerate(formats)]
        args = ["dot", f"-Gdpi={PNG_DPI}"] if "png" in formats else ["dot"]
        for fmt, path in zip(formats, paths):
            args += [f"-T{fmt}", f"-o{path}"]
        run_dot(args, dot_text)
        return tuple(stamped(fmt, path.read_bytes()) for fmt, path in zip(formats, paths))


def check_png_size(dot_text: str, dpi: float) -> None:
    """RenderError when the layout, rasterised at dpi, would pass MAX_PNG_PIXELS: a wide
    graph under the node cap can ask cairo for a 32767 x 22637 canvas (gigabytes, minutes).
    The layout is known only after dot made it: a first run writes its bounding box."""
    import json

    bb = json.loads(run_dot(["dot", "-Tjson0"], dot_text)).get("bb", "0,0,0,0")
    x0, y0, x1, y1 = map(float, bb.split(","))
    width, height = round((x1 - x0) / 72 * dpi), round((y1 - y0) / 72 * dpi)
    if width * height > MAX_PNG_PIXELS or max(width, height) > MAX_PNG_SIDE:
        raise RenderError(f"the png would be {width} x {height} pixels, over the cap of "
                          f"{MAX_PNG_SIDE} a side and {MAX_PNG_PIXELS // 10 ** 6} megapixels: "
                          "write .svg (it scales), or draw a smaller part")


def check_formats(formats):
    for fmt in formats:
        if fmt not in DRAWN:
            raise FormatError(f"unsupported format {fmt!r}: dot renders svg, png, pdf or json")


def run_dot(args: list, dot_text: str) -> bytes:
    """Run dot on the text; its stdout, or one line saying why it failed.

    dot runs under DOT_TIMEOUT and never outlives us: it is killed when the timeout
    passes, when this process is interrupted (Ctrl-C, an exception) and, through the
    kernel, when this process dies (SIGTERM, kill -9).
    """
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    except FileNotFoundError:
        raise DotNotFoundError(INSTALL_HINT) from None
    try:
        stdout, stderr = proc.communicate(dot_text.encode("utf-8"), timeout=DOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RenderError(f"dot did not finish its layout in {DOT_TIMEOUT:g} s: draw a "
                          "smaller part (a head, a scope, the model at a lower --depth) or "
                          "an expression with fewer uses of one variable") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode:
        message = stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"dot failed: {message[0] if message else proc.returncode}")
    return stdout


def die_with_parent():
    """In the child, before dot starts: the kernel kills it if we die (Linux prctl)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the timeout and the kill on interruption still apply


def layout_size(G: nx.Graph) -> int:
    """What the layout cap measures: nodes or half the edges, whichever is more, plus
    the square of every node's edges beyond FREE_FAN.

    dot's time grows with crossings, and a node with many edges makes them: 60 uses
    of one variable (60 nodes) take 5 s to lay out, 80 uses of two take minutes.
    Edges sharing a `bundle` attribute are drawn as one (a scope view's dense wiring)
    and count as one edge, on no node.

    >>> G = nx.MultiDiGraph([(0, i) for i in range(1, 21)])
    >>> layout_size(G)  # 21 nodes; node 0 has 20 edges, 4 beyond 16
    37
    """
    edges, degree = drawn_edges(G)
    excess = sum(max(0, d - FREE_FAN) ** 2 for d in degree.values())
    return max(G.number_of_nodes(), edges // 2) + excess


def drawn_edges(G: nx.Graph) -> tuple:
    """(how many edges are drawn, node -> its drawn edges), a bundle counted once."""
    bundles, degree, edges = set(), dict.fromkeys(G, 0), 0
    for u, v, bundle in G.edges(data="bundle"):
        if bundle is None:
            degree[u] += 1
            degree[v] += 1
            edges += 1
        elif bundle not in bundles:
            bundles.add(bundle)
            edges += 1
    return edges, degree


def check_layout_size(G: nx.Graph, max_nodes: int, hint: str) -> None:
    """GraphTooLargeError unless G's layout_size is within max_nodes."""
    size = layout_size(G)
    if size > max_nodes:
        edges, degree = drawn_edges(G)
        fan = max(degree.values(), default=0)
        raise GraphTooLargeError(
            f"graph of {G.number_of_nodes()} nodes and {edges} edges (at most "
            f"{fan} on one node) has layout size {size}, over the cap of {max_nodes}: {hint}")


def stamped(fmt: str, data: bytes) -> bytes:
    """cairo stamps PDFs with the current time (and cairo 1.16 ignores
    SOURCE_DATE_EPOCH); a fixed date of the same length keeps the xref offsets valid."""
    return PDF_DATE.sub(rb"\g<1>19700101000000", data) if fmt == "pdf" else data


def output_format(path, fmt) -> str:
    """The format asked for, else the one the file extension names."""
    if fmt is None:
        if str(path) == "-":
            raise FormatError(f"writing to stdout ('-') needs a format: {', '.join(FORMATS)}")
        suffix = Path(path).suffix
        if suffix.lstrip(".").lower() not in FORMATS:
            what = f"unsupported output extension {suffix!r} in" if suffix else "no extension in"
            raise FormatError(f"{what} {str(path)!r}: use .svg, .png, .pdf or .dot")
        fmt = suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise FormatError(f"unsupported format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


def write_bytes(path, data: bytes) -> None:
    """Write all of `data` or nothing: a temporary file in the same folder, renamed."""
    try:
        write_output(path, data)
    except OSError as e:
        raise RenderError(f"cannot write {str(path)!r}: {e.strerror or e}") from None


def write_diagram(G: nx.Graph, path, fmt: str = None, max_nodes: int = DEFAULT_MAX_NODES,
                  hint: str = TOO_LARGE_HINT, **style) -> None:
    """Draw G into a file (or stdout for "-"), never leaving a partial file.

    Args:
        G: a graph for microgpt_trace.renderers.diagrams.source.dot_source.
        path: the output file, or "-" for stdout.
        fmt: "svg", "png", "pdf" or "dot"; None picks it from path's extension.
        max_nodes: refuse to lay out graphs whose layout_size is larger (".dot" output,
            plain text, is never refused).
        hint: what the refusal suggests instead (the flags of the command drawing G).
        **style: dot_source's keyword options (rankdir, edge_labels, backward, theme).

    Raises:
        FormatError: no supported format from fmt or the extension.
        GraphTooLargeError: G's layout_size is over max_nodes and fmt needs a layout.
        DotNotFoundError, RenderError: as for render, or the file cannot be written.

    >>> import os, tempfile; folder = tempfile.mkdtemp()
    >>> write_diagram(nx.MultiDiGraph(source="x"), os.path.join(folder, "x.dot"))
    >>> open(os.path.join(folder, "x.dot")).read().startswith("digraph {")
    True
    """
    fmt = output_format(path, fmt)
    if fmt != "dot":
        check_layout_size(G, max_nodes, hint)
    text = dot_source(G, **style)
    write_bytes(path, text.encode("utf-8") if fmt == "dot" else render(text, fmt))
