"""Backward through a scope: one layout for every frame, starting from the grads the
outputs get from the whole loss, ending on the model's grads and the inputs' share."""

import xml.etree.ElementTree as ET

import pytest

from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.animation.svg import frame_svgs
from microgpt_trace.renderers.diagrams.values import node_names
from microgpt_trace.tracer.replay import backward_frames
from microgpt_trace.tracer.scope_view import scope_seeds, scope_view, seeded_from_the_loss
from microgpt_trace.tracer.text import number

from ...tracer.tiny_models import tiny_graph
from .test_storyboard import node_geometry, text_of

pytestmark = pytest.mark.exe


@pytest.fixture(scope="module", params=["pos3/layer0/mlp", "pos2/layer0/residual1",
                                        "pos3/softmax"])
def case(request):
    H = scope_view(tiny_graph("fused", "abca"), request.param)
    frames = seeded_from_the_loss(H, backward_frames(H, seeds=scope_seeds(H)))
    anim = animate(H, frames)
    return H, frames, anim, [ET.fromstring(svg.encode()) for svg in frame_svgs(anim)]


def test_one_layout_for_every_frame(case):
    H, frames, anim, roots = case
    geometry = [node_geometry(root) for root in roots]
    assert len(roots) == len(frames) > 8 and anim.cells
    for k, frame in enumerate(geometry[1:], 1):
        moved = [i for i in geometry[0] if frame.get(i) != geometry[0][i]]
        assert not moved and set(frame) == set(geometry[0]), (k, moved)
    assert len({(r.get("width"), r.get("height")) for r in roots}) == 1


def test_starts_from_the_whole_loss_and_ends_on_the_models_grads(case):
    H, frames, anim, roots = case
    assert "from the loss of the whole text" in frames[0].caption.splitlines()[0]
    names = node_names(H)
    for n in anim.cells:
        d = H.nodes[n]
        expected = d["from_here"] if d["role"] == "input" else d["grad"]
        assert text_of(roots[-1], f"gt_{names[n]}") == number(expected)
    for n in H.graph["roots"]:  # the seeds show from frame 0
        assert text_of(roots[0], f"gt_{names[n]}") == number(H.nodes[n]["seed"])


def test_every_sending_node_is_outlined(case):
    H, frames, anim, _ = case
    for frame in frames[1:]:
        assert all(anim.outlines.get(n) for n in frame.nodes)
