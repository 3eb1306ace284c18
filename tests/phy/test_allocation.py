"""Tests for sem_sionna.phy.allocation (EPA / MMSE / WMMSE and subchannel matching)."""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from layer_checks import assert_modes_agree

from sem_sionna.phy import SVDCombiner, SVDPrecoder, equal_power
from sem_sionna.phy.allocation import (
    ALLOCATION_SCHEMES,
    allocate_features,
    apply_assignment,
    eigen_gains,
    importance_weights,
    invert_assignment,
    MSE_MODELS,
    mmse_power,
    subchannel_matching,
    weighted_mse,
    wmmse_power,
    zf_wmmse_power,
)


def _random_problem(rng, batch=64, k=4):
    # gains over three decades and sparse-ish weights: some channels end up switched off
    gains = rng.exponential(size=(batch, k)) * 10.0 ** rng.uniform(-1.5, 1.5, size=(batch, 1))
    weights = rng.uniform(size=(batch, k)) ** 3
    return gains.astype(np.float32), weights.astype(np.float32)


def test_wmmse_satisfies_kkt_conditions(rng):
    gains, weights = _random_problem(rng)
    total = rng.uniform(0.5, 4.0, size=(64, 1)).astype(np.float32)
    p = wmmse_power(gains, weights, total).numpy().astype(np.float64)
    assert p.shape == (64, 4) and p.dtype == np.float64
    np.testing.assert_allclose(p.sum(-1), total[:, 0], rtol=1e-5)
    assert np.all(p >= 0)
    # d/dp_k of -sum w/(1+p g) is w g / (1+p g)^2: equal to lambda on the active
    # channels, <= lambda on the inactive ones (stationarity + complementary slackness).
    marginal = weights * gains / (1.0 + p * gains) ** 2
    active = p > 1e-6
    assert np.any(~active) and np.any(np.all(active, -1))  # both regimes covered
    for m, a in zip(marginal, active):
        lam = m[a]
        np.testing.assert_allclose(lam, lam.mean(), rtol=2e-3)
        assert np.all(m[~a] <= lam.mean() * (1 + 2e-3))


def test_wmmse_is_no_worse_than_random_feasible_powers(rng):
    gains, weights = _random_problem(rng, batch=16)
    p = wmmse_power(gains, weights).numpy()
    best = weighted_mse(p, gains, weights).numpy()
    trials = rng.dirichlet(np.ones(4), size=(16, 500)).astype(np.float32)
    others = weighted_mse(trials, gains[:, None], weights[:, None]).numpy()
    assert np.all(best[:, None] <= others + 1e-6)


def _brute_force(gains, weights, total, mse_model, steps=200):
    """Minimum of the weighted MSE over a grid of the power simplex (k = 2 or 3)."""
    k = gains.shape[-1]
    grid = np.linspace(0.0, 1.0, steps + 1)
    if k == 2:
        shares = np.stack([grid, 1.0 - grid], -1)
    else:
        a, b = np.meshgrid(grid, grid, indexing="ij")
        keep = a + b <= 1.0
        shares = np.stack([a[keep], b[keep], np.maximum(1.0 - a[keep] - b[keep], 0.0)], -1)
    p = total * shares
    snr = p * gains
    with np.errstate(divide="ignore"):
        mse = 1.0 / snr if mse_model == "zf" else 1.0 / (1.0 + snr)
    obj = np.where(weights > 0, weights * mse, 0.0).sum(-1)
    i = int(np.argmin(obj))
    return obj[i], p[i]


