"""Animations: one layout for every frame, what each frame shows, escaping, outputs."""

import re
import xml.etree.ElementTree as ET

import pytest

import microgpt_trace.renderers.animation.storyboard as animate_module
from microgpt_trace.microgpt.engine import Value
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.animation.svg import frame_svgs, write_svg_frames
from microgpt_trace.renderers.animation.write import animation_kind, write_animation
from microgpt_trace.renderers.diagrams.values import node_names
from microgpt_trace.renderers.exceptions import FormatError, GraphTooLargeError, RenderError
from microgpt_trace.tracer.block_frames import block_frames
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.replay import backward_frames
from microgpt_trace.tracer.text import number

from ...tracer.tiny_models import tiny_graph
from ..diagrams.diagram_graphs import tiny_head

pytestmark = pytest.mark.exe
SVG = "{http://www.w3.org/2000/svg}"


def head_replay():
    H = tiny_head()
    return H, backward_frames(H, seeds={r: H.nodes[r]["grad"] for r in H.graph["roots"]})


def cases():
    G = trace_expression("tanh(a*b + c) * a", {"a": 0.5, "b": -1.5, "c": 0.25})
    yield "expression", G, backward_frames(G)
    yield "head", *head_replay()
    yield "blocks", *block_frames(tiny_graph("fused", "ab"), 2)


@pytest.fixture(scope="module", params=["expression", "head", "blocks"])
def case(request):
    name, G, frames = next(c for c in cases() if c[0] == request.param)
    anim = animate(G, frames)
    return G, frames, anim, [ET.fromstring(svg.encode()) for svg in frame_svgs(anim)]


POSITION = ("points", "d", "cx", "cy", "rx", "ry", "x", "y", "transform")


def node_geometry(root):
    """Per node, by the id the DOT gave it: where each of its shapes and texts is."""
    out = {}
    for g in root.iter(SVG + "g"):
        if "node" in (g.get("class") or "").split():
            out[g.get("id")] = [(e.tag, e.get("id"), *(e.get(a) for a in POSITION))
                                for e in g.iter() if any(e.get(a) for a in POSITION)]
    return out


def test_every_node_sits_in_the_same_place_in_every_frame(case):
    G, frames, anim, roots = case
    geometry = [node_geometry(root) for root in roots]
    names = set(node_names(G).values())
    held = {n for n in anim.cells} | {n for n in anim.circles}
    assert held and sum(bool(shapes) for shapes in geometry[0].values()) >= len(G) // 3
    assert {node_names(G)[n] for n in anim.circles} <= set(geometry[0])
    assert set(geometry[0]) - names <= {i for i in geometry[0] if not i.startswith("n")}
    for k, frame in enumerate(geometry[1:], 1):
        moved = [i for i in geometry[0] if frame.get(i) != geometry[0][i]]
        assert not moved and set(frame) == set(geometry[0]), (k, moved)
    places = {root.find(SVG + "g").get("transform") for root in roots}
    assert len(places) == 1
    sizes = {(root.get("width"), root.get("height"), root.get("viewBox")) for root in roots}
    assert len(sizes) == 1 and len(roots) == len(frames)


def text_of(root, ident):
    element = root.find(f".//*[@id='{ident}']")
    return None if element is None else "".join(element.itertext())


def test_the_last_frame_shows_every_final_grad(case):
    G, frames, anim, roots = case
    names = node_names(G)
    final = {}
    for frame in frames:
        final.update(frame.grads)
    expected = ({n: f"grad norm {number(d['grad_norm'])}" for n, d in G.nodes(data=True)}
                if G.graph.get("view") == "blocks" else
                {n: number(final.get(n, 0.0)) for n in G})
    shown = {n: text_of(roots[-1], f"gt_{names[n]}") for n in anim.cells}
    assert shown and shown == {n: expected[n] for n in anim.cells}
    ticks = [roots[-1].find(f".//*[@id='gk_{names[n]}']").get("visibility") for n in anim.cells]
    assert set(ticks) == {"visible"}


def test_grads_are_blank_until_reached_and_grey_until_final():
    G = trace_expression("a*b + a")  # a: 1 from the sum, then 3 from a*b
    anim = animate(G, backward_frames(G))
    roots = [ET.fromstring(svg.encode()) for svg in frame_svgs(anim)]
    a = roots[1].find(".//*[@id='gt_n0']")
    assert [text_of(r, "gt_n0") for r in roots] == ["", "1", "4"]
    assert a.get("font-style") == "italic" and a.get("fill") == animate_module.PARTIAL_TEXT
    assert roots[2].find(".//*[@id='gt_n0']").get("font-style") == "normal"
    assert [text_of(r, "gt_n3") for r in roots] == ["1", "1", "1"]  # the seed


