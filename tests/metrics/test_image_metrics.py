"""Tests for sem_sionna.metrics.image."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.metrics import PSNR_MAX_DB, image_metrics, ms_ssim, ms_ssim_params, psnr


def _smooth_images(rng, n, size):
    """Smooth random images (structure at several scales), in [0, 1]."""
    x = rng.random((n, size // 8, size // 8, 3)).astype(np.float32)
    x = tf.image.resize(x, (size, size), method="bicubic").numpy()
    return np.clip(x, 0.0, 1.0)


def test_psnr_closed_form(rng):
    x = rng.random((3, 8, 8, 3)).astype(np.float32) * 0.5
    deltas = np.array([0.1, 0.01, 0.2], np.float32)
    x_hat = x + deltas[:, None, None, None]  # MSE = delta^2 exactly per image
    np.testing.assert_allclose(psnr(x, x_hat).numpy(), -20 * np.log10(deltas), rtol=1e-4)
    np.testing.assert_allclose(psnr(x * 255, x_hat * 255, max_val=255.0).numpy(),
                               -20 * np.log10(deltas), rtol=1e-4)


def test_psnr_exact_match_is_capped(rng):
    x = rng.random((2, 4, 4, 3)).astype(np.float32)
    out = psnr(x, x).numpy()
    assert out.shape == (2,) and np.all(out == pytest.approx(PSNR_MAX_DB))


def test_psnr_in_tf_function_and_gradient(rng):
    x = tf.constant(rng.random((2, 4, 4, 3)), tf.float32)
    x_hat = tf.Variable(tf.zeros_like(x))
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(psnr(x, x_hat))
    g = tape.gradient(loss, x_hat)
    assert g is not None and np.all(np.isfinite(g.numpy()))
    np.testing.assert_allclose(tf.function(psnr)(x, x_hat).numpy(), psnr(x, x_hat).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("size", [32, 64])
def test_ms_ssim_identity_and_monotone_in_noise(rng, size):
    x = _smooth_images(rng, 2, size)
    assert ms_ssim(x, x).numpy() == pytest.approx([1.0, 1.0], abs=1e-5)
    noise = rng.standard_normal(x.shape).astype(np.float32)
    values = [ms_ssim(x, np.clip(x + s * noise, 0, 1)).numpy() for s in (0.01, 0.05, 0.1, 0.3)]
    values = np.array(values)
    assert np.all(np.diff(values, axis=0) < 0)
    assert np.all(values > 0) and np.all(values < 1)


def test_ms_ssim_matches_tf_at_256(rng):
    x = _smooth_images(rng, 2, 256)
    y = np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
    ref = tf.image.ssim_multiscale(x, y, 1.0).numpy()
    np.testing.assert_allclose(ms_ssim(x, y).numpy(), ref, rtol=1e-6)


def test_ms_ssim_params_rule():
    assert ms_ssim_params(256, 256)["num_scales"] == 5
    assert ms_ssim_params(161, 300)["num_scales"] == 5
    assert ms_ssim_params(160, 160)["num_scales"] == 4
    assert ms_ssim_params(64, 64)["num_scales"] == 3
    p = ms_ssim_params(32, 32)
    assert p["num_scales"] == 2 and p["filter_size"] == 11
    np.testing.assert_allclose(p["power_factors"], np.array([0.0448, 0.2856]) / 0.3304)
    p = ms_ssim_params(8, 8)
    assert p["num_scales"] == 1 and p["filter_size"] == 7
    with pytest.raises(ValueError, match="3x3"):
        ms_ssim_params(2, 8)


def test_ms_ssim_tiny_images(rng):
    x = rng.random((2, 8, 8, 3)).astype(np.float32)
    assert ms_ssim(x, x).numpy() == pytest.approx([1.0, 1.0], abs=1e-5)


def test_image_metrics(rng):
    x = _smooth_images(rng, 2, 32)
    m = image_metrics(x, np.clip(x + 0.1, 0, 1))
    assert set(m) == {"psnr", "ms_ssim"} and isinstance(m["psnr"], float)
    assert 15 < m["psnr"] < 25 and 0 < m["ms_ssim"] < 1


def test_bad_inputs():
    x = np.zeros((2, 8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="x_hat"):
        psnr(x, np.zeros((2, 8, 4, 3)))
    with pytest.raises(ValueError, match="batch, H, W, C"):
        psnr(x[0], x[0])
    with pytest.raises(ValueError, match="max_val"):
        ms_ssim(x, x, max_val=0.0)
