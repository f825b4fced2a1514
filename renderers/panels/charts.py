"""The whole-run panels as matplotlib figures (loss, gradient norms per group, the
snapshot text being learned), and what every panel shares: style, fonts, bytes.

Each `*_figure` function takes plain metrics-log data and returns a
`matplotlib.figure.Figure` built without pyplot, so no GUI backend and no global
figure registry is involved (the Agg canvas draws it). Text is set in a font list
whose fallback covers Japanese: the characters of `names-ja.txt` render as glyphs.
The per-snapshot panels, drawn once per slider step, are in `frames`.
"""

from __future__ import annotations

import io
import subprocess
import warnings
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from .data import average_window, grad_curves, moving_average, target_probs, uniform_loss

__all__ = ["panel_style", "figure_bytes", "loss_figure", "grad_curves_figure",
           "learning_figure", "update_ratio_figure", "histogram_figure",
           "position_loss_figure", "adam_figure", "new_figure", "shown", "group_colour",
           "position_labels", "log_axis"]

LATIN_FONT = "DejaVu Sans"  # matplotlib's own font, always present
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic")
DPI = 100
TARGET, OTHER = "#d95f02", "#7570b3"  # colour-blind-safe pair (ColorBrewer Dark2)


def cjk_fonts():
    """Installed Japanese-capable families matplotlib knows, best first.

    matplotlib caches the system's fonts once; a CJK font installed afterwards (by
    `make setup`) is missing from that cache, so ask fontconfig and add its files.
    """
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    if not known.intersection(CJK_FONTS):
        try:
            listing = subprocess.run(["fc-list", ":lang=ja", "file"], capture_output=True,
                                     text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        for line in listing.splitlines():
            font_manager.fontManager.addfont(line.rstrip(": "))
        known = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in known]


@contextmanager
def panel_style() -> Iterator[None]:
    """matplotlib settings for every panel: fonts with CJK fallback, reproducible SVG."""
    import matplotlib

    with matplotlib.rc_context({"font.family": [LATIN_FONT, *cjk_fonts()],
                                "svg.hashsalt": "microgpt-trace", "axes.titlesize": 11,
                                "figure.titlesize": 13, "image.interpolation": "nearest",
                                "text.parse_math": False}):  # "$" and "\\" are text, not TeX
        with warnings.catch_warnings():  # a missing glyph is drawn as a box, not warned of
            warnings.simplefilter("ignore", UserWarning)
            yield


def styled(make_figure):
    """Build the figure inside panel_style(): a Text takes its font when it is made."""
    @wraps(make_figure)
    def wrapper(*args, **kwargs):
        with panel_style():
            return make_figure(*args, **kwargs)
    return wrapper


def new_figure(width, height, layout="constrained"):
    """A figure on its own Agg canvas: text extents can be measured before saving."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def figure_bytes(figure: Figure) -> dict[str, bytes]:
    """The figure as {"png": bytes, "svg": bytes}, ready to write in one go.

    The layout computed for the PNG is kept for the SVG (a third of the time).

    >>> fig = loss_figure([1, 2, 3], [3.0, 2.5, 2.0], vocab_size=27)
    >>> sorted(figure_bytes(fig)), figure_bytes(fig)["png"][:4]
    (['png', 'svg'], b'\\x89PNG')
    """
    out = {}
    with panel_style():
        for fmt in ("png", "svg"):
            buffer = io.BytesIO()
            metadata = {"Date": None} if fmt == "svg" else None  # same input, same bytes
            figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
            out[fmt] = buffer.getvalue()
            figure.set_layout_engine("none")  # axes stay where the first draw put them
    return out


def log_axis(axis) -> None:
    """A log scale on `axis` labelled 0.01, 0.1, 1: matplotlib's own labels are TeX,
    which panel_style() draws as its source text."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if axis.axis_name == "x":
        axis.axes.set_xscale("log")
    else:
        axis.axes.set_yscale("log")
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def shown(token):
    """A token as a tick label: a space would be invisible."""
    return "␣" if token == " " else token


def position_labels(snapshot):
    """One label per position of the snapshot text: input token → its target."""
    tokens = [shown(t) for t in snapshot["tokens"]]
    return [f"{a} → {b}" for a, b in zip(tokens, tokens[1:])]