def test_marks_outline_the_sending_nodes_and_label_their_flows(case):
    G, frames, anim, roots = case
    names = node_names(G)
    for k, frame in enumerate(frames):
        sending = frame.nodes or tuple(n for n, _ in frame.grads)
        assert anim.active[k] == tuple(sending)
        boxes = [m for m in anim.marks[k] if m[0] != "label"]
        assert boxes == [m for n in sending for m in anim.outlines[n]]
        flows = [f for f in frame.flows if f"e_{names[f.child]}_{names[f.parent]}_"
                 f"{getattr(f, 'arg', 0)}" in anim.edges]
        labels = [m[3] for m in anim.marks[k] if m[0] == "label"]
        leaving = [f for f in flows if f.child not in sending]
        assert labels == [number(f.contribution) for f in leaving][:animate_module.MAX_LABELS]
        strokes = {g.get("id"): g.get("stroke") for g in roots[k].iter(SVG + "g")
                   if (g.get("id") or "").startswith("e_")}
        hot = {i for i, colour in strokes.items() if colour == anim.accent}
        assert hot == set(anim.flowing[k])


def test_every_processed_node_has_an_outline(case):
    G, frames, anim, _ = case
    for frame in frames[1:]:
        assert all(anim.outlines.get(n) for n in frame.nodes)


def test_labels_are_text_never_markup():
    hostile = ['<script>alert("x")</script>', "a&b", "it's \"quoted\"", "</svg>"]
    values = [Value(1.5 + i, label=label) for i, label in enumerate(hostile)]
    root = values[0] * values[1] + values[2] * values[3]
    root.label = "<b>root</b>"
    root.backward()
    G = trace(root, source="<i>source</i>")
    anim = animate(G, backward_frames(G))
    for svg in frame_svgs(anim):
        tree = ET.fromstring(svg.encode())
        assert {e.tag for e in tree.iter()} <= {SVG + t for t in (
            "svg", "g", "title", "polygon", "path", "ellipse", "text", "tspan", "rect", "line")}
        texts = "".join(tree.itertext())
        assert '<script>alert("x")</script>' in texts and "<b>root</b>" in texts
    assert anim.captions[1].startswith("backward through <b>root</b> (+)")


def test_write_svg_frames_all_or_nothing(tmp_path, monkeypatch):
    G = trace_expression("a*b + a")
    anim = animate(G, backward_frames(G))
    out = tmp_path / "frames"
    paths = write_svg_frames(anim, out)
    assert [p.name for p in paths] == ["frame-0000.svg", "frame-0001.svg", "frame-0002.svg"]
    assert write_svg_frames(anim, str(out) + "/") == paths  # frames are replaced
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(RenderError, match="is not a folder of frames"):
        write_svg_frames(anim, other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]

    calls = []

    def failing_write(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return original(self, *args, **kwargs)

    original = type(out).write_bytes
    monkeypatch.setattr(type(out), "write_bytes", failing_write)
    with pytest.raises(RenderError, match="No space left"):
        write_svg_frames(anim, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "other"]


@pytest.mark.parametrize("path, kind", [("a.html", "html"), ("a.HTM", "html"),
                                        ("x/a.gif", "gif"), ("out/", "frames")])
def test_animation_kind(path, kind):
    assert animation_kind(path) == kind


def test_animation_kind_of_an_existing_folder(tmp_path):
    assert animation_kind(tmp_path) == "frames"
    for bad in ("a.svg", "frames", "a.png"):
        with pytest.raises(FormatError, match=re.escape(repr(bad))):
            animation_kind(bad)


def test_too_large_to_lay_out():
    G = trace_expression("a*b + a")
    with pytest.raises(GraphTooLargeError, match="graph of 4 nodes .* over the cap of 3"):
        animate(G, backward_frames(G), max_nodes=3)


def test_write_animation_html_and_gif(tmp_path):
    G = trace_expression("a*a")
    frames = backward_frames(G)
    assert write_animation(G, frames, tmp_path / "a.html") == "html"
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")
    assert write_animation(G, frames, tmp_path / "a.gif", theme="colorblind") == "gif"
    assert (tmp_path / "a.gif").read_bytes()[:6] == b"GIF89a"


def test_the_frames_do_not_depend_on_how_dot_formats_its_svg(monkeypatch):
    """One line, another namespace prefix, another transform: the same template."""
    G = trace_expression("a*b + a")
    normal = animate(G, backward_frames(G))
    real = animate_module.render_formats

    def reformatted(dot, formats):
        layout, svg = real(dot, formats)
        root = ET.fromstring(svg)
        for element in root.iter():
            element.tail = None
            if element.get("transform"):
                element.set("transform", "matrix(1 0 0 1 0 0)")
        return layout, ET.tostring(root)

    monkeypatch.setattr(animate_module, "render_formats", reformatted)
    odd = animate(G, backward_frames(G))
    assert (odd.cells, odd.circles, odd.edges, odd.outlines, odd.size) == (
        normal.cells, normal.circles, normal.edges, normal.outlines, normal.size)
    assert odd.values == normal.values and odd.slots == normal.slots
    assert squashed(odd.parts) == squashed(normal.parts)


def squashed(parts):
    return "".join(p for p in parts if isinstance(p, str)).replace("\n", "")


def test_a_head_s_legend_names_which_grad_each_column_builds():
    anim = animate(*head_replay())
    assert anim.legend.endswith("· q, k, v: 'from here' builds up this position's share of "
                                "their grad, 'grad' is the whole text's")
