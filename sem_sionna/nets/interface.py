"""Binary reliability interfaces between a learned source code and a channel code.

* :class:`MultiLevelBSC` -- the prescribed multi-level BER medium of Split DeepJSCC (S1,
  Tung et al., eqs. (6), (17)): ``N`` parallel BSCs, each serving a contiguous group of
  ``M/N`` bits, flip probabilities geometric from ``eps_max`` to ``eps_min``.
* :class:`LearnedBSCInterface` -- the learned interface of Kong & Zhang (S0, eqs. (8)-(12),
  (15)): one BSC per bit with a trainable ``eps = sigmoid(mu) / 2`` and a regulariser that
  pushes ``eps`` up, trained through a straight-through estimator.

Both expose ``noisy_probs(probs)``, the probability that the interface output is 1 when
the source mapper's Bernoulli parameter is ``probs`` (S1 Lemma 1, S0 eq. (12)):
``p_hat = probs (1 - 2 eps) + eps``, which the training loops in
:mod:`sem_sionna.train.split` sample from.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.phy.channel import BSC
from sem_sionna.utils.checks import check_positive_int, check_real

__all__ = ["MultiLevelBSC", "LearnedBSCInterface", "multilevel_eps"]


def multilevel_eps(num_levels: int, eps_max: float = 0.4, eps_min: float = 0.001) -> np.ndarray:
    """Flip probabilities of the ``N`` levels, S1 eq. (17).

    ``eps_i = eps_max / (eps_max / eps_min) ** (i / (N - 1))``, ``i = 0..N-1``: level 0 is
    the least reliable (``eps_max``), level ``N-1`` the most reliable (``eps_min``).

    Output
    ------
    eps : [num_levels], np.float64.
    """
    n = check_positive_int(num_levels, "num_levels")
    if n == 1:
        return np.array([float(eps_max)])
    i = np.arange(n, dtype=np.float64)
    return eps_max / (eps_max / eps_min) ** (i / (n - 1))


def _check_eps_range(eps_max, eps_min):
    for name, v in (("eps_max", eps_max), ("eps_min", eps_min)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise TypeError(f"`{name}` must be a float, got {v!r}")
        if not 0.0 < float(v) <= 0.5:
            raise ValueError(f"`{name}` must lie in (0, 0.5], got {v!r}")
    if eps_min > eps_max:
        raise ValueError(f"`eps_min` must be <= `eps_max`, got eps_min={eps_min!r}, "
                         f"eps_max={eps_max!r}")


@keras.saving.register_keras_serializable(package="sem_sionna")
class MultiLevelBSC(keras.layers.Layer):
    """Multi-level reliability interface of Split DeepJSCC (S1 eqs. (6), (17)).

    The last axis (``M`` bits) is split into ``num_levels`` contiguous groups of ``M/N``
    bits; group ``i`` goes through a BSC with flip probability ``eps_i``
    (:func:`multilevel_eps`). Level 0 -- the first ``M/N`` bits -- is the *least*
    reliable (``eps_max``), the last group the most reliable (``eps_min``), as in S1
    where ``w_1`` has ``eps_1 = 0.4``. The flips are drawn by :class:`sem_sionna.phy.BSC`
    (hard forward; the gradient w.r.t. the input bits is ``+-1``).

    Parameters
    ----------
    num_levels : int -- number of reliability levels ``N``.
    eps_max : float, default 0.4 -- flip probability of level 0, in (0, 0.5].
    eps_min : float, default 0.001 -- flip probability of level ``N-1``, in (0, eps_max].
    num_bits : int or None -- ``M``; optional, fixes :attr:`eps` before the first call
        and is checked against the input.
    seed : int or None -- seed of the layer's ``SeedGenerator``.

    Input
    -----
    bits : [batch, ..., M], tf.float32 -- bits in {0, 1}, ``M`` a multiple of ``N``.

    Output
    ------
    bits_hat : [batch, ..., M], tf.float32 -- bits in {0, 1} after the flips.
    """

    def __init__(self, num_levels: int, eps_max: float = 0.4, eps_min: float = 0.001,
                 num_bits: int | None = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_levels = check_positive_int(num_levels, "num_levels")
        _check_eps_range(eps_max, eps_min)
        self.eps_max = float(eps_max)
        self.eps_min = float(eps_min)
        self.num_bits = None
        if num_bits is not None:
            self.num_bits = check_positive_int(num_bits, "num_bits")
            self._check_divisible(self.num_bits, "num_bits")
        self.seed = seed
        self._bsc = BSC(seed=seed)

    def _check_divisible(self, m, what):
        if m % self.num_levels:
            raise ValueError(f"{what} (M={m}) must be a multiple of `num_levels` "
                             f"(N={self.num_levels}): the M bits are split into N equal groups")

    @property
    def level_eps(self) -> np.ndarray:
        """[num_levels], np.float64 -- flip probability of each level (S1 eq. (17))."""
        return multilevel_eps(self.num_levels, self.eps_max, self.eps_min)

    def eps_for(self, num_bits: int) -> tf.Tensor:
        """[num_bits], tf.float32 -- per-bit flip probability for ``M = num_bits``."""
        m = check_positive_int(num_bits, "num_bits")
        self._check_divisible(m, "num_bits")
        return tf.constant(np.repeat(self.level_eps, m // self.num_levels), tf.float32)

    @property
    def eps(self) -> tf.Tensor:
        """[M], tf.float32 -- per-bit flip probability (needs ``num_bits`` or a first call)."""
        if self.num_bits is None:
            raise ValueError("`eps` needs the number of bits: pass `num_bits` to the "
                             "constructor, call the layer once, or use `eps_for(num_bits)`")
        return self.eps_for(self.num_bits)

    def build(self, bits_shape):
        m = bits_shape[-1]
        if m is None:
            raise ValueError(f"last dimension of `bits` must be known, got shape {bits_shape}")
        self._check_divisible(int(m), "last dimension of `bits`")
        if self.num_bits is not None and int(m) != self.num_bits:
            raise ValueError(f"last dimension of `bits` must be num_bits={self.num_bits}, "
                             f"got shape {tuple(bits_shape)}")
        self.num_bits = int(m)
        self.built = True

    def noisy_probs(self, probs: tf.Tensor) -> tf.Tensor:
        """P(output bit = 1) for Bernoulli(``probs``) inputs, S1 Lemma 1:
        ``probs (1 - 2 eps) + eps``; ``probs`` : [batch, ..., M] in [0, 1]."""
        eps = self.eps_for(int(probs.shape[-1]))
        return probs * (1.0 - 2.0 * eps) + eps

    def call(self, bits):
        check_real(bits, "bits")
        eps = self.eps_for(int(bits.shape[-1]))
        # sionna's ``pb`` broadcasting appends dummy axes at the end: give eps the full rank
        eps = tf.reshape(eps, [1] * (len(bits.shape) - 1) + [-1])
        return self._bsc(bits, eps)

    def compute_output_shape(self, bits_shape):
        return bits_shape

    def get_config(self):
        return {**super().get_config(), "num_levels": self.num_levels, "eps_max": self.eps_max,
                "eps_min": self.eps_min, "num_bits": self.num_bits, "seed": self.seed}


@keras.saving.register_keras_serializable(package="sem_sionna")
class LearnedBSCInterface(keras.layers.Layer):
    """Learned bit-importance interface of Kong & Zhang (S0 eqs. (8)-(12), (15)).

    ``M`` parallel BSCs with trainable flip probabilities ``eps_n = sigmoid(mu_n) / 2``
    (in (0, 0.5); ``mu`` initialised to ``mu_init = -4``, i.e. ``eps ~ 0.009``, so the
    source code first learns a meaningful representation). Given the source mapper's
    Bernoulli parameters ``f`` (or hard bits), the output is drawn from S0 eq. (12),
    ``b_hat ~ Bernoulli(p_hat)``, ``p_hat = f (1 - 2 eps) + eps``, with the
    straight-through estimator of S0 (Bengio et al.): the forward value is the hard
    sample, the backward pass is the identity to ``p_hat``, so gradients reach both the
    source mapper and ``mu`` (``d p_hat / d eps = 1 - 2 f``). For hard input bits this is
    exactly a BSC flipping each bit with probability ``eps``.

    The regulariser of S0 eq. (9), ``L_reg = reg_weight / M * sum_n (eps_n - 0.5)^2``, is
    minimised together with the distortion: it pulls every ``eps`` *up* towards 0.5 so the
    interface does not collapse to error-free bit pipes (S0: "prevents model collapse into
    error-free solutions ... promotes convergence to higher bit-flipping probabilities").
    S0 eq. (15) writes ``L_MSE + lambda L_reg`` with ``lambda`` already inside ``L_reg``;
    the reference code and ``lambda = 1`` use it once, as here. The reference code's
    ``L_MSE`` is the MSE of pixels in 0..255, i.e. ``255^2`` times the MSE of pixels in
    [0, 1]: train with that weight on the distortion (``mse_weight`` of
    :func:`sem_sionna.train.split.train_source_stage`), else the regulariser outweighs the
    distortion of every bit and all ``eps`` move together. It is added with
    ``add_loss`` in ``call`` (so ``Model.fit`` picks it up) and is also returned by
    :meth:`regularization_loss` for custom loops.

    Parameters
    ----------
    num_bits : int -- ``M``.
    mu_init : float, default -4.0 -- initial value of every ``mu_n``.
    reg_weight : float, default 1.0 -- ``lambda`` of S0 eq. (9), >= 0.
    mu_lr_scale : float, default 1.0 -- the logit is ``mu_lr_scale * mu`` (the weight ``mu``
        starts at ``mu_init / mu_lr_scale``): an optimiser step then moves the logit
        ``mu_lr_scale`` times as far as with ``mu`` itself, i.e. ``mu`` gets its own
        learning rate (Adam's step is about ``lr`` per weight). S0 runs ~98 k steps at
        ``lr = 1e-4``; short schedules need a larger scale for ``eps`` to move.
    seed : int or None -- seed of the layer's ``SeedGenerator``.

    Input
    -----
    probs : [batch, ..., M], tf.float32 -- Bernoulli parameters in [0, 1] or bits in {0, 1}.

    Output
    ------
    bits_hat : [batch, ..., M], tf.float32 -- sampled bits in {0, 1} (straight-through).
    """

    def __init__(self, num_bits: int, mu_init: float = -4.0, reg_weight: float = 1.0,
                 seed: int | None = None, mu_lr_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = check_positive_int(num_bits, "num_bits")
        for name, v in (("mu_init", mu_init), ("reg_weight", reg_weight)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                    or not np.isfinite(v):
                raise TypeError(f"`{name}` must be a finite float, got {v!r}")
        if reg_weight < 0:
            raise ValueError(f"`reg_weight` must be >= 0, got {reg_weight!r}")
        if isinstance(mu_lr_scale, bool) or not isinstance(
                mu_lr_scale, (int, float, np.floating, np.integer)) or not mu_lr_scale > 0 \
                or not np.isfinite(mu_lr_scale):
            raise ValueError(f"`mu_lr_scale` must be a finite number > 0, got {mu_lr_scale!r}")
        self.mu_lr_scale = float(mu_lr_scale)
        self.mu_init = float(mu_init)
        self.reg_weight = float(reg_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.mu = self.add_weight(
            name="mu", shape=(self.num_bits,),
            initializer=keras.initializers.Constant(self.mu_init / self.mu_lr_scale))

    @property
    def logit(self) -> tf.Tensor:
        """[M], tf.float32 -- ``mu_lr_scale * mu`` (``eps = sigmoid(logit) / 2``)."""
        return self.mu_lr_scale * tf.convert_to_tensor(self.mu)

    @property
    def eps(self) -> tf.Tensor:
        """[M], tf.float32 -- current flip probabilities ``sigmoid(logit) / 2``."""
        return tf.sigmoid(self.logit) / 2.0

    @property
    def importance(self) -> tf.Tensor:
        """[M], tf.float32 -- bit importance ``1 - 2 eps`` in (0, 1) (S0 Sec. II-C)."""
        return 1.0 - 2.0 * self.eps

    def regularization_loss(self) -> tf.Tensor:
        """Scalar, tf.float32 -- ``reg_weight / M * sum (eps - 0.5)^2`` (S0 eq. (9))."""
        return self.reg_weight * tf.reduce_mean(tf.square(self.eps - 0.5))

    def noisy_probs(self, probs: tf.Tensor) -> tf.Tensor:
        """P(output bit = 1), S0 eq. (12): ``probs (1 - 2 eps) + eps``; differentiable in
        ``probs`` and ``mu``."""
        eps = self.eps
        return probs * (1.0 - 2.0 * eps) + eps

    def build(self, probs_shape):
        if probs_shape[-1] is not None and probs_shape[-1] != self.num_bits:
            raise ValueError(f"last dimension of `probs` must be num_bits={self.num_bits}, "
                             f"got shape {tuple(probs_shape)}")
        self.built = True

    def call(self, probs):
        check_real(probs, "probs")
        p = self.noisy_probs(probs)
        u = keras.random.uniform(tf.shape(p), seed=self.seed_generator)
        hard = tf.cast(u < p, p.dtype)
        self.add_loss(self.regularization_loss())
        return p + tf.stop_gradient(hard - p)

    def compute_output_shape(self, probs_shape):
        return probs_shape

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits, "mu_init": self.mu_init,
                "reg_weight": self.reg_weight, "seed": self.seed,
                "mu_lr_scale": self.mu_lr_scale}
