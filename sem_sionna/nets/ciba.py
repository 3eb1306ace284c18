"""Communication-Informed Bottleneck Attribution (CIBA) for VAE features (S4).

Cao et al. (Sec. 3.1) measure how much each latent feature of a frozen VAE matters
by passing the features through parallel analog AWGN channels whose noise powers
are chosen by a trained *noise predictor* (after IBA, Schulz et al. 2020)::

    x (normalised features, unit power) --NoisePredictor--> sigma^2 in R^d_+
    z = x + sigma * eps,  eps ~ N(0, I)           (feature-wise AWGN channels)
    z --(frozen) VAE decoder--> images_hat

The predictor minimises the information-bottleneck objective (their eq. 21)

.. math::
    L = \\mathrm{MSE}(\\mathrm{images}, \\mathrm{images\\_hat})
        + \\beta \\sum_k C_k, \\qquad C_k = \\tfrac12 \\log_2(1 + P_k / \\sigma_k^2),

``C_k`` being the capacity of feature ``k``'s channel (``P_k`` its power, 1 after
normalisation). The noise it settles on is the most a feature tolerates; the
capacity left, :func:`importance_score`, is the feature's importance: the AWGN
capacity the feature needs (bits per real channel use).

For the classification extension (Sec. 4.4) the decoder is a classifier head on the
features (:class:`LatentClassifier`) and the task term is its cross-entropy
(:func:`ciba_task_loss`) instead of the reconstruction MSE.

PHIF / PLIF (Sec. 4.2, :func:`perturb_features`) validate the scores: perturbing
the features with ``I >= tau`` (high importance) hurts the task far more than
perturbing those with ``I < tau``.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int, check_real

__all__ = [
    "PERTURBATION_MODES",
    "LatentClassifier",
    "NoisePredictor",
    "ciba_loss",
    "ciba_task_loss",
    "importance_score",
    "perturb_features",
]

PERTURBATION_MODES = ("PHIF", "PLIF")
"""Perturb High- / Low-Importance Features (Cao et al., Sec. 4.2)."""


def importance_score(noise_var, signal_power=1.0) -> tf.Tensor:
    """Importance ``I = 0.5 log2(1 + P / sigma^2)``: the AWGN capacity a feature needs.

    Input
    -----
    noise_var : [...], tf.float32 -- tolerable noise variance ``sigma^2`` per feature, linear.
    signal_power : float or broadcastable tensor -- feature power ``P``, linear (1 for
        normalised features).

    Output
    ------
    importance : [...], tf.float32 -- bits per real channel use, ``>= 0``.
    """
    noise_var = tf.convert_to_tensor(noise_var)
    signal_power = tf.cast(signal_power, noise_var.dtype)
    return 0.5 * tf.math.log1p(signal_power / noise_var) / math.log(2.0)


def ciba_loss(images, images_hat, noise_var, beta: float, signal_power=1.0):
    """Information-bottleneck loss of the noise predictor (Cao et al., eq. 21).

    Input
    -----
    images, images_hat : [batch, H, W, 3], tf.float32 -- originals and images decoded
        from the perturbed features.
    noise_var : [batch, d], tf.float32 -- predicted noise variances ``sigma^2``.
    beta : float -- weight of the information term, ``>= 0``.
    signal_power : float -- feature power ``P`` (1 for normalised features).

    Output
    ------
    loss : [], tf.float32 -- ``mean((images - images_hat)^2) + beta * mean_b sum_k C_k``.
    metrics : dict -- ``"mse"`` (pixel MSE) and ``"capacity"`` (``sum_k C_k`` in bits,
        batch mean).
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
        raise ValueError(f"`beta` must be a number >= 0, got {beta!r}")
    mse = tf.reduce_mean(tf.square(images - images_hat))
    capacity = tf.reduce_mean(tf.reduce_sum(importance_score(noise_var, signal_power), -1))
    return mse + beta * capacity, {"mse": mse, "capacity": capacity}


