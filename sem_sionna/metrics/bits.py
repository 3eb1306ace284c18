"""Bit and block error rates, overall and per reliability level.

Bits are hard decisions in {0, 1} (any real or integer dtype); a bit is in error
when ``bits != bits_hat``. Rates are computed in float64 so that long sweeps
(1e9 bits) count exactly, as Sionna's ``compute_ber`` does.
"""
from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

__all__ = ["ber", "bler", "per_level_ber", "flip_cost", "gauss_newton_flip_cost"]


def _errors(bits, bits_hat) -> tf.Tensor:
    bits = tf.cast(tf.convert_to_tensor(bits), tf.float32)
    bits_hat = tf.cast(tf.convert_to_tensor(bits_hat), tf.float32)
    if bits.shape.rank is not None and bits.shape.rank < 1:
        raise ValueError(f"`bits` must have at least one axis, got shape {bits.shape}")
    if not bits.shape.is_compatible_with(bits_hat.shape):
        raise ValueError(f"`bits_hat` must have the shape of `bits` {bits.shape}, "
                         f"got {bits_hat.shape}")
    return tf.not_equal(bits, bits_hat)


def ber(bits, bits_hat) -> tf.Tensor:
    """Bit error rate over all bits.

    Input
    -----
    bits : [..., n], {0, 1} -- transmitted bits.
    bits_hat : [..., n], {0, 1} -- hard decisions.

    Output
    ------
    ber : [], tf.float64 -- fraction of bits in error.
    """
    return tf.reduce_mean(tf.cast(_errors(bits, bits_hat), tf.float64))


def bler(bits, bits_hat) -> tf.Tensor:
    """Block error rate; a block is the last axis and is in error if any bit is.

    Input
    -----
    bits : [..., n], {0, 1} -- transmitted blocks of ``n`` bits.
    bits_hat : [..., n], {0, 1} -- hard decisions.

    Output
    ------
    bler : [], tf.float64 -- fraction of blocks with at least one bit error.
    """
    block_err = tf.reduce_any(_errors(bits, bits_hat), axis=-1)
    return tf.reduce_mean(tf.cast(block_err, tf.float64))


