"""The template every frame fills: dot's SVG as text with slots, and what lies behind them.

microgpt_trace.renderers.diagrams.source draws the animation's base (its `frames` option):
grad cells are links with ids, nodes and argument edges have ids and classes. dot lays that out
once and writes it twice, as JSON (microgpt_trace.renderers.animation.geometry: where everything is)
and as SVG (the base drawing). `svg_template` finds in the SVG, by those ids only,
what a frame changes, turns it into numbered slots between strings (a fill, a text, a
stroke), and records the geometry behind each slot (Cell, Circle, Edge) and the
outline of each node from the JSON, for encoders that draw rather than patch text.
microgpt_trace.renderers.animation.storyboard fills the slots frame by frame.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache

__all__ = ["Cell", "Circle", "Edge", "Template", "svg_template", "text_width", "label_point",
           "IDLE_EDGE", "TICK", "SVG_NS"]

IDLE_EDGE = "#d4d4d4"  # an edge nothing has flowed along yet
TICK = "\u2713"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
OUTLINE_PAD = 2.5  # points between a node and the outline drawn around it


@dataclass(frozen=True)
class Cell:
    """A grad cell; slots: fill, number, its colour, font style, tick visibility and
    colour."""

    slots: tuple
    rect: tuple  # x0, y0, x1, y1
    baseline: float
    size: float  # font size


@dataclass(frozen=True)
class Circle:
    """A small op circle; slots: fill, symbol colour, tooltip."""

    slots: tuple
    ellipse: tuple  # cx, cy, rx, ry
    symbol: str
    baseline: float
    size: float


@dataclass(frozen=True)
class Edge:
    """An argument edge; slots: stroke, fill (arrowhead), stroke width."""

    slots: tuple
    points: tuple  # the path's points: start, then (control, control, end) per curve
    arrow: tuple  # the arrowhead polygon
    label_at: tuple  # where its flow is written


@cache  # placing one flow label asks for the same text's width at hundreds of spots
def text_width(text: str, size: float = 12.0) -> float:
    """Roughly Helvetica's advance widths: enough to size a cell or a caption."""
    return size * sum(0.28 if c in ".,:;!|il " else 0.83 if c in "mwMW—" else
                      0.33 if c in "-()[]rtf" else 0.56 for c in text)


class Template:
    """Collects slots while the SVG is rewritten; `\\0i\\0` marks slot i in the text."""

    def __init__(self):
        self.slots, self.initial = [], []

    def slot(self, element, attr, initial):
        self.slots.append((element, attr))
        self.initial.append(initial)
        return f"\0{len(self.slots) - 1}\0"


def svg_template(svg: bytes, geometry, by_name: dict, anim) -> list:
    """dot's SVG and the layout -> the template and geometry, written into anim; the
    initial slot values.

    anim is a fresh microgpt_trace.renderers.animation.storyboard.Animation, passed in
    so this module needs no import of it: its size, svg_attrs, parts and slots are
    set, cells, circles, edges, outlines and node boxes filled, and its check colour
    drawn on ticks.
    """
    root = local_names(ET.fromstring(svg))
    graph = next(g for g in root.findall("g") if g.get("class") == "graph")
    # our own placement of dot's coordinates, the one geometry.page uses
    graph.set("transform", f"translate({geometry.origin[0]:.2f} {geometry.origin[1]:.2f})")
    unwrap_links(graph)
    ids = {el.get("id"): el for el in graph.iter() if el.get("id")}
    t = Template()
    drawn = [g.get("id") for g in graph.iter("g") if "node" in (g.get("class") or "").split()]
    order = {name: i for i, name in enumerate(drawn)}
    for name in sorted(geometry.nodes, key=lambda n: order.get(n, -1)):
        shape = geometry.nodes[name]
        for ident, box in shape.cells.items():
            if ident.startswith("g_") and ident[2:] in by_name and "a_" + ident in ids:
                grad_cell(ids["a_" + ident], ident[2:], by_name[ident[2:]], box, geometry,
                          t, anim)
        if "compact" in shape.classes and name in by_name and name in ids:
            op_circle(ids[name], name, by_name[name], shape, t, anim)
        add_outline(anim, name, by_name, shape)
        if shape.bounds:  # flow labels keep off the whole node, its headings too
            anim.boxes.append(shape.bounds)
    for ident, shape in geometry.edges.items():
        if ident in ids and "arg" in (ids[ident].get("class") or "").split():
            edge_group(ids[ident], ident, shape, t, anim)
    anim.size = geometry.size
    anim.svg_attrs = f' xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}"'
    text = ET.tostring(graph, encoding="unicode").rstrip() + "\n"
    anim.parts = [int(p) if i % 2 else p for i, p in enumerate(text.split("\0"))]
    anim.slots = t.slots
    return t.initial


def local_names(root):
    """Tags without their namespace (the frame's <svg> declares it once), xlink
    attributes under the xlink: prefix that <svg> declares too."""
    for el in root.iter():
        el.tag = el.tag.rpartition("}")[2]
        for key in [k for k in el.attrib if k.startswith("{")]:
            ns, _, local = key[1:].partition("}")
            el.attrib[("xlink:" if ns == XLINK_NS else "") + local] = el.attrib.pop(key)
    return root


def unwrap_links(graph):
    """dot wraps a link (a grad cell's href, a tooltip) in <g id="a_..."><a>: keep the
    group, drop the <a>, whose tooltip would cover the frame's own."""
    for group in list(graph.iter("g")):
        for i, child in reversed(list(enumerate(group))):
            if child.tag == "a":
                group.remove(child)
                for j, inner in enumerate(child):
                    group.insert(i + j, inner)


