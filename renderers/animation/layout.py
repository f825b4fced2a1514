"""The template every frame fills: dot runs once, its SVG becomes text with slots.

renderers.diagrams.source's diagram is rewritten (animation_dot) so the parts a frame changes
have ids: grad cells, small op circles, argument edges. dot lays that out once;
parse_svg then turns the SVG into strings with numbered slots between them (a fill,
a text, a stroke), plus the geometry behind each slot (Cell, Circle, Edge) and the
outline of each node, for encoders that draw rather than patch text. renderers.animation.model
fills the slots frame by frame.
"""

import html
import math
import re
from dataclasses import dataclass

__all__ = ["Cell", "Circle", "Edge", "Template", "animation_dot", "parse_svg", "edge_id",
           "text_width", "IDLE_EDGE", "TICK"]

IDLE_EDGE = "#d4d4d4"  # an edge nothing has flowed along yet
TICK = "\u2713"


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

def text_width(text: str, size: float = 12.0) -> float:
    """Roughly Helvetica's advance widths: enough to size a cell or a caption."""
    return size * sum(0.28 if c in ".,:;!|il " else 0.83 if c in "mwMW—" else
                      0.33 if c in "-()[]rtf" else 0.56 for c in text)


# DOT lines as renderers.diagrams.values writes them: one statement per line.
NODE_STMT = re.compile(r"^\t+(\w+) \[")
EDGE_STMT = re.compile(r"^(\t+)(\S+) -> (\S+?)(?: \[(.*)\])?$")
ROW_GRAD = re.compile(r'(<td[^>]*) port="(n\d+)"')  # a head table's grad cell
ROW_LABEL = re.compile(r'(<td[^>]*) port="in(n\d+)"')  # ... and its label cell
VALUE_GRAD = re.compile(r">grad</font></td><td")  # a value box's grad cell
BLOCK_GRAD = re.compile(r"<td(?=[^>]*><font[^>]*>grad norm )")  # a block's norm cell
ENDPOINT = re.compile(r"(?:op|in)?(n\d+)")


def animation_dot(text: str, G, names: dict, longest: dict) -> str:
    """dot_source's text with ids on grad cells and edges, and edges drawn idle.

    An id with an href makes dot write a table cell as its own <g>; the width leaves
    room for the longest number the cell will show and for the tick.
    """
    by_name = {name: n for n, name in names.items()}

    def cell(name):
        width = math.ceil(text_width(longest.get(by_name[name], "")) + 22)
        return f' id="g_{name}" href="#" width="{width}"'

    lines, seen = [], {}
    for line in text.split("\n"):
        node, edge = NODE_STMT.match(line), EDGE_STMT.match(line)
        if node:
            line = ROW_LABEL.sub(r'\1 port="in\2" id="l_\2" href="#"', line)
            line = ROW_GRAD.sub(lambda m: f'{m.group(1)} port="{m.group(2)}"' + cell(m.group(2)),
                                line)
            line = VALUE_GRAD.sub(lambda m: m.group(0) + cell(node.group(1)), line, count=1)
            line = BLOCK_GRAD.sub(lambda m: "<td" + cell(node.group(1)), line, count=1)
        elif edge and 'style="invis"' not in (edge.group(4) or ""):
            u, v = endpoint(edge.group(2), by_name), endpoint(edge.group(3), by_name)
            if u is not None and v is not None and u != v:
                keys = sorted(G[u][v]) if G.is_multigraph() else [0]
                key = keys[seen.setdefault((u, v), 0)]
                seen[u, v] += 1
                rest = re.sub(r'penwidth="[^"]*"(, )?', "", edge.group(4) or "").rstrip(", ")
                line = (f'{edge.group(1)}{edge.group(2)} -> {edge.group(3)} [id="'
                        f'{edge_id(names[u], names[v], key)}", color="{IDLE_EDGE}"'
                        f'{", " + rest if rest else ""}]')
        lines.append(line)
    return "\n".join(lines)


def endpoint(text, by_name):
    """The graph node an edge end stands for: a row's port, an op circle, or a node."""
    name, *ports = text.split(":")
    for part in ports + [name]:
        match = ENDPOINT.fullmatch(part)
        if match and match.group(1) in by_name:
            return by_name[match.group(1)]
    return None


def edge_id(tail, head, key):
    return f"e_{tail}_{head}_{key}"


# The SVG dot writes: one element per line, node and edge groups at the top level.
SVG_TAG = re.compile(r'<svg width="[^"]*" height="[^"]*"\s+viewBox="([^"]*)"([^>]*)>\n')
TRANSFORM = re.compile(r'transform="scale\(([-\d.]+) [-\d.]+\) rotate\(0\) '
                       r'translate\(([-\d.]+) ([-\d.]+)\)"')
