"""The training panels as matplotlib figures: loss, attention, next-token probabilities,
embedding PCA, residual stream, head outputs, MLP activations and gradient flow.

Each `*_figure` function takes plain metrics-log data and returns a
`matplotlib.figure.Figure` built without pyplot, so no GUI backend and no global
figure registry is involved (the Agg canvas draws it). Text is set in a font list
whose fallback covers Japanese: the characters of `names-ja.txt` render as glyphs.
"""

from __future__ import annotations

import io
import subprocess
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from .data import (attention_mask, head_matrix, moving_average, pca_2d, residual_summary,
                         top_k)

__all__ = ["panel_style", "figure_bytes", "loss_figure", "attention_figure", "probs_figure",
           "embedding_figure", "residual_figure", "head_output_figure", "mlp_figure",
           "grad_figure"]

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
                                "figure.titlesize": 13, "image.interpolation": "nearest"}):
        yield


def styled(make_figure):
    """Build the figure inside panel_style(): a Text takes its font when it is made."""
    @wraps(make_figure)
    def wrapper(*args, **kwargs):
        with panel_style():
            return make_figure(*args, **kwargs)
    return wrapper


def new_figure(width, height, layout="constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def figure_bytes(figure: Figure) -> dict[str, bytes]:
    """The figure as {"png": bytes, "svg": bytes}, ready to write in one go.

    The layout computed for the PNG is kept for the SVG (a third of the time).

    >>> fig = loss_figure([1, 2, 3], [3.0, 2.5, 2.0])
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


def shown(token):
    """A token as a tick label: a space would be invisible."""
    return "␣" if token == " " else token


@styled
def loss_figure(steps: Sequence[int], losses: Sequence[float],
                window: int | None = None) -> Figure:
    """Loss per step and its trailing moving average.

    Args:
        steps, losses: one entry per logged step.
        window: steps per moving average [default: about 1/20 of the run].

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    window = window or max(1, round(len(losses) / 20))
    fig = new_figure(8, 4)
    ax = fig.add_subplot()
    ax.plot(steps, losses, color="#9ecae1", linewidth=0.8, label="loss per step")
    ax.plot(steps, moving_average(losses, window), color="#08519c", linewidth=2,
            label=f"moving average ({window} steps)")
    ax.set(title="Training loss", xlabel="step", ylabel="loss (nats per token)")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def context_label(snapshot):
    return f"step {snapshot['step']}, document “{snapshot['doc']}”"


@styled
def attention_figure(snapshot: dict) -> Figure:
    """Every layer's and head's attention map: query position (row) x key position.

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np

    attn = snapshot["attn"]
    layers, heads = len(attn), len(attn[0])
    n = len(attn[0][0])
    labels = [shown(t) for t in snapshot["tokens"][:n]]
    size = 1.2 + 0.22 * n
    # "compressed" packs square maps without the gaps "constrained" leaves around them
    fig = new_figure(size * heads + 1.2, size * layers + 0.9, layout="compressed")
    axes = fig.subplots(layers, heads, squeeze=False)
    mask = attention_mask(n)
    for li, row in enumerate(axes):
        for h, ax in enumerate(row):
            image = ax.imshow(np.ma.masked_array(attn[li][h], mask), cmap="viridis",
                              vmin=0, vmax=1)
            ax.set_title(f"layer {li}, head {h}")
            ax.set_xticks(range(n), labels, fontsize=8)
            ax.set_yticks(range(n), labels, fontsize=8)
            ax.set_xlabel("key (attended to)")
            ax.set_ylabel("query" if h == 0 else "")
            ax.set_facecolor("#f0f0f0")  # masked cells: keys a query cannot see
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.8)
    fig.suptitle(f"Attention, {context_label(snapshot)}")
    return fig


@styled
def probs_figure(snapshot: dict, vocab: Sequence[str], k: int = 10) -> Figure:
    """The k likeliest next tokens at the last position; the true one marked (and
    added below them, with its rank, when it is not among them).

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).
        vocab: printable token names by id (the characters, then "BOS").
        k: how many tokens to list.

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    n = len(snapshot["attn"][0][0])
    probs, target = snapshot["probs"], snapshot["target"]
    ids, values, rank = top_k(probs, k, target)
    if target not in ids:  # still show where the truth stands
        ids, values = ids + [target], values + [probs[target]]
    labels = [shown(vocab[i]) + (f"  (target, rank {rank})" if i == target else "")
              for i in ids]
    fig = new_figure(7, 1.4 + 0.32 * len(ids))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(ids)), values, color=[TARGET if i == target else OTHER for i in ids])
    ax.bar_label(bars, fmt="%.3f", padding=3, fontsize=8)
    ax.set_yticks(range(len(ids)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.18)
    context = "".join(snapshot["tokens"][1:n])
    ax.set(xlabel="probability", ylabel="next token",
           title=f"Next token after “{context}” (top {k}), step {snapshot['step']}")
    ax.grid(axis="x", alpha=0.3)
    return fig


@styled
def embedding_figure(snapshot: dict, vocab: Sequence[str]) -> Figure:
    """Token embeddings (wte rows) projected on their two principal components.

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).
        vocab: printable token names by id (the characters, then "BOS").

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    coords, explained = pca_2d(snapshot["wte"])
    side = 6 + min(4, len(vocab) / 25)  # room for the labels of a large vocabulary
    fig = new_figure(side + 0.5, side)
    ax = fig.add_subplot()
    is_bos = [token == "BOS" for token in vocab]
    ax.scatter(coords[:, 0], coords[:, 1], s=14,
               color=[TARGET if b else OTHER for b in is_bos])
    for (x, y), token, bos in zip(coords, vocab, is_bos):
        ax.annotate(shown(token), (x, y), xytext=(3, 3), textcoords="offset points",
                    fontsize=10, color=TARGET if bos else "black")
    ax.set(xlabel=f"PC1 ({explained[0]:.0%} of variance)",
           ylabel=f"PC2 ({explained[1]:.0%} of variance)",
           title=f"Token embeddings (wte), PCA, step {snapshot['step']}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    return fig


def stage_name(stage):
    """'L0_attn' -> 'L0 +attn': the stream after that block added its output."""
    return stage.replace("_", " +")


@styled
def residual_figure(snapshot: dict) -> Figure:
    """Residual-stream norm per stage and how much each block turns its direction.

    Averaged over the document's positions: the norm as a mean line in a min-max band,
    the cosine between consecutive stages as mean bars.

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    s = residual_summary(snapshot["residual"])
    names = [stage_name(stage) for stage in s["stages"]]
    x = range(len(names))
    fig = new_figure(10, 4)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    left.fill_between(x, s["norm_min"], s["norm_max"], color="#c6dbef", label="min–max")
    left.plot(x, s["norm_mean"], marker="o", color="#08519c", label="mean")
    left.set_xticks(x, names)
    left.set(xlabel="stage", ylabel="L2 norm", title="Norm of the residual stream")
    left.set_ylim(bottom=0)
    left.legend()
    pairs = [f"{a}\n→ {b}" for a, b in zip(names, names[1:])]
    bars = right.bar(range(len(pairs)), s["cosine_mean"], color=OTHER)
    right.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    right.set_xticks(range(len(pairs)), pairs, fontsize=8)
    right.set_ylim(min(0.0, s["cosine_mean"].min() - 0.1), 1.1)
    right.axhline(0, color="black", linewidth=0.6)
    right.set(xlabel="consecutive stages", ylabel="mean cosine similarity",
              title="Direction kept between stages")
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
    n = len(snapshot["residual"]["norm"])
    fig.suptitle(f"Residual stream over the {n} positions, {context_label(snapshot)}")
    return fig


def position_heatmaps(snapshot, matrices, title, cmap, colour_label, symmetric):
    """One heatmap per layer: positions (rows, labelled by input token) x units."""
    import numpy as np

    n = len(matrices[0])
    labels = [shown(t) for t in snapshot["tokens"][:n]]
    width = matrices[0].shape[1]
    fig = new_figure(min(14, max(7.5, 2.5 + 0.14 * width)), 0.8 + len(matrices) * (0.9 + 0.24 * n))
    axes = fig.subplots(len(matrices), 1, squeeze=False)[:, 0]
    limit = max(float(np.abs(m).max()) for m in matrices) or 1.0
    vmin = -limit if symmetric else 0
    for li, (ax, matrix) in enumerate(zip(axes, matrices)):
        image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=limit, aspect="auto")
        ax.set_yticks(range(n), labels, fontsize=8)
        ax.set(ylabel="position (input token)", title=f"layer {li}")
    fig.colorbar(image, ax=axes, label=colour_label, shrink=0.9)
    fig.suptitle(f"{title}, {context_label(snapshot)}")
    return fig, axes


