"""flip_cost: the MSE increase of each bit flipped alone, on toy codes of known importance."""
import numpy as np
import pytest

from sem_sionna.metrics import flip_cost


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