def per_level_ber(bits, bits_hat, num_levels: int) -> tf.Tensor:
    """Bit error rate of each reliability level.

    The last axis (``M`` bits) holds ``num_levels`` contiguous, equal groups of
    ``M / num_levels`` bits: level 0 is ``bits[..., :M/N]``, level 1 the next group,
    and so on (the layout of a multi-level interface, level 0 first).

    Input
    -----
    bits : [..., M], {0, 1} -- transmitted bits, ``M`` a multiple of ``num_levels``.
    bits_hat : [..., M], {0, 1} -- hard decisions.
    num_levels : int -- number of levels ``N``.

    Output
    ------
    ber : [num_levels], tf.float64 -- BER of each level over all leading axes.
    """
    if isinstance(num_levels, (bool, np.bool_)) or not isinstance(num_levels, numbers.Integral) \
            or num_levels < 1:
        raise ValueError(f"`num_levels` must be a positive integer, got {num_levels!r}")
    err = _errors(bits, bits_hat)
    m = err.shape[-1]
    if m is None:
        raise ValueError("the last axis of `bits` must be known statically")
    if m % num_levels:
        raise ValueError(f"the last axis of `bits` ({m} bits) must be a multiple of "
                         f"`num_levels`, got num_levels={num_levels}")
    err = tf.reshape(tf.cast(err, tf.float64), [-1, num_levels, m // num_levels])
    return tf.reduce_mean(err, axis=[0, 2])


def flip_cost(decode, bits, images, batch_size: int = 512,
              per_image: bool = False) -> np.ndarray:
    """Importance of each bit: the increase of the MSE when that bit alone is flipped.

    For every bit ``m``, bit ``m`` of every codeword is inverted, the codewords are
    decoded, and the mean squared error against ``images`` (over the images and their
    pixels) is compared with that of the unflipped codewords (S0's notion of bit
    importance: an important bit costs much distortion when it is wrong).

    Input
    -----
    decode : callable -- ``[b, M]`` bits in {0, 1} -> ``[b, ...]`` reconstructions.
    bits : [n, M], {0, 1} -- codewords of ``images``.
    images : [n, ...] -- the originals.
    batch_size : int -- codewords per ``decode`` call.
    per_image : bool -- return every image's cost (for confidence intervals over images).

    Output
    ------
    cost : [M] (or [n, M] with ``per_image``), np.float64 -- ``MSE(flip m) - MSE(none)``;
        per pixel, same scale as ``images``. The ``[M]`` cost is the mean of the
        per-image costs over the images.
    """
    bits = np.asarray(bits, np.float32)
    images = np.asarray(images, np.float64)
    if bits.ndim != 2 or len(bits) != len(images):
        raise ValueError(f"`bits` must be [n, M] with n = len(images) = {len(images)}, "
                         f"got shape {bits.shape}")
    n, m = bits.shape
    chunk = max(1, int(batch_size) // n)

    def mse(codes):
        x_hat = np.asarray(decode(codes), np.float64).reshape((-1,) + images.shape[1:])
        err = (x_hat.reshape((-1, n) + images.shape[1:]) - images[None]) ** 2
        return err.reshape(err.shape[0], n, -1).mean(axis=2)              # [c, n]

    base = mse(bits)[0]
    cost = np.empty((n, m), np.float64)
    for start in range(0, m, chunk):
        idx = np.arange(start, min(m, start + chunk))
        codes = np.repeat(bits[None], len(idx), axis=0)                   # [c, n, M]
        codes[np.arange(len(idx)), :, idx] = 1.0 - codes[np.arange(len(idx)), :, idx]
        cost[:, idx] = (mse(codes.reshape(-1, m)) - base).T
    return cost if per_image else cost.mean(axis=0)


def gauss_newton_flip_cost(decode, bits, images, num_probes: int = 4, batch_size: int = 512,
                           seed: int = 0, per_image: bool = False) -> np.ndarray:
    """Second-order estimate of :func:`flip_cost` from derivatives instead of ``M`` decodes.

    With ``r = g(u) - x`` the residual of image ``x`` and ``J_m = dg/du_m`` the decoder's
    Jacobian column of bit ``m``, flipping that bit (``delta_m = 1 - 2 u_m``) changes the
    squared error by ``2 delta_m r.J_m + ||J_m||^2`` to second order with the Gauss-Newton
    Hessian ``J^T J`` (the decoder's own curvature dropped), which is the exact change
    for a decoder affine in the bits. The first term of all ``M`` bits is one gradient;
    ``||J_m||^2`` is Hutchinson's estimator ``E[(v^T J)_m^2]`` over ``num_probes``
    Rademacher probes ``v`` in pixel space (one vector-Jacobian product each). Per image
    that is ``1 + num_probes`` backward passes instead of ``M`` decodes (S0's 512 bits
    over 512 patches: about 1 s instead of 70 s on two CPU cores), unbiased for affine
    decoders; for a nonlinear decoder it is as good as the decoder is affine over one
    flip, so check it against :func:`flip_cost` on the model at hand (``split_vs_ldpc``
    records their rank correlation).

    Input
    -----
    decode : callable -- differentiable TensorFlow function, ``[b, M]`` float32 bits ->
        ``[b, ...]`` reconstructions (each row from its own codeword only).
    bits : [n, M], {0, 1} -- codewords of ``images``.
    images : [n, ...] -- the originals.
    num_probes : int -- Rademacher probes of ``||J_m||^2`` (>= 1).
    batch_size : int -- images per gradient computation.
    seed : int -- seed of the probes.
    per_image : bool -- return every image's estimate.

    Output
    ------
    cost : [M] (or [n, M] with ``per_image``), np.float64 -- estimated
        ``MSE(flip m) - MSE(none)`` per pixel, same scale as ``images``.
    """
    probes = _positive_count(num_probes, "num_probes")
    chunk = _positive_count(batch_size, "batch_size")
    bits = np.asarray(bits, np.float32)
    images = np.asarray(images, np.float32)
    if bits.ndim != 2 or len(bits) != len(images):
        raise ValueError(f"`bits` must be [n, M] with n = len(images) = {len(images)}, "
                         f"got shape {bits.shape}")
    pixels = int(np.prod(images.shape[1:]))
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, len(bits), chunk):
        u = tf.convert_to_tensor(bits[start:start + chunk])
        x = tf.convert_to_tensor(images[start:start + chunk])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(u)
            x_hat = tf.reshape(decode(u), tf.shape(x))
            sse = tf.reduce_sum(tf.square(x_hat - x))
        linear = tape.gradient(sse, u).numpy().astype(np.float64) * (1.0 - 2.0 * bits[
            start:start + chunk])                                          # 2 delta r.J
        curvature = np.zeros_like(linear)
        for _ in range(probes):
            v = rng.choice(np.array([-1.0, 1.0], np.float32), size=tuple(x.shape))
            vjp = tape.gradient(x_hat, u, output_gradients=tf.convert_to_tensor(v))
            curvature += np.square(vjp.numpy().astype(np.float64))
        del tape
        parts.append((linear + curvature / probes) / pixels)
    cost = np.concatenate(parts)
    return cost if per_image else cost.mean(axis=0)


def _positive_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}")
    return int(value)
