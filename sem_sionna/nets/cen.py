"""Channel-conditioned combiner enhancement network (CEN) of SCSC (Han et al., Remark 1).

Every block has its own channel, so one fixed ``U2`` (Eq. (11)) cannot combine them
all. :class:`ChannelCEN` computes the combiner of each block from the channel estimate
``h_hat`` (known at both ends), the noise variance and the standard precoder ``P``::

    U2 = sqrt(nt) P h_hat^H (h_hat h_hat^H + beta nt no I)^-1           (base, Eq. (12))
       + s(h_hat) * reshape(FC([vec(h_hat)/||h_hat||, snr_db/10]))      (learned residual)

The base term is Eq. (12) for ``z = s/sqrt(nt)`` with a learned regularisation
``beta = exp(log_beta)`` (``beta = 1``: LMMSE; ``beta -> 0``: zero forcing, for which
``U2 h_hat = sqrt(nt) P`` and the finite-alphabet problem of PEN has the trivial
solution ``z = s / sqrt(nt)`` whatever PEN's parameters). ``FC`` is one fully connected
layer trained by SGD (Remark 1), zero at initialisation, scaled by the Frobenius norm
``s`` of the base term per ``sqrt(nt nr)``. With ``beta > 0`` ``U2 h_hat`` is not
``sqrt(nt) P``: PEN must search the alphabet and its unfolded parameters matter.
"""
from __future__ import annotations

import numbers

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.utils.checks import check_complex, check_positive_int

__all__ = ["ChannelCEN"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class ChannelCEN(keras.layers.Layer):
    """Combiner ``U2`` of every block from its channel estimate (see the module docstring).

    Parameters
    ----------
    num_tx_ant : int -- ``nt`` (rows of ``U2``).
    num_rx_ant : int -- ``nr`` (columns of ``U2``).
    beta_init : float, default 1.0 -- initial regularisation weight ``beta`` (> 0).

    Input
    -----
    h_hat : [b, nr, nt], tf.complex64 -- channel estimate.
    no : scalar or [b], tf.float32 -- complex noise variance per receive antenna.
    p : [b, nt, ns], tf.complex64 -- standard precoding matrix (``x_p = P s``).

    Output
    ------
    u2 : [b, nt, nr], tf.complex64 -- the combiner of each block.
    """

    def __init__(self, num_tx_ant, num_rx_ant, beta_init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_tx_ant = check_positive_int(num_tx_ant, "num_tx_ant")
        self.num_rx_ant = check_positive_int(num_rx_ant, "num_rx_ant")
        if (not isinstance(beta_init, numbers.Real) or isinstance(beta_init, bool)
                or not beta_init > 0):
            raise ValueError(f"`beta_init` must be a positive float, got {beta_init!r}")
        self.beta_init = float(beta_init)

    def build(self, *shapes):
        nt, nr = self.num_tx_ant, self.num_rx_ant
        self.log_beta = self.add_weight(
            name="log_beta", shape=(),
            initializer=keras.initializers.Constant(np.log(self.beta_init)))
        self.kernel = self.add_weight(name="kernel", shape=(2 * nt * nr + 1, 2 * nt * nr),
                                      initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(2 * nt * nr,), initializer="zeros")
        self.built = True

    @property
    def beta(self) -> float:
        """The current regularisation weight ``beta``."""
        return float(np.exp(keras.ops.convert_to_numpy(self.log_beta)))

    def call(self, h_hat, no, p):
        check_complex(h_hat, "h_hat")
        check_complex(p, "p")
        nt, nr = self.num_tx_ant, self.num_rx_ant
        batch = tf.shape(h_hat)[0]
        no = tf.broadcast_to(tf.reshape(tf.cast(no, tf.float32), [-1]), [batch])
        beta = tf.exp(self.log_beta)
        reg = tf.complex(beta * nt * no, tf.zeros_like(no))[:, None, None]
        gram = tf.matmul(h_hat, h_hat, adjoint_b=True) + reg * tf.eye(nr, dtype=h_hat.dtype)
        # small relative ridge: finite for (nearly) singular channels as beta -> 0
        ridge = 1e-6 * tf.linalg.trace(gram)[:, None, None] / nr + 1e-12
        inv_h = tf.linalg.adjoint(tf.linalg.solve(
            gram + ridge * tf.eye(nr, dtype=gram.dtype), h_hat))  # h^H (h h^H + c I)^-1
        base = tf.cast(np.sqrt(nt), tf.complex64) * tf.matmul(p, inv_h)  # [b, nt, nr]
        h_flat = tf.reshape(h_hat, [batch, nr * nt])
        h_norm = tf.sqrt(tf.reduce_mean(tf.abs(h_flat) ** 2, axis=-1, keepdims=True) + 1e-12)
        h_flat = h_flat / tf.complex(h_norm, tf.zeros_like(h_norm))
        snr_feat = -10.0 * tf.math.log(tf.maximum(no, 1e-12))[:, None] / np.log(10.0) / 10.0
        feats = tf.concat([tf.math.real(h_flat), tf.math.imag(h_flat), snr_feat], axis=-1)
        delta = tf.matmul(feats, self.kernel) + self.bias  # [b, 2 nt nr]
        delta = tf.complex(delta[:, :nt * nr], delta[:, nt * nr:])
        scale = tf.sqrt(tf.reduce_sum(tf.abs(base) ** 2, axis=[-2, -1]) / (nt * nr))
        delta = tf.reshape(delta, [batch, nt, nr]) * tf.complex(scale, tf.zeros_like(scale))[
            :, None, None]
        return base + delta

    def get_config(self):
        return {**super().get_config(), "num_tx_ant": self.num_tx_ant,
                "num_rx_ant": self.num_rx_ant, "beta_init": self.beta_init}
