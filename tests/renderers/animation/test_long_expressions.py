"""Long expressions animate to every output, or are refused with one RenderError.

A 34-term sum once crashed the GIF: shrunk to fit 1800 pixels (now 1200), a grad cell was under
two pixels tall and its inset rectangle turned inside out.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgpt_trace.renderers.animation.write import write_animation
from microgpt_trace.renderers.exceptions import RenderError
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.replay import backward_frames

pytestmark = pytest.mark.exe

VARIABLES = [f"v{i}" for i in range(12)]
atom = st.one_of(st.sampled_from(VARIABLES), st.sampled_from(["2", "0.5", "3"]))
factor = st.one_of(atom, atom.map(lambda a: f"tanh({a})"))
term = st.lists(factor, min_size=1, max_size=2).map("*".join)


@st.composite
def expressions(draw, max_terms=60):
    """Sums and differences of up to max_terms products; every one has a variable."""
    count = draw(st.integers(1, max_terms))
    terms = draw(st.lists(term, min_size=count, max_size=count))
    signs = draw(st.lists(st.sampled_from("+-"), min_size=len(terms), max_size=len(terms)))
    text = "".join(f" {sign} {t}" for sign, t in zip(signs, terms))
    return "v0 +" + text


def animate_all(text, folder):
    G = trace_expression(text)
    frames = backward_frames(G)
    for output in ("a.html", "a.gif", "frames/"):
        try:
            write_animation(G, frames, str(folder / output))
        except RenderError as e:  # refused up front, on one line
            assert "\n" not in str(e) and str(e)


@pytest.mark.parametrize("text", ["+".join(["a*b"] * 34), "+".join(f"a{i}" for i in range(40))])
def test_the_reported_crashes(tmp_path, text):
    G = trace_expression(text)
    assert write_animation(G, backward_frames(G), tmp_path / "x.gif") == "gif"


@pytest.mark.slow
@settings(max_examples=6, deadline=None)
@given(expressions())
def test_long_expressions_animate_or_are_refused(tmp_path_factory, text):
    animate_all(text, tmp_path_factory.mktemp("long"))
