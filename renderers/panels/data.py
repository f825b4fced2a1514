"""The numbers behind the training panels, computed from the plain metrics-log records.

Pure functions on lists and numpy arrays, no drawing, so tests can check the numbers
the charts show. A snapshot (see microgpt_trace.microgpt.runs.snapshots) is the dict
the training loop wrote: attention maps, next-token probabilities at every position,
embeddings, residual stream, head outputs, MLP activations and gradient norms of one
fixed text.

Across snapshots the panels keep one colour scale and one set of axes (`scales`,
`pca_basis`), so a change between two steps of the slider is a change of the model,
never of the axis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

__all__ = ["moving_average", "average_window", "top_k", "pca_basis", "project",
           "residual_summary", "attention_mask", "head_matrix", "uniform_loss", "grad_curves",
           "target_probs", "prob_columns", "scales", "embedding_view", "text_groups",
           "spread_labels"]


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over the last `window` values; the first ones average what exists.

    Args:
        values: a sequence of floats, e.g. one loss per step.
        window: how many values each mean covers (>= 1).

    Returns:
        A float numpy array as long as `values`.

    >>> moving_average([1.0, 3.0, 5.0, 7.0], 2).tolist()
    [1.0, 2.0, 4.0, 6.0]
    """
    import numpy as np

    x = np.asarray(values, dtype=float)
    sums = np.cumsum(np.concatenate([[0.0], x]))
    ends = np.arange(1, len(x) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def average_window(count: int) -> int:
    """Steps per moving average of a run of `count` steps: about 1/20 of them.

    >>> average_window(1000), average_window(50), average_window(5)
    (50, 2, 1)
    """
    return max(1, round(count / 20))


def top_k(probs: Sequence[float], k: int,
          target: int) -> tuple[list[int], list[float], int]:
    """The k most probable token ids and where the target ranks.

    Args:
        probs: one probability per token id.
        k: how many to keep.
        target: the id of the true next token.

    Returns:
        (ids, their probabilities, target's 1-based rank); ties keep the lower id first.

    >>> top_k([0.1, 0.6, 0.3], 2, target=0)
    ([1, 2], [0.6, 0.3], 3)
    """
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
    return order[:k], [probs[i] for i in order[:k]], order.index(target) + 1


def residual_summary(residual: dict) -> dict:
    """Mean, min and max over positions of each stage's norm, and the mean cosines.

    Args:
        residual: a snapshot's {"stages", "norm" (positions x stages),
            "cosine" (positions x stages - 1)}.

    Returns:
        {"stages", "norm_mean", "norm_min", "norm_max", "cosine_mean"} as numpy arrays
        (stages kept as the list of names).

    >>> s = residual_summary({"stages": ["a", "b"], "norm": [[1.0, 2.0], [3.0, 4.0]],
    ...                       "cosine": [[0.5], [1.0]]})
    >>> s["norm_mean"].tolist(), s["norm_max"].tolist(), s["cosine_mean"].tolist()
    ([2.0, 3.0], [3.0, 4.0], [0.75])
    """
    import numpy as np

    norm = np.asarray(residual["norm"], dtype=float)
    cosine = np.asarray(residual["cosine"], dtype=float).reshape(len(norm), -1)
    return {"stages": list(residual["stages"]), "norm_mean": norm.mean(axis=0),
            "norm_min": norm.min(axis=0), "norm_max": norm.max(axis=0),
            "cosine_mean": cosine.mean(axis=0)}


def attention_mask(n: int) -> np.ndarray:
    """True above the diagonal: the keys a query cannot see, left blank in a heatmap.

    >>> attention_mask(2).tolist()
    [[False, True], [False, False]]
    """
    import numpy as np

    return np.triu(np.ones((n, n), dtype=bool), k=1)


def head_matrix(heads: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """One layer's head outputs side by side: positions x (n_head * head_dim).

    Args:
        heads: per head, positions x head_dim floats.

    Returns:
        A numpy array; columns h*head_dim .. (h+1)*head_dim-1 are head h, the layout
        of the concatenation the output projection reads.

    >>> head_matrix([[[1.0], [2.0]], [[3.0], [4.0]]]).tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """
    import numpy as np

    return np.concatenate([np.asarray(h, dtype=float) for h in heads], axis=1)


def uniform_loss(vocab_size: int) -> float:
    """The loss of a uniform guess over the vocabulary: ln(vocab_size) nats per token.

    A model that has learned nothing does no better; the start of a run sits near it.

    >>> round(uniform_loss(27), 4)
    3.2958
    """
    import math

    return math.log(vocab_size)


def grad_curves(steps: Sequence[dict]) -> dict[str, np.ndarray]:
    """Parameter group -> its gradient norm at every step, in state-dict order.

    >>> grad_curves([{"grad_norm": {"wte": 1.0, "wpe": 2.0}},
    ...              {"grad_norm": {"wte": 0.5, "wpe": 1.5}}])["wte"].tolist()
    [1.0, 0.5]
    """
    import numpy as np

    names = list(steps[0]["grad_norm"]) if steps else []
    return {name: np.array([s["grad_norm"].get(name, np.nan) for s in steps], dtype=float)
            for name in names}


def target_probs(snapshot: dict) -> np.ndarray:
    """p(the true next token) at every position of the snapshot text.

    >>> target_probs({"probs": [[0.2, 0.8], [0.6, 0.4]], "targets": [1, 0]}).tolist()
    [0.8, 0.6]
    """
    import numpy as np

    return np.array([p[t] for p, t in zip(snapshot["probs"], snapshot["targets"])], dtype=float)


def prob_columns(snapshots: Sequence[dict], vocab_size: int, limit: int = 40) -> list[int]:
    """The token ids the next-token heatmap shows as columns, the same for all snapshots.

    Every token when the vocabulary has at most `limit`; otherwise the targets and
    the tokens that ever reach the top 3 at some position, the likeliest first up
    to `limit`, in id order.

    >>> prob_columns([{"probs": [[0.1, 0.2, 0.3, 0.4]], "targets": [0]}], 4, limit=4)
    [0, 1, 2, 3]
    >>> prob_columns([{"probs": [[0.1, 0.2, 0.3, 0.4]], "targets": [0]}], 4, limit=2)
    [0, 3]
    """
    if vocab_size <= limit:
        return list(range(vocab_size))
    best = {}
    for snapshot in snapshots:
        for probs, target in zip(snapshot["probs"], snapshot["targets"]):
            best[target] = 2.0  # the truth always has a column
            for i in sorted(range(len(probs)), key=lambda i: -probs[i])[:3]:
                best[i] = max(best.get(i, 0.0), probs[i])
    chosen = sorted(best, key=lambda i: (-best[i], i))[:limit]
    return sorted(chosen)


def scales(snapshots: Sequence[dict]) -> dict:
    """One colour scale and axis range per panel, over every snapshot of the run.

    Returns:
        {"head_out": max |value|, "mlp": max activation, "mlp_low": min activation
        (at most 0), "residual": max norm,
        "cosine": min mean cosine (at most 0), "grad": (min positive, max) norm};
        a scale with nothing to show (a part the run switched off) is 1.0.

    >>> s = scales([{"head_out": [[[[0.5, -2.0]]]], "mlp": [[[0.0, 3.0]]],
    ...              "residual": {"stages": ["e", "a"], "norm": [[1.0, 4.0]],
    ...                           "cosine": [[-0.5]]}, "grad_norm": {"wte": 0.1}}])
    >>> s["head_out"], s["mlp"], s["residual"], s["cosine"], s["grad"]
    (2.0, 3.0, 4.0, -0.5, (0.1, 0.1))
    """
    import numpy as np

    def biggest(values):
        return max(values, default=0.0) or 1.0

    grads = [v for s in snapshots for v in s["grad_norm"].values()]
    positive = [v for v in grads if v > 0]
    # initial=0.0: a part switched off (train --no-attention, --no-mlp) records nothing
    return {
        "head_out": biggest(float(np.abs(np.asarray(s["head_out"], dtype=float)).max(
            initial=0.0)) for s in snapshots),
        "mlp": biggest(float(np.asarray(s["mlp"], dtype=float).max(initial=0.0))
                       for s in snapshots),
        # below 0 only for a nonlinearity other than ReLU (train --activation tanh, gelu)
        "mlp_low": min([0.0] + [float(np.asarray(s["mlp"], dtype=float).min(initial=0.0))
                                for s in snapshots]),
        "residual": biggest(float(np.asarray(s["residual"]["norm"]).max(initial=0.0))
                            for s in snapshots),
        "cosine": min([0.0] + [float(residual_summary(s["residual"])["cosine_mean"].min(
            initial=0.0)) for s in snapshots]),
        "grad": (min(positive, default=1.0), max(grads, default=1.0) or 1.0),
    }


def pca_basis(matrix: Sequence[Sequence[float]]) -> np.ndarray:
    """The two principal directions of `matrix`'s rows (2 x columns): one basis to
    project every snapshot on, so the axes stay put. Each direction's sign is fixed so
    that its largest-magnitude loading is positive: the picture does not flip between
    two runs for no reason.

    >>> pca_basis([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [2.0, 1.0]]).round(6).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    import numpy as np

    x = np.asarray(matrix, dtype=float)
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    biggest = np.abs(vt).argmax(axis=1)
    signs = np.where(vt[np.arange(len(vt)), biggest] < 0, -1.0, 1.0)
    basis = np.zeros((2, x.shape[1]))
    m = min(2, len(vt))
    basis[:m] = vt[:m] * signs[:m, None]
    return basis


def project(matrix: Sequence[Sequence[float]], basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `matrix`, centred, on the directions of `basis`; and the fraction of
    their variance each direction holds.

    >>> coords, explained = project([[0.0, 0.0], [2.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    >>> coords.tolist(), explained.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [1.0, 0.0])
    """
    import numpy as np

    x = np.asarray(matrix, dtype=float)
    centred = x - x.mean(axis=0)
    coords = centred @ np.asarray(basis, dtype=float).T
    total = float((centred ** 2).sum())
    explained = (coords ** 2).sum(axis=0) / total if total > 0 else np.zeros(2)
    return coords, explained


def embedding_view(snapshots: Sequence[dict]) -> dict:
    """The embedding panel's numbers: every snapshot's token embeddings on the two
    principal directions of the last snapshot's (pca_basis), and one axis range that
    holds them all. The report and the live page both draw these.

    Args:
        snapshots: snapshot records of one text, ascending step (each with "wte").

    Returns:
        {"basis_step": the last snapshot's step, "steps": each snapshot's step,
        "coords": per snapshot vocab x 2, "explained": per snapshot the fraction of its
        variance each direction holds, "low", "high": the axes' ends (x, y), padded}
        as numpy arrays (the steps as a list).

    >>> view = embedding_view([{"step": 1, "wte": [[0.0, 0.0], [1.0, 0.0]]},
    ...                        {"step": 2, "wte": [[0.0, 0.0], [2.0, 0.0]]}])
    >>> view["basis_step"], view["coords"][0].tolist(), view["low"].tolist()
    (2, [[-0.5, 0.0], [0.5, 0.0]], [-1.16, -0.16])
    """
    import numpy as np

    basis = pca_basis(snapshots[-1]["wte"])
    coords, explained = zip(*(project(s["wte"], basis) for s in snapshots))
    every = np.concatenate(coords)
    low, high = every.min(axis=0), every.max(axis=0)
    pad = (high - low).max() * 0.08 or 1.0
    return {"basis_step": snapshots[-1]["step"], "steps": [s["step"] for s in snapshots],
            "coords": list(coords), "explained": list(explained),
            "low": low - pad, "high": high + pad}


def text_groups(snapshots: Sequence[dict]) -> list[list[dict]]:
    """Consecutive snapshots of the same text (a run resumed with another
    --snapshot-text has two): each group shares one figure per panel, and one
    embedding basis.

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


def spread_labels(anchors: np.ndarray, sizes: np.ndarray, bounds: tuple,
                  offset: float = 3.0, rounds: int = 400) -> np.ndarray:
    """Lower-left corners for labels near their points, pushed apart until no two overlap.

    A deterministic repel in pixels: each label starts `offset` up and right of its
    point; every round, each overlapping pair moves apart along the axis where they
    overlap least, half each way; labels stay inside `bounds`.

    Args:
        anchors: n x 2 points (pixels); sizes: n x 2 label widths and heights.
        bounds: (x0, y0, x1, y1) the labels must stay in.

    Returns:
        n x 2 lower-left corners (pixels).

    >>> spread_labels([[0.0, 0.0], [0.0, 0.0]], [[10.0, 5.0], [10.0, 5.0]],
    ...               (-50, -50, 50, 50)).tolist()
    [[3.0, 0.0], [3.0, 6.0]]
    """
    import numpy as np

    sizes = np.asarray(sizes, dtype=float)
    pos = np.asarray(anchors, dtype=float) + offset
    lo = np.array(bounds[:2], dtype=float)
    hi = np.array(bounds[2:], dtype=float) - sizes
    order = np.arange(len(pos))
    for _ in range(rounds):
        centre = pos + sizes / 2
        gap = np.abs(centre[:, None] - centre[None]) - (sizes[:, None] + sizes[None]) / 2
        overlap = (gap < 0).all(axis=2) & (order[:, None] < order[None])
        if not overlap.any():
            break
        push = np.zeros_like(pos)
        for i, j in zip(*np.nonzero(overlap)):
            axis = int(np.argmax(gap[i, j]))  # the axis with the smaller overlap
            sign = np.sign(centre[j, axis] - centre[i, axis]) or 1.0  # tie: j up/right
            push[i, axis] -= sign * (0.5 - gap[i, j, axis] / 2)
            push[j, axis] += sign * (0.5 - gap[i, j, axis] / 2)
        pos = np.clip(pos + push, lo, np.maximum(lo, hi))
    return pos
