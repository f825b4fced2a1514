"""The head view as laid out by dot: the q·k products sit beside their key, titles
are never crossed, the attention strip is beside the computation."""

import pytest

from microgpt_trace.renderers.diagrams.source import dot_source

from .layout_geometry import clusters, crossed_titles, layout, node_boxes

pytestmark = pytest.mark.exe


@pytest.fixture(scope="module", params=["atomic", "fused"])
def head(request):
    from microgpt_trace.microgpt.runs.checkpoint import load_model
    from microgpt_trace.tracer.model_trace import trace_head

    model, tokenizer, _ = load_model(None, request.param)
    return trace_head(model, tokenizer, "anna", 3, 0, 2)


def centre(box, axis):
    return (box[axis] + box[axis + 2]) / 2


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_each_keys_products_sit_beside_its_table(head, rankdir):
    """The ops computing key t's score are in a cluster of their own, nearer key t's
    table than any other across the flow, and keys and clusters both come in order t=0, 1, ..."""
    j = layout(dot_source(head, rankdir=rankdir))
    boxes, groups = node_boxes(j), clusters(j)
    keys = sorted(name for name in boxes if name[0] == "k" and name[1:].isdigit())
    assert keys == ["k0", "k1", "k2", "k3"]
    across = 1 if rankdir == "LR" else 0  # y (up) in LR, x in TB
    dots = [groups[f"cluster_dot{t}"][0] for t in range(4)]
    for t, box in enumerate(dots):
        distance = [abs(centre(box, across) - centre(boxes[k], across)) for k in keys]
        assert distance.index(min(distance)) == t  # key t's table is the nearest
    down = rankdir == "LR"  # t=0 on top in LR (y points up), at the left in TB
    for row in ([centre(boxes[k], across) for k in keys], [centre(b, across) for b in dots]):
        assert row == sorted(row, reverse=down)


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_no_edge_crosses_a_title(head, rankdir):
    j = layout(dot_source(head, rankdir=rankdir))
    assert clusters(j)  # there are clusters: scores, softmax, sum, one per key, strip
    assert crossed_titles(j) == []


def test_strip_is_beside_the_computation_and_apart_from_it(head):
    j = layout(dot_source(head))
    boxes = node_boxes(j)
    strip = clusters(j)["cluster_strip"][0]
    others = [box for name, box in boxes.items() if not name.startswith("strip")]
    assert not any(strip[0] < b[2] and b[0] < strip[2] and strip[1] < b[3] and b[1] < strip[3]
                   for b in others)
    # in the first column, beside q and k, where the reading starts: it begins before
    # any other box ends (dot centres it in the column the wider tables set)
    assert strip[0] < min(b[2] for b in others)


def test_top_to_bottom_edges_meet_tables_at_top_and_bottom(head):
    """Top to bottom a table has a column per value: edges arrive on its top edge and
    leave from its bottom edge, never across its title or its numbers."""
    j = layout(dot_source(head, rankdir="TB"))
    names = {o["_gvid"]: o["name"] for o in j["objects"]}
    boxes = node_boxes(j)
    tables = {n for n in boxes if n.rstrip("0123456789") in ("q", "k", "v", "scores",
                                                            "softmax", "out")}
    assert len(tables) == 1 + 4 + 4 + 3
    met = 0
    for e in j["edges"]:
        if e.get("style") == "invis":
            continue
        points = [p for op in e["_draw_"] if op["op"] in ("b", "B") for p in op["points"]]
        arrow = [p for op in e.get("_hdraw_", []) if op["op"] in ("P", "p") for p in op["points"]]
        tail, head_ = names[e["tail"]], names[e["head"]]
        if tail in tables:
            assert abs(points[0][1] - boxes[tail][1]) < 3, (tail, head_)  # y up: bottom
            met += 1
        if head_ in tables:
            tip = min(arrow or points[-1:], key=lambda p: p[1])  # pointing down
            assert abs(tip[1] - boxes[head_][3]) < 3, (tail, head_)  # its top
            met += 1
    assert met > 50