@pytest.mark.parametrize("mse_model", MSE_MODELS)
@pytest.mark.parametrize("k", [2, 3])
def test_allocation_matches_brute_force_on_small_instances(rng, mse_model, k):
    # both MSE models: the allocator's objective is the grid minimum (to the grid's
    # resolution) and no grid point beats it
    solve = zf_wmmse_power if mse_model == "zf" else wmmse_power
    for _ in range(12):
        gains = (rng.exponential(size=k) * 10.0 ** rng.uniform(-1, 1.5)).astype(np.float64)
        weights = rng.uniform(0.05, 1.0, size=k) ** 2
        total = float(rng.uniform(0.5, 3.0))
        p = solve(gains[None].astype(np.float32), weights[None].astype(np.float32),
                  total).numpy()[0].astype(np.float64)
        np.testing.assert_allclose(p.sum(), total, rtol=1e-5)
        got = weighted_mse(p[None], gains[None], weights[None], mse_model=mse_model).numpy()[0]
        best, p_best = _brute_force(gains, weights, total, mse_model, 400 if k == 2 else 150)
        assert got <= best * (1 + 1e-5) + 1e-9
        assert got >= best * (1 - 2e-2)  # the grid gets within 2 % of the optimum
        np.testing.assert_allclose(p, p_best, atol=total * (0.02 if k == 2 else 0.05))


def test_zf_closed_form_and_degenerate_rows():
    # g = [1, 4], w = [1, 1]: p ~ 1/sqrt(g) = [1, 1/2], P = 3 -> [2, 1]
    p = zf_wmmse_power(tf.constant([[1.0, 4.0]]), tf.constant([[1.0, 1.0]]), 3.0)
    np.testing.assert_allclose(p.numpy(), [[2.0, 1.0]], rtol=1e-6)
    # w = [4, 1], g = [1, 1]: p ~ sqrt(w) = [2, 1]
    p = zf_wmmse_power(tf.constant([[1.0, 1.0]]), tf.constant([[4.0, 1.0]]), 3.0)
    np.testing.assert_allclose(p.numpy(), [[2.0, 1.0]], rtol=1e-6)
    # zero weight or zero gain: no power; nothing valid: all zeros
    p = zf_wmmse_power(tf.constant([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]]),
                       tf.constant([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]), 1.0).numpy()
    np.testing.assert_allclose(p, [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])


def test_allocate_features_mse_models_differ(rng):
    imp = rng.uniform(0, 3, size=(4, 8)).astype(np.float32)
    gains = rng.exponential(size=(4, 2, 4)).astype(np.float32) * 5
    _, p_zf = allocate_features("MMSE", imp, gains, mse_model="zf")
    _, p_l = allocate_features("MMSE", imp, gains, mse_model="lmmse")
    np.testing.assert_allclose(p_zf.numpy(), zf_wmmse_power(gains, tf.ones_like(gains)).numpy())
    np.testing.assert_allclose(p_l.numpy(), mmse_power(gains).numpy(), atol=1e-6)
    # ZF MMSE gives the weaker channel of each use more power
    order = np.argsort(gains, -1)
    assert np.all(np.diff(np.take_along_axis(p_zf.numpy(), order, -1), axis=-1) <= 1e-7)
    with pytest.raises(ValueError, match="mse_model"):
        allocate_features("MMSE", imp, gains, mse_model="mmse")


def test_wmmse_closed_form():
    # g = [1, 1], w = [4, 1]: p_k = nu sqrt(w_k) - 1; P = 2 -> 3 nu - 2 = 2, nu = 4/3.
    p = wmmse_power(tf.constant([[1.0, 1.0]]), tf.constant([[4.0, 1.0]]), 2.0)
    np.testing.assert_allclose(p.numpy(), [[5 / 3, 1 / 3]], atol=1e-5)
    # P = 1: nu = 1 is the threshold of the second channel, which gets nothing.
    p = wmmse_power(tf.constant([[1.0, 1.0]]), tf.constant([[4.0, 1.0]]), 1.0)
    np.testing.assert_allclose(p.numpy(), [[1.0, 0.0]], atol=1e-5)


