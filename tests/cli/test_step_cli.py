from click.testing import CliRunner

from microgpt_trace import api
from microgpt_trace.cli import cli
from microgpt_trace.renderers.terminal import frames_text
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.replay import backward_frames


def run(*args, input=None):
    return CliRunner().invoke(cli, ["step", *args], input=input)


def test_piped_prints_every_frame_without_colour():
    result = run("a*b + a", "--set", "a=2", "--set", "b=3")
    assert result.exit_code == 0, result.output
    graph = trace_expression("a*b + a", {"a": 2.0, "b": 3.0})
    assert result.output == frames_text(graph, backward_frames(graph), color=False) + "\n"
    assert "  a.grad += 3 × 1 → 4" in result.output and "\x1b" not in result.output


def test_level_granularity():
    result = run("tanh(2*x - 1)/x", "--granularity", "level", "--no-color")
    assert result.exit_code == 0, result.output
    assert "level 0: backward through" in result.output


def test_interactive_when_stdin_and_stdout_are_terminals(monkeypatch):
    monkeypatch.setattr(api, "is_terminal", lambda stream: True)
    result = run("a*a", "--set", "a=3", "--no-color", input="npnq")  # CliRunner's getchar
    assert result.exit_code == 0, result.output
    headers = [line[:11] for line in result.output.splitlines() if line.startswith("frame")]
    assert headers == ["frame 1 / 2", "frame 2 / 2", "frame 1 / 2", "frame 2 / 2"]
    assert "[Enter/q quit · p back]" in result.output and "\x1b" not in result.output


def test_colour_is_on_for_a_terminal_unless_no_color(monkeypatch):
    monkeypatch.setattr(api, "is_terminal", lambda stream: stream == "stdout")
    assert "\x1b[1m" in run("a*a").output
    assert "\x1b" not in run("a*a", "--no-color").output


def test_user_errors_are_one_line():
    for args in (["a*(b"], ["a*b", "--set", "c=1"], ["log(a - 2)"]):
        result = run(*args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.output.startswith("Error: ")
    assert run("a", "--granularity", "scope").exit_code == 2


def test_help():
    result = run("--help")
    assert result.exit_code == 0 and "Enter or n" in result.output
