"""The explorer of 'anna' on the shipped checkpoint, as `explore --text anna` writes it:
the views the issue names open, read at 11 px on 1280x720, and say how long they took
(printed: tests check correctness, not time; run with -s to see the numbers)."""

import pytest

from microgpt_trace.renderers.explorer.page import explorer_page
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text

from .test_explorer_browser import PROJECTOR, opened

pytestmark = [pytest.mark.browser, pytest.mark.exe, pytest.mark.slow]

VIEWS = ["", "pos3/layer0/mlp", "pos3/layer0/attn/head2", "pos3/layer0/attn", "pos3",
         "pos4/softmax", "loss"]


@pytest.fixture(scope="module")
def anna(tmp_path_factory):
    path = tmp_path_factory.mktemp("anna") / "explore.html"
    page = explorer_page(trace_checkpoint_text(text="anna", checkpoint=None, engine="fused"))
    path.write_text(page, encoding="utf-8")
    return path


def test_the_named_views_open_readable(page, anna):
    page.set_viewport_size(PROJECTOR)
    page.goto(anna.as_uri())
    opened(page, "", 1)
    kinds = {}
    for count, scope in enumerate(VIEWS[1:], start=2):
        page.evaluate(f"location.hash = '#{scope}'")
        opened(page, scope, count)
        kinds[scope] = page.get_attribute("#view", "data-kind")
    assert kinds == {"pos3/layer0/mlp": "scope", "pos3/layer0/attn/head2": "scope",
                     "pos3/layer0/attn": "blocks", "pos3": "blocks", "pos4/softmax": "scope",
                     "loss": "scope"}
    timings = page.evaluate("window.explorerTimings")
    assert [t["scope"] for t in timings] == VIEWS and all(t["ms"] > 0 for t in timings)
    print("open times (ms):", {t["scope"] or "(root)": round(t["ms"]) for t in timings})
    assert page.errors == []
