"""The live page of a finished log shows the report's numbers: `serve --log` in Chromium,
what the page holds and draws read back, number by number, against the report's panels
built from the same log (exact where the page takes a number as written or from the
server's view, to 1e-12 where it recomputes one, to the printed digits for text)."""

import html
import random
import re
import subprocess

import numpy as np
import pytest

from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.renderers.panels import charts, data, frames
from microgpt_trace.renderers.panels.report import STEP_PANELS, snapshot_section

from .test_live import EXECUTABLE, TINY
from .test_live_page import WAIT, served

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEPS = 50  # 50 / 20 = 2.5: the moving average's window is where rounding rules differ
CLOSE = {"rtol": 1e-12, "atol": 1e-15}


@pytest.fixture(scope="module")
def finished_log(tmp_path_factory):
    """A 50-step run on names of 45 characters (more than the 40 next-token columns)."""
    folder = tmp_path_factory.mktemp("numbers")
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
    rng = random.Random(1)
    names = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 7))) for _ in range(60)]
    (folder / "names.txt").write_text("\n".join(names + [letters]) + "\n", encoding="utf-8")
    log = folder / "run.jsonl"
    subprocess.run([EXECUTABLE, "train", "--data", folder / "names.txt", *TINY, "--steps",
                    str(STEPS), "--snapshot-every", "20", "--log", log, "-o",
                    folder / "ck.json"], check=True, capture_output=True, timeout=120)
    return log


PAGE_NUMBERS = """() => {
    const window = averageWindow(run.steps.length);
    const names = Object.keys(run.steps[0].grad_norm);
    const texts = (selector) => [...document.querySelectorAll(selector)].map((e) => e.textContent);
    return {
        window, steps: run.steps, snapshots: run.snapshots, view: run.view,
        average: movingAverage(run.steps.map((s) => s.loss), window),
        grads: Object.fromEntries(names.map((name) => [name,
            movingAverage(run.steps.map((s) => s.grad_norm[name]), window)])),
        ratio: ratioSeries(window).series.filter((s) => s.label).map((s) => [s.label, s.ys]),
        columns: probColumns(vocab().length, run.snapshots[run.snapshots.length - 1]),
        positionLoss: run.snapshots.map(positionLoss),
        residual: run.snapshots.map((s) => residualSummary(s.residual)),
        embedding: run.snapshots.map((s) => embeddingOf(s.step)),
        lossTexts: texts("#loss .legend text").concat(texts("#loss .hline-label")),
        bar: document.getElementById("step").textContent,
    };
}"""


def shown_snapshot(page, index, step):
    """Move the slider to snapshot `index`; the texts the page shows for it."""
    page.fill("#snapshot", str(index))
    page.dispatch_event("#snapshot", "input")
    page.wait_for_function(f"() => document.getElementById('snapshot-label').textContent"
                           f".startsWith('step {step} ')", timeout=WAIT)
    return page.evaluate("""() => ({
        label: document.getElementById('snapshot-label').textContent,
        cosines: [...document.querySelectorAll('#residual .cosine')].map((e) => e.textContent),
        variance: document.querySelector('#embedding .embedding-variance').textContent,
        axes: document.querySelector('#embedding .embedding-axes').textContent })""")


def numbers(text):
    return re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)