def test_wmmse_with_equal_weights_equals_mmse(rng):
    gains, _ = _random_problem(rng)
    p_mmse = mmse_power(gains).numpy()
    for c in (1.0, 0.3, 7.0):
        np.testing.assert_allclose(wmmse_power(gains, np.full_like(gains, c)).numpy(), p_mmse,
                                   atol=2e-6)
    # and alpha = 0 in allocate_features turns WMMSE into MMSE
    imp = np.abs(rng.normal(size=(64, 4))).astype(np.float32)
    for model in MSE_MODELS:
        _, p0 = allocate_features("WMMSE", imp, gains[:, None], alpha=0.0, mse_model=model)
        _, p1 = allocate_features("MMSE", imp, gains[:, None], mse_model=model)
        np.testing.assert_allclose(p0.numpy(), p1.numpy(), atol=1e-7)


def test_mmse_equalises_snr_and_equal_gains_share_equally():
    p = mmse_power(tf.constant([[2.0, 2.0, 2.0, 2.0]]), 4.0)
    np.testing.assert_allclose(p.numpy(), [[1.0, 1.0, 1.0, 1.0]], atol=1e-6)
    # MMSE gives weaker (but active) channels more power than EPA would.
    p = mmse_power(tf.constant([[10.0, 1.0]]), 10.0).numpy()[0]
    assert p[1] > p[0] > 0


