"""Flow labels cover no node: in every frame, each label's box (as the SVG frames, the
stepper and the GIF draw it) is clear of every node's outline, every node's whole box
(a table's title and column heads too) and of the other labels."""

import pytest

from microgpt_trace.renderers.animation.storyboard import animate, label_box, mark_box, mark_scale
from microgpt_trace.tracer.block_frames import block_frames
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.replay import backward_frames
from microgpt_trace.tracer.replay_views import replay_head

from ...tracer.tiny_models import tiny_graph
from ..diagrams.diagram_graphs import tiny_head

pytestmark = pytest.mark.exe


def overlap(p, q):
    return p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]


def cases():
    G = trace_expression("tanh(a*b + c) * a + a*b", {"a": 0.5, "b": -1.5, "c": 0.25})
    yield "expression", G, backward_frames(G)
    H = tiny_head()
    yield "tiny head", H, backward_frames(H, seeds={r: H.nodes[r]["grad"]
                                                    for r in H.graph["roots"]})
    yield "blocks", *block_frames(tiny_graph("fused", "ab"), 2)
    # the head stepper of the README, whose labels once covered q[8]'s grad
    yield "head", *replay_head(text="anna", pos=3, head=2)


@pytest.mark.parametrize("name", ["expression", "tiny head", "blocks", "head"])
def test_no_label_covers_a_node_or_another_label(name):
    _, G, frames = next(c for c in cases() if c[0] == name)
    anim = animate(G, frames)
    nodes = {n: [mark_box(m) for m in marks] for n, marks in anim.outlines.items()}
    # a table's title and column heads too, not only its rows
    nodes.update({("whole node", i): [box] for i, box in enumerate(anim.boxes)})
    assert anim.boxes
    scale = mark_scale(anim)
    labelled = 0
    for k, marks in enumerate(anim.marks):
        boxes = [label_box(x, y, text, scale) for kind, x, y, text in
                 (m for m in marks if m[0] == "label")]
        labelled += len(boxes)
        for i, box in enumerate(boxes):
            covered = [n for n, shapes in nodes.items() if any(overlap(box, s) for s in shapes)]
            assert covered == [], (k, marks, covered)
            assert not any(overlap(box, other) for other in boxes[:i]), (k, marks)
    assert labelled >= len(frames) // 2


def test_the_label_box_holds_the_text_the_gif_draws():
    from microgpt_trace.renderers.animation.gif import font

    for scale in (1.0, 1.5):
        face = font("bold", 10 * scale * 4)  # measured large, then scaled back
        for text in ("-0.0002354", "1", "0.5", "-12.75", "4e-07"):
            x0, y0, x1, y1 = face.getbbox(text, anchor="ms")
            box = label_box(0.0, 3 * scale, text, scale)  # baseline at 0
            assert box[0] <= x0 / 4 and x1 / 4 <= box[2], (text, scale, box, x1 / 4)
            assert box[1] <= y0 / 4 and y1 / 4 <= box[3], (text, scale, box, y0 / 4)
