"""Backward animations from one layout: `dot` runs once, each frame only recolours it.

The base drawing is renderers.dot's own diagram, with ids added to what a frame
changes (grad cells, small op circles, edges). The SVG dot lays out becomes a template
(renderers.anim_svg) whose slots (a fill, a text, a stroke) each frame fills in, plus marks on top: an
outline around the nodes sending their grad and the number flowing along each of
their edges. SVG frames, the GIF (renderers.gif) and the HTML stepper
(renderers.stepper_html) all draw one Animation, so no node ever moves.

A grad shows as it builds up: blank until something reaches it, a grey partial sum,
then the final grad, coloured by sign as in the static diagrams and ticked. Frames are
duck-typed: tracer.replay's Frame, or tracer.block_frames's BlockFrame on a blocks
graph (whose "grads" are L2 norms).
"""

import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from .anim_svg import animation_dot, edge_id, parse_svg, text_width
from .dot import dot_source
from .dot_values import fmt, node_names
from .exceptions import FormatError, GraphTooLargeError, RenderError
from .quoting import escape_html
from .render import DEFAULT_MAX_NODES, render
from .themes import get_theme, text_on

__all__ = ["Animation", "animate", "frame_svgs", "write_svg_frames", "write_animation",
           "animation_kind", "marks_svg", "mark_scale", "caption_band"]

# (outline of the nodes sending their grad and of their edges, the tick of a final grad)
ACCENTS = {"default": ("#e66100", "#1a7f37"), "colorblind": ("#cc79a7", "#009e73")}
PARTIAL_TEXT = "#8a8a8a"  # a grad that is still a partial sum
PARTIAL_FILL = "#e4e4e4"  # ... on a small op circle, which shows no number
MAX_LABELS = 12  # edges labelled with their flow in one frame
FRAME_FILE = re.compile(r"frame-\d{4,}\.svg")
LEGEND = ("outlined: sends its grad now · coloured edges: local grad × grad flowing back"
          " · grey: sum so far · ✓ final grad")
LEGENDS = {"head": LEGEND + " · q, k, v: only this position's share of their grad",
           "blocks": "outlined: the block sending its grads now · coloured edges: L2 norm of "
                     "what crosses · numbers: L2 norm of the block's grads, grey while some "
                     "are partial, ✓ once all are final"}


@dataclass
class Animation:
    """What every frame shows, computed once; encoders only draw it.

    `parts` is the SVG of the graph as strings with slot numbers between them, and
    `values[k]` fills every slot for frame k. Coordinates are absolute SVG user units
    (points). `cells`, `circles` and `edges` give the geometry behind the slots for
    encoders that draw rather than patch text (the GIF).
    """

    dot: str  # the DOT text laid out
    svg_attrs: str  # the <svg> tag's attributes other than its size
    size: tuple  # (width, height) of the graph
    parts: list
    slots: list  # (element id, attribute or "#text") per slot
    cells: dict  # node -> Cell
    circles: dict  # node -> Circle
    edges: dict  # edge id -> Edge
    outlines: dict  # node -> the marks that outline it
    accent: str
    check: str
    legend: str = ""
    title: str = ""
    values: list = field(default_factory=list)  # per frame, one str per slot
    marks: list = field(default_factory=list)  # per frame: see marks_svg
    active: list = field(default_factory=list)  # per frame: the nodes sending their grad
    flowing: list = field(default_factory=list)  # per frame: the edges carrying grad
    done: dict = field(default_factory=dict)  # edge id -> (colour, width) once flowed
    captions: list = field(default_factory=list)



