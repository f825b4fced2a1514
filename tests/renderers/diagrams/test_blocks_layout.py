"""The model view as laid out by dot: one row per position in order, every block
kind in one column, weights' edges inside their row, flow labels off the titles."""

import pytest

from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.renderers.diagrams.values import edge_id, node_names

from .layout_geometry import (
    clusters,
    crossed_titles,
    edge_paths,
    inside,
    label_boxes,
    layout,
    node_boxes,
    overlap,
)

pytestmark = pytest.mark.exe


@pytest.fixture(scope="module")
def traced():
    from microgpt_trace.microgpt.runs.checkpoint import load_model
    from microgpt_trace.tracer.model_trace import trace_text

    model, tokenizer, _ = load_model(None, "fused")
    return trace_text(model, tokenizer, "anna")


@pytest.fixture(scope="module", params=[1, 2, 3])
def drawn(request, traced):
    from microgpt_trace.tracer.queries import collapse

    B = collapse(traced, request.param)
    return B, node_names(B), layout(dot_source(B))


def centre(box, axis):
    return (box[axis] + box[axis + 2]) / 2


def test_rows_in_order_and_every_block_kind_in_one_column(drawn):
    B, names, j = drawn
    boxes = node_boxes(j)
    rows = [centre(boxes[f"title_pos{t}"], 1) for t in range(len(B.graph["tokens"]) - 1)]
    assert rows == sorted(rows, reverse=True)  # pos 0 on top (y points up)
    columns = {}
    for n, d in B.nodes(data=True):
        if d["position"] >= 0:
            columns.setdefault(d["scope"].split("/", 1)[1], []).append(centre(boxes[names[n]], 0))
    assert len(columns) > 3
    for kind, xs in columns.items():
        assert max(xs) - min(xs) < 1, kind


def test_weights_edges_stay_in_their_row(drawn):
    B, names, j = drawn
    paths, groups = edge_paths(j), clusters(j)
    checked = 0
    for u, v in B.edges:
        if B.nodes[u]["kind"] == "param" and B.nodes[v]["position"] >= 0:
            row = groups[f"cluster_pos{B.nodes[v]['position']}"][0]
            assert all(inside(p, row) for p in paths[edge_id(names[u], names[v], 0)])
            checked += 1
    assert checked >= 3 * (len(B.graph["tokens"]) - 1)  # wte, wpe and more at each position


def test_heads_top_to_bottom_in_order(traced):
    from microgpt_trace.tracer.queries import collapse

    B = collapse(traced, 3)
    names, boxes = node_names(B), node_boxes(layout(dot_source(B)))
    for t in range(len(B.graph["tokens"]) - 1):
        heads = sorted((d["scope"], names[n]) for n, d in B.nodes(data=True)
                       if d["position"] == t and "/head" in d["scope"])
        ys = [centre(boxes[name], 1) for _, name in heads]
        assert len(ys) == B.graph["n_head"] and ys == sorted(ys, reverse=True)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_flow_labels_never_cover_a_title(traced, depth):
    from microgpt_trace.tracer.queries import collapse

    j = layout(dot_source(collapse(traced, depth), edge_labels=True))
    titles = [box for name, box in node_boxes(j).items() if name.startswith("title_")]
    labels = label_boxes(j)
    assert len(labels) > 20 and len(titles) == len(traced.graph["tokens"])
    assert [k for k, box in labels.items() if any(overlap(box, t) for t in titles)] == []
    assert crossed_titles(j) == []
