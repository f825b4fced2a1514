"""The training report: every panel as PNG and SVG, plus one self-contained report.html.

report.html embeds the PNGs as base64 data URIs and needs nothing else: no network,
no files next to it. A slider walks through the snapshot steps; the loss curve,
which covers the whole run, stays on top.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from microgpt.files import write_folder

from ..exceptions import RenderError
from .charts import (attention_figure, embedding_figure, figure_bytes, grad_figure,
                     head_output_figure, loss_figure, mlp_figure, probs_figure, residual_figure)

__all__ = ["write_report", "report_html", "STEP_PANELS"]

# file name stem -> heading, in the order the report shows them
STEP_PANELS = {
    "attention": "Attention maps",
    "probs": "Next-token probabilities",
    "embedding": "Token embeddings",
    "residual": "Residual stream",
    "head_outputs": "Head outputs",
    "mlp": "MLP activations",
    "grad_flow": "Gradient flow",
}
# what a report folder holds; only a folder of these is replaced by a new report
REPORT_FILE = re.compile(rf"(loss|({'|'.join(STEP_PANELS)})-step\d+)\.(png|svg)|report\.html")


def write_report(out_dir: str | Path, steps: list[dict], snapshots: list[dict],
                 vocab: list[str], info: dict | None = None, top_k: int = 10,
                 log_scale: bool = True) -> list[Path]:
    """Draw every panel into out_dir as PNG and SVG, then out_dir/report.html.

    Args:
        out_dir: a new folder (in one that exists), an empty one, or an earlier
            report's (replaced); written all or nothing.
        steps: the log's step records ({"step", "loss", "lr", ...}), ascending.
        snapshots: the log's snapshot records, ascending; may be empty.
        vocab: printable token names by id (the characters, then "BOS").
        info: name -> value pairs describing the run, shown at the top of the report.
        top_k: how many next tokens the probability panel lists.
        log_scale: draw gradient norms on a log axis.

    Returns:
        The paths written: loss.png/.svg, <panel>-step<N>.png/.svg, report.html.

    Raises:
        RenderError: no step records, out_dir holds other files, or it cannot be
            written.

    >>> write_report("/tmp/never", [], [], ["a", "BOS"])
    Traceback (most recent call last):
    renderers.exceptions.RenderError: the metrics log has no step records: nothing to draw
    """
    if not steps:
        raise RenderError("the metrics log has no step records: nothing to draw")
    files = {}
    loss = figure_bytes(loss_figure([s["step"] for s in steps], [s["loss"] for s in steps]))
    add_files(files, "loss", loss)
    width = len(str(steps[-1]["step"]))
    per_step = []
    for snapshot in snapshots:
        images = {}
        for name, figure in step_figures(snapshot, vocab, top_k, log_scale):
            data = figure_bytes(figure)
            images[name] = data["png"]
            add_files(files, f"{name}-step{snapshot['step']:0{width}d}", data)
        per_step.append((snapshot, images))
    files["report.html"] = report_html(loss["png"], per_step, steps, info or {})
    try:
        return write_folder(out_dir, files, REPORT_FILE.fullmatch)
    except FileExistsError:
        raise RenderError(f"output folder {str(out_dir)!r} is a file or holds other files: "
                          "give a new or empty folder (an earlier report is replaced)") from None
    except OSError as e:
        raise RenderError(f"cannot write the report into {str(out_dir)!r}: "
                          f"{e.strerror or e}") from None


def step_figures(snapshot, vocab, top_k, log_scale):
    yield "attention", attention_figure(snapshot)
    yield "probs", probs_figure(snapshot, vocab, top_k)
    yield "embedding", embedding_figure(snapshot, vocab)
    yield "residual", residual_figure(snapshot)
    yield "head_outputs", head_output_figure(snapshot)
    yield "mlp", mlp_figure(snapshot)
    yield "grad_flow", grad_figure(snapshot, log_scale)


def add_files(files, stem, data):
    files[f"{stem}.png"], files[f"{stem}.svg"] = data["png"], data["svg"]


STYLE = """
body { font-family: system-ui, "Noto Sans CJK JP", sans-serif; margin: 1.5em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
img { max-width: 100%; height: auto; }
dl { display: flex; flex-wrap: wrap; gap: 0.2em 1.5em; font-size: 0.9em; }
dt { font-weight: bold; } dd { margin: 0; }
.controls { position: sticky; top: 0; background: #fff; padding: 0.6em 0;
            border-bottom: 1px solid #ddd; display: flex; gap: 1em; align-items: center; }
.controls input { flex: 1; }
figure { margin: 1.2em 0; } figcaption { font-weight: bold; margin-bottom: 0.3em; }
"""

SCRIPT = """
const slider = document.getElementById("step");
const label = document.getElementById("step-label");
const snapshots = document.querySelectorAll(".snapshot");
function show(index) {
  snapshots.forEach((s, i) => { s.hidden = i !== index; });
  label.textContent = snapshots[index].dataset.caption;
}
slider.addEventListener("input", () => show(Number(slider.value)));
show(Number(slider.value));
"""


def report_html(loss_png: bytes, per_step: list[tuple[dict, dict[str, bytes]]],
                steps: list[dict], info: dict) -> str:
    """The report page as text; every string from the log is escaped.

    Args:
        loss_png: the loss panel as PNG bytes.
        per_step: (snapshot, {panel name: PNG bytes}) per snapshot, ascending step.
        steps: the step records (for each snapshot's loss and learning rate).
        info: name -> value pairs describing the run.

    Returns:
        A complete HTML document that needs no other file and no network.

    >>> page = report_html(b"PNG", [], [{"step": 1, "loss": 3.0, "lr": 0.01}], {"data": "<x>"})
    >>> "&lt;x&gt;" in page, "<x>" in page
    (True, False)
    """
    e = html.escape
    facts = "".join(f"<dt>{e(str(k))}</dt><dd>{e(str(v))}</dd>" for k, v in info.items())
    last = steps[-1]
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>microgpt-trace training report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        "<h1>Training report</h1>\n",
        f"<p>{len(steps)} steps in the log, last step {last['step']}, "
        f"loss {last['loss']:.4f}.</p>\n<dl>{facts}</dl>\n",
        "<figure><figcaption>Loss</figcaption>",
        f"{img(loss_png, 'training loss per step')}</figure>\n",
    ]
    if per_step:
        parts.append(snapshot_section(per_step, steps))
    else:
        parts.append("<p>This log has no snapshots: train with <code>--log</code> and "
                     "<code>--snapshot-every N</code> (N &gt; 0) to get the per-step panels.</p>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)


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
        caption = f"step {snapshot['step']} · document “{snapshot['doc']}”"
        if "loss" in record:
            caption += f" · loss {record['loss']:.4f} · lr {record['lr']:.3g}"
        figures = "".join(
            f"<figure><figcaption>{e(STEP_PANELS[name])}</figcaption>"
            f"{img(images[name], f'{STEP_PANELS[name]}, {caption}')}</figure>\n"
            for name in STEP_PANELS)
        parts.append(f'<section class="snapshot" data-step="{snapshot["step"]}" '
                     f'data-caption="{e(caption)}">\n{figures}</section>\n')
    parts.append(f"<script>{SCRIPT}</script>\n")
    return "".join(parts)


def img(png, alt):
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
