"""Where dot put things, read from `dot -Tjson` in points (y up): boxes and curves,
for tests that check what a reader sees (a title crossed, a row out of line)."""

import json

from microgpt_trace.renderers.diagrams.render import render


def layout(dot_text: str) -> dict:
    return json.loads(render(dot_text, "json"))


def floats(text: str) -> list:
    return [float(x) for x in text.split(",")]


def clusters(j: dict) -> dict:
    """name -> (bounding box, title box or None) of every cluster."""
    found = {}
    for o in j["objects"]:
        if not o["name"].startswith("cluster"):
            continue
        title = None
        if o.get("label") and "lp" in o:
            x, y = floats(o["lp"])
            w, h = 72 * float(o["lwidth"]) / 2, 72 * float(o["lheight"]) / 2
            title = (x - w, y - h, x + w, y + h)
        found[o["name"]] = (tuple(floats(o["bb"])), title)
    return found


def node_boxes(j: dict) -> dict:
    """node name -> (x0, y0, x1, y1)."""
    boxes = {}
    for o in j["objects"]:
        if "pos" in o and "nodes" not in o:
            x, y = floats(o["pos"])
            w, h = 72 * float(o["width"]) / 2, 72 * float(o["height"]) / 2
            boxes[o["name"]] = (x - w, y - h, x + w, y + h)
    return boxes


def bezier(points: list, steps: int = 16) -> list:
    """Points along a cubic B-spline path (start, then 3 control points per piece)."""
    out = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i:i + 4]
        for k in range(steps + 1):
            t = k / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def edge_paths(j: dict) -> dict:
    """edge id (or tail->head) -> points along its curve."""
    names = {o["_gvid"]: o["name"] for o in j["objects"]}
    paths = {}
    for e in j.get("edges", []):
        if e.get("style") == "invis":
            continue
        points = [p for op in e.get("_draw_", []) if op["op"] in ("b", "B") for p in op["points"]]
        ident = e.get("id") or f"{names[e['tail']]}->{names[e['head']]}"
        paths[ident] = bezier(points)
    return paths


def inside(point, box, margin: float = 0.0) -> bool:
    x, y = point
    return box[0] - margin <= x <= box[2] + margin and box[1] - margin <= y <= box[3] + margin


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crossed_titles(j: dict) -> list:
    """(cluster, edge) for every edge drawn through a cluster's title."""
    titles = {name: title for name, (_, title) in clusters(j).items() if title}
    return [(name, edge) for edge, points in edge_paths(j).items()
            for name, title in titles.items() if any(inside(p, title) for p in points)]


def label_boxes(j: dict) -> dict:
    """edge id -> the box of its (x)label's text, as dot drew it."""
    boxes = {}
    for e in j.get("edges", []):
        for op in e.get("_ldraw_", []) + e.get("_xldraw_", []):
            if op["op"] == "T":
                size = next(o["size"] for o in e["_ldraw_"] + e.get("_xldraw_", [])
                            if o["op"] == "F")
                x, y = op["pt"]
                w = op["width"]
                boxes[e.get("id", e["_gvid"])] = (x - w / 2, y - 0.3 * size, x + w / 2, y + size)
    return boxes
