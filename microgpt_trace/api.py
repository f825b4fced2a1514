"""The library face: trace, draw, animate and step any Value-like object.

    import microgpt_trace as mt
    mt.draw(v)       # a diagram, inline in Jupyter; .save("v.svg")
    mt.animate(v)    # the backward stepper, inline; .save("v.html" | "v.gif" | "frames/")
    mt.step(v)       # the frames as text
    mt.explore(v)    # one page: blocks -> scopes -> ops, inspect, step; .save("v.html")

`v` is our Value, micrograd's, microgpt.py's, anything of the same shape
(microgpt_trace.tracer.values says how each is read), or a graph already traced. The
CLI's expr, backward and step commands write through the same functions.
Everything heavy is imported inside the functions: `import microgpt_trace` stays light.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["trace", "draw", "animate", "step", "explore", "Diagram", "Backward", "Explorer",
           "save_graph", "step_frames"]

MAX_NODES = 2000  # renderers.diagrams.render.DEFAULT_MAX_NODES (checked by a test)
HINT = "draw a smaller part of the graph or raise max_nodes"


def trace(value: Any, source: str = "") -> "nx.MultiDiGraph":
    """The networkx graph behind a Value-like object (tracer.graph's schema).

    Args:
        value: a Value-like object (or a traced graph, returned as it is).
        source: stored as the graph attribute `source` (a diagram's title).

    Returns:
        The MultiDiGraph: data, grad, op, label per node; local grads on edges.

    Raises:
        NotValueLikeError, UnsupportedOpError: see microgpt_trace.tracer.values.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * a; b.backward()
    >>> G = trace(b)
    >>> G.nodes[0]["grad"], G.number_of_edges()
    (4.0, 2)
    """
    import networkx as nx

    if isinstance(value, nx.Graph):
        return value
    from microgpt_trace.tracer.graph import trace as trace_graph
    from microgpt_trace.tracer.values import NOT_COMPUTED, grads_computed

    graph = trace_graph(value, source=source)
    if not grads_computed(graph):
        graph.graph["grads"] = NOT_COMPUTED
    return graph


@dataclass(frozen=True)
class Diagram:
    """A drawn graph: inline in Jupyter (SVG), `.source` (DOT), `.save(path)`."""

    graph: Any
    style: dict  # dot_source's options
    max_nodes: int = MAX_NODES

    @property
    def source(self) -> str:
        """The DOT text (no Graphviz needed)."""
        from microgpt_trace.renderers.diagrams.source import dot_source

        return dot_source(self.graph, **self.style)

    def _repr_svg_(self) -> str:
        from microgpt_trace.renderers.diagrams.render import check_layout_size, render

        check_layout_size(self.graph, self.max_nodes, HINT)
        return render(self.source, "svg").decode("utf-8")

    def save(self, path, fmt: str | None = None) -> None:
        """Write .svg .png .pdf .dot (or the graph as .json .graphml .gexf), the format
        from the extension unless `fmt` names one, as the CLI's -o does."""
        save_graph(self.graph, path, fmt, self.max_nodes, hint=HINT, **self.style)


def save_graph(graph, output, fmt=None, max_nodes: int = MAX_NODES, **style) -> None:
    """Graph formats to tracer.export, diagrams to renderers.diagrams.render (style:
    write_diagram's hint and dot_source's options); never a half-written file."""
    from pathlib import Path

    from microgpt_trace.tracer.export import FORMATS as GRAPH_FORMATS

    suffix = Path(output).suffix.lstrip(".").lower() if str(output) != "-" else ""
    if (fmt or suffix) in GRAPH_FORMATS:
        from microgpt_trace.tracer.export import write_graph

        write_graph(graph, output, fmt)
    else:
        from microgpt_trace.renderers.diagrams.render import write_diagram

        write_diagram(graph, output, fmt, max_nodes, **style)


def draw(value: Any, *, rankdir: str = "LR", edge_labels: bool | None = None,
         backward: bool = True, theme: str = "default", max_nodes: int = MAX_NODES,
         source: str = "") -> Diagram:
    """Draw a Value-like object: a box per value, a small node per op.

    Args:
        value: as for trace.
        rankdir, theme, backward: the CLI's --rankdir, --theme, --no-backward.
        edge_labels: local gradients on edges; default: on when an op has no name
            (a microgpt.py node the tracer could not name), so its numbers show.
        max_nodes: refuse to lay out bigger graphs (dot gets slow).
        source: the title.

    Returns:
        A Diagram. Before backward() it draws the forward pass with a note.

    Raises:
        as for trace; drawing or saving raises RenderError subclasses.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * 3.0
    >>> "grads not computed yet" in draw(b).source
    True
    """
    graph = trace(value, source)
    if edge_labels is None:
        edge_labels = any(op == "?" for _, op in graph.nodes(data="op"))
    style = {"rankdir": rankdir, "edge_labels": edge_labels, "backward": backward,
             "theme": theme}
    return Diagram(graph, style, max_nodes)


@dataclass(frozen=True)
class Backward:
    """A backward replay: the stepper inline in Jupyter (a sandboxed iframe), `.save`."""

    graph: Any
    frames: list
    rankdir: str = "LR"
    theme: str = "default"
    max_nodes: int = MAX_NODES
    height: int = 640  # px, in a notebook

    def _repr_html_(self) -> str:
        from microgpt_trace.renderers.animation.stepper import Stepper
        from microgpt_trace.renderers.animation.storyboard import animate as storyboard

        anim = storyboard(self.graph, self.frames, rankdir=self.rankdir, theme=self.theme,
                          max_nodes=self.max_nodes)
        return Stepper(anim, self.height)._repr_html_()

    def save(self, output) -> str:
        """Write "x.html" (the stepper), "x.gif", or SVG frames into "folder/"; returns
        which of "html", "gif", "frames" was written."""
        from microgpt_trace.renderers.animation.write import write_animation

        return write_animation(self.graph, self.frames, output, rankdir=self.rankdir,
                               theme=self.theme, max_nodes=self.max_nodes)


def animate(value: Any, *, granularity: str = "node", rankdir: str = "LR",
            theme: str = "default", max_nodes: int = MAX_NODES, height: int = 640) -> Backward:
    """Replay backward on a Value-like object, one frame per node.

    Args:
        value: as for trace; backward() must have run on it.
        granularity: "node", "scope" or "level" (tracer.replay.backward_frames).
        rankdir, theme, max_nodes: as for draw.
        height: of the stepper in a notebook, in px.

    Returns:
        A Backward whose last frame holds the objects' own grads, bit for bit.

    Raises:
        GradsNotComputedError: backward() has not run.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * a; b.backward()
    >>> [f.caption.splitlines()[0] for f in animate(b).frames]
    ['seed: (a*a).grad = 1', 'backward through a*a, grad 1:']
    """
    from microgpt_trace.tracer.replay import backward_frames
    from microgpt_trace.tracer.values import check_grads_computed

    graph = trace(value)
    check_grads_computed(graph)
    return Backward(graph, backward_frames(graph, granularity), rankdir, theme, max_nodes,
                    height)


@dataclass(frozen=True)
class Explorer:
    """The explorer page of a graph: inline in Jupyter (a sandboxed iframe, so two on
    one notebook page share nothing), `.page` (the HTML), `.save("x.html")`."""

    page: str
    height: int = 720  # px, in a notebook

    def _repr_html_(self) -> str:
        from microgpt_trace.renderers.explorer.page import notebook_html

        return notebook_html(self.page, self.height)

    def save(self, path) -> None:
        """Write the page (one .html file that works offline), all or nothing."""
        from microgpt_trace.renderers.explorer.page import write_explorer

        write_explorer(self.page, path)


def explore(value: Any, *, max_nodes: int | None = None, depth: int | None = None,
            theme: str = "default", height: int = 720) -> Explorer:
    """Explore a Value-like object (or a traced model graph) in one offline page:
    zoom, hover, inspect every number, search, step backward where you are.

    Args:
        value: as for trace; backward() must have run on it. A model graph
            (microgpt_trace.tracer.checkpoint_trace.trace_checkpoint_text) opens on its
            blocks, each opening its scope; anything else is one op-level view.
        max_nodes: the largest layout drawn at op level [default: the CLI's, 400].
        depth: a model's first block view, 1-3 [default: the deepest that fits].
        theme: "default" or "colorblind".
        height: of the explorer in a notebook, in px.

    Returns:
        An Explorer.

    Raises:
        GradsNotComputedError: backward() has not run.
        GraphTooLargeError: a graph that is not a model, over max_nodes.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * a; b.backward()
    >>> explore(b)._repr_html_().startswith('<iframe sandbox="allow-scripts"')
    True
    """
    from microgpt_trace.renderers.explorer.page import EXPLORE_MAX_NODES, explorer_page
    from microgpt_trace.tracer.values import check_grads_computed

    graph = trace(value)
    check_grads_computed(graph, "explore")
    page = explorer_page(graph, max_nodes=max_nodes or EXPLORE_MAX_NODES, depth=depth,
                         theme=theme)
    return Explorer(page, height)


def step(value: Any, *, granularity: str = "node", color: bool | None = None) -> None:
    """Step through backward as text: interactive in a terminal (Enter/n next, p back,
    q quit), every frame printed anywhere else (a notebook, a pipe).

    Args:
        value: as for animate.
        granularity: "node" or "level".
        color: ANSI colours; default: when printing to a terminal.

    Raises:
        GradsNotComputedError: backward() has not run.

    >>> from microgpt_trace.microgpt.engine import Value
    >>> a = Value(2.0, label="a"); b = a * 3.0; b.backward()
    >>> step(b, color=False)  # doctest: +ELLIPSIS
    frame 1 / 2   ▶ sends its grad   ✓ grad is final
    seed: (a*3).grad = 1
    ...
     ✓ a     input     2  0 → 3
    ...
    """
    from microgpt_trace.tracer.replay import backward_frames
    from microgpt_trace.tracer.values import check_grads_computed

    graph = trace(value)
    check_grads_computed(graph, "step through backward")
    step_frames(graph, backward_frames(graph, granularity), color)


def step_frames(graph, frames, color: bool | None = None) -> None:
    """The text stepper on frames (the CLI's step command too): interactive when stdin
    and stdout are terminals, else every frame printed."""
    import click

    from microgpt_trace.renderers.terminal import frames_text, step_through

    if color is None:
        color = is_terminal("stdout")
    if is_terminal("stdin") and is_terminal("stdout"):
        step_through(graph, frames, pressed_keys(), lambda screen: show(screen, color), color)
    else:
        click.echo(frames_text(graph, frames, color), color=color)


def is_terminal(stream: str) -> bool:
    return getattr(sys, stream).isatty()


def pressed_keys() -> Iterable[str]:
    """Keys from the terminal; Ctrl-C and Ctrl-D end the stepper like q."""
    import click

    while True:
        try:
            yield click.getchar()
        except (EOFError, KeyboardInterrupt):
            return


def show(screen: str, color: bool) -> None:
    import click

    click.clear()
    click.echo(screen, color=color)