@styled
def head_output_figure(snapshot: dict) -> Figure:
    """Each head's output vector at each position, heads side by side, one heatmap
    per layer.

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    matrices = [head_matrix(layer) for layer in snapshot["head_out"]]
    fig, axes = position_heatmaps(snapshot, matrices, "Attention head outputs", "RdBu_r",
                                  "output value", symmetric=True)
    heads, head_dim = len(snapshot["head_out"][0]), len(snapshot["head_out"][0][0][0])
    for ax in axes:
        for h in range(1, heads):
            ax.axvline(h * head_dim - 0.5, color="black", linewidth=1)
        ax.set_xticks([h * head_dim + (head_dim - 1) / 2 for h in range(heads)],
                      [f"head {h}" for h in range(heads)])
        ax.set_xlabel(f"head output ({head_dim} dimensions each)")
    return fig


@styled
def mlp_figure(snapshot: dict) -> Figure:
    """Hidden MLP units after ReLU at each position, one heatmap per layer.

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    import numpy as np

    matrices = [np.asarray(layer, dtype=float) for layer in snapshot["mlp"]]
    fig, axes = position_heatmaps(snapshot, matrices, "MLP activations after ReLU", "magma",
                                  "activation", symmetric=False)
    for ax, matrix in zip(axes, matrices):
        silent = float((matrix == 0).mean())
        ax.set_xlabel(f"hidden unit ({silent:.0%} of activations are 0)")
    return fig


