"""The per-snapshot panels: one figure per panel, drawn once, then one frame per step.

Every snapshot of a run shows the same text with the same colour scales and axes
(data.scales), so between two steps of the slider only the numbers change: the
heatmaps' cells, the bars' lengths, the points and the step in the title. A panel is
therefore built once (`*_panel` -> Panel), its layout computed once, and its static
part (axes, ticks, labels, colourbars) rendered once; each frame restores that
background and draws only the artists that change (blitting, as matplotlib's
animations do). That is what makes a report of 21 snapshots take seconds, not minutes.
What must stay on top of a changing artist (a legend, the box around a target, the
lines between heads) is returned by update() after it, and so drawn after it.

A Panel's `update(snapshot)` puts one snapshot's numbers into the changing artists and
returns them; `frame_pngs` and `frame_svg` draw frames; `snapshot_figure(build,
snapshot, ...)` draws one snapshot as an ordinary Figure (tests, one-off use).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from .charts import (
    OTHER,
    TARGET,
    group_colour,
    log_axis,
    new_figure,
    panel_style,
    position_labels,
    shown,
    styled,
)
from .data import (
    attention_mask,
    embedding_view,
    head_matrix,
    prob_columns,
    residual_summary,
    scales,
    spread_labels,
    target_probs,
    top_k,
)

__all__ = ["Panel", "frame_pngs", "frame_svg", "attention_panel", "probs_panel",
           "embedding_panel", "residual_panel", "head_output_panel", "mlp_panel",
           "grad_panel", "snapshot_figure"]

# attention maps side by side: four at a name's length came to 1,336 px, past what a
# docs column shows at full size; two a row fit in 1,200
HEADS_PER_ROW = 2


@dataclass
class Panel:
    figure: Figure
    update: Callable[[dict], list]  # one snapshot's numbers in; the artists that changed out


def frame_pngs(panel: Panel, snapshots: Sequence[dict],
               on_frame: Callable[[dict], None] | None = None) -> list[bytes]:
    """One PNG per snapshot: the static part rendered once, the changing artists per frame.

    Args:
        panel: from a `*_panel` builder.
        snapshots: the snapshots to draw, in order.
        on_frame: called with each snapshot after its frame (a progress bar).

    Returns:
        PNG bytes per snapshot, the same size as figure_bytes() would give.
    """
    from PIL import Image

    fig = panel.figure
    canvas = fig.canvas
    with panel_style():
        for artist in panel.update(snapshots[0]):
            artist.set_animated(True)  # left out of canvas.draw(): the background
        canvas.draw()  # the layout engine runs once, here
        fig.set_layout_engine("none")
        background = canvas.copy_from_bbox(fig.bbox)
        frames = []
        for snapshot in snapshots:
            canvas.restore_region(background)
            for artist in panel.update(snapshot):
                fig.draw_artist(artist)
            image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
            buffer = io.BytesIO()
            # zlib level 3: a third less time than the default 6 for 4% more bytes
            image.convert("RGB").save(buffer, format="png", compress_level=3)
            frames.append(buffer.getvalue())
            if on_frame:
                on_frame(snapshot)
    return frames


def frame_svg(panel: Panel, snapshot: dict) -> bytes:
    """One snapshot's frame as SVG (slower than a PNG frame: everything is drawn)."""
    changed = panel.update(snapshot)
    for artist in changed:
        artist.set_animated(False)
    buffer = io.BytesIO()
    with panel_style():
        panel.figure.savefig(buffer, format="svg", metadata={"Date": None})
    for artist in changed:
        artist.set_animated(True)
    return buffer.getvalue()


def snapshot_figure(build, snapshot, *args, **kwargs) -> Figure:
    """One snapshot drawn by the panel `build`, as a Figure (figure_bytes() saves it)."""
    panel = build([snapshot], *args, **kwargs)
    panel.update(snapshot)
    return panel.figure


def step_title(snapshot, what):
    return f"{what}, step {snapshot['step']}: “{snapshot['text']}”"


