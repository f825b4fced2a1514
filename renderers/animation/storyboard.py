"""The frame model: one layout, and what every frame of a backward replay shows.

The base drawing is the diagram of microgpt_trace.renderers.diagrams.source in its animation form
(grad cells as links, edges idle; every node, edge and grad cell with an id). dot
lays it out once, written as JSON and SVG, and microgpt_trace.renderers.animation.svg_template
turns that into a template whose slots (a fill, a text, a
stroke) each frame fills in, plus marks on top: an outline around the nodes sending
their grad and the number flowing along each of their edges. SVG frames (.svg), the
GIF (.gif) and the HTML stepper (.stepper) all draw one Animation, so no node moves.

A grad shows as it builds up: blank until something reaches it, a grey partial sum,
then the final grad, coloured by sign as in the static diagrams and ticked. Frames are
duck-typed: microgpt_trace.tracer.replay's Frame, or
microgpt_trace.tracer.block_frames's BlockFrame on a blocks graph (whose "grads" are
L2 norms).
"""

import json
import math
from dataclasses import dataclass, field

import networkx as nx

from microgpt_trace.tracer.text import number

from ..diagrams.render import DEFAULT_MAX_NODES, check_layout_size, render_formats
from ..diagrams.source import dot_source
from ..diagrams.values import Frames, edge_id, node_names
from ..exceptions import RenderError
from ..themes import get_theme, text_on
from .geometry import read_geometry
from .svg_template import IDLE_EDGE, svg_template, text_width

__all__ = ["Animation", "animate", "animation_dot", "mark_scale", "label_box", "mark_box"]

# (outline of the nodes sending their grad and of their edges, the tick of a final grad)
ACCENTS = {"default": ("#e66100", "#1a7f37"), "colorblind": ("#cc79a7", "#009e73")}
PARTIAL_TEXT = "#8a8a8a"  # a grad that is still a partial sum
PARTIAL_FILL = "#e4e4e4"  # ... on a small op circle, which shows no number
MAX_LABELS = 12  # edges labelled with their flow in one frame
LEGEND = ("outlined: sends its grad now · coloured edges: local grad × grad flowing back"
          " · grey: sum so far · ✓ final grad")