def animate(G: nx.Graph, frames: list, *, rankdir: str = "LR", theme: str = "default",
            max_nodes: int = DEFAULT_MAX_NODES) -> Animation:
    """Lay G out once and work out what every frame of a backward replay shows.

    Args:
        G: the graph the frames replay (tracer.graph schema, a head view, or the
            blocks graph from tracer.block_frames).
        frames: from tracer.backward_frames, grouped_frames or block_frames.
        rankdir, theme: as for renderers.dot.dot_source.
        max_nodes: refuse to lay out graphs with more nodes than this.

    Returns:
        An Animation for frame_svgs, renderers.gif and renderers.stepper_html.

    Raises:
        GraphTooLargeError: G has more than max_nodes nodes.
        RenderError: no frames, a bad rankdir or theme, or dot failed.

    >>> from tracer.expr import trace_expression
    >>> from tracer.replay import backward_frames
    >>> G = trace_expression("a*b + a")
    >>> anim = animate(G, backward_frames(G))
    >>> len(anim.values), anim.captions[2].splitlines()[1]
    (3, '  a.grad += 3 × 1 → 4')
    """
    if G.number_of_nodes() > max_nodes:
        raise GraphTooLargeError(
            f"graph has {G.number_of_nodes()} nodes, over the layout cap of {max_nodes}: "
            "pick a head or a scope, collapse the model (--model --depth), or raise "
            "--max-nodes")
    if not frames:
        raise RenderError("no frames to animate")
    palette = get_theme(theme)
    names = node_names(G)
    view = G.graph.get("view", "expression")
    states = node_states(frames)
    dot = animation_dot(dot_source(G, rankdir=rankdir, backward=True, theme=theme), G,
                        names, widest(states, view))
    accent, check = ACCENTS.get(palette.name, ACCENTS["default"])
    anim = Animation(dot, "", (0.0, 0.0), [], [], {}, {}, {}, {}, accent, check,
                     legend=LEGENDS.get(view, LEGEND), title=G.graph.get("source", ""))
    initial = parse_svg(render(dot, "svg").decode("utf-8"),
                        {v: k for k, v in names.items()}, anim)
    fill_frames(anim, G, frames, states, initial, palette, view)
    return anim


def node_states(frames):
    """Per frame, {node: (grad or None, final)} for the nodes whose display changes."""
    value, out = {}, []
    for frame in frames:
        value.update(frame.grads)
        changes = {n: (v, False) for n, v in frame.grads}
        changes.update((n, (value.get(n, 0.0), True)) for n in frame.final)
        out.append(changes)
    return out


def grad_text(view, value):
    if value is None:
        return ""
    return f"grad norm {fmt(value)}" if view == "blocks" else fmt(value)


def widest(states, view):
    """node -> the longest text its grad cell will show."""
    longest = {}
    for state in states:
        for n, (v, _) in state.items():
            text = grad_text(view, v)
            longest[n] = max(longest.get(n, ""), text, key=len)
    return longest


def fill_frames(anim, G, frames, states, initial, theme, view):
    """Slot values, marks and captions of every frame."""
    names = node_names(G)
    finals = {n: v for state in states for n, (v, final) in state.items() if final}
    scale = max((abs(v) for v in finals.values()), default=0.0)
    totals = {}
    for frame in frames:
        for f in frame.flows:
            key = flow_id(f, names)
            totals[key] = totals.get(key, 0.0) + f.contribution ** 2
    top = math.sqrt(max(totals.values(), default=0.0))
    values = list(initial)
    for n, c in anim.circles.items():
        values[c.slots[2]] = circle_tip(G, n, c, None, False)
    for frame, state in zip(frames, states):
        for n, (v, final) in state.items():
            if n in anim.cells:
                put(values, anim.cells[n].slots, cell_look(view, theme, v, final, scale,
                                                           anim.check))
            if n in anim.circles:
                fill = theme.signed_fill(v or 0.0, scale) if final else PARTIAL_FILL
                put(values, anim.circles[n].slots, (fill, text_on(fill),
                                                    circle_tip(G, n, anim.circles[n], v, final)))
        now = [(flow_id(f, names), f) for f in frame.flows]
        now = [(key, f) for key, f in now if key in anim.edges]
        active = frame.nodes or tuple(n for n, _ in frame.grads)
        marks = [m for n in active for m in anim.outlines.get(n, ())]
        # the flows leaving the frame's nodes: inside a group of them they would crowd
        labelled = [(key, f) for key, f in now if f.child not in active][:MAX_LABELS]
        for key, f in labelled:
            marks.append(("label", *free_spot(anim.edges[key].label_at, marks, anim),
                          fmt(f.contribution)))
        for key, _ in now:
            width = 1 + 3 * math.sqrt(totals[key]) / top if top else 1.0
            anim.done[key] = (theme.edge, width)
            put(values, anim.edges[key].slots, (anim.accent, anim.accent, f"{width + 1.5:.2f}"))
        anim.values.append(list(values))
        anim.marks.append(marks)
        anim.active.append(tuple(active))
        anim.flowing.append(tuple(key for key, _ in now))
        anim.captions.append(frame.caption)
        for key, _ in now:  # from the next frame on, what flowed is drawn done
            colour, width = anim.done[key]
            put(values, anim.edges[key].slots, (colour, colour, f"{width:.2f}"))


