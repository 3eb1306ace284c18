"""SISO channel for learned (analog or learned-digital) symbols: AWGN or Rayleigh block fading."""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.phy import AWGN, MIMOChannel
from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import check_complex, check_noise_variance

__all__ = ["SISOChannel", "SISO_MODELS"]

SISO_MODELS = ("awgn", "rayleigh")


@keras.saving.register_keras_serializable(package="sem_sionna")
class SISOChannel(ScalarArgsLayer):
    """Channel for a block of ``K`` learned symbols, with coherent equalisation.

    ``"awgn"``: ``y = z + n``. ``"rayleigh"``: one coefficient ``h ~ CN(0, 1)`` per
    example held over its ``K`` symbols (``MIMOChannel(1, 1)``), known at the receiver,
    which equalises ``z_hat = y / h``; the effective noise is ``no / |h|^2``. Learned
    decoders trained over AWGN see exactly this equalised block, and SNR-adaptive ones
    get the effective SNR.

    Parameters
    ----------
    model : "awgn" or "rayleigh".
    seed : int or None.

    Input
    -----
    z : [batch, K], tf.complex64 -- unit average power per symbol.
    no : scalar or [batch], tf.float32 -- complex noise variance, linear.

    Output
    ------
    z_hat : [batch, K], tf.complex64 -- equalised symbols.
    no_eff : [batch], tf.float32 -- noise variance after equalisation.
    """

    _scalar_args = ("no",)

    def __init__(self, model: str = "awgn", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if model not in SISO_MODELS:
            raise ValueError(f"`model` must be one of {SISO_MODELS}, got {model!r}")
        self.model = model
        self.seed = seed
        self._awgn = AWGN(seed=seed) if model == "awgn" else None
        self._fading = MIMOChannel(1, 1, "rayleigh", seed=seed) if model == "rayleigh" else None

    def build(self, z_shape, no_shape=None):
        self.built = True

    def call(self, z, no):
        check_complex(z, "z")
        check_noise_variance(no)
        no = tf.broadcast_to(tf.cast(no, tf.float32), tf.shape(z)[:1])
        if self._awgn is not None:
            return self._awgn(z, no), no
        h, _ = self._fading.generate(tf.shape(z)[0])
        y = self._fading.apply(z[:, tf.newaxis, :], no, h)[:, 0, :]
        h = h[:, 0, :]  # [b, 1]
        gain = tf.maximum(tf.abs(h[:, 0]) ** 2, 1e-12)
        return y / h, no / gain

    def get_config(self):
        return {**super().get_config(), "model": self.model, "seed": self.seed}
