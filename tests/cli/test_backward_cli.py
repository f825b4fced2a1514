"""`backward`: wiring of the three sources and three outputs, one-line errors, no debris."""

import pytest

from . import runner
from .runner import assert_one_line_error


def invoke(*args):
    return runner.invoke("backward", *args)


@pytest.mark.exe
@pytest.mark.parametrize("name, start_bytes", [("b.html", b"<!DOCTYPE html>"),
                                               ("b.gif", b"GIF89a")])
def test_expression_to_html_and_gif(tmp_path, name, start_bytes):
    result = invoke("a*b + a", "--set", "a=2", "--set", "b=3", "-o", tmp_path / name)
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).read_bytes().startswith(start_bytes)
    assert result.stderr == f"wrote {tmp_path / name} (3 frames)\n"


@pytest.mark.exe
def test_expression_to_a_folder_of_svg_frames(tmp_path):
    result = invoke("tanh(a*b)", "--granularity", "level", "--rankdir", "TB",
                    "-o", f"{tmp_path / 'frames'}/")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["frame-0000.svg", "frame-0001.svg", "frame-0002.svg"]


@pytest.mark.exe
def test_a_long_sum_to_gif(tmp_path):
    """34 terms once crashed the GIF (a shrunk grad cell turned inside out)."""
    result = invoke("+".join(["a*b"] * 34), "-o", tmp_path / "long.gif")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "long.gif").read_bytes()[:6] == b"GIF89a"


@pytest.mark.exe
def test_head_and_whole_model(tiny_checkpoint, tmp_path):
    result = invoke("--text", "anna", "--checkpoint", tiny_checkpoint, "--pos", "2",
                    "--head", "1", "--theme", "colorblind", "-o", tmp_path / "h.gif")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "h.gif").read_bytes()[:6] == b"GIF89a"
    result = invoke("--text", "ab", "--checkpoint", tiny_checkpoint, "--model", "--depth", "2",
                    "-o", tmp_path / "m.html")
    assert result.exit_code == 0, result.output
    assert "blocks at depth 2" in (tmp_path / "m.html").read_text()


@pytest.mark.parametrize("args, fragment, code", [
    (["a*b", "-o", "x.png"], "unsupported output 'x.png'", 1),
    (["a*(b", "-o", "x.html"], "'(' is never closed at column 3", 1),
    (["a*b", "--text", "ab", "-o", "x.html"], "either an EXPRESSION or --text", 2),
    (["--model", "-o", "x.html"], "either an EXPRESSION or --text", 2),
    (["a", "--model", "-o", "x.html"], "--model needs --text", 2),
    (["--text", "ab", "--model", "--granularity", "level", "-o", "x.html"],
     "--granularity is for expressions and heads", 2),
    (["x" + "*x" * 400, "-o", "x.gif"], "401 frames is too many for a GIF", 1),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, monkeypatch, args, fragment, code):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(invoke(*args), fragment, code=code)
    assert list(tmp_path.iterdir()) == []


def test_bad_head_leaves_no_folder(tiny_checkpoint, tmp_path):
    result = invoke("--text", "ab", "--checkpoint", tiny_checkpoint, "--head", "7",
                    "-o", f"{tmp_path / 'frames'}/")
    assert_one_line_error(result, "--head 7: the model has heads 0..1", code=1)
    assert list(tmp_path.iterdir()) == []


SUM_900 = "+".join(f"x{i}" for i in range(900))  # 1,799 nodes: under the layout cap


def test_svg_frames_past_the_budget_are_refused_before_any_layout(tmp_path, monkeypatch):
    """900 frames of the whole 1,799-node drawing would be about 5 GB of SVG."""
    import microgpt_trace.renderers.animation.write as write

    def no_animation(*args, **kwargs):
        raise AssertionError("animated a job over the budget")

    monkeypatch.setattr(write, "animate", no_animation)
    result = invoke(SUM_900, "-o", f"{tmp_path / 'frames'}/")
    assert_one_line_error(result, "900 SVG frames of a graph of layout size 1799 is 1619100 "
                          "node-frames, over the budget of 250000", "write an .html stepper",
                          code=1)
    assert list(tmp_path.iterdir()) == []