@styled
def attention_panel(snapshots: Sequence[dict], sc: dict | None = None) -> Panel:
    """Every layer's and head's attention map: query position (row) x key position."""
    import numpy as np

    first = snapshots[0]
    attn = first["attn"]
    layers, heads, n = len(attn), len(attn[0]), len(attn[0][0])
    labels = [shown(t) for t in first["tokens"][:n]]
    size = 1.5 + 0.22 * n
    columns = min(heads, HEADS_PER_ROW)
    rows = layers * math.ceil(heads / columns)
    # "compressed" packs square maps without the gaps "constrained" leaves around them
    fig = new_figure(size * columns + 1.2, size * rows + 0.9, layout="compressed")
    axes = fig.subplots(rows, columns, squeeze=False)
    mask = attention_mask(n)
    images, used = [], set()
    for li in range(layers):
        for h in range(heads):
            ax = axes[li * (rows // layers) + h // columns][h % columns]
            used.add(ax)
            images.append(ax.imshow(np.zeros((n, n)), cmap="viridis", vmin=0, vmax=1))
            ax.set_title(f"layer {li}, head {h}")
            ax.set_xticks(range(n), labels, fontsize=8)
            ax.set_yticks(range(n), labels, fontsize=8)
            ax.set_xlabel("key (attended to)")
            ax.set_ylabel("query" if h % columns == 0 else "")
            ax.set_facecolor("#f0f0f0")  # masked cells: keys a query cannot see
    for ax in set(axes.flat) - used:
        ax.set_visible(False)  # an odd head count leaves a cell of each layer empty
    fig.colorbar(images[0], ax=axes, label="attention weight", shrink=0.8)
    title = fig.suptitle(" ")

    def update(snapshot):
        for image, matrix in zip(images, (m for layer in snapshot["attn"] for m in layer)):
            image.set_data(np.ma.masked_array(matrix, mask))
        title.set_text(step_title(snapshot, "Attention"))
        return images + [title]

    return Panel(fig, update)


@styled
def probs_panel(snapshots: Sequence[dict], vocab: Sequence[str], position: int | None = None,
                k: int = 10) -> Panel:
    """Next-token probabilities: at every position (a heatmap, and p(target) as bars),
    or the top k at one position with the true next token marked."""
    if position is not None:
        return top_k_panel(snapshots, vocab, position, k)
    import numpy as np
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Rectangle

    first = snapshots[0]
    columns = prob_columns(snapshots, len(vocab))
    labels = position_labels(first)
    n = len(labels)
    fig = new_figure(min(15, 4.5 + 0.22 * len(columns)), 1.6 + 0.3 * n)
    left, right = fig.subplots(1, 2, width_ratios=[max(3, 0.22 * len(columns)), 2.2])
    image = left.imshow(np.zeros((n, len(columns))), cmap="Blues",
                        norm=PowerNorm(0.5, vmin=0, vmax=1), aspect="auto")
    left.set_xticks(range(len(columns)), [shown(vocab[i]) for i in columns], fontsize=8)
    left.set_yticks(range(n), labels, fontsize=8)
    boxes = [left.add_patch(Rectangle((columns.index(target) - 0.5, t - 0.5), 1, 1,
                                      fill=False, edgecolor=TARGET, linewidth=1.8))
             for t, target in enumerate(first["targets"]) if target in columns]
    left.set(xlabel="next token" + (" (the likeliest ones)" if len(columns) < len(vocab)
                                    else ""),
             ylabel="input → target", title="p(next token) at every position (target boxed)")
    fig.colorbar(image, ax=left, label="probability (square-root scale)", pad=0.01)
    fig.get_layout_engine().set(wspace=0.06)  # room between the colour bar and the bars
    bars = right.barh(range(n), np.zeros(n), color=TARGET)
    values = [right.text(0, t, "", va="center", fontsize=8) for t in range(n)]
    uniform = right.axvline(1 / len(vocab), color="#636363", linestyle="--", linewidth=1)
    right.set_yticks(range(n), [""] * n)
    right.set_ylim(n - 0.5, -0.5)
    right.set_xlim(0, 1.15)
    right.set(xlabel=f"p(target)\n(dashed: a uniform guess, 1/{len(vocab)})",
              title="p(true next token)")
    right.grid(axis="x", alpha=0.3)
    title = fig.suptitle(" ")

    def update(snapshot):
        matrix = np.asarray(snapshot["probs"], dtype=float)[:, columns]
        image.set_data(matrix)
        for bar, text, p in zip(bars, values, target_probs(snapshot)):
            bar.set_width(p)
            text.set(x=p + 0.01, text=f"{p:.2f}")
        title.set_text(step_title(snapshot, f"Next token, loss {snapshot['loss']:.3f}"))
        return [image, *boxes, *bars, uniform, *values, title]

    return Panel(fig, update)


def top_k_panel(snapshots, vocab, position, k):
    """The k likeliest next tokens at `position`, the target added below when not among them."""
    from matplotlib.transforms import blended_transform_factory

    first = snapshots[0]
    rows = k + 1
    height = round(1.25 + 0.32 * rows, 2)  # inches: 0.7 below the bars, 0.55 above
    fig = new_figure(7, height, layout="none")
    ax = fig.add_axes((0.16, 0.7 / height, 0.8, 0.32 * rows / height))
    bars = ax.barh(range(rows), [0.0] * rows)
    values = [ax.text(0, i, "", va="center", fontsize=8) for i in range(rows)]
    names = [ax.text(-0.02, i, "", va="center", ha="right", fontsize=10,
                     transform=blended_transform_factory(ax.transAxes, ax.transData))
             for i in range(rows)]
    ax.set_yticks([])
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(0, 1.1)
    context = "".join(shown(t) for t in first["tokens"][1:position + 1])
    target = shown(first["tokens"][position + 1])
    ax.set(xlabel="probability", ylabel="next token")
    ax.yaxis.set_label_coords(-0.1, 0.5)  # clear of the token names (texts, not ticks)
    ax.grid(axis="x", alpha=0.3)
    title = ax.set_title(" ")

    def update(snapshot):
        probs, truth = snapshot["probs"][position], snapshot["targets"][position]
        ids, ps, rank = top_k(probs, k, truth)
        if truth not in ids:
            ids, ps = ids + [truth], ps + [probs[truth]]
        shown_ids = ids + [None] * (rows - len(ids))
        for bar, value, name, token in zip(bars, values, names, shown_ids):
            p = probs[token] if token is not None else 0.0
            bar.set(width=p, color=TARGET if token == truth else OTHER)
            value.set(x=p + 0.01, text=f"{p:.3f}" if token is not None else "")
            name.set_text(shown(vocab[token]) if token is not None else "")
        title.set_text(f"Step {snapshot['step']}: after “{context}” comes “{target}” "
                       f"(orange), rank {rank}")
        return [*bars, *values, *names, title]

    return Panel(fig, update)


@styled
def embedding_panel(snapshots: Sequence[dict], vocab: Sequence[str]) -> Panel:
    """Token embeddings (wte rows) on the two principal directions of the last
    snapshot's embeddings: the same axes at every step, labels that never overlap."""
    import numpy as np
    from matplotlib.collections import LineCollection

    view = embedding_view(snapshots)
    index = {step: i for i, step in enumerate(view["steps"])}
    low, high = view["low"], view["high"]
    side = 6 + min(4, len(vocab) / 25)  # room for the labels of a large vocabulary
    spans = high - low
    ratio = min(1.4, max(0.6, spans[1] / spans[0]))  # the figure takes the data's shape
    # inches (whole pixels): the axes and its margins
    width, height = round(side + 1.2, 2), round(side * ratio + 1.0, 2)
    fig = new_figure(width, height, layout="none")
    ax = fig.add_axes((0.9 / width, 0.6 / height, side / width, side * ratio / height))
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal", adjustable="box")
    ax.apply_aspect()  # the box is final now: label placement can use the transform
    colours = [TARGET if token == "BOS" else "black" for token in vocab]
    points = ax.scatter(np.zeros(len(vocab)), np.zeros(len(vocab)), s=14,
                        color=[TARGET if token == "BOS" else OTHER for token in vocab])
    labels = [ax.text(0, 0, shown(token), fontsize=10, color=colour, va="bottom", ha="left")
              for token, colour in zip(vocab, colours)]
    leaders = ax.add_collection(LineCollection([], colors="#999999", linewidths=0.6))
    renderer = fig.canvas.get_renderer()
    sizes = np.array([[b.width, b.height] for b in
                      (label.get_window_extent(renderer) for label in labels)])
    box = ax.get_window_extent(renderer)
    explained_text = ax.text(0.01, 0.01, "", transform=ax.transAxes, fontsize=8,
                             color="#636363")
    ax.set(xlabel="PC1 of the last snapshot's embeddings",
           ylabel="PC2 of the last snapshot's embeddings")
    ax.grid(alpha=0.3)
    title = ax.set_title(" ")

    def update(snapshot):
        i = index[snapshot["step"]]
        coords, explained = view["coords"][i], view["explained"][i]
        points.set_offsets(coords)
        anchors = ax.transData.transform(coords)
        corners = spread_labels(anchors, sizes, (box.x0, box.y0, box.x1, box.y1))
        inverse = ax.transData.inverted()
        for label, corner in zip(labels, inverse.transform(corners)):
            label.set_position(corner)
        far = np.linalg.norm(corners - anchors, axis=1) > 12
        leaders.set_segments([[a, c] for a, c, f in zip(coords, inverse.transform(corners), far)
                              if f])
        explained_text.set_text(f"these two directions hold {explained.sum():.0%} of this "
                                "step's variance")
        title.set_text(f"Token embeddings (wte), step {snapshot['step']}")
        return [leaders, points, *labels, explained_text, title]

    return Panel(fig, update)


def stage_name(stage):
    """'L0_attn' -> 'L0 +attn': the stream after that block added its output."""
    return stage.replace("_", " +")


@styled
def residual_panel(snapshots: Sequence[dict], sc: dict | None = None) -> Panel:
    """Residual-stream norm per stage (mean line in a min-max band over positions) and
    the mean cosine between consecutive stages (bars)."""
    import numpy as np

    sc = sc or scales(snapshots)
    names = [stage_name(stage) for stage in snapshots[0]["residual"]["stages"]]
    x = np.arange(len(names))
    fig = new_figure(10, 4)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    band = left.fill_between(x, np.zeros(len(x)), np.zeros(len(x)), color="#c6dbef",
                             label="min–max over positions")
    (line,) = left.plot(x, np.zeros(len(x)), marker="o", color="#08519c", label="mean")
    left.set_xticks(x, names)
    left.set(xlabel="stage", ylabel="L2 norm", title="Norm of the residual stream")
    left.set_ylim(0, sc["residual"] * 1.1)
    legend = left.legend(loc="upper left")
    pairs = [f"{a}\n→ {b}" for a, b in zip(names, names[1:])]
    bars = right.bar(range(len(pairs)), np.zeros(len(pairs)), color=OTHER)
    values = [right.text(i, 0, "", ha="center", va="bottom", fontsize=8)
              for i in range(len(pairs))]
    right.set_xticks(range(len(pairs)), pairs, fontsize=8)
    if not pairs:  # train --no-attention --no-mlp: the stream is its embedding alone
        right.text(0.5, 0.5, f"only {names[0]}: no attention or MLP\nblock adds to it",
                   transform=right.transAxes, ha="center", va="center", color="#636363")
    right.set_ylim(sc["cosine"] - 0.1, 1.1)
    right.axhline(0, color="black", linewidth=0.6)
    right.set(xlabel="consecutive stages", ylabel="mean cosine similarity",
              title="Direction kept between stages")
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
    title = fig.suptitle(" ")

    def update(snapshot):
        s = residual_summary(snapshot["residual"])
        top = np.column_stack([x, s["norm_max"]])
        bottom = np.column_stack([x, s["norm_min"]])[::-1]
        band.set_verts([np.concatenate([top, bottom])])
        line.set_ydata(s["norm_mean"])
        for bar, text, c in zip(bars, values, s["cosine_mean"]):
            bar.set_height(c)
            text.set(y=max(c, 0) + 0.02, text=f"{c:.2f}")
        title.set_text(step_title(snapshot, "Residual stream over its positions"))
        return [band, line, *bars, *values, legend, title]

    return Panel(fig, update)


def position_heatmaps(snapshots, layers, width, title_text, cmap, colour_label, vmin, vmax):
    """One heatmap per layer: positions (rows, labelled by input token) x units."""
    import numpy as np

    first = snapshots[0]
    n = len(first["tokens"]) - 1
    labels = [shown(t) for t in first["tokens"][:n]]
    fig = new_figure(min(14, max(7.5, 2.5 + 0.14 * width)), 1.0 + layers * (0.9 + 0.24 * n))
    axes = fig.subplots(layers, 1, squeeze=False)[:, 0]
    images = []
    for li, ax in enumerate(axes):
        images.append(ax.imshow(np.zeros((n, width)), cmap=cmap, vmin=vmin, vmax=vmax,
                                aspect="auto"))
        ax.set_yticks(range(n), labels, fontsize=8)
        ax.set(ylabel="position (input token)", title=f"layer {li}")
    fig.colorbar(images[0], ax=axes, label=colour_label, shrink=0.9)
    title = fig.suptitle(" ")

    def update_images(snapshot, matrices):
        for image, matrix in zip(images, matrices):
            image.set_data(matrix)
        title.set_text(step_title(snapshot, title_text))
        return images + [title]

    return fig, axes, update_images


@styled
def head_output_panel(snapshots: Sequence[dict], sc: dict | None = None) -> Panel:
    """Each head's output vector at each position, heads side by side, one heatmap
    per layer, on one symmetric colour scale for the whole run."""
    sc = sc or scales(snapshots)
    head_out = snapshots[0]["head_out"]
    heads, head_dim = len(head_out[0]), len(head_out[0][0][0])
    fig, axes, update_images = position_heatmaps(
        snapshots, len(head_out), heads * head_dim, "Attention head outputs", "RdBu_r",
        "output value", -sc["head_out"], sc["head_out"])
    borders = [ax.axvline(h * head_dim - 0.5, color="black", linewidth=1)
               for ax in axes for h in range(1, heads)]
    for ax in axes:
        ax.set_xticks([h * head_dim + (head_dim - 1) / 2 for h in range(heads)],
                      [f"head {h}" for h in range(heads)])
        ax.set_xlabel(f"head output ({head_dim} dimensions each)")

    def update(snapshot):
        matrices = [head_matrix(layer) for layer in snapshot["head_out"]]
        return update_images(snapshot, matrices) + borders

    return Panel(fig, update)


@styled
def mlp_panel(snapshots: Sequence[dict], sc: dict | None = None) -> Panel:
    """Hidden MLP units after the nonlinearity at each position, one heatmap per layer,
    on one colour scale for the whole run: black is 0 after ReLU; a nonlinearity with
    negative outputs (tanh, gelu) gets a diverging scale, white at 0."""
    import numpy as np

    sc = sc or scales(snapshots)
    mlp = snapshots[0]["mlp"]
    relu = sc.get("mlp_low", 0.0) >= 0
    top = sc["mlp"] if relu else max(sc["mlp"], -sc["mlp_low"])
    fig, axes, update_images = position_heatmaps(
        snapshots, len(mlp), len(mlp[0][0]),
        "MLP activations after ReLU" if relu else "MLP activations (negative: not ReLU)",
        "magma" if relu else "RdBu_r", "activation", 0 if relu else -top, top)
    notes = []
    for ax in axes:
        ax.set_xlabel("hidden unit")
        notes.append(ax.text(1.0, 1.02, "", transform=ax.transAxes, ha="right",
                             va="bottom", fontsize=8))

    def update(snapshot):
        matrices = [np.asarray(layer, dtype=float) for layer in snapshot["mlp"]]
        for note, matrix in zip(notes, matrices):
            note.set_text(f"{float((matrix == 0).mean()):.0%} of activations are 0")
        return update_images(snapshot, matrices) + notes

    return Panel(fig, update)


@styled
def grad_panel(snapshots: Sequence[dict], sc: dict | None = None,
               log_scale: bool = True) -> Panel:
    """Gradient L2 norm of each parameter group for the snapshot text's loss, in
    state-dict order (input to output first, then the blocks), one axis for the run."""
    from matplotlib.patches import Patch

    sc = sc or scales(snapshots)
    names = list(snapshots[0]["grad_norm"])
    low, high = sc["grad"]
    log_scale = log_scale and all(v > 0 for s in snapshots for v in s["grad_norm"].values())
    fig = new_figure(8, 1.6 + 0.34 * len(names))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(names)), [low] * len(names), color=[group_colour(n) for n in names])
    values = [ax.text(0, i, "", va="center", fontsize=8) for i in range(len(names))]
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    if log_scale:
        log_axis(ax.xaxis)
        ax.set_xlim(low / 2, high * 4)
    else:
        ax.set_xlim(0, high * 1.15)
    scale = " (log scale)" if log_scale else ""
    ax.set(xlabel="gradient L2 norm of the text's loss" + scale, ylabel="parameter group")
    legend = ax.legend(handles=[Patch(color=group_colour(n), label=label) for n, label in
                                (("wte", "embeddings / output"), ("attn", "attention"),
                                 ("mlp", "MLP"))], loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    title = ax.set_title(" ")

    def update(snapshot):
        for bar, text, name in zip(bars, values, names):
            v = snapshot["grad_norm"][name]
            bar.set_width(v)
            text.set(x=v * 1.15 if log_scale else v + high * 0.01, text=f"{v:.2g}")
        title.set_text(f"Gradient flow for “{snapshot['text']}”, step {snapshot['step']}")
        return [*bars, *values, legend, title]

    return Panel(fig, update)
