"""In a notebook: a Stepper displays as the animation's stepper, isolated in an iframe, and a
diagram (microgpt_trace.renderers.diagrams.source.to_dot) displays as SVG."""

import pytest

from microgpt_trace.renderers.animation.stepper import Stepper
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.diagrams.source import to_dot
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.replay import backward_frames

pytestmark = pytest.mark.exe


def animation(expression):
    G = trace_expression(expression)
    return Stepper(animate(G, backward_frames(G)))


def counter(frame):
    return frame.locator("#counter").inner_text()


@pytest.mark.browser
def test_two_steppers_in_one_page_move_on_their_own(page, tmp_path):
    first, second = animation("a*b+a"), animation("(a+b)*exp(a)")
    notebook = tmp_path / "notebook.html"
    notebook.write_text("<!DOCTYPE html><meta charset='utf-8'><body>"
                        f"<div>{first._repr_html_()}</div><div>{second._repr_html_()}</div>",
                        encoding="utf-8")
    page.goto(notebook.as_uri())
    one, two = page.frame_locator("iframe").nth(0), page.frame_locator("iframe").nth(1)
    n1, n2 = len(first.anim.values), len(second.anim.values)
    assert (counter(one), counter(two)) == (f"frame 1 / {n1}", f"frame 1 / {n2}")
    one.locator("#next").click()
    assert (counter(one), counter(two)) == (f"frame 2 / {n1}", f"frame 1 / {n2}")
    two.locator("#figure").click()  # the focus moves into the second stepper
    page.keyboard.press("End")
    assert (counter(one), counter(two)) == (f"frame 2 / {n1}", f"frame {n2} / {n2}")
    one.locator("#figure").click()
    page.keyboard.press("Home")
    assert (counter(one), counter(two)) == (f"frame 1 / {n1}", f"frame {n2} / {n2}")
    assert page.errors == []


def test_the_stepper_cell_is_one_sandboxed_iframe():
    cell = animation("a*b+a")._repr_html_()
    assert cell.startswith('<iframe sandbox="allow-scripts"') and cell.endswith("</iframe>")
    assert cell.count("<") == 2  # the page is all inside srcdoc, escaped


def test_a_diagram_displays_as_svg():
    bundle = to_dot(trace_expression("a*b+a"))._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))