GROUP = re.compile(r'<g id="([^"]*)" class="(node|edge)">$')
CELL = re.compile(r'<g id="a_([gl])_(n\d+)"><a .*>$')
LINK = re.compile(r'<g id="a_[^"]*"><a .*>$')
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
ATTR = re.compile(r' ([\w:-]+)="([^"]*)"')


class Template:
    """Collects slots while the SVG is rewritten; `\\0i\\0` marks slot i in the text."""

    def __init__(self, scale, dx, dy):
        self.scale, self.dx, self.dy = scale, dx, dy
        self.slots, self.initial = [], []

    def slot(self, element, attr, initial):
        self.slots.append((element, attr))
        self.initial.append(initial)
        return f"\0{len(self.slots) - 1}\0"

    def place(self, x, y):
        """Graph coordinates -> absolute SVG user units."""
        return self.scale * (x + self.dx), self.scale * (y + self.dy)


def parse_svg(svg: str, by_name: dict, anim) -> list:
    """dot's SVG -> the template and geometry, written into anim; the initial slot values.

    anim is a fresh renderers.animation.model.Animation, passed in so this module needs no
    import of it: its size, svg_attrs, parts and slots are set, cells, circles, edges
    and outlines filled, and its check colour drawn on ticks.
    """
    tag = SVG_TAG.search(svg)
    width, height = (float(x) for x in tag.group(1).split()[2:])
    t = Template(*(float(x) for x in TRANSFORM.search(svg).groups()))
    anim.svg_attrs, anim.size = tag.group(2), (width, height)
    out, group, depth = [], [], 0
    for line in svg[tag.end():svg.rindex("</svg>")].split("\n"):
        if not group and not GROUP.match(line):
            out.append(line)
            continue
        group.append(line)
        depth += line.startswith("<g") - (line == "</g>")
        if not depth:
            node_kind = GROUP.match(group[0]).group(2) == "node"
            out += (node_group if node_kind else edge_group)(group, t, anim, by_name)
            group = []
    pieces = "\n".join(out).split("\0")
    anim.parts = [int(p) if i % 2 else p for i, p in enumerate(pieces)]
    anim.slots = t.slots
    return t.initial


def coordinates(line):
    """The points of a polygon or path line, or an ellipse's bounding corners."""
    attrs = dict(ATTR.findall(line))
    if line.startswith("<ellipse"):
        cx, cy, rx, ry = (float(attrs[k]) for k in ("cx", "cy", "rx", "ry"))
        return [(cx - rx, cy - ry), (cx + rx, cy + ry)]
    if not line.startswith(("<polygon", "<path")):
        return []
    xs = [float(x) for x in NUMBER.findall(attrs.get("points") or attrs.get("d", ""))]
    return list(zip(xs[::2], xs[1::2]))


