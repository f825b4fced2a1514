"""The live page in Chromium against real runs: it follows, pauses, stops, shows a
finished log, works in two tabs and says when the server is gone."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from .test_live import EXECUTABLE, live_training, tiny_data, tiny_log, wait_for  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 20_000  # ms, for anything the page must show


@pytest.fixture(autouse=True)
def installed():
    if not EXECUTABLE.exists():
        pytest.skip("package not installed (pip install -e .)")


def shown_step(page):
    match = re.match(r"step (\d+) / (\d+)", page.inner_text("#step"))
    return (int(match[1]), int(match[2])) if match else (0, 0)


def loss_points(page):
    return page.evaluate("""() => {
        const lines = document.querySelectorAll('#loss polyline');
        return lines.length ? lines[0].getAttribute('points').split(' ').length : 0; }""")


def test_a_live_run_pause_a_second_tab_and_stop(tmp_path, tiny_data, browser, page):  # noqa: F811
    args = ["--steps", "100000", "--snapshot-every", "40", "--log", "run.jsonl", "-o", "ck.json"]
    with live_training(tmp_path, tiny_data, *args) as (process, url):
        page.goto(url)
        page.wait_for_function("() => /^step [1-9]/.test(document.getElementById('step')"
                               ".textContent)", timeout=WAIT)
        first, total = shown_step(page)
        points = loss_points(page)
        assert total == 100000
        wait_for(lambda: shown_step(page)[0] > first and loss_points(page) > points)
        page.wait_for_selector("#attention canvas", timeout=WAIT)  # a snapshot was drawn
        # while the run goes on, the embeddings sit on the newest snapshot's axes, and say so
        assert "the newest snapshot (re-based as new ones land)" in page.text_content(
            "#embedding .embedding-axes")
        other = browser.new_context().new_page()
        other.goto(url)
        other.wait_for_function("() => /^step [1-9]/.test(document.getElementById('step')"
                                ".textContent)", timeout=WAIT)

        page.click("#pause")
        page.wait_for_function("() => /paused after step/.test(document.getElementById('state')"
                               ".textContent)", timeout=WAIT)
        paused = int(re.search(r"paused after step (\d+)", page.inner_text("#state"))[1])
        size = os.path.getsize(tmp_path / "run.jsonl")
        time.sleep(1.0)
        assert os.path.getsize(tmp_path / "run.jsonl") == size
        wait_for(lambda: shown_step(page)[0] == paused and shown_step(other)[0] == paused)
        assert page.is_visible("#explore") and page.inner_text("#pause") == "Resume"
        page.click("#explore")  # the explorer of the snapshot text at the paused weights
        explorer = page.wait_for_selector("#explore-view iframe", timeout=120_000).content_frame()
        explorer.wait_for_selector("#view[data-scope='']", timeout=WAIT)
        assert explorer.title().endswith(f"at the weights after step {paused}")
        assert page.is_visible("#explore-open")

        other.click("#stop")  # any tab controls the run
        assert process.wait(timeout=30) == 128 + signal.SIGINT
        for tab in (page, other):
            tab.wait_for_function("() => /run stopped .*the server has closed/.test("
                                  "document.getElementById('state').textContent)", timeout=WAIT)
            assert tab.is_hidden("#controls")
        other.context.close()
    assert (tmp_path / "ck.json").exists()
    assert page.errors == []


def test_a_finished_log_then_a_killed_server(tmp_path, tiny_log, page):  # noqa: F811
    server = subprocess.Popen([EXECUTABLE, "serve", "--log", tiny_log], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        url = server.stdout.readline().strip()
        page.goto(url)
        page.wait_for_function("() => document.getElementById('step').textContent"
                               ".startsWith('step 6 / 6')", timeout=WAIT)
        assert page.inner_text("#state") == "run finished"
        assert page.is_hidden("#controls")
        page.wait_for_selector("#probs", timeout=WAIT)
        assert page.eval_on_selector("#snapshot", "s => s.max") == "2"  # snapshots 1, 4, 6
        server.kill()
        page.wait_for_function("() => /lost the server/.test("
                               "document.getElementById('state').textContent)", timeout=WAIT)
        assert shown_step(page) == (6, 6)  # the page keeps what it received
    finally:
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
    assert [e for e in page.errors if "ERR_CONNECTION_REFUSED" not in e
            and "ERR_EMPTY_RESPONSE" not in e] == []


def served(log):
    """`serve --log` in a process of its own: (process, the page's address)."""
    server = subprocess.Popen([EXECUTABLE, "serve", "--log", log], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    return server, server.stdout.readline().strip()


@pytest.mark.parametrize("flags", [[], ["--no-attention", "--no-mlp"]])
def test_the_lecture_panels_of_a_real_run(tmp_path, tiny_data, page, flags):  # noqa: F811
    log = tmp_path / "run.jsonl"
    subprocess.run([EXECUTABLE, "train", "--data", tiny_data, "--embd", "8", "--heads", "2",
                    "--block-size", "8", "--steps", "40", "--snapshot-every", "20",
                    "--sample-every", "20", "--log", log, *flags],
                   check=True, capture_output=True, timeout=120)
    samples = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()
               if '"sample"' in line]
    server, url = served(log)
    try:
        page.goto(url)
        page.wait_for_function("() => document.getElementById('step').textContent"
                               ".startsWith('step 40 / 40')", timeout=WAIT)
        page.wait_for_selector("#grad-hist svg.hist", timeout=WAIT)
        # the update ratio: one bold line per moving group, and the -3 reference
        assert page.locator("#ratio polyline").count() >= 2 * 3
        assert "-3 (a rule of thumb)" in page.text_content("#ratio")
        # histograms: one chart per parameter group, of weights and of grads
        names = "s => s.map(e => e.dataset.group)"
        groups = page.eval_on_selector_all("#weight-hist svg.hist", names)
        assert {"wte", "wpe", "lm_head"} <= set(groups)
        assert groups == page.eval_on_selector_all("#grad-hist svg.hist", names)
        assert page.locator("#weight-hist rect").count() > 0
        # the loss at each position of the snapshot text: one point per target
        text = page.inner_text("#snapshot-title").split("“")[1].rstrip("”")
        assert page.locator("#position-loss polyline").count() >= 1
        assert page.locator("#position-loss circle").count() >= len(text) + 1
        # the newest samples, as text
        shown = page.inner_text("#samples")
        assert f"step {samples[-1]['step']}" in shown
        assert all(name in shown for name in samples[-1]["samples"])
        switched_off = "--no-attention" in flags
        for panel, message in [("#attention", "no attention in this run"),
                               ("#heads", "no attention in this run"),
                               ("#mlp", "no MLP in this run")]:
            if switched_off:
                assert message in page.inner_text(panel)
                assert page.locator(f"{panel} canvas").count() == 0
            else:
                assert page.locator(f"{panel} canvas").count() >= 1
                assert page.locator(f"{panel} p.absent").count() == 0
        page.fill("#snapshot", "0")  # an earlier snapshot draws as well
        page.dispatch_event("#snapshot", "input")
        page.wait_for_function("() => /^step 1 /.test(document.getElementById('snapshot-label')"
                               ".textContent)", timeout=WAIT)
    finally:
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
    assert page.errors == []


def test_samples_are_shown_as_text_not_markup(tmp_path, tiny_log, page):  # noqa: F811
    with open(tiny_log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "sample", "step": 6, "temperature": 0.5,
                            "samples": ["<b id=x>bold</b>", "a&b"]}) + "\n")
    server, url = served(tiny_log)
    try:
        page.goto(url)
        page.wait_for_function("() => /<b id=x>/.test(document.getElementById('samples')"
                               ".textContent)", timeout=WAIT)
        assert page.locator("#samples b").count() == 0 and "a&b" in page.inner_text("#samples")
    finally:
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
    assert page.errors == []