def group_colour(name):
    if "attn" in name:
        return "#1b9e77"
    return "#7570b3" if "mlp" in name else "#d95f02"


@styled
def loss_figure(steps: Sequence[int], losses: Sequence[float], vocab_size: int,
                window: int | None = None) -> Figure:
    """Loss per step, its trailing moving average, and the loss of a uniform guess.

    Args:
        steps, losses: one entry per logged step.
        vocab_size: the vocabulary's size; a uniform guess costs ln(vocab_size).
        window: steps per moving average [default: about 1/20 of the run].

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    window = window or average_window(len(losses))
    fig = new_figure(9, 4)
    ax = fig.add_subplot()
    ax.plot(steps, losses, color="#9ecae1", linewidth=0.8, label="loss per step")
    ax.plot(steps, moving_average(losses, window), color="#08519c", linewidth=2,
            label=f"moving average ({window} steps)")
    uniform = uniform_loss(vocab_size)
    ax.axhline(uniform, color="#636363", linestyle="--", linewidth=1.2,
               label=f"uniform guess: ln({vocab_size}) = {uniform:.2f}")
    ax.set_ylim(bottom=0, top=max(max(losses), uniform) * 1.08)
    ax.set(title="Training loss (each step's own document)", xlabel="step",
           ylabel="loss (nats per token)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return fig


@styled
def grad_curves_figure(steps: Sequence[dict], window: int | None = None) -> Figure:
    """Gradient L2 norm of each parameter group at every step, on a log axis: thin
    lines per step, bold their moving average.

    Args:
        steps: the step records ({"step", "grad_norm": {group: norm}}), ascending.
        window: steps per moving average [default: about 1/20 of the run].

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np
    from matplotlib import colormaps

    curves = grad_curves(steps)
    x = [s["step"] for s in steps]
    window = window or average_window(len(steps))
    fig = new_figure(9, 4.6)
    ax = fig.add_subplot()
    colours = colormaps["tab10"]
    for i, (name, values) in enumerate(curves.items()):
        shown_values = np.where(values > 0, values, np.nan)  # a log axis has no 0
        ax.plot(x, shown_values, color=colours(i % 10), linewidth=0.6, alpha=0.3)
        # dashed every other group: wte and wpe often have the same norm (each
        # character of a document at one position), and one would hide the other
        ax.plot(x, moving_average(values, window), color=colours(i % 10), linewidth=1.8,
                linestyle="--" if i % 2 else "-", label=name)
    log_axis(ax.yaxis)
    ax.set(title=f"Gradient norm per parameter group (bold: moving average of {window} steps)",
           xlabel="step", ylabel="gradient L2 norm (log scale)")
    ax.grid(alpha=0.3, which="both")
    if curves:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return fig


