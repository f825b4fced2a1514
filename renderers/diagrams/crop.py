"""One part of a Graphviz SVG, at full size: a page column shows what the text is about.

A big graph scaled to a column shrinks its labels past reading; cropping keeps every
element (so the file still is the whole drawing) and narrows only the window onto it:
width, height and viewBox become the bounding box of the named nodes and clusters.
"""

import html
import re

__all__ = ["crop_svg"]

SVG_TAG = re.compile(r"<svg\b[^>]*>", re.S)
GRAPH_TRANSFORM = re.compile(r'class="graph" transform="scale\(([-\d.]+)(?: ([-\d.]+))?\)'
                             r' rotate\(0\) translate\(([-\d.]+) ([-\d.]+)\)"')
GROUP = re.compile(r'<g id="[^"]*" class="(?:node|cluster)(?: [^"]*)?">\s*<title>([^<]*)</title>'
                   r'(.*?)</g>', re.S)
SHAPE_POINTS = re.compile(r'\s(?:points|d)="([^"]*)"')
ELLIPSE = re.compile(r'<ellipse\b[^>]*\scx="([-\d.]+)" cy="([-\d.]+)" rx="([-\d.]+)" '
                     r'ry="([-\d.]+)"')
TEXT_AT = re.compile(r'<text\b[^>]*\sx="([-\d.]+)" y="([-\d.]+)"')
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def crop_svg(svg_text: str, names, margin: float = 8.0) -> str:
    """The same SVG, framed on the named nodes and clusters plus `margin` points.

    Args:
        svg_text: an SVG written by `dot -Tsvg`.
        names: the titles of nodes or clusters (as in the DOT: `n16`, `cluster_fc1`).
        margin: points of room kept around their bounding box.

    Returns:
        The SVG with a new width, height (in pt, as dot writes them) and viewBox;
        nothing else changes, so cropping twice to the same names gives the same text.

    Raises:
        ValueError: a name is not a node or cluster of the drawing, or none is given.

    >>> svg = ('<svg width="100pt" height="50pt" viewBox="0.00 0.00 100.00 50.00">'
    ...        '<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 46)">'
    ...        '<g id="node1" class="node"><title>a</title>'
    ...        '<ellipse cx="20" cy="-20" rx="10" ry="5"/></g></g></svg>')
    >>> crop_svg(svg, ["a"], 0)[:66]
    '<svg width="20pt" height="10pt" viewBox="14.00 21.00 20.00 10.00">'
    """
    wanted = set(names)
    if not wanted:
        raise ValueError("crop_svg needs at least one node or cluster name")
    boxes = {}
    for match in GROUP.finditer(svg_text):
        title = html.unescape(match.group(1))
        if title in wanted:
            boxes[title] = shapes_box(match.group(2))
    missing = sorted(wanted - boxes.keys())
    if missing:
        raise ValueError(f"not a node or cluster of this drawing: {', '.join(missing)}")
    left = min(box[0] for box in boxes.values())
    top = min(box[1] for box in boxes.values())
    right = max(box[2] for box in boxes.values())
    bottom = max(box[3] for box in boxes.values())
    sx, sy, tx, ty = graph_transform(svg_text)
    x, y = left * sx + tx - margin, top * sy + ty - margin
    width, height = (right - left) * sx + 2 * margin, (bottom - top) * sy + 2 * margin
    tag = SVG_TAG.search(svg_text)
    framed = re.sub(r'\swidth="[^"]*"', f' width="{width:g}pt"', tag.group(0), count=1)
    framed = re.sub(r'\sheight="[^"]*"', f' height="{height:g}pt"', framed, count=1)
    framed = re.sub(r'\sviewBox="[^"]*"',
                    f' viewBox="{x:.2f} {y:.2f} {width:.2f} {height:.2f}"', framed, count=1)
    return svg_text[:tag.start()] + framed + svg_text[tag.end():]


def graph_transform(svg_text: str) -> tuple:
    """(scale x, scale y, translate x, translate y) of dot's top group."""
    match = GRAPH_TRANSFORM.search(svg_text)
    if match is None:
        raise ValueError("not an SVG written by dot: no graph transform")
    sx, sy, tx, ty = match.groups()
    return float(sx), float(sy or sx), float(tx), float(ty)


def shapes_box(group: str) -> tuple:
    """(left, top, right, bottom) of a group's polygons, paths and ellipses; a node
    drawn as text alone (shape=plain) counts its text's anchor points."""
    xs, ys = [], []
    for points in SHAPE_POINTS.findall(group):
        numbers = [float(n) for n in NUMBER.findall(points)]
        xs += numbers[0::2]
        ys += numbers[1::2]
    for cx, cy, rx, ry in ELLIPSE.findall(group):
        xs += [float(cx) - float(rx), float(cx) + float(rx)]
        ys += [float(cy) - float(ry), float(cy) + float(ry)]
    if not xs:
        for x, y in TEXT_AT.findall(group):
            xs.append(float(x))
            ys.append(float(y))
    return min(xs), min(ys), max(xs), max(ys)
