"""A folder of SVG frames: a budget on frames x layout size (each frame repeats the
whole drawing), and frames made one at a time as they are written."""

import pytest

from microgpt_trace.renderers.animation import svg
from microgpt_trace.renderers.animation.svg import MAX_FRAME_NODES, check_frames_budget
from microgpt_trace.renderers.exceptions import TooManyFramesError


def test_the_budget_is_frames_times_layout_size():
    assert MAX_FRAME_NODES == 250_000
    check_frames_budget(250, 1000)
    with pytest.raises(TooManyFramesError, match=r"^251 SVG frames of a graph of layout size "
                                                 r"1000 is 251000 node-frames, over the budget"):
        check_frames_budget(251, 1000)


@pytest.mark.exe
def test_frames_are_made_as_they_are_written(tmp_path, monkeypatch):
    from microgpt_trace.renderers.animation.storyboard import animate
    from microgpt_trace.tracer.expression.evaluate import trace_expression
    from microgpt_trace.tracer.replay import backward_frames

    G = trace_expression("a*b + a")
    anim = animate(G, backward_frames(G))
    made = []
    real = svg.each_frame_svg

    def counted(anim):
        for frame in real(anim):
            made.append(len(list(tmp_path.glob(".frames.*/frame-*.svg"))))  # written so far
            yield frame

    monkeypatch.setattr(svg, "each_frame_svg", counted)
    paths = svg.write_svg_frames(anim, tmp_path / "frames")
    assert made == [0, 1, 2] and [p.name for p in paths] == [
        "frame-0000.svg", "frame-0001.svg", "frame-0002.svg"]
    assert [p.read_text() for p in paths] == svg.frame_svgs(anim)
