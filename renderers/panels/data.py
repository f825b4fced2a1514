"""The numbers behind the training panels, computed from the plain metrics-log records.

Pure functions on lists and numpy arrays, no drawing, so tests can check the numbers
the charts show. A snapshot (see the `report` command) is the dict the training loop
wrote: attention maps, probabilities, embeddings, residual stream, head outputs, MLP
activations and gradient norms of one step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

__all__ = ["moving_average", "top_k", "pca_2d", "residual_summary", "attention_mask",
           "head_matrix"]


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


def pca_2d(matrix: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Project the rows of `matrix` onto its two principal components (numpy SVD).

    Each component's sign is fixed so that its largest-magnitude loading is positive:
    the picture does not flip between two snapshots for no reason.

    Args:
        matrix: rows x columns floats, e.g. the token embeddings (vocab x n_embd).

    Returns:
        (coords rows x 2, fraction of the variance each component explains (2,));
        a missing second component (one column, one row) is zeros.

    >>> coords, explained = pca_2d([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    >>> coords.round(6).tolist(), explained.round(6).tolist()
    ([[-1.0, -0.5], [1.0, -0.5], [-1.0, 0.5], [1.0, 0.5]], [0.8, 0.2])
    """
    import numpy as np

    x = np.asarray(matrix, dtype=float)
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    biggest = np.abs(vt).argmax(axis=1)
    signs = np.where(vt[np.arange(len(vt)), biggest] < 0, -1.0, 1.0)
    coords = np.zeros((len(x), 2))
    explained = np.zeros(2)
    m = min(2, len(s))
    coords[:, :m] = centred @ (vt[:m].T * signs[:m])
    total = (s ** 2).sum()
    if total > 0:
        explained[:m] = s[:m] ** 2 / total
    return coords, explained


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
