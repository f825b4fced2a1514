import re
from importlib.resources import files

import pytest

from microgpt_trace.microgpt.runs.metrics import step_record
from microgpt_trace.microgpt.runs.snapshots import snapshot_record
from microgpt_trace.microgpt.train import TrainConfig, start, train_steps
from microgpt_trace.renderers.exceptions import RenderError
from microgpt_trace.renderers.panels.report import (
    RUN_PANELS,
    STEP_PANELS,
    report_html,
    write_report,
)


def tiny_run(docs, steps=10, every=9, **parts):
    """Step and snapshot records of a tiny run: snapshots at steps 1 and 10."""
    state = start(docs, TrainConfig(steps=steps), n_embd=8, n_head=2, block_size=6, **parts)
    records, snapshots = [], []
    for m in train_steps(state, every):
        records.append(step_record(m))
        if m.probe:
            snapshots.append(snapshot_record(state, m))
    return records, snapshots, list(state.tokenizer.chars) + ["BOS"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    steps, snapshots, vocab = tiny_run(["anna", "bob", "carla", "dave", "eve"])
    out = tmp_path_factory.mktemp("report") / "new"
    progress = []
    paths = write_report(out, steps, snapshots, vocab, {"n_embd": 8, "log": "m.jsonl"},
                         on_progress=progress.append)
    return out, paths, snapshots, progress


def test_writes_run_panels_as_png_and_svg_step_panels_as_png_and_the_html(report):
    out, paths, snapshots, _ = report
    assert [s["step"] for s in snapshots] == [1, 10]
    run = [out / f"{name}.{fmt}" for name in RUN_PANELS for fmt in ("png", "svg")]
    steps = [out / f"{panel}-step{step}.png" for panel in STEP_PANELS for step in ("01", "10")]
    assert paths == run + steps + [out / "report.html"]
    assert sorted(out.iterdir()) == sorted(paths)
    assert all(p.stat().st_size > 5_000 for p in run + steps)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in run + steps if p.suffix == ".png")


def test_progress_names_each_panel_and_step(report):
    *_, progress = report
    n = len(RUN_PANELS)
    assert progress[:n] == list(RUN_PANELS.values())
    assert progress[n:n + 2] == ["Attention maps, step 1", "Attention maps, step 10"]
    assert len(progress) == len(RUN_PANELS) + 2 * len(STEP_PANELS)


def test_svg_of_every_step_panel_on_request(tmp_path):
    steps, snapshots, vocab = tiny_run(["anna", "bob"], steps=2, every=1)
    paths = write_report(tmp_path / "r", steps, snapshots, vocab, svg=True)
    svgs = sorted(p.name for p in paths if p.suffix == ".svg" and "-step" in p.name)
    assert svgs == sorted(f"{panel}-step{s}.svg" for panel in STEP_PANELS for s in (1, 2))


def test_a_position_outside_the_text_is_refused_with_the_range(tmp_path):
    steps, snapshots, vocab = tiny_run(["anna", "bob"], steps=1, every=1)
    n = len(snapshots[0]["targets"])
    with pytest.raises(RenderError, match=f"position {n} is outside the snapshot text "
                                          f"“{snapshots[0]['text']}”: give 0 to {n - 1}"):
        write_report(tmp_path / "r", steps, snapshots, vocab, position=n)
    assert not (tmp_path / "r").exists()


def test_older_records_draw_only_what_they_have(tmp_path):
    steps, snapshots, vocab = tiny_run(["anna", "bob"], steps=2, every=1)
    for record in steps:
        del record["update_ratio"]
    for snapshot in snapshots:
        del snapshot["hist"]
    names = {p.stem for p in write_report(tmp_path / "r", steps, snapshots, vocab)}
    assert not names & {"update_ratio", "weight_hist", "grad_hist"}
    assert {"loss", "position_loss", "grad_curves"} <= names


def test_samples_are_listed_escaped(tmp_path):
    steps, snapshots, vocab = tiny_run(["anna", "bob"], steps=2, every=1)
    samples = [{"type": "sample", "step": 2, "temperature": 0.5, "samples": ["<b>", "ann"]}]
    write_report(tmp_path / "r", steps, snapshots, vocab, samples=samples)
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<tr><td>2</td><td>&lt;b&gt;, ann</td></tr>" in page