LEGENDS = {"head": LEGEND + " · q, k, v: 'from here' builds up this position's share of their "
                    "grad, 'grad' is the whole text's",
           "scope": LEGEND + " · the outputs start from the grads the whole text's loss sends "
                    "them; an input's 'from here' adds up what this scope sends it",
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
    boxes: list = field(default_factory=list)  # every node's whole box (a table's title too)



def animate(G: nx.Graph, frames: list, *, rankdir: str = "LR", theme: str = "default",
            max_nodes: int = DEFAULT_MAX_NODES) -> Animation:
    """Lay G out once and work out what every frame of a backward replay shows.

    Args:
        G: the graph the frames replay (microgpt_trace.tracer.graph schema, a head view, or the
            blocks graph from microgpt_trace.tracer.block_frames).
        frames: from microgpt_trace.tracer.backward_frames, grouped_frames or block_frames.
        rankdir, theme: as for microgpt_trace.renderers.diagrams.source.dot_source.
        max_nodes: the layout cap (microgpt_trace.renderers.diagrams.render.layout_size).

    Returns:
        An Animation for .svg.frame_svgs, .gif.gif_bytes and .stepper.stepper_html.

    Raises:
        GraphTooLargeError: G is over the layout cap.
        RenderError: no frames, a bad rankdir or theme, or dot failed.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> G = trace_expression("a*b + a")
    >>> anim = animate(G, backward_frames(G))
    >>> len(anim.values), anim.captions[2].splitlines()[1]
    (3, '  a.grad += 3 × 1 → 4')
    """
    check_layout_size(G, max_nodes, "pick a head or a scope, collapse the model "
                                    "(--model --depth), or raise --max-nodes")
    if not frames:
        raise RenderError("no frames to animate")
    palette = get_theme(theme)
    view = G.graph.get("view", "expression")
    states = node_states(frames)
    dot = animation_dot(G, frames, rankdir=rankdir, theme=theme)
    accent, check = ACCENTS.get(palette.name, ACCENTS["default"])
    anim = Animation(dot, "", (0.0, 0.0), [], [], {}, {}, {}, {}, accent, check,
                     legend=LEGENDS.get(view, LEGEND), title=G.graph.get("source", ""))
    layout, svg = render_formats(dot, ("json", "svg"))
    initial = svg_template(svg, read_geometry(json.loads(layout)),
                           {v: k for k, v in node_names(G).items()}, anim)
    fill_frames(anim, G, frames, states, initial, palette, view)
    return anim


def animation_dot(G: nx.Graph, frames: list, *, rankdir: str = "LR",
                  theme: str = "default") -> str:
    """The DOT text `animate` lays out: the diagram in its animation form, each grad
    cell as wide as the longest text any frame puts in it. Pure: no `dot` runs, so
    docs checks can compare it without Graphviz.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> G = trace_expression("a*a")
    >>> animation_dot(G, backward_frames(G)).startswith("digraph")
    True
    """
    names = node_names(G)
    longest = widest(node_states(frames), G.graph.get("view", "expression"))
    widths = {name: math.ceil(text_width(longest.get(n, "")) + 22) for n, name in names.items()}
    return dot_source(G, rankdir=rankdir, backward=True, theme=theme,
                      frames=Frames(widths, IDLE_EDGE))


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
    return f"grad norm {number(value)}" if view == "blocks" else number(value)


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
    obstacles = anim.boxes + [mark_box(m) for marks in anim.outlines.values() for m in marks]
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
            text = number(f.contribution)
            marks.append(("label", *free_spot(anim.edges[key].label_at, text, marks,
                                              obstacles, mark_scale(anim)), text))
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


# Where a label may move from its edge's label point, in label heights, nearest first;
# along the edge (sideways in an LR layout) costs less than off it.
OFFSETS = sorted(((dx / 2, dy / 2) for dx in range(-16, 17) for dy in range(-8, 9)),
                 key=lambda d: d[0] ** 2 + (1.5 * d[1]) ** 2)


def free_spot(point, text, marks, obstacles, scale):
    """Where a flow label is written: the nearest place to its edge's label point where
    its box covers no node (obstacles: boxes) and no label already in marks."""
    x, y = point
    height = 12 * scale
    taken = [label_box(m[1], m[2], m[3], scale) for m in marks if m[0] == "label"]
    reach = 8 * height + text_width(text, 10 * scale)
    near = [b for b in obstacles + taken
            if overlap(b, (x - reach, y - reach, x + reach, y + reach))]
    for dx, dy in OFFSETS:
        spot = (x + dx * height, y + dy * height)
        if not any(overlap(label_box(*spot, text, scale), b) for b in near):
            return spot
    while any(overlap(label_box(x, y, text, scale), b) for b in taken):
        y += height  # crowded all around: at least clear of the other labels
    return x, y


def label_box(x, y, text, scale):
    """The box (x0, y0, x1, y1) a flow label covers: bold text of size 10 × scale,
    centred on x, its baseline 3 × scale above y, with its white halo."""
    size, halo = 10 * scale, 1.5 * scale
    half = text_width(text, size) * 1.3 / 2 + halo  # bold DejaVu is wider than Helvetica
    base = y - 3 * scale
    return (x - half, base - 0.8 * size - halo, x + half, base + 0.1 * size + halo)


def mark_box(mark):
    """The box of an outline mark ("box" or "ring")."""
    kind, a, b, c, d = mark
    return (a - c, b - d, a + c, b + d) if kind == "ring" else (a, b, c, d)


def overlap(p, q):
    return p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]


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
            f"grad {number(value or 0.0)}" + ("" if final else " so far"))
    return f"{circle.symbol}: data {number(d.get('data', 0.0))}, {grad}{where}"


def mark_scale(anim: Animation) -> float:
    """How much to thicken marks: a big graph is shown shrunk to a page or a slide."""
    return max(1.0, (anim.size[0] / 900) ** 0.5)