def free_spot(point, marks, anim):
    """The point, moved down a line while it would cover another label."""
    x, y = point
    height = 12 * mark_scale(anim)
    taken = [(m[1], m[2]) for m in marks if m[0] == "label"]
    while any(abs(x - a) < 5 * height and abs(y - b) < height for a, b in taken):
        y += height
    return x, y


def flow_id(flow, names):
    return edge_id(names[flow.child], names[flow.parent], getattr(flow, "arg", 0))


def put(values, slots, looks):
    for slot, look in zip(slots, looks):
        values[slot] = look


def cell_look(view, theme, value, final, scale, check):
    """(fill, number, its colour, font style, tick visibility and colour) of a grad
    cell; the tick is green unless the fill is too dark for it."""
    text = grad_text(view, value)
    if not final:
        return ("#ffffff", text, PARTIAL_TEXT, "italic", "hidden", check)
    value = value or 0.0
    fill = (theme.magnitude_fill(value, scale) if view == "blocks"
            else theme.signed_fill(value, scale))
    ink = text_on(fill)
    return (fill, text, ink, "normal", "visible", check if ink == "#000000" else ink)


def circle_tip(G, node, circle, value, final):
    d = G.nodes[node]
    where = f" ({d['scope']})" if d.get("scope") else ""
    grad = ("grad not reached yet" if value is None and not final else
            f"grad {fmt(value or 0.0)}" + ("" if final else " so far"))
    return f"{circle.symbol}: data {fmt(d.get('data', 0.0))}, {grad}{where}"


def frame_svgs(anim: Animation) -> list:
    """Every frame as a standalone SVG: the graph, its marks, and the caption below.

    Args:
        anim: from animate().

    Returns:
        One SVG document (str) per frame, all the same size, nodes in the same places.

    >>> from tracer.expr import trace_expression
    >>> from tracer.replay import backward_frames
    >>> G = trace_expression("a*a")
    >>> svgs = frame_svgs(animate(G, backward_frames(G)))
    >>> len(svgs), "a.grad += 2 × 1 → 4" in svgs[1]
    (2, True)
    """
    band = caption_band(anim)
    head = (f'<svg width="{band.width:.2f}pt" height="{band.height:.2f}pt" viewBox="0 0 '
            f'{band.width:.2f} {band.height:.2f}"{anim.svg_attrs}>\n'
            '<rect width="100%" height="100%" fill="#ffffff"/>\n')
    escaped = {}  # slot values repeat a lot: colours, styles, the same numbers
    out = []
    for k, values in enumerate(anim.values):
        body = "".join(p if isinstance(p, str) else escaped.get(values[p])
                       or escaped.setdefault(values[p], escape_html(values[p]))
                       for p in anim.parts)
        out.append('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + head + body
                   + marks_svg(anim.marks[k], anim.accent, mark_scale(anim)) + band.svg(anim, k)
                   + "</svg>\n")
    return out


