import numpy as np

from renderers.panels.data import (attention_mask, head_matrix, moving_average, pca_2d,
                                  residual_summary, top_k)


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