def test_the_page_of_a_finished_log_shows_the_reports_numbers(finished_log, page):
    log = read_log(finished_log)
    steps, snapshots, vocab = log.steps, log.snapshots, log.vocab
    assert len(vocab) > 40 and [s["step"] for s in snapshots] == [1, 21, 41, 50]
    server, url = served(finished_log)
    try:
        page.goto(url)
        page.wait_for_function(f"() => document.getElementById('step').textContent"
                               f".startsWith('step {STEPS} / {STEPS}')", timeout=WAIT)
        page.wait_for_function(f"() => run.view && run.view.embedding[0].basis_step === "
                               f"{snapshots[-1]['step']}", timeout=WAIT)
        page.wait_for_selector("#embedding .embedding-axes", timeout=WAIT)
        got = page.evaluate(PAGE_NUMBERS)
        shown = [shown_snapshot(page, i, s["step"]) for i, s in enumerate(snapshots)]
    finally:
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
    assert page.errors == []

    # the records as the report reads them: every step's loss, lr, grad norms, update
    # ratios; every snapshot's attention, probabilities, head outputs, MLP, histograms
    assert got["steps"] == steps and got["snapshots"] == snapshots

    # the loss chart: moving average, its window, the ln(vocab) line
    window = data.average_window(len(steps))
    assert got["window"] == window == 2
    loss = charts.loss_figure([s["step"] for s in steps], [s["loss"] for s in steps],
                              len(vocab)).axes[0]
    np.testing.assert_allclose(got["average"], loss.lines[1].get_ydata(), **CLOSE)
    assert got["lossTexts"] == [t.get_text() for t in loss.get_legend().get_texts()]
    assert f"loss {steps[-1]['loss']:.4f}" in got["bar"]

    # gradient norms and update ratios per group: the report's bold moving averages
    grads = charts.grad_curves_figure(steps).axes[0]
    for line in grads.lines[1::2]:
        np.testing.assert_allclose(got["grads"][line.get_label()], line.get_ydata(), **CLOSE)
    assert list(got["grads"]) == [line.get_label() for line in grads.lines[1::2]]
    ratio = charts.update_ratio_figure(steps).axes[0]
    bold = [line for line in ratio.lines if line.get_linewidth() == 1.8]
    assert [label for label, _ in got["ratio"]] == [line.get_label() for line in bold]
    for (_, ys), line in zip(got["ratio"], bold):
        np.testing.assert_allclose(ys, line.get_ydata(), **CLOSE)

    # the whole-run scales and the embedding view: the report's, exactly
    assert got["view"]["scales"] == {k: list(v) if isinstance(v, tuple) else v
                                     for k, v in data.scales(snapshots).items()}
    assert got["columns"] == data.prob_columns(snapshots, len(vocab))
    panel = frames.embedding_panel(snapshots, vocab)
    ax = panel.figure.axes[0]
    for snapshot, embedding, texts in zip(snapshots, got["embedding"], shown):
        panel.update(snapshot)
        assert np.array_equal(embedding["coords"], ax.collections[0].get_offsets())
        assert (tuple(embedding["low"]), tuple(embedding["high"])) == tuple(zip(ax.get_xlim(),
                                                                                ax.get_ylim()))
        assert numbers(texts["variance"]) == numbers(ax.texts[-1].get_text())
        assert f"PCs of step {snapshots[-1]['step']}, the last snapshot" in texts["axes"]

    # per snapshot: the loss at each position, the residual stream, the captions
    position = charts.position_loss_figure(snapshots).axes[0]
    for ys, line in zip(got["positionLoss"], position.lines):
        np.testing.assert_allclose(ys, line.get_ydata(), **CLOSE)
    residual = frames.residual_panel(snapshots)
    report_html = snapshot_section([(s, dict.fromkeys(STEP_PANELS, b"")) for s in snapshots],
                                   steps)
    captions = re.findall(r'data-caption="([^"]*)"', report_html)
    for snapshot, summary, texts, caption in zip(snapshots, got["residual"], shown, captions):
        expected = data.residual_summary(snapshot["residual"])
        for key in ("norm_mean", "norm_min", "norm_max", "cosine_mean"):
            np.testing.assert_allclose(summary[key], expected[key], **CLOSE)
        residual.update(snapshot)
        drawn = [t.get_text() for t in residual.figure.axes[1].texts]
        assert [t.removeprefix("cos ") for t in texts["cosines"]] == drawn
        assert numbers(texts["label"]) == numbers(html.unescape(caption))