@styled
def learning_figure(snapshots: Sequence[dict], vocab_size: int) -> Figure:
    """The snapshot text being learned: its loss per snapshot, and p(true next token)
    at each of its positions (rows) at each snapshot (columns).

    Args:
        snapshots: snapshot records of one text, ascending step.
        vocab_size: for the uniform-guess line, ln(vocab_size).

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np

    labels = position_labels(snapshots[-1])
    steps = [s["step"] for s in snapshots]
    matrix = np.array([target_probs(s) for s in snapshots]).T  # positions x snapshots
    fig = new_figure(9, 2.6 + 0.26 * len(labels))
    top, bottom = fig.subplots(2, 1, height_ratios=[2, max(2, 0.26 * len(labels))])
    top.plot(steps, [s["loss"] for s in snapshots], marker="o", color="#08519c",
             label="loss on the text")
    uniform = uniform_loss(vocab_size)
    top.axhline(uniform, color="#636363", linestyle="--", linewidth=1.2,
                label=f"uniform guess: ln({vocab_size}) = {uniform:.2f}")
    top.set_ylim(0, max(uniform, max(s["loss"] for s in snapshots)) * 1.1)
    top.set(title=f"Learning “{snapshots[-1]['text']}”", xlabel="step",
            ylabel="loss (nats per token)")
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="lower left")
    image = bottom.imshow(matrix, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    bottom.set_yticks(range(len(labels)), labels, fontsize=8)
    ticks = sorted({0, len(steps) - 1, *range(0, len(steps), max(1, len(steps) // 8))})
    bottom.set_xticks(ticks, [str(steps[i]) for i in ticks], fontsize=8)
    bottom.set(title="Probability of the true next token", xlabel="snapshot step",
               ylabel="input → target")
    fig.colorbar(image, ax=bottom, label="p(target)")
    return fig


@styled
def update_ratio_figure(steps: Sequence[dict], window: int | None = None) -> Figure:
    """Per parameter group, log10(|update| / |weights|) at every step (Karpathy's health
    check: around -3 the weights move a thousandth per step; much lower, they barely
    learn; much higher, they thrash). Steps without a ratio (a part switched off, an
    older log) are gaps.

    Args:
        steps: step records with "update_ratio": {group: log10 ratio or None}.
        window: steps per moving average [default: about 1/20 of the run].

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np
    from matplotlib import colormaps

    rated = [s for s in steps if "update_ratio" in s]
    x = [s["step"] for s in rated]
    window = window or average_window(len(rated))
    fig = new_figure(9, 4.6)
    ax = fig.add_subplot()
    colours = colormaps["tab10"]
    for i, name in enumerate(rated[-1]["update_ratio"]):
        values = np.array([np.nan if s["update_ratio"].get(name) is None
                           else s["update_ratio"][name] for s in rated])
        if np.isnan(values).all():
            continue
        ax.plot(x, values, color=colours(i % 10), linewidth=0.6, alpha=0.3)
        filled = np.where(np.isnan(values), np.nanmean(values), values)
        ax.plot(x, moving_average(filled, window), color=colours(i % 10), linewidth=1.8,
                linestyle="--" if i % 2 else "-", label=name)
    ax.axhline(-3, color="#636363", linestyle=":", linewidth=1.2, label="-3 (a rule of thumb)")
    ax.set(title="Update-to-data ratio per parameter group: log10(|lr·update| / |weights|)",
           xlabel="step", ylabel="log10 ratio")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return fig


