import numpy as np

from microgpt_trace.renderers.panels import data
from microgpt_trace.renderers.panels.data import (
    attention_mask,
    head_matrix,
    moving_average,
    residual_summary,
    top_k,
)


def test_moving_average_is_a_trailing_mean():
    values = [4.0, 2.0, 6.0, 0.0, 8.0]
    assert moving_average(values, 1).tolist() == values
    assert moving_average(values, 3).tolist() == [4.0, 3.0, 4.0, 8 / 3, 14 / 3]
    assert moving_average(values, 99).tolist() == [4.0, 3.0, 4.0, 3.0, 4.0]


def test_top_k_orders_by_probability_then_id():
    probs = [0.1, 0.3, 0.3, 0.05, 0.25]
    assert top_k(probs, 3, target=4) == ([1, 2, 4], [0.3, 0.3, 0.25], 3)
    assert top_k(probs, 2, target=3) == ([1, 2], [0.3, 0.3], 5)
    assert top_k(probs, 10, target=0)[0] == [1, 2, 4, 0, 3]


def pca_2d(matrix):
    """The rows on their own two principal directions."""
    return data.project(matrix, data.pca_basis(matrix))


def rotation(dim, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q


def test_pca_recovers_the_axes_of_a_rotated_matrix():
    # centred, exactly orthogonal columns with energies 900, 400, 100, 25: these are
    # the principal axes, in this order
    latent = np.random.default_rng(0).normal(size=(40, 4))
    latent = np.linalg.qr(latent - latent.mean(axis=0))[0] * [30.0, 20.0, 10.0, 5.0]
    x = latent @ rotation(4, 1).T + [1.0, -2.0, 0.5, 3.0]  # rotate and shift
    coords, explained = pca_2d(x)
    for j in range(2):
        assert np.allclose(np.abs(coords[:, j]), np.abs(latent[:, j]), atol=1e-9)
    energy = np.array([900.0, 400.0, 100.0, 25.0])
    assert np.allclose(explained, energy[:2] / energy.sum(), atol=1e-12)


def test_pca_matches_the_covariance_eigenvectors():
    x = np.random.default_rng(3).normal(size=(27, 16))
    coords, explained = pca_2d(x)
    centred = x - x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    top = eigenvectors[:, ::-1][:, :2]
    projected = centred @ top
    for j in range(2):
        sign = np.sign(projected[:, j] @ coords[:, j])
        assert np.allclose(coords[:, j], sign * projected[:, j], atol=1e-9)
    assert np.allclose(explained, eigenvalues[::-1][:2] / eigenvalues.sum(), atol=1e-12)


def test_pca_signs_are_fixed_by_the_largest_loading():
    x = np.random.default_rng(5).normal(size=(10, 6))
    coords, _ = pca_2d(x)
    flipped, _ = pca_2d(-x)
    assert np.allclose(flipped, -coords)  # the same axes, not a random flip
    assert np.allclose(pca_2d(2 * x)[0], 2 * coords)


def test_pca_degenerate_inputs():
    coords, explained = pca_2d([[1.0], [3.0]])  # one column: no second component
    assert coords.tolist() == [[-1.0, 0.0], [1.0, 0.0]] and explained.tolist() == [1.0, 0.0]
    coords, explained = pca_2d([[2.0, 2.0], [2.0, 2.0]])  # no variance at all
    assert coords.tolist() == [[0.0, 0.0], [0.0, 0.0]] and explained.tolist() == [0.0, 0.0]


def test_residual_summary_over_positions():
    residual = {"stages": ["embed", "L0_attn", "L0_mlp"],
                "norm": [[1.0, 2.0, 4.0], [3.0, 2.0, 0.0]],
                "cosine": [[1.0, -0.5], [0.0, 0.5]]}
    s = residual_summary(residual)
    assert s["stages"] == ["embed", "L0_attn", "L0_mlp"]
    assert s["norm_mean"].tolist() == [2.0, 2.0, 2.0]
    assert s["norm_min"].tolist() == [1.0, 2.0, 0.0]
    assert s["norm_max"].tolist() == [3.0, 2.0, 4.0]
    assert s["cosine_mean"].tolist() == [0.5, 0.0]


def test_residual_summary_with_one_stage_has_no_cosine():
    s = residual_summary({"stages": ["embed"], "norm": [[2.0], [4.0]], "cosine": [[], []]})
    assert s["norm_mean"].tolist() == [3.0] and s["cosine_mean"].tolist() == []


def test_attention_mask_hides_the_future():
    mask = attention_mask(3)
    assert mask.tolist() == [[False, True, True], [False, False, True], [False, False, False]]


def test_head_matrix_concatenates_heads_per_position():
    heads = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]  # 2 heads x 2 positions x 2
    assert head_matrix(heads).tolist() == [[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0]]