def inner(geometry, x, y):
    """Page coordinates -> the coordinates inside dot's graph group."""
    return x - geometry.origin[0], y - geometry.origin[1]


def grad_cell(group, name, node, box, geometry, t, anim):
    """The cell's fill a slot; its text replaced by a number right-aligned, so any
    width fits, and a hidden tick at the left."""
    fill = next(p for p in group.iter("polygon") if p.get("fill") not in (None, "none"))
    fill.set("id", "gf_" + name)
    fill_slot = len(t.slots)
    fill.set("fill", t.slot("gf_" + name, "fill", "#ffffff"))
    old = group.find("text")
    family = old.get("font-family") if old is not None else "Helvetica,sans-serif"
    for text in group.findall("text"):
        group.remove(text)
    x0, y = inner(geometry, box.rect[0], box.baseline)
    x1, _ = inner(geometry, box.rect[2], box.baseline)
    number = ET.SubElement(group, "text", {
        "id": "gt_" + name, "text-anchor": "end", "x": f"{x1 - 4:.2f}", "y": f"{y:.2f}",
        "font-family": family, "font-size": f"{box.size:.2f}",
        "fill": t.slot("gt_" + name, "fill", "#000000"),
        "font-style": t.slot("gt_" + name, "font-style", "normal")})
    number.text = t.slot("gt_" + name, "#text", "")
    tick = ET.SubElement(group, "text", {
        "id": "gk_" + name, "x": f"{x0 + 3:.2f}", "y": f"{y:.2f}",
        "font-family": "DejaVu Sans,sans-serif", "font-size": f"{box.size * 0.85:.2f}",
        "font-weight": "bold", "fill": t.slot("gk_" + name, "fill", anim.check),
        "visibility": t.slot("gk_" + name, "visibility", "hidden")})
    tick.text = TICK
    number.tail = tick.tail = "\n"
    f = fill_slot  # then the number's colour, style, text; the tick's colour, visibility
    slots = (f, f + 3, f + 1, f + 2, f + 5, f + 4)
    anim.cells[node] = Cell(slots, box.rect, box.baseline, box.size)


def op_circle(group, name, node, shape, t, anim):
    """A small op circle: its fill, symbol colour and tooltip (numbers) become slots."""
    ellipse, text = group.find(".//ellipse"), group.find(".//text")
    if ellipse is None or text is None or shape.ellipse is None or shape.text is None:
        return
    fill = len(t.slots)
    ellipse.set("id", "sf_" + name)
    ellipse.set("fill", t.slot("sf_" + name, "fill", "#ffffff"))
    tip = ET.SubElement(ellipse, "title", {"id": "tt_" + name})
    tip.text = t.slot("tt_" + name, "#text", "")
    text.set("id", "st_" + name)
    text.set("fill", t.slot("st_" + name, "fill", "#000000"))
    symbol, baseline, size = shape.text
    anim.circles[node] = Circle((fill, len(t.slots) - 1, fill + 1), shape.ellipse, symbol,
                                baseline, size)


def add_outline(anim, name, by_name, shape):
    """How a node is outlined while it sends: its table row, box, or circle (and the
    op circle of a value box)."""
    pad = OUTLINE_PAD
    rows = [ident[2:] for ident in shape.cells if ident.startswith("l_")]
    for row in rows:
        x0, y0, _, _ = shape.cells["l_" + row].rect
        _, _, x1, y1 = shape.cells.get("g_" + row, shape.cells["l_" + row]).rect
        anim.outlines.setdefault(by_name[row], []).append(
            ("box", x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    op = name[2:] if name.startswith("op") else None
    if rows or not shape.bounds or (name not in by_name and op not in by_name):
        return
    x0, y0, x1, y1 = shape.bounds
    if "compact" in shape.classes or op:
        mark = ("ring", (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 + pad, (y1 - y0) / 2 + pad)
    else:
        mark = ("box", x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    anim.outlines.setdefault(by_name[op or name], []).append(mark)


def edge_group(group, ident, shape, t, anim):
    """An argument edge: its colour and width move to the group, as slots."""
    group.set("stroke", t.slot(ident, "stroke", IDLE_EDGE))
    group.set("fill", t.slot(ident, "fill", IDLE_EDGE))
    group.set("stroke-width", t.slot(ident, "stroke-width", "1"))
    for path in group.iter("path"):
        path.attrib.pop("stroke", None)
    for polygon in group.iter("polygon"):
        polygon.attrib.pop("stroke", None)
        polygon.attrib.pop("fill", None)
    n = len(t.slots)
    anim.edges[ident] = Edge((n - 3, n - 2, n - 1), shape.points, shape.arrow,
                             label_point(shape.points))


def label_point(points):
    """Where an edge's flow is written: a third of the way from the child, whose grad
    it adds to (dot draws paths from tail to head as cubic curves)."""
    if len(points) < 4:
        return points[0] if points else (0.0, 0.0)
    curves = (len(points) - 1) // 3
    at = curves / 3
    i = min(int(at), curves - 1)
    t = at - i
    p0, p1, p2, p3 = points[3 * i:3 * i + 4]
    weights = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3)
    return tuple(sum(w * p[d] for w, p in zip(weights, (p0, p1, p2, p3))) for d in (0, 1))