@styled
def histogram_figure(snapshots: Sequence[dict], kind: str) -> Figure:
    """Per parameter group, the histogram of its weights (kind "weights") or of the
    step's gradient ("grads") at every snapshot: one line per snapshot, darker later.

    Args:
        snapshots: snapshot records with "hist" (microgpt_trace.microgpt.train.histogram).
        kind: "weights" or "grads".

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np
    from matplotlib import colormaps

    snaps = [s for s in snapshots if "hist" in s]
    groups = list(snaps[-1]["hist"][kind])
    cols = 3
    rows = -(-len(groups) // cols)
    fig = new_figure(9, 1.9 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    shade = colormaps["viridis_r"]
    for ax, name in zip(axes, groups):
        for i, snapshot in enumerate(snaps):
            h = snapshot["hist"][kind][name]
            counts = h["counts"]
            edges = np.linspace(h["lo"], h["hi"], len(counts) + 1)
            ax.stairs(counts, edges, color=shade(0.15 + 0.85 * i / max(1, len(snaps) - 1)),
                      linewidth=1, label=f"step {snapshot['step']}")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    what = "weights" if kind == "weights" else "training gradient"
    fig.suptitle(f"Histograms of the {what} per group at each snapshot (darker: later; "
                 f"{snaps[0]['step']} to {snaps[-1]['step']})", fontsize=11)
    return fig


@styled
def position_loss_figure(snapshots: Sequence[dict]) -> Figure:
    """Loss of the snapshot text at each position, -ln p(true next token), one line per
    snapshot (darker later): which characters the model learns first.

    Args:
        snapshots: snapshot records of one text, ascending step.

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np
    from matplotlib import colormaps

    labels = position_labels(snapshots[-1])
    shade = colormaps["viridis_r"]
    fig = new_figure(9, 3.8)
    ax = fig.add_subplot()
    for i, snapshot in enumerate(snapshots):
        loss = -np.log(np.maximum(target_probs(snapshot), 1e-300))
        ax.plot(range(len(loss)), loss, marker=".",
                color=shade(0.15 + 0.85 * i / max(1, len(snapshots) - 1)),
                label=f"step {snapshot['step']}" if i in (0, len(snapshots) - 1) else None)
    ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=45, ha="right")
    ax.set(title=f"Loss per position of “{snapshots[-1]['text']}” (darker: later)",
           xlabel="input → target", ylabel="-ln p(target)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


@styled
def adam_figure(header: dict, records: Sequence[dict], zoom: int = 30) -> Figure:
    """One weight's Adam numbers over a run (microgpt.adam_explained.adam_history): its
    gradient with m and ±√v̂; the step in units of lr_t, m̂ / (√v̂ + ε); the same close up
    around the largest step; the bias corrections and the decayed learning rate.

    Args:
        header: "param", "lr", "eps" (and the schedule's other settings).
        records: one per step: "step" (1-based), "grad", "m", "v_hat", "m_hat",
            "correction1", "correction2", "lr_t".
        zoom: steps shown either side of the largest step.

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np

    x = np.array([r["step"] for r in records])
    grad, m = (np.array([r[key] for r in records]) for key in ("grad", "m"))
    root_v = np.sqrt([r["v_hat"] for r in records])
    ratio = np.array([r["m_hat"] for r in records]) / (root_v + header["eps"])
    peak = int(np.argmax(np.abs(ratio)))
    fig = new_figure(9, 10.5)
    whole, steps, close, schedule = fig.subplots(4, 1, height_ratios=[3, 2.2, 3, 2.2])
    param = header["param"]

    def moments(ax, lo, hi, marker):
        ax.plot(x[lo:hi], grad[lo:hi], color="#bdbdbd", linewidth=0.8, marker=marker,
                markersize=3, label="g, this step's gradient")
        ax.plot(x[lo:hi], m[lo:hi], color="#08519c", linewidth=1.6, label="m (β1 average of g)")
        ax.fill_between(x[lo:hi], -root_v[lo:hi], root_v[lo:hi], color=TARGET, alpha=0.18,
                        label="±√v̂ (β2 average of g², bias-corrected)")
        ax.axhline(0, color="#636363", linewidth=0.6)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")

    moments(whole, 0, len(x), None)
    whole.set(title=f"{param}: gradient, m and √v̂ at every step", xlabel="step")
    steps.plot(x, ratio, color="#08519c", linewidth=0.8, label="m̂ / (√v̂ + ε) = step / lr_t")
    for level in (1, -1):
        steps.axhline(level, color="#636363", linestyle="--", linewidth=1,
                      label="±1: a step of exactly lr_t" if level == 1 else None)
    steps.annotate(f"step {x[peak]}: {ratio[peak]:.2f} × lr_t", (x[peak], ratio[peak]),
                   xytext=(12, 0), textcoords="offset points", fontsize=9, va="center",
                   color="#08519c")
    steps.set(title="The step in units of the learning rate", xlabel="step",
              ylabel="step / lr_t")
    steps.grid(alpha=0.3)
    steps.legend(fontsize=8, loc="lower right")
    lo, hi = max(0, peak - zoom), min(len(x), peak + zoom + 1)
    moments(close, lo, hi, "o")
    close.axvline(x[peak], color="#08519c", linestyle=":", linewidth=1)
    close.set(title=f"Close up: steps {x[lo]} to {x[hi - 1]} around the largest step, "
                    f"{x[peak]}", xlabel="step")
    for key, colour, label in (("correction1", "#1b9e77", "1 − β1^t (m's correction)"),
                               ("correction2", TARGET, "1 − β2^t (v's correction)")):
        schedule.plot(x, [r[key] for r in records], color=colour, linewidth=1.6, label=label)
    schedule.plot(x, [r["lr_t"] / header["lr"] for r in records], color=OTHER, linewidth=1.6,
                  linestyle="--", label=f"lr_t / lr (lr = {header['lr']:g})")
    schedule.set(title="Bias corrections and the decayed learning rate", xlabel="step t",
                 ylim=(0, 1.05))
    schedule.grid(alpha=0.3)
    schedule.legend(fontsize=8, loc="center right")
    return fig