READABILITY = """() => {
    const inside = (p, b) => p.x >= b.x && p.x <= b.x + b.width
        && p.y >= b.y && p.y <= b.y + b.height;
    const meets = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width
        && a.y < b.y + b.height && b.y < a.y + a.height;
    const loss = document.getElementById('loss');
    const legend = loss.querySelector('.legend').getBBox();
    const label = loss.querySelector('.hline-label').getBBox();
    const points = [...loss.querySelectorAll('polyline')].flatMap((line) => {
        const all = line.getAttribute('points').split(' ').map((p) => p.split(',').map(Number));
        return all.slice(0, Math.max(5, Math.ceil(all.length / 5)));  // the curve's start
    }).map(([x, y]) => ({ x, y }));
    const probs = document.getElementById('probs');
    const labels = [...document.querySelectorAll('#embedding text.label')].map((t) => {
        const b = t.getBBox();
        return { x: b.x + 0.5, y: b.y + 0.5, width: b.width - 1, height: b.height - 1 }; });
    return { legendCoversStart: points.some((p) => inside(p, legend)),
             legendCoversLabel: meets(legend, label),
             embeddingLabels: labels.length,
             labelsOverlap: labels.some((a, i) => labels.slice(i + 1).some((b) => meets(a, b))),
             probsFill: probs.getBoundingClientRect().width / probs.parentElement.clientWidth };
}"""


