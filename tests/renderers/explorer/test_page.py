"""The explorer page without a browser: what each view stores, escaping, writing."""

import base64
import gzip
import json
import re

import pytest

from microgpt_trace.microgpt.engine import Value
from microgpt_trace.renderers.animation.stepper import stepper_html
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.diagrams.values import node_names
from microgpt_trace.renderers.exceptions import FormatError
from microgpt_trace.renderers.explorer.page import (
    explorer_page,
    mark_box,
    notebook_html,
    view_record,
    write_explorer,
)
from microgpt_trace.tracer.explorer_views import explorer_views, node_facts
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.graph import trace

pytestmark = pytest.mark.exe


def data_of(page):
    text = re.search(r'<script id="explorer-data" type="application/json">(.*?)</script>',
                     page, re.S).group(1)
    return json.loads(text)


def unpacked(view):
    return json.loads(gzip.decompress(base64.b64decode(view["payload"])))


@pytest.fixture(scope="module")
def expression():
    G = trace_expression("a*b + a", {"a": 2.0, "b": 3.0})
    [view] = explorer_views(G, 400, len)
    return G, view, view_record(view, node_facts(view))


def test_a_view_is_its_stepper_page_and_its_last_frame(expression):
    G, view, record = expression
    anim = animate(G, view.frames)
    assert record["page"] == stepper_html(anim)
    assert record["slots"] == anim.slots
    changed = [i for i, (a, b) in enumerate(zip(record["final"], anim.values[-1])) if a != b]
    edge_slots = {s for e in anim.edges.values() for s in e.slots}
    assert set(changed) <= edge_slots  # only the last frame's edges, drawn as done


def test_every_node_has_its_shapes_and_facts_under_its_dot_name(expression):
    G, view, record = expression
    names = node_names(G)
    assert set(record["nodes"]) == set(names.values()) == set(record["shapes"])
    a = record["nodes"][names[0]]
    assert (a["name"], a["data"], a["grad"], a["in"], a["out"]) == (
        "a", 2.0, 4.0, [], sorted({names[2], names[3]}))
    # the view opens on its output's right-most shape (its box, right of its op ring)
    x0, y0, x1, y1 = max((mark_box(m) for m in record["shapes"][names[3]]), key=lambda b: b[2])
    assert record["entry"] == pytest.approx([(x0 + x1) / 2, (y0 + y1) / 2], abs=0.01)


def test_labels_reach_the_page_as_data_never_as_markup():
    a = Value(2.0, label="</script><b>a</b>")
    b = a * a
    b.label = "b"
    b.backward()
    page = explorer_page(trace(b), max_nodes=400)
    assert "</script><b>" not in page
    [view] = data_of(page)["views"]
    names = {f["name"] for f in unpacked(view)["nodes"].values()}
    assert "</script><b>a</b>" in names
    assert "http" not in page.replace("http://www.w3.org/", "")


def test_the_notebook_cell_is_one_sandboxed_iframe():
    cell = notebook_html('<p title="x">&</p>', height=500)
    assert cell == ('<iframe sandbox="allow-scripts" title="explorer" '
                    'srcdoc="&lt;p title=&quot;x&quot;&gt;&amp;&lt;/p&gt;" '
                    'style="width: 100%; height: 500px; border: 1px solid #ddd"></iframe>')


def test_the_page_is_written_as_html_or_not_at_all(tmp_path):
    with pytest.raises(FormatError, match="name it .html"):
        write_explorer("<p>", tmp_path / "x.svg")
    assert list(tmp_path.iterdir()) == []
    write_explorer("<p>é", tmp_path / "x.html")
    assert (tmp_path / "x.html").read_text(encoding="utf-8") == "<p>é"
