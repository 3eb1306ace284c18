"""Memoryless channels: complex AWGN and the binary symmetric channel (BSC).

Both draw their randomness from a ``keras.random.SeedGenerator`` owned by the
layer instead of Sionna's lazily created global generator, so they work when
first called inside a functional model, a ``tf.function`` or under XLA, and
``keras.utils.set_random_seed`` makes runs reproducible.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from sionna.phy.utils import expand_to_rank

from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import (check_complex, check_noise_variance, check_probability,
                                     check_rank, check_real)

__all__ = ["AWGN", "BSC"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class AWGN(ScalarArgsLayer):
    """Complex additive white Gaussian noise; same conventions as Sionna's ``AWGN``.

    Parameters
    ----------
    seed : int or None -- seed of the layer's ``SeedGenerator``.

    Input
    -----
    x : [batch, ...], tf.complex64 -- channel input.
    no : scalar or broadcastable to ``x`` after trailing dummy axes, tf.float32 --
        complex noise variance (``no/2`` per real dimension), linear.

    Output
    ------
    y : [batch, ...], tf.complex64 -- ``x + n``, ``n ~ CN(0, no)``. Differentiable in ``x``.
    """

    _scalar_args = ("no",)

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, no):
        check_complex(x, "x")
        check_noise_variance(no)
        shape = tf.shape(x)
        real = keras.random.normal(shape, seed=self.seed_generator)
        imag = keras.random.normal(shape, seed=self.seed_generator)
        no = expand_to_rank(tf.cast(no, tf.float32), tf.rank(x), axis=-1)
        std = tf.sqrt(no / 2.0)
        noise = tf.complex(std * real, std * imag)
        return x + tf.cast(noise, x.dtype)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="sem_sionna")
class BSC(ScalarArgsLayer):
    """Binary symmetric channel with a relaxed (Gumbel) gradient w.r.t. ``pb``.

    Same call as Sionna's ``BinarySymmetricChannel``: each bit is flipped
    independently with probability ``pb``. The forward value is the hard
    flip; the backward pass uses the logistic (binary Gumbel-softmax) relaxation
    ``f = sigmoid((logit(pb) + L) / temperature)``, ``L ~ Logistic(0, 1)``, as
    Sionna does, so that learned flip probabilities (S0) receive gradients.

    Parameters
    ----------
    temperature : float, default 0.1 -- relaxation temperature of the gradient.
    seed : int or None -- seed of the layer's ``SeedGenerator``.

    Input
    -----
    bits : [batch, ..., n], tf.float32 -- bits in {0, 1}.
    pb : scalar or broadcastable to ``bits`` (NumPy rules, as Sionna's BSC: ``[n]`` per bit,
        ``[batch, 1]`` per example), tf.float32 -- flip probabilities in [0, 1].

    Output
    ------
    bits_out : [batch, ..., n], tf.float32 -- flipped bits in {0, 1}.
    """

    _scalar_args = ("pb",)

    def __init__(self, temperature: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not float(temperature) > 0:
            raise ValueError(f"`temperature` must be > 0, got {temperature!r}")
        self.temperature = float(temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, bits, pb):
        check_real(bits, "bits")
        check_rank(bits, "bits", 1)
        check_probability(pb, "pb")
        pb = tf.broadcast_to(tf.cast(pb, tf.float32), tf.shape(bits))
        u = keras.random.uniform(tf.shape(bits), minval=1e-7, maxval=1.0 - 1e-7,
                                 seed=self.seed_generator)
        hard = tf.cast(u < pb, tf.float32)
        eps = 1e-7
        p = tf.clip_by_value(pb, eps, 1.0 - eps)
        logistic = tf.math.log(u) - tf.math.log1p(-u)
        # u < pb  <=>  logit(pb) - logit(u) > 0: the relaxation shares the forward sample
        soft = tf.sigmoid((tf.math.log(p) - tf.math.log1p(-p) - logistic) / self.temperature)
        flip = hard + (soft - tf.stop_gradient(soft))  # exact hard value, relaxed gradient
        return bits + flip - 2.0 * bits * flip

    def compute_output_shape(self, bits_shape, pb_shape=None):
        return bits_shape

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature, "seed": self.seed}