def caption_below_sticky(page, selector):
    """Scroll a panel into view as a link would: its caption's top against the sticky bars'."""
    return page.evaluate("""(selector) => {
        const figure = document.querySelector(selector).closest('figure');
        figure.scrollIntoView();
        const caption = figure.querySelector('figcaption').getBoundingClientRect();
        const bar = document.querySelector('header.bar').getBoundingClientRect();
        const slider = document.querySelector('.slider').getBoundingClientRect();
        return caption.top - Math.max(bar.bottom, slider.bottom); }""", selector)


@pytest.mark.parametrize("flags", [[], ["--no-attention", "--no-mlp"]])
def test_the_page_reads_on_a_projector_and_a_desktop(tmp_path, page, flags):
    """The shipped names, at 1280x720 and 1920x1080: the loss legend covers neither the
    curve's start nor the uniform-guess label, the per-position loss names its uniform
    guess in its legend, no two embedding labels overlap, a snapshot panel scrolled into
    view shows its caption below the sticky bar and slider, the next-token heatmap fills
    its wide box, and a run without blocks shows its single residual stage as points,
    saying why."""
    log = tmp_path / "run.jsonl"
    subprocess.run([EXECUTABLE, "train", "--steps", "20", "--snapshot-every", "10", "--log", log,
                    *flags], check=True, capture_output=True, timeout=120)
    server, url = served(log)
    try:
        for width, height in [(1280, 720), (1920, 1080)]:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            page.wait_for_function("() => document.getElementById('step').textContent"
                                   ".startsWith('step 20 / 20')", timeout=WAIT)
            page.wait_for_selector("#grad-hist svg.hist", timeout=WAIT)
            page.wait_for_timeout(400)  # the redraw a resize schedules
            seen = page.evaluate(READABILITY)
            assert not seen["legendCoversStart"] and not seen["legendCoversLabel"], (width, seen)
            assert seen["probsFill"] >= 0.8, (width, seen)
            assert seen["embeddingLabels"] == 27 and not seen["labelsOverlap"], (width, seen)
            # the per-position loss names its uniform-guess line in the legend, off the data
            assert page.locator("#position-loss .hline-label").count() == 0
            assert "uniform guess: ln(" in page.text_content("#position-loss .legend")
            for panel in ["#probs", "#residual", "#gradflow", "#position-loss"]:
                assert caption_below_sticky(page, panel) >= 0, (width, panel)
            stages = page.locator("#residual circle").count()
            if flags:
                assert stages >= 1
                assert "no attention or MLP block" in page.text_content("#residual")
            else:
                assert stages >= 3 and page.locator("#residual .residual-note").count() == 0
    finally:
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
    assert page.errors == []
