"""A `dot` that never finishes, as every command meets it: refused after the timeout
in one line, with a non-zero exit and nothing at the output path (not even the part
dot had written, and an earlier file there left as it was).

The `dot` on PATH here is a script that writes half an output and then sleeps, so the
timeout (shortened for the test) is what ends it, whatever the machine's speed.
"""

import os

import pytest

import microgpt_trace.renderers.diagrams.render as render

from .runner import assert_one_line_error, invoke

SLEEPY_DOT = """#!/bin/sh
# half an output on stdout and into every -o file, then no end
printf '<?xml version="1.0"?><svg partial'
for arg in "$@"; do
  case "$arg" in -o*) printf 'partial' > "${arg#-o}" ;; esac
done
exec sleep 30
"""


@pytest.fixture
def sleepy_dot(tmp_path, monkeypatch):
    """PATH starts with a `dot` that sleeps; dot gets 0.5 s."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text(SLEEPY_DOT)
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(render, "DOT_TIMEOUT", 0.5)
    out = tmp_path / "out"
    out.mkdir()
    return out


@pytest.mark.parametrize("command", [
    ["expr", "a*b + a", "-o", "{out}/g.svg"],
    ["expr", "a*b + a", "-o", "{out}/g.png"],  # the pixel-size check runs dot first
    ["expr", "a*b + a", "-o", "{out}/g.pdf"],
    ["backward", "a*b + a", "-o", "{out}/b.html"],
    ["backward", "a*b + a", "-o", "{out}/b.gif"],
    ["backward", "a*b + a", "-o", "{out}/frames/"],
])
def test_a_dot_past_its_timeout_is_refused_and_writes_nothing(sleepy_dot, command):
    result = invoke(*(arg.format(out=sleepy_dot) for arg in command))
    assert_one_line_error(result, "dot did not finish its layout in 0.5 s: draw a smaller part")
    assert list(sleepy_dot.iterdir()) == []


def test_an_earlier_file_at_the_path_is_left_as_it_was(sleepy_dot):
    earlier = sleepy_dot / "g.svg"
    earlier.write_text("the earlier drawing")
    result = invoke("expr", "a*b + a", "-o", earlier)
    assert_one_line_error(result, "dot did not finish its layout in 0.5 s")
    assert earlier.read_text() == "the earlier drawing"
    assert [p.name for p in sleepy_dot.iterdir()] == ["g.svg"]