def marks_svg(marks, accent: str, scale: float = 1.0) -> str:
    """The marks of one frame: outlines ("box", "ring") and flow labels ("label").

    Args:
        marks: ("box", x0, y0, x1, y1), ("ring", cx, cy, rx, ry) or ("label", x, y,
            text) tuples in absolute SVG units.
        accent: their colour.
        scale: line widths and font size grow with it (big graphs are shown shrunk).

    Returns:
        An SVG <g> element.

    >>> print(marks_svg([("label", 1, 2, "<3")], "#000000"))  # doctest: +NORMALIZE_WHITESPACE
    <g class="marks" fill="none" stroke="#000000" stroke-width="2.50">
    <text x="1.00" y="-1.00" text-anchor="middle" font-family="DejaVu Sans,sans-serif"
    font-size="10.00" font-weight="bold" fill="#000000" stroke="#ffffff" stroke-width="3.00"
    paint-order="stroke">&lt;3</text>
    </g>
    """
    out = [f'<g class="marks" fill="none" stroke="{accent}" stroke-width="{2.5 * scale:.2f}">']
    for kind, a, b, c, *d in marks:
        if kind == "box":
            out.append(f'<rect x="{a:.2f}" y="{b:.2f}" width="{c - a:.2f}" '
                       f'height="{d[0] - b:.2f}" rx="3"/>')
        elif kind == "ring":
            out.append(f'<ellipse cx="{a:.2f}" cy="{b:.2f}" rx="{c:.2f}" ry="{d[0]:.2f}"/>')
        else:
            out.append(f'<text x="{a:.2f}" y="{b - 3 * scale:.2f}" text-anchor="middle" '
                       f'font-family="DejaVu Sans,sans-serif" font-size="{10 * scale:.2f}" '
                       f'font-weight="bold" fill="{accent}" stroke="#ffffff" '
                       f'stroke-width="{3 * scale:.2f}" paint-order="stroke">'
                       f'{escape_html(c)}</text>')
    return "\n".join(out) + "\n</g>\n"


def mark_scale(anim: Animation) -> float:
    """How much to thicken marks: a big graph is shown shrunk to a page or a slide."""
    return max(1.0, (anim.size[0] / 900) ** 0.5)


@dataclass(frozen=True)
class Band:
    """The caption area under the graph: frame number, legend, then the caption."""

    width: float
    height: float
    top: float  # where it starts, below the graph
    size: float  # font size

    def lines(self, anim, k):
        """(indent in characters, text, style: "bold", "muted" or "") per line."""
        caption = [(len(line) - len(line.lstrip(" ")), line.lstrip(" "), "")
                   for line in anim.captions[k].split("\n")]
        return [(0, f"frame {k} / {len(anim.values) - 1}", "bold"),
                (0, anim.legend, "muted")] + caption

    def svg(self, anim, k):
        step, x = self.size * 1.35, self.size * 0.8
        styles = {"bold": ' font-weight="bold"', "muted": ' fill="#666666"', "": ""}
        out = [f'<g class="caption" font-family="DejaVu Sans,Helvetica,sans-serif" '
               f'font-size="{self.size:.1f}" fill="#111111">',
               f'<line x1="0" y1="{self.top:.2f}" x2="{self.width:.2f}" y2="{self.top:.2f}" '
               'stroke="#bbbbbb"/>']
        for i, (indent, text, style) in enumerate(self.lines(anim, k)):
            out.append(f'<text x="{x + indent * self.size * 0.5:.2f}" '
                       f'y="{self.top + step * (i + 1):.2f}"{styles[style]}>'
                       f'{escape_html(text)}</text>')
        return "\n".join(out) + "\n</g>\n"


def caption_band(anim: Animation) -> Band:
    """One size for every frame: wide and tall enough for the longest caption."""
    width, height = anim.size
    size = min(20.0, max(11.0, width / 90))
    rows = max(len(c.split("\n")) for c in anim.captions) + 2
    longest = max([anim.legend] + [line for c in anim.captions for line in c.split("\n")],
                  key=len)
    wide = text_width(longest, size) * 1.15 + 2 * size
    return Band(max(width, wide), height + size * 1.35 * (rows + 0.7), height, size)