def test_html_is_self_contained(report):
    out, _, snapshots, _ = report
    page = (out / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert len(sources) == len(RUN_PANELS) + len(STEP_PANELS) * len(snapshots)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http" not in page.replace("http://www.w3.org", "")


def test_every_text_from_the_log_is_escaped():
    snapshot = {"step": 1, "text": "<script>alert(1)</script>", "loss": 2.0}
    images = {name: b"png" for name in STEP_PANELS}
    steps = [{"step": 1, "loss": 2.5, "lr": 0.01}]
    page = report_html({"loss": b"png"}, [(snapshot, images)], steps, {"data": 'a"b&<c>'})
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&quot;b&amp;&lt;c&gt;" in page


def test_a_log_without_snapshots_says_how_to_get_them():
    page = report_html({"loss": b"png"}, [], [{"step": 1, "loss": 2.5, "lr": 0.01}], {})
    assert "--snapshot-every" in page and 'type="range"' not in page


def test_the_page_is_the_package_files_filled_in():
    """The slider script, stylesheet and page come from assets/, whole, and a "$" in the
    log is text, not a slot."""
    assets = files("microgpt_trace.renderers.panels").joinpath("assets")
    js, css, template = (assets.joinpath(f"report.{ext}").read_text(encoding="utf-8")
                         for ext in ("js", "css", "html"))
    snapshot = {"step": 1, "text": "$panels", "loss": 2.0}
    images = {name: b"png" for name in STEP_PANELS}
    steps = [{"step": 1, "loss": 2.5, "lr": 0.01}]
    page = report_html({"loss": b"png"}, [(snapshot, images)], steps, {"data": "$css"})
    assert f"<style>\n{css}</style>" in page and f"<script>\n{js}</script>" in page
    slots = re.sub(r"\\\$\w+", "(?s:.*?)", re.escape(template))
    assert re.fullmatch(slots, page)
    assert "<dd>$css</dd>" in page and "loss on “$panels”" in page


def test_nothing_to_draw_and_bad_folder(tmp_path):
    with pytest.raises(RenderError, match="no step records"):
        write_report(tmp_path, [], [], ["a", "BOS"])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    steps = [{"step": 1, "loss": 2.5, "lr": 0.01, "grad_norm": {}}]
    with pytest.raises(RenderError, match=f"output folder {str(blocker)!r} is a file"):
        write_report(blocker, steps, [], ["a", "BOS"])


def visible_steps(page):
    return page.eval_on_selector_all(".snapshot", "s => s.filter(e => !e.hidden)"
                                     ".map(e => e.dataset.step)")


@pytest.mark.browser
def test_slider_switches_the_step_shown(report, page):
    out, _, snapshots, _ = report
    page.goto((out / "report.html").as_uri())
    first, last = str(snapshots[0]["step"]), str(snapshots[-1]["step"])
    assert visible_steps(page) == [last]  # opens at the end of training
    text = snapshots[-1]["text"]
    assert page.inner_text("#step-label").startswith(f"step {last} · loss on “{text}” ")
    page.fill("#step", "0")
    assert visible_steps(page) == [first]
    assert page.inner_text("#step-label").startswith(f"step {first} · loss on “{text}” ")
    page.focus("#step")
    page.keyboard.press("ArrowRight")
    assert visible_steps(page) == [str(snapshots[1]["step"])]
    images = page.eval_on_selector_all(".snapshot:not([hidden]) img",
                                       "imgs => imgs.map(i => i.naturalWidth > 100)")
    assert images == [True] * len(STEP_PANELS)
    assert page.errors == []


def test_a_run_resumed_with_another_snapshot_text_reports_both(tmp_path):
    state = start(["anna", "bob", "carla"], TrainConfig(steps=4), n_embd=8, n_head=2,
                  block_size=6)
    steps, snapshots = [], []
    for text, stop in (("bob", 2), ("carla", 4)):
        for m in train_steps(state, 1, snapshot_text=text):
            steps.append({"type": "step", "step": m.step, "loss": m.loss, "lr": m.lr,
                          "grad_norm": m.grad_norm})
            snapshots.append(snapshot_record(state, m))
            if m.step == stop:
                break
    assert [s["text"] for s in snapshots] == ["bob", "bob", "carla", "carla"]
    vocab = list(state.tokenizer.chars) + ["BOS"]
    paths = write_report(tmp_path / "r", steps, snapshots, vocab)
    assert len([p for p in paths if p.name.startswith("attention-step")]) == 4


@pytest.mark.parametrize("parts, missing", [
    ({"attention": False}, {"attention", "head_outputs"}),
    ({"mlp": False}, {"mlp"}),
    ({"attention": False, "mlp": False}, {"attention", "head_outputs", "mlp"}),
])
def test_a_part_switched_off_has_no_panel_and_the_rest_are_drawn(tmp_path, parts, missing):
    from microgpt_trace.renderers.panels.report import frame_count

    steps, snapshots, vocab = tiny_run(["anna", "bob", "carla"], steps=2, every=1, **parts)
    progress = []
    paths = write_report(tmp_path / "r", steps, snapshots, vocab, on_progress=progress.append)
    drawn = {p.name.split("-step")[0] for p in paths if "-step" in p.name}
    assert drawn == set(STEP_PANELS) - missing
    assert len(progress) == frame_count(snapshots, steps)
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    shown = set(re.findall(r"<figure><figcaption>([^<]+)</figcaption>", page))
    assert shown & set(STEP_PANELS.values()) == {STEP_PANELS[name] for name in drawn}