# --- one scale and one set of axes for every snapshot ---

def fake_snapshot(seed, n=3, vocab=5):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(vocab), size=n)
    return {"head_out": rng.normal(size=(1, 2, n, 2)).tolist(),
            "mlp": np.maximum(0, rng.normal(size=(1, n, 8))).tolist(),
            "residual": {"stages": ["embed", "L0_attn", "L0_mlp"],
                         "norm": rng.uniform(0, 5, size=(n, 3)).tolist(),
                         "cosine": rng.uniform(-1, 1, size=(n, 2)).tolist()},
            "grad_norm": {"wte": float(rng.uniform(0.01, 2)), "wpe": float(rng.uniform(0, 2))},
            "probs": probs.tolist(), "targets": rng.integers(0, vocab, size=n).tolist(),
            "wte": rng.normal(size=(vocab, 4)).tolist()}


def test_scales_are_the_extremes_over_all_snapshots():
    snapshots = [fake_snapshot(seed) for seed in range(4)]
    sc = data.scales(snapshots)
    assert sc["head_out"] == max(abs(x) for s in snapshots for x in np.ravel(s["head_out"]))
    assert sc["mlp"] == max(x for s in snapshots for x in np.ravel(s["mlp"]))
    assert sc["residual"] == max(x for s in snapshots for x in np.ravel(s["residual"]["norm"]))
    assert sc["cosine"] == min([0.0] + [v for s in snapshots for v in
                                        np.mean(s["residual"]["cosine"], axis=0)])
    grads = [v for s in snapshots for v in s["grad_norm"].values()]
    assert sc["grad"] == (min(v for v in grads if v > 0), max(grads))


def test_grad_curves_have_one_point_per_step():
    steps = [{"step": i + 1, "grad_norm": {"wte": i / 10, "lm_head": 1 + i}} for i in range(7)]
    curves = data.grad_curves(steps)
    assert list(curves) == ["wte", "lm_head"]
    assert curves["wte"].tolist() == [i / 10 for i in range(7)]
    assert curves["lm_head"].tolist() == [1.0 + i for i in range(7)]


def test_target_probs_and_the_columns_of_a_large_vocabulary():
    snapshot = fake_snapshot(1, n=4, vocab=60)
    assert data.target_probs(snapshot).tolist() == [
        p[t] for p, t in zip(snapshot["probs"], snapshot["targets"])]
    columns = data.prob_columns([snapshot], 60, limit=12)
    assert columns == sorted(columns) and len(columns) <= 12
    assert set(snapshot["targets"]) <= set(columns)
    assert data.prob_columns([snapshot], 60, limit=60) == list(range(60))


def test_spread_labels_leaves_no_two_boxes_overlapping():
    rng = np.random.default_rng(0)
    anchors = rng.normal(50, 8, size=(40, 2))  # a crowded cloud
    sizes = np.tile([9.0, 12.0], (40, 1))
    corners = data.spread_labels(anchors, sizes, (0, 0, 400, 400))
    for i in range(40):
        for j in range(i + 1, 40):
            apart = (np.abs((corners[i] + sizes[i] / 2) - (corners[j] + sizes[j] / 2))
                     >= (sizes[i] + sizes[j]) / 2)
            assert apart.any(), (i, j)
    assert (corners >= 0).all() and (corners + sizes <= 400).all()
    assert np.array_equal(corners, data.spread_labels(anchors, sizes, (0, 0, 400, 400)))


def test_scales_of_a_run_without_attention_or_mlp():
    snapshot = {"head_out": [], "mlp": [], "grad_norm": {"wte": 0.5},
                "residual": {"stages": ["embed"], "norm": [[2.0], [3.0]], "cosine": [[], []]}}
    assert data.scales([snapshot]) == {"head_out": 1.0, "mlp": 1.0, "residual": 3.0,
                                       "mlp_low": 0.0, "cosine": 0.0, "grad": (0.5, 0.5)}


def test_embedding_view_projects_every_snapshot_on_the_last_ones_basis():
    rng = np.random.default_rng(7)
    snapshots = [{"step": step, "wte": rng.normal(size=(6, 4)).tolist()} for step in (1, 5, 9)]
    view = data.embedding_view(snapshots)
    basis = data.pca_basis(snapshots[-1]["wte"])
    assert view["basis_step"] == 9 and view["steps"] == [1, 5, 9]
    for snapshot, coords in zip(snapshots, view["coords"]):
        assert np.array_equal(coords, data.project(snapshot["wte"], basis)[0])
    every = np.concatenate(view["coords"])
    assert (view["low"] < every.min(axis=0)).all() and (view["high"] > every.max(axis=0)).all()
