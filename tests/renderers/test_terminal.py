import pytest

from microgpt_trace.microgpt.engine import Value
from microgpt_trace.renderers.terminal import (
    frame_text,
    frames_text,
    printable,
    step_through,
    width,
)
from microgpt_trace.tracer.replay import backward_frames

from ..tracer.tiny_models import traced, worked_example


@pytest.fixture
def worked():
    G = worked_example()
    return G, backward_frames(G)


def test_plain_frame_text(worked):
    G, frames = worked
    assert frame_text(G, frames, 1, color=False) == "\n".join([
        "frame 2 / 3   ▶ sends its grad   ✓ grad is final",
        "backward through d (+), grad 1:",
        "  c.grad += 1 × 1 → 1",
        "  a.grad += 1 × 1 → 1",
        "",
        "   node  op     data  grad",
        " ▶ d     +         8  1",
        " ✓ c     *         6  0 → 1",
        "   a     input     2  0 → 1",
    ])
    assert frame_text(G, frames, 2, color=False).splitlines()[-2:] == [
        " ✓ a     input     2  1 → 4", " ✓ b     input     3  0 → 2"]


def test_seed_frame_shows_the_root_getting_grad_1(worked):
    G, frames = worked
    assert frame_text(G, frames, 0, color=False).splitlines()[1:] == [
        "seed: d.grad = 1", "", "   node  op  data  grad", " ✓ d     +      8  0 → 1"]


def test_colour_highlights_the_processed_node_and_none_means_no_escapes(worked):
    G, frames = worked
    coloured = frame_text(G, frames, 1, color=True)
    assert "\x1b[1;33m ▶ d " in coloured and "\x1b[32m✓\x1b[0m c " in coloured
    assert "\x1b" not in frames_text(G, frames, color=False)


def test_frames_text_is_every_frame_separated_by_blank_lines(worked):
    G, frames = worked
    text = frames_text(G, frames, color=False)
    assert text == "\n\n".join(frame_text(G, frames, k, color=False) for k in range(3))
    assert [line[:11] for line in text.splitlines() if line.startswith("frame ")] == [
        "frame 1 / 3", "frame 2 / 3", "frame 3 / 3"]


@pytest.mark.parametrize("label, shown", [
    ("\x1b[31mred", "\\x1b[31mred"),  # ANSI escape: shown, not obeyed
    ("a\nb\r", "a\\nb\\r"),  # a newline cannot fake another row
    ("\u202eevil", "\\u202eevil"),  # bidi override
    ("\x9b31m", "\\x9b31m"),  # the 8-bit CSI
    ('<b>&"q\'', '<b>&"q\''),  # markup characters are just text here
])
def test_labels_cannot_drive_the_terminal(label, shown):
    x = Value(2.0, label=label)
    G = traced(x * x)
    for color in (False, True):
        text = frames_text(G, backward_frames(G), color)
        assert shown in text and label not in text.replace(shown, "")
    assert "\x1b" not in frames_text(G, backward_frames(G), color=False)


def test_printable_keeps_ordinary_unicode():
    assert printable("名前 ü → ×") == "名前 ü → ×"


def test_wide_names_stay_aligned():
    a, b = Value(2.0, label="名前"), Value(3.0, label="ab")
    G = traced(a * b)
    rows = frame_text(G, backward_frames(G), 1, color=False).splitlines()[-2:]
    assert [width(row) for row in rows] == [width(rows[0])] * 2
    assert rows[0].index(" input ") + 2 == rows[1].index(" input ")  # 名前 is 4 cells


def test_long_names_are_cut_and_big_frames_are_summarised():
    xs = [Value(float(i), label=f"x{i}") for i in range(30)]
    long = Value(1.0, label="y" * 50)
    G = traced(Value(0.0, (long, *xs), (1,) * 31, "sum"))
    text = frame_text(G, backward_frames(G), 1, color=False)
    lines = text.splitlines()
    assert "y" * 31 + "… " in text and "y" * 32 not in text.replace(long.label, "")
    assert lines[-1] == "   … and 8 more nodes"  # 1 sender + 31 inputs, 24 rows shown


def test_level_frame_with_a_node_still_accumulating():
    a = Value(0.7, label="x")
    G = traced((a * 2.0 + 1.0).tanh() * a)
    frames = backward_frames(G, "level")
    text = frame_text(G, frames, 1, color=False)
    row = next(line for line in text.splitlines() if "input" in line)
    assert row.startswith("   x ")  # no ✓: x still waits for its other parent


def shown_frames(screens):
    """The index of the frame on each screen (screens count frames from 1)."""
    return [int(screen.split()[1]) - 1 for screen in screens]


@pytest.mark.parametrize("keys, shown, end", [
    ([], [0], 0),  # no keys (EOF): frame 0 only
    (["n", "\r", " "], [0, 1, 2], 2),  # Enter on the last frame ends it
    (["n", "n", "n", "n"], [0, 1, 2], 2),
    (["", "p", "p", "\x1b[C", "\x1b[D"], [0, 1, 0, 0, 1, 0], 0),
    (["x", "?", "n", "q", "n"], [0, 1], 1),  # unknown keys are ignored; q quits
])
def test_step_through_moves_with_the_keys(worked, keys, shown, end):
    G, frames = worked
    screens = []
    assert step_through(G, frames, iter(keys), screens.append, color=False) == end
    assert shown_frames(screens) == shown


def test_step_through_shows_the_key_hint(worked):
    G, frames = worked
    screens = []
    step_through(G, frames, ["n", "n"], screens.append, color=False)
    assert screens[0].endswith("\n\n[Enter/n next · p back · q quit]")
    assert screens[-1].endswith("\n\n[Enter/q quit · p back]")
    assert screens[-1].startswith(frame_text(G, frames, 2, color=False))
