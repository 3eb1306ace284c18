"""links.pcen_phy.regularised_pinv: the pseudo-inverse, finite on singular matrices."""
import numpy as np
import tensorflow as tf

from sem_sionna.links.pcen_phy import regularised_pinv


def test_regularised_pinv_matches_numpy_and_stays_finite():
    rng = np.random.default_rng(0)
    a = (rng.standard_normal([5, 3, 2]) + 1j * rng.standard_normal([5, 3, 2])).astype(np.complex64)
    got = regularised_pinv(tf.constant(a)).numpy()
    assert got.shape == (5, 2, 3)
    np.testing.assert_allclose(got, np.linalg.pinv(a), rtol=1e-3, atol=1e-4)
    singular = np.zeros([1, 2, 2], np.complex64)
    singular[0, 0, 0] = 1.0  # rank 1
    out = regularised_pinv(tf.constant(singular)).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0, 0, 0], 1.0, rtol=1e-4)  # the invertible part
