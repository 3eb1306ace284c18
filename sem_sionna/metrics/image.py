"""Image fidelity: PSNR and MS-SSIM per image.

Both take images ``[batch, H, W, C]`` (NumPy arrays or tensors, any float or
integer dtype, computed in float32) and return one value per image, so a sweep
can average, take percentiles or split by outcome.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import tensorflow as tf

__all__ = ["psnr", "ms_ssim", "ms_ssim_params", "image_metrics", "PSNR_MAX_DB",
           "MS_SSIM_POWER_FACTORS"]

PSNR_MAX_DB = 100.0
"""PSNR of an exact reconstruction (and the cap of every PSNR), in dB: the MSE is floored
at ``max_val**2 * 1e-10`` so that identical images give a finite, averageable value."""

MS_SSIM_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Scale weights of Wang et al. (2003), finest scale first, as in ``tf.image.ssim_multiscale``."""

_FILTER_SIZE = 11
_FILTER_SIGMA = 1.5


def _check_max_val(max_val) -> float:
    if isinstance(max_val, (bool, np.bool_)) or not isinstance(max_val, numbers.Real) \
            or not max_val > 0 or not math.isfinite(max_val):
        raise ValueError(f"`max_val` must be a positive finite number, got {max_val!r}")
    return float(max_val)


def _image_pair(x, x_hat) -> tuple[tf.Tensor, tf.Tensor]:
    x = tf.cast(tf.convert_to_tensor(x), tf.float32)
    x_hat = tf.cast(tf.convert_to_tensor(x_hat), tf.float32)
    if x.shape.rank != 4:
        raise ValueError(f"`x` must have shape [batch, H, W, C], got {x.shape}")
    if not x.shape.is_compatible_with(x_hat.shape):
        raise ValueError(f"`x_hat` must have the shape of `x` {x.shape}, got {x_hat.shape}")
    return x, x_hat


def psnr(x, x_hat, max_val: float = 1.0) -> tf.Tensor:
    """Peak signal-to-noise ratio of each image.

    ``10 log10(max_val^2 / MSE)`` with the MSE over all pixels and channels of an image.
    An exact reconstruction gives :data:`PSNR_MAX_DB` (100 dB) instead of ``inf``: the
    MSE is floored at ``max_val^2 * 1e-10``, so every value is at most 100 dB.

    Input
    -----
    x : [batch, H, W, C], float -- reference images, in ``[0, max_val]``.
    x_hat : [batch, H, W, C], float -- reconstructions.
    max_val : float, default 1.0 -- peak value.

    Output
    ------
    psnr : [batch], tf.float32 -- dB.
    """
    max_val = _check_max_val(max_val)
    x, x_hat = _image_pair(x, x_hat)
    mse = tf.reduce_mean(tf.square(x - x_hat), axis=[1, 2, 3])
    mse = tf.maximum(mse, max_val ** 2 * 10.0 ** (-PSNR_MAX_DB / 10.0))
    return 10.0 * tf.math.log(max_val ** 2 / mse) / math.log(10.0)


def ms_ssim_params(height: int, width: int) -> dict:
    """Scales, filter and weights :func:`ms_ssim` uses for ``height`` x ``width`` images.

    ``tf.image.ssim_multiscale`` halves the image between scales (side
    ``ceil(s / 2^k)`` at scale ``k``) and needs every scale to be at least as large as
    its Gaussian filter. Rule, with ``s = min(height, width)``:

    - filter 11 x 11, sigma 1.5 (Wang et al.), and the largest number of scales
      ``K <= 5`` with ``ceil(s / 2^(K-1)) >= 11``: 5 scales from 161 px, 4 from 81,
      3 from 41, 2 from 21 (so 2 at 32x32, 3 at 64x64), 1 from 11;
    - below 11 px one scale with the largest odd filter ``<= s`` and sigma
      ``1.5 * filter / 11`` (``s >= 3`` required);
    - weights: the first ``K`` of :data:`MS_SSIM_POWER_FACTORS`, renormalised to sum 1
      when ``K < 5``; with ``K = 5`` they are TF's defaults unchanged, so the result
      equals ``tf.image.ssim_multiscale`` with its default arguments.

    Output
    ------
    params : dict -- ``num_scales`` (int), ``filter_size`` (int), ``filter_sigma`` (float),
        ``power_factors`` (tuple of float, finest scale first).
    """
    side = min(int(height), int(width))
    if side < 3:
        raise ValueError(f"MS-SSIM needs images of at least 3x3 pixels, got {height}x{width}")
    if side < _FILTER_SIZE:
        filter_size = side if side % 2 else side - 1
        return {"num_scales": 1, "filter_size": filter_size,
                "filter_sigma": _FILTER_SIGMA * filter_size / _FILTER_SIZE, "power_factors": (1.0,)}
    num_scales = 1
    while num_scales < len(MS_SSIM_POWER_FACTORS) and -(-side // 2 ** num_scales) >= _FILTER_SIZE:
        num_scales += 1
    weights = MS_SSIM_POWER_FACTORS[:num_scales]
    if num_scales < len(MS_SSIM_POWER_FACTORS):
        total = sum(weights)
        weights = tuple(w / total for w in weights)
    return {"num_scales": num_scales, "filter_size": _FILTER_SIZE,
            "filter_sigma": _FILTER_SIGMA, "power_factors": weights}


def ms_ssim(x, x_hat, max_val: float = 1.0) -> tf.Tensor:
    """Multi-scale SSIM of each image (``tf.image.ssim_multiscale``, sized to the image).

    The number of scales, filter and weights follow :func:`ms_ssim_params`: images of
    at least 161 px use TF's standard 5-scale setting; smaller ones use fewer scales
    (2 at 32x32, 3 at 64x64) with the standard weights truncated and renormalised.
    Identical images give 1; values are averaged over channels.

    Input
    -----
    x : [batch, H, W, C], float -- reference images in ``[0, max_val]``; ``H`` and ``W``
        must be known statically.
    x_hat : [batch, H, W, C], float -- reconstructions.
    max_val : float, default 1.0 -- peak value.

    Output
    ------
    ms_ssim : [batch], tf.float32 -- in [0, 1].
    """
    max_val = _check_max_val(max_val)
    x, x_hat = _image_pair(x, x_hat)
    height, width = x.shape[1], x.shape[2]
    if height is None or width is None:
        raise ValueError(f"`x` must have a static height and width, got shape {x.shape}")
    p = ms_ssim_params(height, width)
    return tf.image.ssim_multiscale(x, x_hat, max_val, power_factors=p["power_factors"],
                                    filter_size=p["filter_size"], filter_sigma=p["filter_sigma"])


def image_metrics(x, x_hat) -> dict:
    """Mean PSNR and MS-SSIM of a batch (images in [0, 1]), as Python floats.

    Output
    ------
    metrics : dict -- ``psnr`` (dB, mean of per-image PSNR) and ``ms_ssim`` (mean).
    """
    return {"psnr": float(tf.reduce_mean(psnr(x, x_hat))),
            "ms_ssim": float(tf.reduce_mean(ms_ssim(x, x_hat)))}
