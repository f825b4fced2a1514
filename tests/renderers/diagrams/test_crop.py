"""crop_svg on hand-made SVGs shaped like dot's: exact frames, refusals, idempotence."""

import re

import pytest

from microgpt_trace.renderers.diagrams.crop import crop_svg

SVG = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg width="400pt" height="200pt"
 viewBox="0.00 0.00 400.00 200.00" xmlns="http://www.w3.org/2000/svg">
<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 196)">
<title>%3</title>
<g id="clust1" class="cluster">
<title>cluster_left</title>
<path fill="#f7f7f7" d="M10,-180C10,-180 150,-180 150,-180 150,-20 150,-20 10,-20"/>
</g>
<g id="n1" class="node op">
<title>n1</title>
<ellipse fill="#ffffff" stroke="#555555" cx="300" cy="-100" rx="20" ry="10"/>
<text text-anchor="middle" x="300" y="-96">×</text>
</g>
<g id="t0" class="node table">
<title>t0</title>
<polygon fill="#f7f7f7" points="200,-60 200,-30 260,-30 260,-60 200,-60"/>
</g>
<g id="n2" class="node const">
<title>n2</title>
<text text-anchor="middle" x="350" y="-150">×0.5</text>
</g>
<g id="e1" class="edge arg">
<title>t0&#45;&gt;n1</title>
<path fill="none" d="M260,-45C280,-60 290,-80 295,-90"/>
</g>
</g>
</svg>
"""


def frame(svg):
    """(width, height, viewBox numbers) of the root <svg> tag."""
    tag = re.search(r"<svg\b[^>]*>", svg).group(0)
    width = re.search(r'width="([\d.]+)pt"', tag).group(1)
    height = re.search(r'height="([\d.]+)pt"', tag).group(1)
    box = re.search(r'viewBox="([^"]*)"', tag).group(1)
    return float(width), float(height), [float(v) for v in box.split()]


def test_a_node_is_framed_by_its_shape_in_the_graph_coordinates():
    # ellipse 280..320 x -110..-90, translated by (4, 196)
    assert frame(crop_svg(SVG, ["n1"], 0)) == (40, 20, [284, 86, 40, 20])


def test_a_cluster_and_a_node_together_with_a_margin():
    # path 10..150 x -180..-20 and polygon 200..260 x -60..-30: 10..260 x -180..-20
    assert frame(crop_svg(SVG, ["cluster_left", "t0"], 5)) == (260, 170, [9, 11, 260, 170])


def test_a_node_drawn_as_text_alone_counts_its_anchor():
    assert frame(crop_svg(SVG, ["n2", "n1"], 0)) == (70, 60, [284, 46, 70, 60])


def test_only_the_frame_changes():
    cropped = crop_svg(SVG, ["t0"], 2)
    rest = re.compile(r"<svg\b[^>]*>")
    assert rest.sub("", cropped) == rest.sub("", SVG)


@pytest.mark.parametrize("names", [["cluster_left"], ["n1", "t0"], ["n2"]])
def test_cropping_again_gives_the_same_svg_no_wider(names):
    once = crop_svg(SVG, names, 4)
    assert crop_svg(once, names, 4) == once
    assert frame(once)[0] <= frame(SVG)[0]


def test_an_edge_title_is_not_a_name():
    with pytest.raises(ValueError, match="t0->n1"):
        crop_svg(SVG, ["t0->n1"])


def test_unknown_names_are_refused_by_name():
    with pytest.raises(ValueError, match="cluster_right, n9"):
        crop_svg(SVG, ["n1", "n9", "cluster_right"])


def test_no_names_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        crop_svg(SVG, [])


def test_an_svg_not_written_by_dot_is_refused():
    with pytest.raises(ValueError, match="not an SVG written by dot"):
        crop_svg(SVG.replace("translate(4 196)", "translate(4,196)"), ["n1"])
