"""The GIF: one frame per replay frame, sensible durations, exact colours, the cap."""

import io

import pytest
from PIL import Image

from microgpt_trace.microgpt.engine import Value
from microgpt_trace.renderers.animation.gif import MAX_FRAMES, Painter, gif_bytes
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.animation.svg import caption_band
from microgpt_trace.renderers.exceptions import TooManyFramesError
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.replay import backward_frames

pytestmark = pytest.mark.exe


@pytest.fixture(scope="module")
def worked():
    G = trace_expression("a*b + a")
    anim = animate(G, backward_frames(G))
    return anim, Image.open(io.BytesIO(gif_bytes(anim)))


def frames_of(gif):
    out = []
    for k in range(gif.n_frames):
        gif.seek(k)
        out.append((gif.convert("RGB"), gif.info["duration"]))
    return out


def test_one_gif_frame_per_replay_frame_with_durations(worked):
    anim, gif = worked
    frames = frames_of(gif)
    assert len(frames) == len(anim.values) == 3
    assert [d for _, d in frames] == [1500, 800, 3000]
    assert gif.info.get("loop") == 0
    painter = Painter(anim, Image.new("RGB", (1, 1)))
    assert frames[0][0].size == painter.canvas.size


def rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_cells_take_their_exact_colours(worked):
    anim, gif = worked
    frames = frames_of(gif)
    scale = min(2.0, 1200 / caption_band(anim).width)
    for k, (image, _) in enumerate(frames):
        for node, cell in anim.cells.items():
            x0, y0, x1, y1 = (v * scale for v in cell.rect)
            fill = anim.values[k][cell.slots[0]]
            # a spot inside the cell, clear of the tick (left) and the number (right)
            spot = (round(x0 + 0.3 * (x1 - x0)), round(y0 + 3))
            assert image.getpixel(spot) == rgb(fill), (k, node)


def test_the_accent_marks_the_sending_node(worked):
    anim, gif = worked
    image = frames_of(gif)[1][0]
    accent = rgb(anim.accent)
    counts = {colour: n for n, colour in image.getcolors(1 << 24)}
    assert counts[accent] > 100
    assert anim.active[1] == (3,)


def test_too_many_frames_names_the_ways_out():
    G = trace_expression("a*b + a")
    anim = animate(G, backward_frames(G))
    message = (r"3 frames is too many for a GIF \(at most 2\).*--granularity scope or level"
               r".*--model --depth 1")
    with pytest.raises(TooManyFramesError, match=message):
        gif_bytes(anim, max_frames=2)
    assert MAX_FRAMES == 400


def test_hostile_and_cjk_labels_draw():
    a, b = Value(2.0, label="<script>&\"'"), Value(3.0, label="アンナ")
    root = a * b
    root.label = "</svg>"
    root.backward()
    G = trace(root)
    anim = animate(G, backward_frames(G))
    assert "アンナ.grad" in anim.captions[1]
    gif = Image.open(io.BytesIO(gif_bytes(anim)))
    assert gif.n_frames == 2
