"""The training report: the panels as PNG (and SVG), plus one self-contained report.html.

On top, what covers the whole run: the loss with its moving average and the
uniform-guess line, the snapshot text's loss and p(target) over the snapshots, and
each parameter group's gradient norm at every step. Below, a slider walks through
the snapshots: every panel shows the same text on the same scales (frames).

report.html embeds the PNGs as base64 data URIs and needs nothing else: no network,
no files next to it. Its frame, stylesheet and slider script are assets/report.html
(the template, its $slots filled here), report.css and report.js.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Callable

from microgpt_trace.microgpt.runs.files import write_folder

from ..assets import asset, page_template
from ..exceptions import RenderError
from .charts import (
    figure_bytes,
    grad_curves_figure,
    histogram_figure,
    learning_figure,
    loss_figure,
    position_loss_figure,
    update_ratio_figure,
)
from .data import scales
from .frames import (
    attention_panel,
    embedding_panel,
    frame_pngs,
    frame_svg,
    grad_panel,
    head_output_panel,
    mlp_panel,
    probs_panel,
    residual_panel,
)

__all__ = ["write_report", "report_html", "check_position", "RUN_PANELS", "STEP_PANELS"]

# file name stem -> heading, in the order the report shows them
RUN_PANELS = {
    "loss": "Loss",
    "learning": "The snapshot text being learned",
    "position_loss": "Loss per position of the snapshot text",
    "grad_curves": "Gradient norms over training",
    "update_ratio": "Update-to-data ratio over training",
    "weight_hist": "Weight histograms",
    "grad_hist": "Gradient histograms",
}
STEP_PANELS = {
    "attention": "Attention maps",
    "probs": "Next-token probabilities",
    "embedding": "Token embeddings",
    "residual": "Residual stream",
    "head_outputs": "Head outputs",
    "mlp": "MLP activations",
    "grad_flow": "Gradient flow for the snapshot text",
}
# what a report folder holds; only a folder of these is replaced by a new report
REPORT_FILE = re.compile(rf"(({'|'.join(RUN_PANELS)})|({'|'.join(STEP_PANELS)})-step\d+)"
                         r"\.(png|svg)|report\.html")


def write_report(out_dir: str | Path, steps: list[dict], snapshots: list[dict],
                 vocab: list[str], info: dict | None = None, top_k: int = 10,
                 log_scale: bool = True, position: int | None = None, svg: bool = False,
                 on_progress: Callable[[str], None] | None = None,
                 samples: list[dict] | None = None) -> list[Path]:
    """Draw every panel into out_dir, then out_dir/report.html.

    Args:
        out_dir: a new folder (in one that exists), an empty one, or an earlier
            report's (replaced); written all or nothing.
        steps: the log's step records ({"step", "loss", "lr", "grad_norm"}), ascending.
        snapshots: the log's snapshot records, ascending; may be empty.
        vocab: printable token names by id (the characters, then "BOS").
        info: name -> value pairs describing the run, shown at the top of the report.
        top_k: how many next tokens the probability panel lists (with `position`).
        log_scale: draw the snapshot's gradient norms on a log axis.
        position: show the top-k next tokens at this position of the snapshot text;
            None: p(next token) at every position.
        svg: also write every snapshot panel as SVG (the whole-run panels always are).
        on_progress: called with a short description after each figure or frame.
        samples: the log's sample records ({"step", "samples"}), listed in the page.

    Returns:
        The paths written: the whole-run panels (.png and .svg), <panel>-step<N>.png
        (and .svg), report.html.

    Raises:
        RenderError: no step records, a position outside the snapshot text, out_dir
            holds other files, or it cannot be written.

    >>> write_report("/tmp/never", [], [], ["a", "BOS"])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    microgpt_trace.renderers.exceptions.RenderError: the metrics log has no step records:
    nothing to draw
    """
    if not steps:
        raise RenderError("the metrics log has no step records: nothing to draw")
    check_position(snapshots, position)
    progress = on_progress or (lambda what: None)
    files, run_pngs = {}, {}
    for name, figure in run_figures(steps, snapshots, vocab):
        data = figure_bytes(figure)
        run_pngs[name] = data["png"]
        add_files(files, name, data)
        progress(RUN_PANELS[name])
    width = len(str(steps[-1]["step"]))
    stems = [f"step{s['step']:0{width}d}" for s in snapshots]
    frames = {name: [] for name in STEP_PANELS}
    sc = scales(snapshots) if snapshots else None
    done = 0
    for group in text_groups(snapshots):
        for name, panel in step_panels(group, vocab, top_k, log_scale, position, sc):
            pngs = frame_pngs(panel, group, lambda s, n=name: progress(
                f"{STEP_PANELS[n]}, step {s['step']}"))
            frames[name] += pngs
            for snapshot, stem, png in zip(group, stems[done:], pngs):
                files[f"{name}-{stem}.png"] = png
                if svg:
                    files[f"{name}-{stem}.svg"] = frame_svg(panel, snapshot)
        done += len(group)
    per_step = [(s, {name: frames[name][i] for name in STEP_PANELS if frames[name]})
                for i, s in enumerate(snapshots)]
    files["report.html"] = report_html(run_pngs, per_step, steps, info or {}, samples or [])
    try:
        return write_folder(out_dir, files, REPORT_FILE.fullmatch)
    except FileExistsError:
        raise RenderError(f"output folder {str(out_dir)!r} is a file or holds other files: "
                          "give a new or empty folder (an earlier report is replaced)") from None
    except OSError as e:
        raise RenderError(f"cannot write the report into {str(out_dir)!r}: "
                          f"{e.strerror or e}") from None


def check_position(snapshots, position):
    """Refuse a position the snapshot text does not have, naming the valid range."""
    if position is None or not snapshots:
        return
    n = min(len(s["targets"]) for s in snapshots)
    if not 0 <= position < n:
        raise RenderError(f"position {position} is outside the snapshot text "
                          f"“{snapshots[-1]['text']}”: give 0 to {n - 1}")


def frame_count(snapshots, steps=()):
    """How many figures and frames write_report draws (for a progress bar)."""
    run = 2 + 2 * bool(snapshots) + any("update_ratio" in s for s in steps) \
        + 2 * any("hist" in s for s in snapshots)
    off = sum(2 * (not s["attn"]) + (not s["mlp"]) for s in snapshots)  # see step_panels
    return run + len(STEP_PANELS) * len(snapshots) - off


def run_figures(steps, snapshots, vocab):
    yield "loss", loss_figure([s["step"] for s in steps], [s["loss"] for s in steps],
                              len(vocab))
    if snapshots:
        same_text = [s for s in snapshots if s["text"] == snapshots[-1]["text"]]
        yield "learning", learning_figure(same_text, len(vocab))
        yield "position_loss", position_loss_figure(same_text)
    yield "grad_curves", grad_curves_figure(steps)
    if any("update_ratio" in s for s in steps):  # logs before version 3 have none
        yield "update_ratio", update_ratio_figure(steps)
    if any("hist" in s for s in snapshots):
        yield "weight_hist", histogram_figure(snapshots, "weights")
        yield "grad_hist", histogram_figure(snapshots, "grads")


def text_groups(snapshots):
    """Consecutive snapshots of the same text (a run resumed with another
    --snapshot-text has two): each group shares one figure per panel.

    >>> [len(g) for g in text_groups([{"text": "a"}, {"text": "a"}, {"text": "b"}])]
    [2, 1]
    """
    groups = []
    for snapshot in snapshots:
        if groups and groups[-1][-1]["text"] == snapshot["text"]:
            groups[-1].append(snapshot)
        else:
            groups.append([snapshot])
    return groups


def step_panels(snapshots, vocab, top_k, log_scale, position, sc):
    """Each per-snapshot panel, built once for snapshots of one text on the scales sc;
    none for a part the run switched off (train --no-attention, --no-mlp: nothing
    recorded)."""
    attention, mlp = bool(snapshots[0]["attn"]), bool(snapshots[0]["mlp"])
    if attention:
        yield "attention", attention_panel(snapshots, sc)
    yield "probs", probs_panel(snapshots, vocab, position, top_k)
    yield "embedding", embedding_panel(snapshots, vocab)
    yield "residual", residual_panel(snapshots, sc)
    if attention:
        yield "head_outputs", head_output_panel(snapshots, sc)
    if mlp:
        yield "mlp", mlp_panel(snapshots, sc)
    yield "grad_flow", grad_panel(snapshots, sc, log_scale)


def add_files(files, stem, data):
    files[f"{stem}.png"], files[f"{stem}.svg"] = data["png"], data["svg"]


def report_html(run_pngs: dict[str, bytes], per_step: list[tuple[dict, dict[str, bytes]]],
                steps: list[dict], info: dict, samples: list[dict] = ()) -> str:
    """The report page as text; every string from the log is escaped.

    Args:
        run_pngs: whole-run panel name (RUN_PANELS) -> PNG bytes.
        per_step: (snapshot, {panel name: PNG bytes}) per snapshot, ascending step.
        steps: the step records (for each snapshot's loss and learning rate).
        info: name -> value pairs describing the run.
        samples: sample records ({"step", "temperature", "samples"}), ascending step.

    Returns:
        A complete HTML document that needs no other file and no network.

    >>> page = report_html({"loss": b"PNG"}, [], [{"step": 1, "loss": 3.0, "lr": 0.01}],
    ...                    {"data": "<x>"})
    >>> "&lt;x&gt;" in page, "<x>" in page
    (True, False)
    """
    e = html.escape
    facts = "".join(f"<dt>{e(str(k))}</dt><dd>{e(str(v))}</dd>" for k, v in info.items())
    parts = [f"<figure><figcaption>{e(RUN_PANELS[name])}</figcaption>"
             f"{img(png, RUN_PANELS[name])}</figure>\n"
             for name, png in run_pngs.items()]
    if samples:
        rows = "".join(f"<tr><td>{s['step']}</td><td>{e(', '.join(s['samples']))}</td></tr>"
                       for s in samples)
        parts.append(f"<figure><figcaption>Samples during training (temperature "
                     f"{samples[-1]['temperature']})</figcaption><table class=\"samples\">"
                     f"<tr><th>step</th><th>names</th></tr>{rows}</table></figure>\n")
    if per_step:
        parts.append(snapshot_section(per_step, steps))
    else:
        parts.append("<p>This log has no snapshots: train with <code>--log</code> and "
                     "<code>--snapshot-every N</code> (N &gt; 0) to get the per-step panels.</p>\n")
    return page_template(__package__, "report.html").substitute(
        css=asset(__package__, "report.css"), count=len(steps), last_step=steps[-1]["step"],
        loss=f"{steps[-1]['loss']:.4f}", facts=facts, panels="".join(parts))


def snapshot_section(per_step, steps):
    e = html.escape
    by_step = {s["step"]: s for s in steps}
    last = len(per_step) - 1
    parts = [
        f"<h2>Snapshots ({len(per_step)})</h2>\n<div class=\"controls\">"
        f'<input type="range" id="step" min="0" max="{last}" value="{last}" step="1" '
        f'aria-label="snapshot step"><output id="step-label" for="step"></output></div>\n',
    ]
    for snapshot, images in per_step:
        record = by_step.get(snapshot["step"], {})
        caption = (f"step {snapshot['step']} · loss on “{snapshot['text']}” "
                   f"{snapshot['loss']:.4f}")
        if "loss" in record:
            caption += (f" · training loss (that step's document) {record['loss']:.4f}"
                        f" · lr {record['lr']:.3g}")
        figures = "".join(
            f"<figure><figcaption>{e(STEP_PANELS[name])}</figcaption>"
            f"{img(images[name], f'{STEP_PANELS[name]}, {caption}')}</figure>\n"
            for name in images)
        parts.append(f'<section class="snapshot" data-step="{snapshot["step"]}" '
                     f'data-caption="{e(caption)}">\n{figures}</section>\n')
    parts.append(f"<script>\n{asset(__package__, 'report.js')}</script>\n")
    return "".join(parts)


def img(png, alt):
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