def bounds(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def node_group(lines, t, anim, by_name):
    """A node's lines with slots in its grad cell or op circle; records its outline."""
    name = lines[1][len("<title>"):-len("</title>")]
    out, points, cells, cell = [], [], {}, None
    for line in lines:
        match = CELL.match(line)
        if match:
            cell = (match.group(1), match.group(2), [])
            line = f'<g id="{match.group(1)}_{match.group(2)}">'
        elif LINK.match(line):
            line = "<g>"
        elif line == "</a>":
            continue
        points += coordinates(line)
        if cell:
            cell[2].extend(coordinates(line))
            if line == "</g>":
                cells[cell[0], cell[1]], cell = bounds(cell[2]), None
            elif cell[0] == "g" and line.startswith("<text"):
                line = grad_cell(line, by_name[cell[1]], cell[1], bounds(cell[2]), t, anim)
            elif cell[0] == "g" and 'stroke="transparent"' in line:  # the cell's fill
                line = with_slot(line, "polygon", "gf_" + cell[1], t.slot(
                    "gf_" + cell[1], "fill", "#ffffff"))
        out.append(line)
    is_circle = name in by_name and not cells and any(x.startswith("<ellipse") for x in out)
    if is_circle:
        out = op_circle(out, name, by_name[name], t, anim)
    add_outline(anim, t, name, by_name, points, cells, is_circle)
    return out


def with_slot(line, tag, ident, fill):
    """An element's line with an id and its fill attribute made a slot."""
    line = line.replace(f"<{tag}", f'<{tag} id="{ident}"', 1)
    return re.sub(r'fill="[^"]*"', f'fill="{fill}"', line)


def grad_cell(line, node, name, rect, t, anim):
    """The number, right-aligned so any width fits, and a hidden tick at the left."""
    a = dict(ATTR.findall(line))
    y, size = float(a["y"]), float(a["font-size"])
    fill = t.slots.index((f"gf_{name}", "fill"))
    text = t.slot("gt_" + name, "#text", "")
    colour = t.slot("gt_" + name, "fill", "#000000")
    style = t.slot("gt_" + name, "font-style", "normal")
    shown = t.slot("gk_" + name, "visibility", "hidden")
    tick_colour = t.slot("gk_" + name, "fill", anim.check)
    number = (f'<text id="gt_{name}" text-anchor="end" x="{rect[2] - 4:.2f}" y="{y:.2f}" '
              f'font-family="{a["font-family"]}" font-size="{size:.2f}" fill="{colour}" '
              f'font-style="{style}">{text}</text>')
    tick = (f'<text id="gk_{name}" x="{rect[0] + 3:.2f}" y="{y:.2f}" font-family="DejaVu '
            f'Sans,sans-serif" font-size="{size * 0.85:.2f}" font-weight="bold" '
            f'fill="{tick_colour}" visibility="{shown}">{TICK}</text>')
    x0, y0 = t.place(rect[0], rect[1])
    x1, y1 = t.place(rect[2], rect[3])
    slots = (fill,) + tuple(range(len(t.slots) - 5, len(t.slots)))
    anim.cells[node] = Cell(slots, (x0, y0, x1, y1), t.place(0, y)[1], size * t.scale)
    return number + "\n" + tick


def op_circle(lines, name, node, t, anim):
    """A small op circle: its fill, symbol colour and tooltip (numbers) become slots."""
    out, ellipse, fill, tip = [], None, None, None
    for line in lines:
        if line.startswith("<ellipse"):
            a = dict(ATTR.findall(line))
            cx, cy = t.place(float(a["cx"]), float(a["cy"]))
            ellipse = (cx, cy, float(a["rx"]) * t.scale, float(a["ry"]) * t.scale)
            fill = len(t.slots)
            line = with_slot(line, "ellipse", "sf_" + name, t.slot("sf_" + name, "fill", "#ffffff"))
            tip = len(t.slots)
            line = (line[:-2] + f'><title id="tt_{name}">{t.slot("tt_" + name, "#text", "")}'
                    "</title></ellipse>")
        elif line.startswith("<text") and ellipse:
            a = dict(ATTR.findall(line))
            symbol = html.unescape(re.search(r">(.*)</text>", line).group(1))
            colour = t.slot("st_" + name, "fill", "#000000")
            anim.circles[node] = Circle((fill, len(t.slots) - 1, tip), ellipse, symbol,
                                        t.place(0, float(a["y"]))[1],
                                        float(a["font-size"]) * t.scale)
            line = with_slot(line, "text", "st_" + name, colour)
        out.append(line)
    return out


def add_outline(anim, t, name, by_name, points, cells, is_circle):
    """How a node is outlined while it sends: its table row, box, or circle (and the
    op circle of a value box)."""
    pad = 2.5
    rows = [k for k in cells if k[0] == "l"]
    for _, row in rows:
        x0, y0, _, _ = cells["l", row]
        _, _, x1, y1 = cells.get(("g", row), cells["l", row])
        (a, b), (c, d) = t.place(x0, y0), t.place(x1, y1)
        anim.outlines.setdefault(by_name[row], []).append(
            ("box", a - pad, b - pad, c + pad, d + pad))
    op = name[2:] if name.startswith("op") else None
    if rows or not points or (name not in by_name and op not in by_name):
        return
    (x0, y0), (x1, y1) = t.place(*bounds(points)[:2]), t.place(*bounds(points)[2:])
    if is_circle or op:
        mark = ("ring", (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 + pad, (y1 - y0) / 2 + pad)
    else:
        mark = ("box", x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    anim.outlines.setdefault(by_name[op or name], []).append(mark)


def edge_group(lines, t, anim, by_name):
    """An argument edge: its colour and width move to the group, as slots."""
    ident = GROUP.match(lines[0]).group(1)
    if not ident.startswith("e_"):
        return lines
    stroke, fill = t.slot(ident, "stroke", IDLE_EDGE), t.slot(ident, "fill", IDLE_EDGE)
    width = t.slot(ident, "stroke-width", "1")
    out = [f'<g id="{ident}" class="edge" stroke="{stroke}" fill="{fill}" '
           f'stroke-width="{width}">']
    path = arrow = ()
    for line in lines[1:]:
        if line.startswith("<path"):
            path = tuple(t.place(*p) for p in coordinates(line))
            line = re.sub(r' stroke="[^"]*"', "", line)
        elif line.startswith("<polygon"):
            arrow = tuple(t.place(*p) for p in coordinates(line))
            line = re.sub(r' (fill|stroke)="[^"]*"', "", line)
        out.append(line)
    n = len(t.slots)
    anim.edges[ident] = Edge((n - 3, n - 2, n - 1), path, arrow, label_point(path))
    return out


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