def _build_mlp(hidden, out, in_width: int, units: int) -> None:
    for layer in hidden:
        layer.build((None, in_width))
        in_width = units
    out.build((None, in_width))


def _hidden(hidden, features):
    check_real(features, "features")
    for layer in hidden:
        features = layer(features)
    return features


def ciba_task_loss(labels, logits, noise_var, beta: float, signal_power=1.0):
    """Information-bottleneck loss with a classifier's cross-entropy as the task term.

    Input
    -----
    labels : [batch], int -- true classes.
    logits : [batch, num_classes], tf.float32 -- the classifier head's output on the
        perturbed features.
    noise_var : [batch, d], tf.float32 -- predicted noise variances ``sigma^2``.
    beta : float -- weight of the information term, ``>= 0``.
    signal_power : float -- feature power ``P``.

    Output
    ------
    loss : [], tf.float32 -- ``mean CE + beta * mean_b sum_k C_k`` (CE in nats).
    metrics : dict -- ``"ce"``, ``"accuracy"`` and ``"capacity"`` (bits, batch mean).
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
        raise ValueError(f"`beta` must be a number >= 0, got {beta!r}")
    labels = tf.cast(labels, tf.int32)
    ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels),
                                 tf.float32))
    capacity = tf.reduce_mean(tf.reduce_sum(importance_score(noise_var, signal_power), -1))
    return ce + beta * capacity, {"ce": ce, "accuracy": acc, "capacity": capacity}


@keras.saving.register_keras_serializable(package="sem_sionna")
class LatentClassifier(keras.layers.Layer):
    """Classifier head on ``d`` latent features: the semantic decoder of Sec. 4.4.

    Parameters
    ----------
    latent_dim : int -- number of features ``d``.
    num_classes : int -- classes.
    units : int, default 64 -- width of the hidden layers.
    num_layers : int, default 2 -- hidden layers (ReLU).

    Input
    -----
    features : [batch, latent_dim], tf.float32 -- (un-normalised) latent features.

    Output
    ------
    logits : [batch, num_classes], tf.float32.
    """

    def __init__(self, latent_dim: int, num_classes: int, units: int = 64,
                 num_layers: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.units = check_positive_int(units, "units")
        self.num_layers = check_positive_int(num_layers, "num_layers", minimum=0)
        self.hidden = [keras.layers.Dense(self.units, activation="relu", name=f"hidden_{i}")
                       for i in range(self.num_layers)]
        self.out = keras.layers.Dense(self.num_classes, name="logits")

    def build(self, features_shape):
        if features_shape[-1] != self.latent_dim:
            raise ValueError(f"`features` must have last dimension latent_dim="
                             f"{self.latent_dim}, got {tuple(features_shape)}")
        _build_mlp(self.hidden, self.out, self.latent_dim, self.units)
        self.built = True

    def call(self, features):
        return self.out(_hidden(self.hidden, features))

    def compute_output_shape(self, features_shape):
        return (*features_shape[:-1], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "num_classes": self.num_classes, "units": self.units,
                "num_layers": self.num_layers}


@keras.saving.register_keras_serializable(package="sem_sionna")
class NoisePredictor(keras.Model):
    """Per-example, per-feature noise variance of the CIBA bottleneck.

    An MLP maps the normalised features to log-variances, softly bounded to
    ``[-max_log_noise_var, max_log_noise_var]`` (``m tanh(u / m)``), so the
    variance stays finite and positive. The output bias starts at
    ``init_log_noise_var``: training starts from little noise (every feature
    passes) and raises the noise of the features the decoder does not need.

    Parameters
    ----------
    latent_dim : int -- number of features ``d``.
    units : int, default 64 -- width of the hidden layers.
    num_layers : int, default 2 -- hidden layers (ReLU).
    init_log_noise_var : float, default -5.0 -- initial ``log sigma^2`` (natural log).
    max_log_noise_var : float, default 9.0 -- bound on ``|log sigma^2|``, ``> 0``.

    Input
    -----
    features : [batch, latent_dim], tf.float32 -- normalised features (unit power).

    Output
    ------
    log_noise_var : [batch, latent_dim], tf.float32 -- ``log sigma^2`` per feature.
    """

    def __init__(self, latent_dim: int, units: int = 64, num_layers: int = 2,
                 init_log_noise_var: float = -5.0, max_log_noise_var: float = 9.0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.units = check_positive_int(units, "units")
        self.num_layers = check_positive_int(num_layers, "num_layers", minimum=0)
        if not isinstance(max_log_noise_var, (int, float)) or not max_log_noise_var > 0:
            raise ValueError(f"`max_log_noise_var` must be a number > 0, "
                             f"got {max_log_noise_var!r}")
        if (not isinstance(init_log_noise_var, (int, float))
                or not abs(init_log_noise_var) < max_log_noise_var):
            raise ValueError(f"`init_log_noise_var` must be a number with |value| < "
                             f"max_log_noise_var={max_log_noise_var}, got {init_log_noise_var!r}")
        self.init_log_noise_var = float(init_log_noise_var)
        self.max_log_noise_var = float(max_log_noise_var)
        self.hidden = [keras.layers.Dense(self.units, activation="relu", name=f"hidden_{i}")
                       for i in range(self.num_layers)]
        m = self.max_log_noise_var
        bias = m * math.atanh(self.init_log_noise_var / m)
        self.out = keras.layers.Dense(self.latent_dim, name="out",
                                      kernel_initializer=keras.initializers.RandomNormal(
                                          stddev=0.01),
                                      bias_initializer=keras.initializers.Constant(bias))

    def build(self, features_shape):
        if len(features_shape) != 2 or features_shape[-1] != self.latent_dim:
            raise ValueError(f"`features` must have shape [batch, latent_dim={self.latent_dim}], "
                             f"got {tuple(features_shape)}")
        _build_mlp(self.hidden, self.out, self.latent_dim, self.units)
        self.built = True

    def call(self, features):
        m = self.max_log_noise_var
        return m * tf.tanh(self.out(_hidden(self.hidden, features)) / m)

    def importance(self, features, signal_power=1.0) -> tf.Tensor:
        """Importance scores ``[batch, latent_dim]`` (bits) of ``features``."""
        return importance_score(tf.exp(self(features)), signal_power)

    def compute_output_shape(self, features_shape):
        return tuple(features_shape)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "units": self.units,
                "num_layers": self.num_layers, "init_log_noise_var": self.init_log_noise_var,
                "max_log_noise_var": self.max_log_noise_var}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def perturb_features(features, importance, threshold: float, mode: str, noise_var,
                     seed=None) -> tf.Tensor:
    """PHIF / PLIF: add Gaussian noise to the high- or low-importance features only.

    Parameters
    ----------
    features : [batch, d], tf.float32 -- normalised features.
    importance : [batch, d], tf.float32 -- their importance scores (bits).
    threshold : float -- ``tau``; PHIF perturbs ``I >= tau``, PLIF perturbs ``I < tau``.
    mode : str -- ``"PHIF"`` or ``"PLIF"``.
    noise_var : float or broadcastable tensor -- variance of the added noise, linear
        (``P / 10**(snr_db / 10)`` for a perturbation SNR).
    seed : int, keras.random.SeedGenerator or None -- noise seed.

    Output
    ------
    perturbed : [batch, d], tf.float32 -- ``features + mask * sqrt(noise_var) * eps``.
    """
    if mode not in PERTURBATION_MODES:
        raise ValueError(f"`mode` must be one of {list(PERTURBATION_MODES)}, got {mode!r}")
    features = tf.convert_to_tensor(features)
    check_real(features, "features")
    importance = tf.cast(importance, features.dtype)
    high = importance >= tf.cast(threshold, features.dtype)
    mask = tf.cast(high if mode == "PHIF" else tf.logical_not(high), features.dtype)
    eps = keras.random.normal(tf.shape(features), seed=seed, dtype=features.dtype)
    return features + mask * tf.sqrt(tf.cast(noise_var, features.dtype)) * eps