def group_colour(name):
    if "attn" in name:
        return "#1b9e77"
    return "#7570b3" if "mlp" in name else "#d95f02"


@styled
def grad_figure(snapshot: dict, log_scale: bool = True) -> Figure:
    """Gradient L2 norm of each parameter group, in state-dict order (input to output
    first, then the blocks): where the learning signal arrives and where it fades.

    Args:
        snapshot: a snapshot record of the metrics log (see microgpt.snapshots).
        log_scale: a log axis, unless a group's norm is 0 (the bar would vanish).

    Returns:
        A matplotlib Figure; figure_bytes() turns it into PNG and SVG.
    """
    from matplotlib.patches import Patch

    names = list(snapshot["grad_norm"])
    values = [snapshot["grad_norm"][name] for name in names]
    fig = new_figure(8, 1.4 + 0.34 * len(names))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(names)), values, color=[group_colour(n) for n in names])
    ax.bar_label(bars, fmt="%.2g", padding=3, fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    scale = " (log scale)" if log_scale else ""
    if log_scale and min(values) <= 0:  # a log axis would hide exactly the bar that matters
        log_scale, scale = False, " (linear: a group has no gradient)"
    if log_scale:
        ax.set_xscale("log")
        ax.set_xlim(right=max(values) * 4)
    else:
        ax.set_xlim(0, max(values) * 1.15 or 1.0)
    ax.set(xlabel="gradient L2 norm" + scale,
           ylabel="parameter group",
           title=f"Gradient flow per parameter group, step {snapshot['step']}")
    ax.legend(handles=[Patch(color=group_colour(n), label=label) for n, label in
                       (("wte", "embeddings / output"), ("attn", "attention"), ("mlp", "MLP"))],
              loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig
