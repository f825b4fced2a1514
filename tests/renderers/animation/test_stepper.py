"""The HTML stepper: self-contained, escaped, and working in headless Chromium."""

import json
import re
from importlib.resources import files

import pytest

from microgpt_trace.microgpt.engine import Value
from microgpt_trace.renderers.animation.stepper import stepper_html
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.renderers.assets import asset
from microgpt_trace.renderers.diagrams.values import node_names
from microgpt_trace.tracer.expression.evaluate import trace_expression
from microgpt_trace.tracer.graph import trace
from microgpt_trace.tracer.replay import backward_frames
from microgpt_trace.tracer.text import number

from ..diagrams.diagram_graphs import tiny_head

pytestmark = pytest.mark.exe
HOSTILE = '</script><script>window.pwned = 1</script><!--'


def hostile_graph():
    a, b = Value(2.0, label=HOSTILE), Value(-3.0, label="a&b \"q\" 'q'")
    root = a * b + a
    root.label = "<img src=x onerror=window.pwned=2>"
    root.backward()
    return trace(root, source="<b>bold</b> & co")


def frames_data(page_text):
    raw = re.search(r'<script id="frames" type="application/json">(.*?)</script>', page_text,
                    re.S).group(1)
    return json.loads(raw)


def test_one_file_no_network_text_escaped():
    G = hostile_graph()
    page = stepper_html(animate(G, backward_frames(G)))
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "https://" not in page and "<img" not in page and HOSTILE not in page
    assert "<title>backward · &lt;b&gt;bold&lt;/b&gt; &amp; co</title>" in page
    data = frames_data(page)
    assert any(HOSTILE in frame["caption"] for frame in data["frames"])
    # the seed, then a*b + a, then a*b
    assert [f["nodes"] for f in data["frames"]] == [["3"], ["3"], ["2"]]


def test_frame_data_replays_the_values(tmp_path):
    G = trace_expression("a*b + a")
    anim = animate(G, backward_frames(G))
    data = frames_data(stepper_html(anim))
    values = list(data["initial"])
    for k, frame in enumerate(data["frames"]):
        for slot, value in frame["changes"]:
            values[slot] = value
        assert values == anim.values[k]


def test_the_page_is_the_package_files_filled_in():
    """The script, stylesheet and page come from assets/, whole, and a "$" in a label
    is text, not a slot."""
    assets = files("microgpt_trace.renderers.animation").joinpath("assets")
    js, css, template = (assets.joinpath(f"stepper.{ext}").read_text(encoding="utf-8")
                         for ext in ("js", "css", "html"))
    G = trace_expression("a*b + a")
    G.graph["source"] = "$title ${css}"
    anim = animate(G, backward_frames(G))
    page = stepper_html(anim)
    assert f"<style>\n{css}</style>" in page and f"<script>\n{js}</script>" in page
    slots = re.sub(r"\\\$\w+", "(?s:.*?)", re.escape(template))
    assert re.fullmatch(slots, page)
    assert "<title>backward · $title ${css}</title>" in page
    misses = asset.cache_info().misses
    stepper_html(anim)
    assert asset.cache_info().misses == misses  # read once, not per page


@pytest.fixture
def opened(page, tmp_path):
    """The stepper of the tiny head, opened from file:// in Chromium."""
    H = tiny_head()
    frames = backward_frames(H, seeds={r: H.nodes[r]["grad"] for r in H.graph["roots"]})
    path = tmp_path / "head.html"
    path.write_text(stepper_html(animate(H, frames), interval_ms=20), encoding="utf-8")
    page.goto(path.as_uri())
    return page, H, frames


def state(page):
    return (page.inner_text("#counter"), page.inner_text("#caption"),
            page.get_attribute("#marks", "data-nodes"))


@pytest.mark.browser
def test_steps_with_buttons_keys_and_slider(opened, tmp_path):
    page, H, frames = opened
    last = len(frames) - 1
    assert state(page) == (f"frame 1 / {last + 1}", frames[0].caption,
                           " ".join(str(n) for n, _ in frames[0].grads))
    page.click("#next")
    assert state(page) == (f"frame 2 / {last + 1}", frames[1].caption, str(frames[1].nodes[0]))
    page.keyboard.press("ArrowRight")
    assert state(page)[0] == f"frame 3 / {last + 1}"
    page.click("#prev")
    assert state(page) == (f"frame 2 / {last + 1}", frames[1].caption, str(frames[1].nodes[0]))
    middle = last // 2
    page.eval_on_selector("#slider", "(s, k) => { s.value = k; s.dispatchEvent("
                          "new Event('input')); }", middle)
    assert state(page) == (f"frame {middle + 1} / {last + 1}", frames[middle].caption,
                           " ".join(str(n) for n in frames[middle].nodes))
    assert page.locator("#marks rect, #marks ellipse").count() >= 1
    page.screenshot(path=tmp_path / "middle.png", full_page=True)
    assert (tmp_path / "middle.png").stat().st_size > 10_000
    page.keyboard.press("Home")
    assert state(page)[0] == f"frame 1 / {last + 1}"
    page.keyboard.press("End")
    assert state(page)[0] == f"frame {last + 1} / {last + 1}"
    assert page.errors == []


@pytest.mark.browser
def test_the_last_frame_shows_the_engines_grads(opened):
    page, H, frames = opened
    page.keyboard.press("End")
    names = node_names(H)
    shown = page.eval_on_selector_all(
        "[id^=gt_]", "els => Object.fromEntries(els.map(e => [e.id, e.textContent]))")
    inside = [n for n, d in H.nodes(data=True) if d["role"] not in ("k", "v")]
    assert len(shown) == sum(1 for n in H if f"gt_{names[n]}" in shown) >= len(inside) // 2
    for n in inside:
        if f"gt_{names[n]}" in shown:
            assert shown[f"gt_{names[n]}"] == number(H.nodes[n]["grad"])
    assert page.errors == []


@pytest.mark.browser
def test_play_runs_to_the_end_and_back_steps_from_the_start(opened):
    page, H, frames = opened
    page.click("#play")
    page.wait_for_function("document.getElementById('counter').textContent"
                           f" === 'frame {len(frames)} / {len(frames)}'")
    assert page.inner_text("#play").endswith("play")
    page.keyboard.press("ArrowLeft")
    assert state(page)[1] == frames[-2].caption
    page.keyboard.press("Home")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press(" ")  # space plays too
    page.wait_for_function("document.getElementById('counter').textContent"
                           f" === 'frame {len(frames)} / {len(frames)}'")
    assert page.errors == []


@pytest.mark.browser
def test_hostile_labels_stay_text_in_the_browser(page, tmp_path):
    G = hostile_graph()
    path = tmp_path / "x.html"
    path.write_text(stepper_html(animate(G, backward_frames(G))), encoding="utf-8")
    page.goto(path.as_uri())
    page.keyboard.press("End")
    assert HOSTILE in page.inner_text("#caption")
    assert page.evaluate("window.pwned") is None
    assert page.errors == []