def write_svg_frames(anim: Animation, folder) -> list:
    """Write frame-0000.svg, frame-0001.svg, ... into a folder, all or nothing.

    The frames are written to a new folder beside it that is then renamed, so a
    failure leaves no partial set; a folder holding only frames is replaced.

    Args:
        anim: from animate().
        folder: a new folder, an empty one, or one holding only frame-*.svg files.

    Returns:
        The paths written.

    Raises:
        RenderError: the folder holds other files, or cannot be written.

    >>> import tempfile, os
    >>> from tracer.expr import trace_expression
    >>> from tracer.replay import backward_frames
    >>> G = trace_expression("a*a")
    >>> out = os.path.join(tempfile.mkdtemp(), "frames")
    >>> [p.name for p in write_svg_frames(animate(G, backward_frames(G)), out)]
    ['frame-0000.svg', 'frame-0001.svg']
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(
            not FRAME_FILE.fullmatch(p.name) for p in folder.iterdir())):
        raise RenderError(f"{str(folder)!r} is not a folder of frames: write them into a "
                          "new or empty folder")
    svgs = frame_svgs(anim)
    tmp = old = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.absolute().parent))
        for k, svg in enumerate(svgs):
            (tmp / f"frame-{k:04d}.svg").write_text(svg, encoding="utf-8")
        if folder.exists():
            old = tmp.with_name(tmp.name + ".old")
            os.replace(folder, old)
        os.replace(tmp, folder)
    except OSError as e:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise RenderError(f"cannot write {str(folder)!r}: {e.strerror or e}") from None
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return [folder / f"frame-{k:04d}.svg" for k in range(len(svgs))]


def animation_kind(output) -> str:
    """"html", "gif" or "frames" (a folder: a trailing / or an existing folder).

    Args:
        output: the path given with -o.

    Returns:
        The kind of output to write.

    Raises:
        FormatError: anything else.

    >>> [animation_kind(p) for p in ("a.html", "b.GIF", "frames/")]
    ['html', 'gif', 'frames']
    """
    text = str(output)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return "frames"
    suffix = Path(text).suffix.lower()
    if suffix in (".html", ".htm", ".gif"):
        return "gif" if suffix == ".gif" else "html"
    raise FormatError(f"unsupported output {text!r}: use .html (a stepper), .gif, or a "
                      "folder ending in / for SVG frames")


def write_animation(G: nx.Graph, frames: list, output, *, rankdir: str = "LR",
                    theme: str = "default", max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """Animate frames into the stepper, GIF or SVG frames that `output` names.

    Args:
        G, frames, rankdir, theme, max_nodes: as for animate().
        output: "x.html", "x.gif", or a folder (see animation_kind).

    Returns:
        The kind written: "html", "gif" or "frames".

    Raises:
        FormatError: an output animation_kind refuses.
        TooManyFramesError: too many frames for a GIF (checked before any layout).
        GraphTooLargeError, RenderError: as for animate, or the output cannot be
            written; nothing is left half-written.

    >>> import tempfile, os
    >>> from tracer.expr import trace_expression
    >>> from tracer.replay import backward_frames
    >>> G = trace_expression("a*a")
    >>> write_animation(G, backward_frames(G), os.path.join(tempfile.mkdtemp(), "a.html"))
    'html'
    """
    from .render import write_bytes

    kind = animation_kind(output)
    if kind == "gif":
        from .gif import check_frame_count, gif_bytes

        check_frame_count(len(frames))
    anim = animate(G, frames, rankdir=rankdir, theme=theme, max_nodes=max_nodes)
    if kind == "frames":
        write_svg_frames(anim, output)
    elif kind == "gif":
        write_bytes(output, gif_bytes(anim))
    else:
        from .stepper_html import stepper_html

        write_bytes(output, stepper_html(anim).encode("utf-8"))
    return kind
