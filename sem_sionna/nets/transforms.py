"""Image backbones and symbol helpers built from :mod:`sem_sionna.nets.blocks`.

* :class:`AnalysisTransform`, :class:`SynthesisTransform` -- the image backbones of S1 Fig. 4;
* :class:`PowerNormalization` -- S1 eq. (13), average power per complex symbol;
* :func:`real_to_complex`, :func:`complex_to_real` -- consecutive reals <-> complex symbols.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.nets.blocks import (AttentionBlock, ResidualBlock, ResidualBlockUpsample,
                                    ResidualBlockWithStride, SubpixelConv,
                                    _check_nonneg_float, _SNRConditioned)
from sem_sionna.nets.feature_attention import SNRFeatureAttention
from sem_sionna.utils.checks import check_positive_int

__all__ = ["AnalysisTransform", "SynthesisTransform", "PowerNormalization", "real_to_complex",
           "complex_to_real"]


def _check_vector_shape(shape, size: int, name: str, size_name: str) -> None:
    """Raise a ``ValueError`` unless ``shape`` is ``[batch, size]``."""
    if len(shape) != 2 or shape[-1] != size:
        raise ValueError(f"`{name}` must be [batch, {size_name}={size}], "
                         f"got shape {tuple(shape)}")


def _check_image_shape(shape, factor, name="images"):
    if len(shape) != 4:
        raise ValueError(f"`{name}` must be [batch, H, W, C], got shape {tuple(shape)}")
    for dim, label in ((shape[1], "H"), (shape[2], "W")):
        if dim is not None and dim % factor:
            raise ValueError(f"{label} of `{name}` must be a multiple of {factor} "
                             f"(2**number of down-samplings), got shape {tuple(shape)}")


@keras.saving.register_keras_serializable(package="sem_sionna")
class AnalysisTransform(_SNRConditioned):
    """Image analysis backbone of the S1 source mapper (Fig. 4) and DeepJSCC encoder.

    Cheng et al.'s ``g_a`` (CompressAI ``Cheng2020Attention``) shortened to
    ``num_downsamples`` stages for small images::

        [ResidualBlockWithStride(C, 2) -> ResidualBlock(C)] x num_downsamples
        with an AttentionBlock(C) before the last ResidualBlock (and one after stage
        num_downsamples // 2 when num_downsamples >= 3)

    With ``snr_adaptive`` an :class:`SNRFeatureAttention` follows every stage (ADJSCC).

    Parameters
    ----------
    filters : int, default 64 -- channels ``C`` of every block.
    num_downsamples : int, default 2 -- stride-2 stages (32x32 -> 8x8 for 2).
    use_gdn : bool, default True -- GDN in the strided blocks (else LeakyReLU).
    snr_adaptive : bool, default False -- condition the features on ``snr_db``.

    Input
    -----
    x : [batch, H, W, C_in], tf.float32 -- images in [0, 1].
    snr_db : scalar or [batch], tf.float32, only when ``snr_adaptive`` -- SNR in dB.

    Output
    ------
    y : [batch, H / 2**n, W / 2**n, filters], tf.float32 -- features.
    """

    def __init__(self, filters: int = 64, num_downsamples: int = 2, use_gdn: bool = True,
                 snr_adaptive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.num_downsamples = check_positive_int(num_downsamples, "num_downsamples")
        self.use_gdn = bool(use_gdn)
        self.snr_adaptive = bool(snr_adaptive)
        n, c = self.num_downsamples, self.filters
        self.stages = []
        for k in range(n):
            stage = [ResidualBlockWithStride(c, 2, self.use_gdn)]
            if k == n - 1 or (n >= 3 and k == n // 2 - 1):
                stage.append(AttentionBlock(c))
            stage.append(ResidualBlock(c))
            self.stages.append(stage)
        self.af = [SNRFeatureAttention() for _ in range(n)] if self.snr_adaptive else []

    def build(self, x_shape, snr_db_shape=None):
        _check_image_shape(x_shape, 2 ** self.num_downsamples, "x")
        self._trace(x_shape, snr_db_shape)
        self.built = True

    def call(self, x, snr_db=None):
        for k, stage in enumerate(self.stages):
            for block in stage:
                x = block(x)
            if self.snr_adaptive:
                x = self.af[k](x, snr_db)
        return x

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "num_downsamples": self.num_downsamples, "use_gdn": self.use_gdn,
                "snr_adaptive": self.snr_adaptive}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SynthesisTransform(_SNRConditioned):
    """Image synthesis backbone of the S1 source demapper (Fig. 4) and DeepJSCC decoder.

    Cheng et al.'s ``g_s`` shortened to ``num_upsamples`` stages::

        AttentionBlock(C) -> [ResidualBlock(C) -> ResidualBlockUpsample(C, 2)] x (n - 1)
        -> ResidualBlock(C) -> SubpixelConv(out_channels, 2) -> sigmoid

    (an extra AttentionBlock after stage n // 2 when n >= 3). With ``snr_adaptive`` an
    :class:`SNRFeatureAttention` precedes every stage.

    Parameters
    ----------
    filters : int, default 64 -- channels ``C``.
    num_upsamples : int, default 2 -- x2 up-samplings (8x8 -> 32x32 for 2).
    out_channels : int, default 3 -- channels of the output image.
    use_gdn : bool, default True -- inverse GDN in the up-sampling blocks.
    snr_adaptive : bool, default False -- condition on ``snr_db``.

    Input
    -----
    y : [batch, h, w, C'], tf.float32 -- features.
    snr_db : scalar or [batch], tf.float32, only when ``snr_adaptive`` -- SNR in dB.

    Output
    ------
    x_hat : [batch, h * 2**n, w * 2**n, out_channels], tf.float32 -- image in (0, 1).
    """

    def __init__(self, filters: int = 64, num_upsamples: int = 2, out_channels: int = 3,
                 use_gdn: bool = True, snr_adaptive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.num_upsamples = check_positive_int(num_upsamples, "num_upsamples")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.use_gdn = bool(use_gdn)
        self.snr_adaptive = bool(snr_adaptive)
        n, c = self.num_upsamples, self.filters
        self.head = AttentionBlock(c)
        self.stages = []
        for k in range(n):
            stage = [ResidualBlock(c)]
            if n >= 3 and k == n // 2:
                stage.insert(0, AttentionBlock(c))
            stage.append(ResidualBlockUpsample(c, 2, self.use_gdn) if k < n - 1
                         else SubpixelConv(self.out_channels, 2))
            self.stages.append(stage)
        self.af = [SNRFeatureAttention() for _ in range(n)] if self.snr_adaptive else []

    def build(self, y_shape, snr_db_shape=None):
        if len(y_shape) != 4:
            raise ValueError(f"`y` must be [batch, h, w, C], got shape {tuple(y_shape)}")
        self._trace(y_shape, snr_db_shape)
        self.built = True

    def call(self, y, snr_db=None):
        y = self.head(y)
        for k, stage in enumerate(self.stages):
            if self.snr_adaptive:
                y = self.af[k](y, snr_db)
            for block in stage:
                y = block(y)
        return tf.sigmoid(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "num_upsamples": self.num_upsamples, "out_channels": self.out_channels,
                "use_gdn": self.use_gdn, "snr_adaptive": self.snr_adaptive}


def real_to_complex(x: tf.Tensor) -> tf.Tensor:
    """Pair consecutive reals into complex symbols (S1 Sec. III-B).

    Input
    -----
    x : [batch, ..., 2K], tf.float32.

    Output
    ------
    z : [batch, ..., K], tf.complex64 -- ``z_k = x_{2k} + j x_{2k+1}``.
    """
    if x.shape[-1] is not None and x.shape[-1] % 2:
        raise ValueError(f"last dimension of `x` must be even, got shape {tuple(x.shape)}")
    shape = tf.shape(x)
    pairs = tf.reshape(x, tf.concat([shape[:-1], [shape[-1] // 2, 2]], 0))
    z = tf.complex(pairs[..., 0], pairs[..., 1])
    last = None if x.shape[-1] is None else x.shape[-1] // 2
    z.set_shape(x.shape[:-1] + [last])
    return z


def complex_to_real(z: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`real_to_complex`: ``[..., K]`` complex -> ``[..., 2K]`` reals
    ``(Re z_0, Im z_0, Re z_1, ...)``."""
    pairs = tf.stack([tf.math.real(z), tf.math.imag(z)], axis=-1)
    shape = tf.shape(z)
    x = tf.reshape(pairs, tf.concat([shape[:-1], [2 * shape[-1]]], 0))
    last = None if z.shape[-1] is None else 2 * z.shape[-1]
    x.set_shape(z.shape[:-1] + [last])
    return x


@keras.saving.register_keras_serializable(package="sem_sionna")
class PowerNormalization(keras.layers.Layer):
    """Per-example average power normalisation, S1 eq. (13).

    ``z <- sqrt(n P / z^H z) z`` over all non-batch axes (``n`` their total size), so
    every transmitted block has average power exactly ``P`` per complex symbol.

    Parameters
    ----------
    power : float, default 1.0 -- average power ``P`` per complex symbol, linear.

    Input
    -----
    z : [batch, ..., K], tf.complex64 -- channel symbols.

    Output
    ------
    z : [batch, ..., K], tf.complex64 -- normalised symbols, ``mean |z|^2 = P`` per example.
    """

    def __init__(self, power: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.power = _check_nonneg_float(power, "power")
        if self.power <= 0:
            raise ValueError(f"`power` must be > 0, got {power!r}")

    def call(self, z):
        if not tf.as_dtype(z.dtype).is_complex:
            raise TypeError(f"`z` must be complex (tf.complex64), got dtype {z.dtype}")
        axes = list(range(1, len(z.shape)))
        energy = tf.reduce_mean(tf.square(tf.abs(z)), axis=axes, keepdims=True)
        scale = tf.sqrt(self.power / tf.maximum(energy, 1e-12))
        # tf.complex (not tf.cast) so the gradient back to the real scale is warning-free
        return z * tf.complex(scale, tf.zeros_like(scale))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "power": self.power}
