"""SNR-adaptive channel attention: the attention-feature (AF) module of ADJSCC (Xu et al. 2021).

One layer serves every SNR-adaptive network of the package: the image backbones of
:mod:`sem_sionna.nets.transforms` (side information: the channel SNR in dB) and the
DeepJSCC-MIMO / ADJSCC baselines of :mod:`sem_sionna.links.mimo_jscc` (side information:
the normalised SNR, the fraction of latents sent and the eigen-channel SNRs).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.scalars import ScalarArgsLayer

__all__ = ["SNRFeatureAttention"]


def _snr_column(snr_db, batch_like):
    """``snr_db`` (scalar, ``[b]`` or ``[b, 1]``) as a ``[b, 1]`` float32 tensor."""
    snr = tf.reshape(tf.cast(snr_db, tf.float32), [-1, 1])
    return tf.broadcast_to(snr, tf.stack([tf.shape(batch_like)[0], 1]))


def _side_width(side_shape) -> int:
    """Length ``d`` of the side information: the last axis of a ``[b, d]`` input, else 1."""
    side_shape = tuple(side_shape or ())
    return int(side_shape[-1]) if len(side_shape) == 2 else 1


@keras.saving.register_keras_serializable(package="sem_sionna")
class SNRFeatureAttention(ScalarArgsLayer):
    """SNR-adaptive channel attention (ADJSCC "attention feature" module, Xu et al. 2021).

    The context ``[mean(x) over all but the batch and channel axes, side / side_scale]``
    goes through ``Dense(hidden, relu) -> Dense(C, sigmoid)``; the features are scaled
    per channel by the result.

    Parameters
    ----------
    reduction : int, default 4 -- bottleneck ratio: ``hidden = max(C // reduction, 1)``
        when ``hidden_units`` is not given.
    hidden_units : int or None, default None -- width of the hidden layer, independent
        of ``C``.
    side_scale : float, default 10.0 -- the side information is divided by it (10: an
        SNR in dB becomes a value of order one; 1: side information already normalised).

    Input
    -----
    x : [batch, ..., C], tf.float32, rank >= 3 -- features.
    side : scalar, [batch], [batch, 1] or [batch, d], tf.float32 -- side information,
        e.g. the channel SNR in dB.

    Output
    ------
    y : same shape as ``x``, tf.float32 -- gated features.
    """

    _scalar_args = ("side",)

    def __init__(self, reduction: int = 4, hidden_units: int | None = None,
                 side_scale: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.reduction = check_positive_int(reduction, "reduction")
        self.hidden_units = (None if hidden_units is None
                             else check_positive_int(hidden_units, "hidden_units"))
        self.side_scale = float(side_scale)
        if not self.side_scale > 0:
            raise ValueError(f"`side_scale` must be positive, got {side_scale!r}")
        # Keras initialisers draw their seed when a layer is constructed: the hidden layer
        # is made as soon as its width is known, so the weights follow construction order
        self.fc1 = None if self.hidden_units is None else self._hidden(self.hidden_units)
        self.fc2 = None

    @staticmethod
    def _hidden(units: int) -> keras.layers.Dense:
        return keras.layers.Dense(units, activation="relu", name="hidden")

    def build(self, x_shape, side_shape=()):
        c = int(x_shape[-1])
        if self.fc1 is None:
            self.fc1 = self._hidden(max(c // self.reduction, 1))
        self.fc2 = keras.layers.Dense(c, activation="sigmoid", name="gate")
        self.fc1.build((None, c + _side_width(side_shape)))
        self.fc2.build((None, self.fc1.units))
        self.built = True

    def call(self, x, side):
        axes = list(range(1, len(x.shape) - 1))
        if len(side.shape) == 2:
            side = tf.broadcast_to(tf.cast(side, tf.float32),
                                   tf.stack([tf.shape(x)[0], tf.shape(side)[1]]))
        else:
            side = _snr_column(side, x)
        ctx = tf.concat([tf.reduce_mean(x, axis=axes), side / self.side_scale], -1)
        s = self.fc2(self.fc1(ctx))
        for _ in axes:
            s = tf.expand_dims(s, 1)
        return x * s

    def compute_output_shape(self, x_shape, side_shape=()):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction,
                "hidden_units": self.hidden_units, "side_scale": self.side_scale}
