"""QAM mapping and APP demapping; Keras wrappers of Sionna's ``Mapper``/``Demapper``."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from sionna.phy import mapping
from sionna.phy.utils import expand_to_rank

from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import (check_complex, check_last_dim, check_noise_variance,
                                     check_num_bits_per_symbol, check_rank, check_real)

__all__ = ["QAMMapper", "QAMDemapper"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class QAMMapper(keras.layers.Layer):
    """Gray-labelled QAM mapper; wraps Sionna's ``Mapper("qam")``.

    Parameters
    ----------
    num_bits_per_symbol : int -- bits per symbol ``m``, positive and even (2 = QPSK, 4 = 16-QAM).

    Input
    -----
    bits : [batch, ..., n], tf.float32 -- bits in {0, 1}; ``n`` a multiple of ``m``.

    Output
    ------
    x : [batch, ..., n/m], tf.complex64 -- constellation points, unit average energy.

    Note
    ----
    Sionna's mapper indexes the constellation and has no gradient w.r.t. the bits.
    Here the forward value maps the rounded bits (identical to Sionna for bits in
    {0, 1}), and the backward pass is that of the expected symbol
    ``sum_j P(j | b) c_j`` under independent Bernoulli(b) bits (straight-through),
    so learned bit producers upstream can be trained through it. The soft path is
    only evaluated in the backward pass. Works with ``jit_compile=True``.
    """

    def __init__(self, num_bits_per_symbol: int, **kwargs):
        super().__init__(**kwargs)
        self.num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
        self._mapper = mapping.Mapper("qam", self.num_bits_per_symbol)
        m = self.num_bits_per_symbol
        # label bits of each point, MSB first, as Sionna's mapper reads them
        labels = (np.arange(2 ** m)[:, None] >> np.arange(m - 1, -1, -1)[None, :]) & 1
        self._labels = tf.constant(labels, tf.float32)

    def _expected_symbols(self, bits):
        """[..., n] bit probabilities -> [..., n/m] expected constellation point."""
        m = self.num_bits_per_symbol
        b = tf.reshape(bits, tf.concat([tf.shape(bits)[:-1], [-1, 1, m]], 0))
        prob = tf.reduce_prod(self._labels * b + (1.0 - self._labels) * (1.0 - b), axis=-1)
        return tf.reduce_sum(tf.complex(prob, tf.zeros_like(prob)) * self.points, axis=-1)

    def _map(self, bits):
        @tf.custom_gradient
        def straight_through(b):
            x = self._mapper(tf.round(b))

            def grad(upstream):
                with tf.GradientTape() as tape:
                    tape.watch(b)
                    soft = self._expected_symbols(b)
                return tape.gradient(soft, b, output_gradients=upstream)
            return x, grad
        return straight_through(bits)

    @property
    def points(self) -> tf.Tensor:
        """[2**m], tf.complex64 -- the constellation points in label order."""
        return self._mapper.constellation.points

    def call(self, bits):
        check_real(bits, "bits")
        check_rank(bits, "bits", 1)
        check_last_dim(bits, self.num_bits_per_symbol, "bits", multiple=True)
        return self._map(tf.cast(bits, tf.float32))

    def get_config(self):
        return {**super().get_config(), "num_bits_per_symbol": self.num_bits_per_symbol}


@keras.saving.register_keras_serializable(package="sem_sionna")
class QAMDemapper(ScalarArgsLayer):
    """APP demapper for Gray-labelled QAM; wraps Sionna's ``Demapper("app", "qam")``.

    Parameters
    ----------
    num_bits_per_symbol : int -- bits per symbol ``m``, positive and even (4 = 16-QAM).
    hard_out : bool, default False -- return hard bits in {0, 1} instead of LLRs.

    Input
    -----
    y : [batch, ..., s], tf.complex64 -- received symbols, unit-energy constellation.
    no : scalar or broadcastable to ``y``, tf.float32 -- complex noise variance, linear.

    Output
    ------
    llr : [batch, ..., s*m], tf.float32 -- Sionna's convention (logit of P(b=1)), or hard bits.
    """

    _scalar_args = ("no",)

    def __init__(self, num_bits_per_symbol: int, hard_out: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
        self.hard_out = bool(hard_out)
        self._demapper = mapping.Demapper("app", "qam", self.num_bits_per_symbol,
                                          hard_out=self.hard_out)

    def call(self, y, no):
        check_complex(y, "y")
        check_rank(y, "y", 1)
        check_noise_variance(no)
        # contract: ``no`` broadcasts after trailing dummy axes (Sionna's AWGN rule)
        no = expand_to_rank(tf.cast(no, tf.float32), tf.rank(y), axis=-1)
        return self._demapper(y, no)

    def compute_output_shape(self, y_shape, no_shape=None):
        s = y_shape[-1]
        return (*y_shape[:-1], None if s is None else s * self.num_bits_per_symbol)

    def get_config(self):
        return {**super().get_config(), "num_bits_per_symbol": self.num_bits_per_symbol,
                "hard_out": self.hard_out}
