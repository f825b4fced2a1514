"""Reading dot's JSON: page coordinates, table cells by id, edges; agreement with its SVG."""

import json
import xml.etree.ElementTree as ET

import pytest

from microgpt_trace.renderers.animation.geometry import PAD, read_geometry
from microgpt_trace.renderers.animation.svg_template import IDLE_EDGE
from microgpt_trace.renderers.diagrams.render import render_formats
from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.renderers.diagrams.values import Frames, node_names
from microgpt_trace.renderers.exceptions import RenderError
from microgpt_trace.tracer.expression.evaluate import trace_expression

SVG = "{http://www.w3.org/2000/svg}"
TABLE = ('<table><tr><td bgcolor="#eeeeee">a</td></tr>'
         '<tr><td>grad</td><td bgcolor="#ffffff" id="g_n0">4</td></tr></table>')


def tiny_layout(label=TABLE):
    """What `dot -Tjson` writes for a table node n0 and an edge from it, trimmed."""
    cell = [[10, 20], [10, 40], [50, 40], [50, 20]]
    return {
        "bb": "0,0,100,60",
        "_draw_": [{"op": "C", "color": "#ffffff", "grad": "none"},
                   {"op": "P", "points": [[0, 0], [0, 60.5], [100.25, 60.5], [100.25, 0]]}],
        "objects": [
            {"name": "cluster_x", "bb": "0,0,10,10", "nodes": [0]},
            {"_gvid": 0, "name": "n0", "id": "n0", "class": "value", "pos": "30,30",
             "label": label,
             "_ldraw_": [{"op": "C", "color": "#eeeeee", "grad": "none"},
                         {"op": "P", "points": [[10, 40], [10, 55], [50, 55], [50, 40]]},
                         {"op": "F", "size": 14.0, "face": "Helvetica"},
                         {"op": "T", "pt": [30, 44], "align": "c", "width": 8, "text": "a"},
                         {"op": "C", "color": "#ffffff", "grad": "none"},
                         {"op": "P", "points": cell}, {"op": "p", "points": cell},
                         {"op": "F", "size": 12.0, "face": "Helvetica"},
                         {"op": "T", "pt": [46, 25], "align": "r", "width": 8, "text": "4"}]},
            {"_gvid": 1, "name": "opn1", "class": "op", "pos": "80,30",
             "_draw_": [{"op": "E", "rect": [80, 30, 9, 9]}],
             "_ldraw_": [{"op": "F", "size": 13.0, "face": "Helvetica"},
                         {"op": "T", "pt": [80, 26], "align": "c", "width": 7, "text": "+"}]}],
        "edges": [{"tail": 0, "head": 1, "id": "e_n0_n1_0", "lp": "60,40",
                   "_draw_": [{"op": "b", "points": [[50, 30], [55, 30], [62, 30], [68, 30]]}],
                   "_hdraw_": [{"op": "P", "points": [[68, 32], [71, 30], [68, 28]]}]},
                  {"tail": 1, "head": 0}],
    }


def test_page_coordinates_flip_y_and_add_the_pad():
    g = read_geometry(tiny_layout())
    assert PAD == 4.0
    assert g.size == (108.25, 68.5) and g.origin == (4.0, 64.5)  # the background's box
    circle = g.nodes["opn1"]
    assert circle.ellipse == (84.0, 34.5, 9, 9) and circle.text == ("+", 38.5, 13.0)
    assert circle.bounds == (75.0, 25.5, 93.0, 43.5) and circle.classes == ("op",)
    assert set(g.nodes) == {"n0", "opn1"}  # the cluster is no node


def test_a_cell_is_the_filled_polygon_of_its_place_in_the_label():
    box = read_geometry(tiny_layout()).nodes["n0"].cells["g_n0"]
    assert box.rect == (14.0, 24.5, 54.0, 44.5)
    assert (box.baseline, box.size) == (39.5, 12.0)
    assert list(read_geometry(tiny_layout()).nodes["n0"].cells) == ["g_n0"]


def test_edges_by_id_with_a_closed_arrowhead_and_their_label():
    g = read_geometry(tiny_layout())
    assert list(g.edges) == ["e_n0_n1_0"]
    edge = g.edges["e_n0_n1_0"]
    assert edge.points == ((54.0, 34.5), (59.0, 34.5), (66.0, 34.5), (72.0, 34.5))
    assert edge.arrow == ((72.0, 32.5), (75.0, 34.5), (72.0, 36.5), (72.0, 32.5))
    assert edge.label == (64.0, 24.5)


def test_a_label_that_does_not_match_its_drawing_is_refused():
    one_cell = '<table><tr><td bgcolor="#ffffff" id="g_n0">4</td></tr></table>'
    with pytest.raises(RenderError, match="'n0' has 2 filled cells, its label 1"):
        read_geometry(tiny_layout(one_cell))


@pytest.mark.exe
def test_json_and_svg_of_one_run_agree_on_every_grad_cell_and_edge():
    """The frames draw on dot's SVG what they place from its JSON: the two must agree."""
    G = trace_expression("a*b + a")
    names = node_names(G)
    frames = Frames({name: 40 for name in names.values()}, IDLE_EDGE)
    layout, svg = render_formats(dot_source(G, frames=frames), ("json", "svg"))
    g = read_geometry(json.loads(layout))
    root = ET.fromstring(svg)
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    dx, dy = g.origin
    for name in names.values():
        box = g.nodes[name].cells["g_" + name]
        polygon = ids["a_g_" + name].find(f".//{SVG}polygon")
        xs = [float(p.split(",")[0]) + dx for p in polygon.get("points").split()]
        ys = [float(p.split(",")[1]) + dy for p in polygon.get("points").split()]
        assert box.rect == pytest.approx((min(xs), min(ys), max(xs), max(ys)), abs=0.01)
    assert set(g.edges) >= {"e_n0_n2_0", "e_n1_n2_1", "e_n0_n3_1", "e_n2_n3_0"}
    for ident in ("e_n0_n2_0", "e_n2_n3_0"):
        assert "arg" in ids[ident].get("class").split()
        assert ids[ident].find(f"{SVG}path").get("stroke") == IDLE_EDGE