def test_wmmse_degenerate_inputs():
    gains = tf.constant([[0.0, 0.0], [3.0, 0.0], [np.inf, 1.0], [2.0, 2.0]])
    weights = tf.constant([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    p = wmmse_power(gains, weights).numpy()
    np.testing.assert_allclose(p[0], [0, 0])
    np.testing.assert_allclose(p[1], [1, 0], atol=1e-6)
    assert np.all(np.isfinite(p)) and p[2].sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(p[3], [0, 0])
    np.testing.assert_allclose(wmmse_power(gains[1:2], weights[1:2], 0.0).numpy(), [[0, 0]])


def test_wmmse_modes_agree_and_gradients_finite(rng):
    gains, weights = _random_problem(rng, batch=8)
    assert_modes_agree(lambda g, w: wmmse_power(g, w), tf.constant(gains), tf.constant(weights))
    g = tf.Variable(gains)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weighted_mse(wmmse_power(g, weights), g, weights))
    grad = tape.gradient(loss, g).numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_matching_sorts_importance_onto_gains():
    a = subchannel_matching(tf.constant([[0.1, 0.9, 0.5, 0.2]]),
                            tf.constant([[3.0, 0.5, 7.0, 1.0]]))
    # channels by gain: 2 (7), 0 (3), 3 (1), 1 (0.5); features by importance: 1, 2, 3, 0
    # -> channel 2 carries feature 1, 0 carries 2, 3 carries 3, 1 carries 0
    np.testing.assert_array_equal(a.numpy(), [[2, 0, 1, 3]])
    assert a.dtype == tf.int32


def test_matching_is_optimal_over_all_permutations(rng):
    gains, weights = _random_problem(rng, batch=6)
    perms = np.array(list(itertools.permutations(range(4))))
    for g, w in zip(gains, weights):
        wp = w[perms]  # every assignment of the 4 weights to the 4 channels
        gp = np.broadcast_to(g, wp.shape)
        objective = weighted_mse(wmmse_power(gp, wp), gp, wp).numpy()
        a = subchannel_matching(w[None], g[None]).numpy()[0]
        wm = w[a][None]
        matched = weighted_mse(wmmse_power(g[None], wm), g[None], wm).numpy()[0]
        assert matched <= objective.min() + 1e-6


def test_assignment_round_trip(rng):
    x = rng.normal(size=(5, 8)).astype(np.float32)
    a = subchannel_matching(rng.uniform(size=(5, 8)), rng.uniform(size=(5, 8)))
    assert sorted(a.numpy()[0]) == list(range(8))
    y = apply_assignment(x, a).numpy()
    np.testing.assert_array_equal(y[0], x[0][a.numpy()[0]])
    np.testing.assert_array_equal(invert_assignment(y, a).numpy(), x)
    assert_modes_agree(subchannel_matching, tf.constant(rng.uniform(size=(5, 8)), tf.float32),
                       tf.constant(rng.uniform(size=(5, 8)), tf.float32))


def test_eigen_gains_match_svd_and_combiner(rng):
    h = (rng.normal(size=(6, 4, 4)) + 1j * rng.normal(size=(6, 4, 4))) / np.sqrt(2)
    h = tf.constant(h.astype(np.complex64))
    lam = eigen_gains(h, 3).numpy()
    ref = np.linalg.svd(h.numpy(), compute_uv=False)[:, :3] ** 2
    np.testing.assert_allclose(lam, ref, rtol=1e-4)
    # the SVD combiner's streams come in the same order: no_eff = no / (p sigma_k^2)
    s = tf.ones([6, 3, 1], tf.complex64)
    x = SVDPrecoder(3, "equal")(s, h, 0.1)
    _, no_eff = SVDCombiner(3, "equal")(tf.matmul(h, x), h, 0.1)
    np.testing.assert_allclose(no_eff.numpy(), 0.1 / (lam / 3), rtol=1e-3)
    assert_modes_agree(lambda t: eigen_gains(t, 3), h)


def test_allocate_features_schemes(rng):
    imp = rng.uniform(0, 3, size=(4, 8)).astype(np.float32)
    gains = rng.exponential(size=(4, 2, 4)).astype(np.float32) * 5
    for scheme in ALLOCATION_SCHEMES:
        a, p = allocate_features(scheme, imp, gains, total_power=1.0)
        assert a.shape == (4, 8) and p.shape == (4, 2, 4)
        np.testing.assert_allclose(p.numpy().sum(-1), 1.0, atol=1e-5)
        if scheme.endswith("-M"):
            np.testing.assert_array_equal(a, subchannel_matching(imp, gains.reshape(4, 8)))
        else:
            np.testing.assert_array_equal(a, np.tile(np.arange(8), (4, 1)))
    _, p = allocate_features("EPA-M", imp, gains)
    np.testing.assert_allclose(p.numpy(), equal_power(gains).numpy())
    # WMMSE-M uses the weights of the features it put on each slot
    a, p = allocate_features("WMMSE-M", imp, gains, alpha=2.0, mse_model="lmmse")
    w = apply_assignment(importance_weights(imp, 2.0), a).numpy().reshape(4, 2, 4)
    np.testing.assert_allclose(p.numpy(), wmmse_power(gains, w).numpy(), atol=1e-6)
    _, p = allocate_features("WMMSE-M", imp, gains, alpha=2.0, mse_model="zf")
    np.testing.assert_allclose(p.numpy(), zf_wmmse_power(gains, w).numpy(), atol=1e-6)


def test_importance_weights():
    imp = tf.constant([[0.0, 1.0, 2.0, -1.0]])
    np.testing.assert_allclose(importance_weights(imp, 2.0).numpy(), [[0, 1, 4, 0]])
    np.testing.assert_allclose(importance_weights(imp, 0).numpy(), [[1, 1, 1, 1]])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="scheme"):
        allocate_features("WF", tf.ones([1, 4]), tf.ones([1, 1, 4]))
    with pytest.raises(ValueError, match="k = T \\* ns"):
        allocate_features("EPA", tf.ones([1, 6]), tf.ones([1, 1, 4]))
    with pytest.raises(ValueError, match="alpha"):
        importance_weights(tf.ones([1, 4]), -1.0)
    with pytest.raises(ValueError, match="importance"):
        subchannel_matching(tf.ones([1, 3]), tf.ones([1, 4]))
    with pytest.raises(ValueError, match="num_streams"):
        eigen_gains(tf.ones([1, 2, 2], tf.complex64), 3)
    with pytest.raises(TypeError, match="h_hat"):
        eigen_gains(tf.ones([1, 2, 2]), 2)
    with pytest.raises(ValueError, match="num_iter"):
        wmmse_power(tf.ones([1, 2]), tf.ones([1, 2]), num_iter=0)
    with pytest.raises(ValueError, match="gains"):
        mmse_power(tf.constant(1.0))
