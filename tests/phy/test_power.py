"""Tests for sem_sionna.phy.power (water-filling and equal power allocation)."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.phy.power import (
    POWER_ALLOCATIONS,
    equal_power,
    get_power_allocation,
    water_filling,
)


def _water_filling_bisection(gains, total_power=1.0):
    """Reference: bisection on the water level mu with sum max(mu - 1/g, 0) = P."""
    gains = np.asarray(gains, np.float64)
    floors = np.where(gains > 0, 1.0 / np.where(gains > 0, gains, 1.0), np.inf)
    lo, hi = 0.0, np.min(floors) + total_power
    for _ in range(200):
        mu = 0.5 * (lo + hi)
        if np.sum(np.maximum(mu - floors, 0.0)) > total_power:
            hi = mu
        else:
            lo = mu
    return np.maximum(0.5 * (lo + hi) - floors, 0.0)


def test_water_filling_matches_bisection_reference(rng):
    gains = rng.exponential(size=(64, 4)) * 10.0 ** rng.uniform(-1.5, 1.5, size=(64, 1))
    p = water_filling(tf.constant(gains, tf.float32)).numpy()
    ref = np.stack([_water_filling_bisection(g) for g in gains])
    assert p.shape == (64, 4) and p.dtype == np.float32
    np.testing.assert_allclose(p, ref, atol=2e-6)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-6)
    assert np.all(p >= 0)
    # The low-SNR rows really switch channels off, so the test covers both regimes.
    assert np.any(p == 0) and np.any(np.all(p > 0, axis=-1))


def test_water_filling_closed_forms():
    p = water_filling(tf.constant([[1.0, 0.1, 0.0], [10.0, 10.0, 10.0], [1.0, 0.5, 4.0]]))
    # gains 1 and 0.1: floors 1 and 10, level 2 < 10 -> all power on the first.
    # [1, 0.5, 4]: floors 1, 2, 0.25 -> level (1 + 0.25 + 1)/2 = 1.125 < 2.
    np.testing.assert_allclose(p.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3],
                                           [0.125, 0.0, 0.875]], atol=1e-6)


def test_water_filling_total_power_and_degenerate_gains():
    p = water_filling(tf.constant([[2.0, 1.0], [2.0, 1.0]]), tf.constant([[1.0], [4.0]]))
    np.testing.assert_allclose(p.numpy().sum(-1), [1.0, 4.0], atol=1e-6)
    # 4 = (mu - 0.5) + (mu - 1) -> mu = 2.75
    np.testing.assert_allclose(p.numpy()[1], [2.25, 1.75], atol=1e-6)
    p = water_filling(tf.constant([[0.0, 0.0], [np.inf, 3.0], [np.nan, -1.0], [np.inf, np.inf]]))
    # [inf, 3]: floors 0 and 1/3, level (1 + 1/3)/2 = 2/3.
    np.testing.assert_allclose(p.numpy(), [[0, 0], [2 / 3, 1 / 3], [0, 0], [0.5, 0.5]], atol=1e-6)


def test_equal_power():
    p = equal_power(tf.constant([[5.0, 0.0, 1.0, 2.0]]), 2.0)
    np.testing.assert_allclose(p.numpy(), [[0.5, 0.5, 0.5, 0.5]])


def test_water_filling_eager_graph_xla_agree(rng):
    gains = tf.constant(rng.exponential(size=(16, 3)), tf.float32)
    eager = water_filling(gains)
    graph = tf.function(water_filling)(gains)
    xla = tf.function(water_filling, jit_compile=True)(gains)
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), atol=1e-6)
    np.testing.assert_allclose(xla.numpy(), eager.numpy(), atol=1e-6)


def test_water_filling_gradients_finite():
    gains = tf.Variable([[4.0, 1.0, 0.5], [1.0, 1.0, 0.0]])
    with tf.GradientTape() as tape:
        p = water_filling(gains)
        rate = tf.reduce_sum(tf.math.log(1.0 + p * gains))
    grad = tape.gradient(rate, gains).numpy()
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0)


def test_registry_and_errors():
    assert get_power_allocation("waterfilling") is water_filling
    assert get_power_allocation("equal") is equal_power
    assert set(POWER_ALLOCATIONS) == {"equal", "waterfilling"}
    with pytest.raises(ValueError, match=r"power_allocation.*'equal'.*'waterfilling'.*'mmse'"):
        get_power_allocation("mmse")
    with pytest.raises(ValueError, match="gains"):
        water_filling(tf.constant(1.0))
