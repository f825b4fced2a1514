"""The stepper on a projector: at 1280×720 and 1920×1080, in every frame of a head
(node by node and by level) and of the whole model, the nodes sending their grad are
in view (or, too far apart, the first with as many as fit, and the page says how many
are not), the caption is visible, and no text is under 11 px."""

from functools import partial

import pytest

from microgpt_trace.renderers.animation.stepper import MIN_TEXT, stepper_html
from microgpt_trace.renderers.animation.storyboard import animate
from microgpt_trace.tracer.replay_views import replay_expression, replay_head, replay_model

pytestmark = [pytest.mark.exe, pytest.mark.browser, pytest.mark.slow]
VIEWPORTS = [(1280, 720), (1920, 1080)]

MEASURE = """k => {
  const s = document.getElementById('slider');
  s.value = k; s.dispatchEvent(new Event('input'));
  const box = e => { const b = e.getBoundingClientRect();
                     return [b.left, b.top, b.right, b.bottom]; };
  const figure = document.getElementById('figure'), f = figure.getBoundingClientRect();
  const caption = document.getElementById('caption'), c = caption.getBoundingClientRect();
  const svg = figure.querySelector('svg'), z = svg.getScreenCTM().a;
  const sizes = [...svg.querySelectorAll('text[font-size]')]
    .filter(t => t.textContent.trim()).map(t => parseFloat(t.getAttribute('font-size')) * z);
  const hit = document.elementFromPoint((c.left + c.right) / 2, (c.top + c.bottom) / 2);
  return {sending: [...document.querySelectorAll('.sending')].map(box),
          figure: [f.left, f.top, f.left + figure.clientWidth, f.top + figure.clientHeight],
          caption: box(caption), captionOnTop: caption.contains(hit),
          smallest: Math.min(...sizes), svgWidth: svg.getBoundingClientRect().width,
          viewBox: [svg.viewBox.baseVal.width, svg.viewBox.baseVal.height],
          counter: document.getElementById('counter').textContent,
          offview: document.getElementById('offview').textContent};
}"""


STEPPERS = {  # one head node by node, by level, the whole model, an expression
    "head": partial(replay_head, text="anna", pos=3, head=2),
    "head-levels": partial(replay_head, text="anna", pos=3, head=2, granularity="level"),
    "model": partial(replay_model, text="anna", depth=2),
    "abc": partial(replay_expression, expression="a*b+a"),
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("projector")
    out = {}
    for name, replay in STEPPERS.items():
        graph, frames = replay()
        (folder / f"{name}.html").write_text(stepper_html(animate(graph, frames)), "utf-8")
        out[name] = ((folder / f"{name}.html").as_uri(), len(frames))
    return out


def inside(box, frame, slack=1.0):
    return (box[0] >= frame[0] - slack and box[1] >= frame[1] - slack
            and box[2] <= frame[2] + slack and box[3] <= frame[3] + slack)


def union(boxes):
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]


def fits(box, frame):
    return box[2] - box[0] <= frame[2] - frame[0] and box[3] - box[1] <= frame[3] - frame[1]


@pytest.mark.parametrize("name", ["head", "head-levels", "model"])
@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_every_frame_is_readable_on_a_projector(browser, pages, name, width, height):
    uri, count = pages[name]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(uri)
    window = [0, 0, width, height]
    apart = 0
    for k in range(count):
        m = page.evaluate(MEASURE, k)
        assert m["counter"] == f"frame {k + 1} / {count}"
        assert inside(m["figure"], window) and m["sending"], k
        away = [box for box in m["sending"] if not inside(box, m["figure"])]
        if fits(union(m["sending"]), m["figure"]):  # all the nodes sending their grad
            assert away == [] and m["offview"] == "", (k, m)
        else:  # too far apart: the first, as many more as fit, and a note saying so
            apart += 1
            assert inside(m["sending"][0], m["figure"]), (k, m)
            assert 0 < len(away) < len(m["sending"]), (k, m)
            assert m["offview"] == (f"{len(away)} of {len(m['sending'])} sending nodes "
                                    "out of view: scroll"), (k, m)
        assert inside(m["caption"], window) and m["captionOnTop"], (k, m["caption"])
        assert m["smallest"] >= MIN_TEXT - 0.01, (k, m["smallest"])
    if name == "head-levels" and width == 1280:
        assert apart  # some levels spread over more than one view: that path is tested
    assert errors == []
    context.close()


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_a_small_graph_grows_to_the_figure(browser, pages, width, height):
    uri, count = pages["abc"]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(uri)
    m = page.evaluate(MEASURE, 0)
    assert m["counter"] == "frame 1 / 3"
    figure_w = m["figure"][2] - m["figure"][0]
    figure_h = m["figure"][3] - m["figure"][1]
    # as wide as the figure, or as tall, or 3x its natural size (whichever comes first)
    w, h = m["viewBox"]
    assert m["svgWidth"] >= 0.95 * min(figure_w - 16, (figure_h - 16) * w / h, 3 * 4 / 3 * w)
    assert m["svgWidth"] > 1.5 * 4 / 3 * w  # its natural size filled 40% of 1280 px
    assert inside(union(m["sending"]), m["figure"])
    context.close()
