"""Where dot put everything, read from its JSON output (`dot -Tjson`), never from SVG text.

dot's JSON holds each node and edge with the attributes the DOT gave it (our `id` and
`class`) and its drawing as xdot operations: polygons, ellipses, Bézier curves and
text, in points with y pointing up. This module turns them into page coordinates,
the absolute SVG user units of a frame (y down, the drawing padded as dot pads it):
node outlines, small op circles, the grad cells of HTML tables, edge curves,
arrowheads and label positions, and the page size.

xdot names no table cell, so a cell is found through the node's label, which the
JSON carries too: the i-th cell with a background colour is the i-th filled polygon
of the label's drawing (dot paints a cell's background first, in table order). A
count that does not match raises RenderError instead of misplacing anything.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Optional

from ..exceptions import RenderError

__all__ = ["Geometry", "NodeShape", "EdgeShape", "CellBox", "read_geometry", "PAD"]

PAD = 4.0  # points dot leaves around the drawing (its default `pad`)
SHAPES = ("P", "p", "b", "B")  # xdot ops whose points outline a drawing


@dataclass(frozen=True)
class CellBox:
    """A table cell: its box (x0, y0, x1, y1), its text's baseline and font size."""

    rect: tuple
    baseline: float
    size: float


@dataclass(frozen=True)
class NodeShape:
    """A node: its classes, the box around all it draws, its ellipse (cx, cy, rx, ry)
    if it is one, its first text (text, baseline, size), and its cells by id."""

    classes: tuple
    bounds: Optional[tuple]
    ellipse: Optional[tuple]
    text: Optional[tuple]
    cells: dict


@dataclass(frozen=True)
class EdgeShape:
    """An edge: its path (start, then 3 points per cubic curve), arrowhead polygon
    (closed, its first point repeated, as SVG and Pillow draw it the same), and its
    label's centre if it has one."""

    points: tuple
    arrow: tuple
    label: Optional[tuple]


@dataclass(frozen=True)
class Geometry:
    """The whole layout in page coordinates; `origin` maps dot's points to the page:
    page x = x + origin[0], page y = origin[1] - y."""

    size: tuple
    origin: tuple
    nodes: dict  # DOT name -> NodeShape
    edges: dict  # edge id -> EdgeShape


def read_geometry(doc: dict) -> Geometry:
    """dot's JSON (parsed) -> the Geometry of every node and of every edge with an id.

    Args:
        doc: json.loads of `dot -Tjson` output.

    Returns:
        The Geometry.

    Raises:
        RenderError: the drawing of a table does not match its label.

    >>> import json
    >>> from microgpt_trace.renderers.diagrams.render import render
    >>> doc = json.loads(render('digraph { a [shape=circle]; a -> b [id="e"] }', "json"))
    >>> g = read_geometry(doc)
    >>> g.size, g.nodes["a"].ellipse, g.edges["e"].points[0]
    ((62.0, 116.0), (31.0, 22.0, 18.0, 18.0), (31.0, 40.3))
    """
    x0, y0, x1, y1 = drawing_box(doc)
    origin = (PAD - x0, PAD + y1)
    nodes, edges = {}, {}
    for obj in doc.get("objects", ()):
        if "pos" in obj and "nodes" not in obj:  # subgraphs come first, with a bb
            nodes[obj["name"]] = node_shape(obj, origin)
    for obj in doc.get("edges", ()):
        if obj.get("id"):
            edges[obj["id"]] = edge_shape(obj, origin)
    return Geometry((x1 - x0 + 2 * PAD, y1 - y0 + 2 * PAD), origin, nodes, edges)


def drawing_box(doc: dict) -> tuple:
    """The graph's box: its background's polygon (two decimals, as the SVG has them),
    else its bb (which dot 2.43 writes to one decimal)."""
    background = [op["points"] for op in doc.get("_draw_", ()) if op["op"] == "P"]
    if background:
        return bounds(background[0])
    return tuple(float(v) for v in doc["bb"].split(","))


def page(origin, point):
    return (round(point[0] + origin[0], 2), round(origin[1] - point[1], 2))


def bounds(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def ops_bounds(ops, origin) -> Optional[tuple]:
    """The page box around what the ops draw (an ellipse by its corners), if anything."""
    points = []
    for op in ops:
        if op["op"] in SHAPES:
            points += op["points"]
        elif op["op"] in ("E", "e"):
            cx, cy, rx, ry = op["rect"]
            points += [(cx - rx, cy + ry), (cx + rx, cy - ry)]
    if not points:
        return None
    x0, y0, x1, y1 = bounds(points)  # y up: page y turns y1 into the top
    return page(origin, (x0, y1)) + page(origin, (x1, y0))


def texts(ops, origin) -> list:
    """(text, x, baseline, font size) of every text op, in drawing order."""
    out, size = [], 14.0
    for op in ops:
        if op["op"] == "F":
            size = op["size"]
        elif op["op"] == "T":
            x, y = page(origin, op["pt"])
            out.append((op["text"], x, y, size))
    return out


def node_shape(obj: dict, origin) -> NodeShape:
    draw, label = obj.get("_draw_", []), obj.get("_ldraw_", [])
    ellipse = next((op["rect"] for op in draw if op["op"] in ("E", "e")), None)
    if ellipse:
        cx, cy = page(origin, ellipse[:2])
        ellipse = (cx, cy, ellipse[2], ellipse[3])
    written = texts(label, origin)
    text = (written[0][0], written[0][2], written[0][3]) if written else None
    return NodeShape(tuple(obj.get("class", "").split()), ops_bounds(draw + label, origin),
                     ellipse, text, label_cells(obj, label, origin))


def label_cells(obj: dict, ops: list, origin) -> dict:
    """id -> CellBox for the cells with an id and a background in an HTML-like label."""
    fills = [op for op in ops if op["op"] == "P"]
    if not fills:
        return {}
    try:
        table = ET.fromstring(obj.get("label", ""))
    except ET.ParseError:
        raise RenderError(f"dot's layout of {obj['name']!r}: its label is not a table") from None
    filled = [td.get("id") for td in table.iter() if td.tag.lower() == "td" and td.get("bgcolor")]
    if len(filled) != len(fills):
        raise RenderError(f"dot's layout of {obj['name']!r} has {len(fills)} filled cells, "
                          f"its label {len(filled)}: a Graphviz that draws tables differently?")
    written = texts(ops, origin)
    cells = {}
    for ident, fill in zip(filled, fills):
        if ident:
            rect = bounds([page(origin, p) for p in fill["points"]])
            cells[ident] = cell_box(rect, written)
    return cells


def cell_box(rect, written) -> CellBox:
    """The cell's box and its first text's baseline (its middle if it has none)."""
    for _, x, y, size in written:
        if rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3]:
            return CellBox(rect, y, size)
    return CellBox(rect, (rect[1] + rect[3]) / 2, 14.0)


def edge_shape(obj: dict, origin) -> EdgeShape:
    curve = next((op["points"] for op in obj.get("_draw_", []) if op["op"] in ("b", "B")), [])
    arrow = next((op["points"] for op in obj.get("_hdraw_", []) if op["op"] in ("P", "p")), [])
    where = obj.get("lp") or obj.get("xlp")
    label = page(origin, [float(v) for v in where.split(",")]) if where else None
    arrow = [page(origin, p) for p in arrow]
    return EdgeShape(tuple(page(origin, p) for p in curve),
                     tuple(arrow + arrow[:1] if arrow and arrow[0] != arrow[-1] else arrow),
                     label)
