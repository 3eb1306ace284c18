"""Tests for sem_sionna.metrics.bits."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.metrics import ber, bler, per_level_ber


@pytest.fixture
def bits_pair():
    bits = np.zeros((2, 2, 6), np.float32)
    bits_hat = bits.copy()
    bits_hat[0, 0, 0] = 1  # block (0,0): 1 error, level 0
    bits_hat[0, 0, 1] = 1  # block (0,0): 2nd error, level 0
    bits_hat[1, 1, 5] = 1  # block (1,1): level 2
    return bits, bits_hat


def test_ber_and_bler_hand_counted(bits_pair):
    bits, bits_hat = bits_pair
    assert float(ber(bits, bits_hat)) == pytest.approx(3 / 24)
    assert float(bler(bits, bits_hat)) == pytest.approx(2 / 4)
    assert ber(bits, bits_hat).dtype == tf.float64
    assert float(ber(bits, bits)) == 0.0 and float(bler(bits, bits)) == 0.0


def test_per_level_ber_hand_counted(bits_pair):
    bits, bits_hat = bits_pair
    # 3 levels of 2 bits, 4 blocks -> 8 bits per level.
    np.testing.assert_allclose(per_level_ber(bits, bits_hat, 3).numpy(), [2 / 8, 0.0, 1 / 8])
    np.testing.assert_allclose(per_level_ber(bits, bits_hat, 1).numpy(), [3 / 24])
    np.testing.assert_allclose(per_level_ber(bits, bits_hat, 6).numpy(),
                               [1 / 4, 1 / 4, 0, 0, 0, 1 / 4])


def test_per_level_ber_matches_ber_on_average(rng):
    bits = rng.integers(0, 2, (5, 12)).astype(np.float32)
    flips = rng.random((5, 12)) < 0.3
    bits_hat = np.where(flips, 1 - bits, bits)
    assert float(tf.reduce_mean(per_level_ber(bits, bits_hat, 4))) == pytest.approx(
        float(ber(bits, bits_hat)))


def test_validation(bits_pair):
    bits, bits_hat = bits_pair
    with pytest.raises(ValueError, match="num_levels"):
        per_level_ber(bits, bits_hat, 4)
    with pytest.raises(ValueError, match="num_levels"):
        per_level_ber(bits, bits_hat, 0)
    with pytest.raises(ValueError, match="bits_hat"):
        ber(bits, bits_hat[..., :5])
