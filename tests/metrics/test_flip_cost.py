"""flip_cost (the MSE increase of each bit flipped alone) and its Gauss-Newton estimate,
on toy codes of known importance."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from sem_sionna.metrics import flip_cost, gauss_newton_flip_cost


def test_linear_code_flip_cost_is_the_known_importance():
    """Decoder x = sum_m w_m (2 u_m - 1) e_m, exact reconstruction: flipping bit m moves
    pixel m by 2 w_m, so its cost is (2 w_m)^2 / pixels."""
    rng = np.random.default_rng(0)
    w = np.array([2.0, 1.0, 0.5, 0.0, 0.1, 3.0])
    bits = rng.integers(0, 2, (10, 6)).astype(np.float32)

    def decode(u):
        return (w * (2 * np.asarray(u) - 1)).reshape(-1, 2, 3)

    images = decode(bits)
    cost = flip_cost(decode, bits, images, batch_size=7)
    np.testing.assert_allclose(cost, (2 * w) ** 2 / 6, rtol=1e-12)
    assert np.argsort(cost)[-1] == 5 and cost[3] == 0.0


def _dense_code(seed: int, n: int, m: int, pixels: int, noise: float):
    """A dense linear code of ``m`` bits over ``pixels`` values: ``(decode, bits, images)``
    with the images the decoded codewords plus Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(m, pixels))
    bits = rng.integers(0, 2, (n, m)).astype(np.float32)
    images = (2 * bits - 1) @ mix + rng.normal(size=(n, pixels)) * noise

    def decode(u):
        return (2 * np.asarray(u) - 1) @ mix

    return decode, bits, images


def test_dense_code_and_errors():
    decode, bits, images = _dense_code(1, n=4, m=5, pixels=12, noise=0.3)
    base = np.mean((decode(bits) - images) ** 2)
    want = []
    for m in range(5):
        flipped = bits.copy()
        flipped[:, m] = 1 - flipped[:, m]
        want.append(np.mean((decode(flipped) - images) ** 2) - base)
    np.testing.assert_allclose(flip_cost(decode, bits, images, batch_size=1), want, rtol=1e-10)
    with pytest.raises(ValueError, match="bits"):
        flip_cost(decode, bits[:3], images)


def test_per_image_costs_average_to_the_flip_cost():
    """``per_image``: row i is image i's own MSE increase; their mean is the [M] cost."""
    decode, bits, images = _dense_code(2, n=5, m=4, pixels=6, noise=0.5)
    per = flip_cost(decode, bits, images, batch_size=3, per_image=True)
    assert per.shape == (5, 4)
    flipped = bits.copy()
    flipped[:, 2] = 1 - flipped[:, 2]
    want = (np.mean((decode(flipped) - images) ** 2, axis=1)
            - np.mean((decode(bits) - images) ** 2, axis=1))
    np.testing.assert_allclose(per[:, 2], want, rtol=1e-10)
    np.testing.assert_allclose(per.mean(axis=0), flip_cost(decode, bits, images), rtol=1e-12)


# ------------------------------------------------------------- gauss_newton_flip_cost
def _tf_decoder(mix, shape, nonlinear=False):
    """``u -> (2u - 1) @ mix`` (optionally through tanh) as a TensorFlow function, and the
    same in NumPy for :func:`flip_cost`."""
    mix32 = tf.constant(mix, tf.float32)

    def tf_decode(u):
        y = (2.0 * u - 1.0) @ mix32
        return tf.reshape(tf.tanh(y) if nonlinear else y, (-1,) + shape)

    def np_decode(u):
        return tf_decode(tf.convert_to_tensor(np.asarray(u, np.float32))).numpy()

    return tf_decode, np_decode


def test_gauss_newton_cost_is_exact_when_each_bit_drives_its_own_pixel():
    """Each bit moves one pixel by 2 w_m: ``(v^T J)_m^2 = 4 w_m^2`` for any Rademacher
    probe, so one probe gives the exact cost (2 w_m)^2 / pixels, as flip_cost does."""
    w = np.array([2.0, 1.0, 0.5, 0.0, 0.1, 3.0])
    tf_decode, np_decode = _tf_decoder(np.diag(w), (2, 3))
    bits = np.random.default_rng(0).integers(0, 2, (10, 6)).astype(np.float32)
    images = np_decode(bits)
    cost = gauss_newton_flip_cost(tf_decode, bits, images, num_probes=1, batch_size=3)
    np.testing.assert_allclose(cost, (2 * w) ** 2 / 6, rtol=1e-6)
    np.testing.assert_allclose(cost, flip_cost(np_decode, bits, images), rtol=1e-6)


def test_gauss_newton_cost_of_a_dense_affine_code_matches_the_exact_cost():
    """Dense mix, noisy images: the linear term is exact and Hutchinson's curvature term
    is unbiased, so with many probes the estimate is the exact cost within its noise."""
    rng = np.random.default_rng(3)
    mix = rng.normal(size=(8, 24))
    tf_decode, np_decode = _tf_decoder(mix, (24,))
    bits = rng.integers(0, 2, (64, 8)).astype(np.float32)
    images = np_decode(bits) + rng.normal(size=(64, 24)).astype(np.float32) * 0.5
    exact = flip_cost(np_decode, bits, images)
    gn = gauss_newton_flip_cost(tf_decode, bits, images, num_probes=64, seed=1)
    scale = np.mean(4 * np.sum(mix ** 2, axis=1) / 24)  # mean curvature term
    np.testing.assert_allclose(gn, exact, atol=0.05 * scale)
    one = gauss_newton_flip_cost(tf_decode, bits, images, num_probes=1, seed=1)
    assert np.abs(one - exact).mean() > np.abs(gn - exact).mean()  # the probes matter


def test_gauss_newton_cost_ranks_planted_importance_of_a_nonlinear_code():
    """tanh decoder, bits 0-7 weigh 10x more than bits 8-15: the estimate separates the
    two groups and ranks all bits as the exact cost does."""
    rng = np.random.default_rng(4)
    mix = rng.normal(size=(16, 48)) * 0.15
    mix[:8] *= 10.0 ** 0.5 * rng.uniform(0.8, 1.25, (8, 1))
    mix[8:] *= rng.uniform(0.5, 2.0, (8, 1))
    tf_decode, np_decode = _tf_decoder(mix, (48,), nonlinear=True)
    bits = rng.integers(0, 2, (128, 16)).astype(np.float32)
    images = np_decode(bits) + rng.normal(size=(128, 48)).astype(np.float32) * 0.1
    exact = flip_cost(np_decode, bits, images)
    gn = gauss_newton_flip_cost(tf_decode, bits, images)
    assert gn[:8].min() > gn[8:].max() and exact[:8].min() > exact[8:].max()
    assert stats.spearmanr(gn, exact).statistic > 0.9
    per = gauss_newton_flip_cost(tf_decode, bits, images, per_image=True)
    assert per.shape == (128, 16)
    np.testing.assert_allclose(per.mean(axis=0), gn, rtol=1e-12)


def test_gauss_newton_cost_rejects_bad_arguments():
    tf_decode, np_decode = _tf_decoder(np.eye(4), (4,))
    bits = np.zeros((5, 4), np.float32)
    images = np_decode(bits)
    with pytest.raises(ValueError, match="num_probes"):
        gauss_newton_flip_cost(tf_decode, bits, images, num_probes=0)
    with pytest.raises(ValueError, match="batch_size"):
        gauss_newton_flip_cost(tf_decode, bits, images, batch_size=1.5)
    with pytest.raises(ValueError, match="bits"):
        gauss_newton_flip_cost(tf_decode, bits[:3], images)
