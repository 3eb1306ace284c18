"""Importance-aware analog transmission of VAE features over SVD MIMO (S4, Cao et al.).

Separate source-channel coding: a VAE (trained without any channel) extracts ``d``
latent features; a CIBA noise predictor scores their importance (the AWGN
capacity each needs); the features are sent as analog real symbols over the
eigen-channels of a MIMO channel, with importance-aware power allocation and
subchannel matching, and decoded by the VAE decoder::

    images --VAEEncoder--> mu --(mu - mean) / std--> x in R^d (unit power)
                                                      |--NoisePredictor--> I (bits)
    h, h_hat = MIMOChannel.generate         gains g = 2 sigma_k^2(h_hat) / no
    (assignment, p) = allocate_features(scheme, I, g)        [EPA|MMSE|WMMSE][-M]
    x --assignment--> [T channel uses x ns streams] --* sqrt(ns p)--> SVDPrecoder("equal")
      --> MIMOChannel.apply(h, no) --> SVDCombiner("equal") --> Re(.) / sqrt(ns p)
      --> estimate (ZF: as is; LMMSE: shrunk by p g / (1 + p g)) --inverse assignment--> x_hat
    x_hat --mean + std * x_hat--> VAEDecoder --> images_hat

Each real feature rides the in-phase part of one eigen-channel use, so a feature
on eigen-channel ``k`` with power ``p`` sees the real SNR ``p g_k`` with
``g_k = 2 sigma_k^2 / no`` and, after the receiver's estimate, the error
``1 / (p g_k)`` (``mse_model="zf"``) or ``1 / (1 + p g_k)`` (``"lmmse"``): the
objective the allocators of :mod:`sem_sionna.phy.allocation` minimise for that model.
One channel matrix is held over the
``T = d / ns`` channel uses of an image; the power per channel use is 1 (SPEC).

:func:`transmit` sends a set of images through a link in batches with common
random numbers (the link's channel reseeded per call).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.nets.ciba import LatentClassifier, NoisePredictor
from sem_sionna.nets.vae import VAEDecoder, VAEEncoder
from sem_sionna.phy.allocation import (
    ALLOCATION_SCHEMES,
    DEFAULT_MSE_MODEL,
    MSE_MODELS,
    allocate_features,
    apply_assignment,
    eigen_gains,
    invert_assignment,
)
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDCombiner, SVDPrecoder
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.utils.batches import map_batches
from sem_sionna.utils.checks import check_positive_int, check_real
from sem_sionna.utils.seeding import reseed

__all__ = ["ImportanceMIMOLink", "transmit"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class ImportanceMIMOLink(keras.layers.Layer):
    """VAE features over SVD MIMO eigen-channels with EPA/MMSE/WMMSE (+ matching).

    Parameters
    ----------
    encoder : VAEEncoder -- semantic encoder (its posterior mean is sent).
    decoder : VAEDecoder or LatentClassifier -- semantic decoder (a classifier head
        for the classification extension: the output is then logits).
    noise_predictor : NoisePredictor -- CIBA importance of the normalised features.
    num_tx_ant, num_rx_ant : int, default 4 -- antennas; ``ns = min(nt, nr)`` streams,
        ``latent_dim`` must be a multiple of ``ns``.
    scheme : str, default "WMMSE-M" -- one of
        :data:`~sem_sionna.phy.allocation.ALLOCATION_SCHEMES`.
    alpha : float, default 2.0 -- WMMSE weight exponent (``w = I**alpha``).
    csi_error_var : float, default 0.0 -- CSI error variance of the channel estimate
        used by transmitter and receiver.
    feature_mean, feature_std : [latent_dim] array or None -- feature normalisation
        (:func:`~sem_sionna.train.ciba.feature_statistics`); stored as weights.
    seed : int or None -- seed of the channel (draws of ``h`` and noise).
    mse_model : str, default :data:`~sem_sionna.phy.allocation.DEFAULT_MSE_MODEL` --
        receiver estimate and the MSE the allocation minimises, one of
        :data:`~sem_sionna.phy.allocation.MSE_MODELS`.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1].
    snr_db : scalar or [batch], tf.float32 -- SNR ``-10 log10(no)`` in dB.
    return_info : bool, default False -- also return a dict of intermediate tensors.

    Output
    ------
    images_hat : [batch, H, W, 3], tf.float32 -- reconstructions in (0, 1).
    info : dict, only with ``return_info`` -- ``features`` / ``features_hat``
        ``[batch, d]`` (normalised, sent and estimated), ``importance`` ``[batch, d]``
        (bits), ``assignment`` ``[batch, d]`` int32 (feature index per slot),
        ``power`` and ``gains`` ``[batch, T, ns]`` (linear).
    """

    def __init__(self, encoder: VAEEncoder, decoder: VAEDecoder,
                 noise_predictor: NoisePredictor, num_tx_ant: int = 4, num_rx_ant: int = 4,
                 scheme: str = "WMMSE-M", alpha: float = 2.0, csi_error_var: float = 0.0,
                 feature_mean=None, feature_std=None, seed=None,
                 mse_model: str = DEFAULT_MSE_MODEL, **kwargs):
        super().__init__(**kwargs)
        if mse_model not in MSE_MODELS:
            raise ValueError(f"`mse_model` must be one of {list(MSE_MODELS)}, got {mse_model!r}")
        self.mse_model = mse_model
        if scheme not in ALLOCATION_SCHEMES:
            raise ValueError(f"`scheme` must be one of {list(ALLOCATION_SCHEMES)}, "
                             f"got {scheme!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
            raise ValueError(f"`alpha` must be a number >= 0, got {alpha!r}")
        for name, layer, cls in (("encoder", encoder, VAEEncoder),
                                 ("decoder", decoder, (VAEDecoder, LatentClassifier)),
                                 ("noise_predictor", noise_predictor, NoisePredictor)):
            if not isinstance(layer, cls):
                names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
                raise TypeError(f"`{name}` must be a {names}, got {type(layer).__name__}")
        self.encoder, self.decoder, self.noise_predictor = encoder, decoder, noise_predictor
        self.latent_dim = encoder.latent_dim
        if decoder.latent_dim != self.latent_dim or noise_predictor.latent_dim != self.latent_dim:
            raise ValueError(f"`encoder`, `decoder` and `noise_predictor` must share latent_dim, "
                             f"got {encoder.latent_dim}, {decoder.latent_dim}, "
                             f"{noise_predictor.latent_dim}")
        self.num_tx_ant = check_positive_int(num_tx_ant, "num_tx_ant")
        self.num_rx_ant = check_positive_int(num_rx_ant, "num_rx_ant")
        self.num_streams = min(self.num_tx_ant, self.num_rx_ant)
        if self.latent_dim % self.num_streams:
            raise ValueError(f"latent_dim={self.latent_dim} must be a multiple of the number "
                             f"of streams min(num_tx_ant, num_rx_ant)={self.num_streams}")
        self.num_channel_uses = self.latent_dim // self.num_streams
        self.scheme = scheme
        self.alpha = float(alpha)
        self.csi_error_var = float(csi_error_var)
        self.seed = seed
        self.channel = MIMOChannel(self.num_tx_ant, self.num_rx_ant,
                                   csi_error_var=self.csi_error_var, seed=seed, name="channel")
        self.precoder = SVDPrecoder(self.num_streams, "equal", name="precoder")
        self.combiner = SVDCombiner(self.num_streams, "equal", name="combiner")
        self._init_mean = feature_mean
        self._init_std = feature_std
        self._image_hw = None

    @property
    def cbr(self) -> float:
        """Stream symbols (real features) per source value, ``d / (H W 3)`` (the image
        size of the VAE decoder, or for a classifier head of the built input)."""
        h, w = self.decoder.image_size if isinstance(self.decoder, VAEDecoder) else self._image_hw
        return self.latent_dim / (h * w * 3)

    def _stat(self, name, value, default):
        value = np.full([self.latent_dim], default, np.float32) if value is None \
            else np.asarray(value, np.float32)
        if value.shape != (self.latent_dim,):
            raise ValueError(f"`{name}` must have shape [{self.latent_dim}], got {value.shape}")
        return self.add_weight(name=name, shape=(self.latent_dim,), trainable=False,
                               initializer=keras.initializers.Constant(value))

    def build(self, images_shape, snr_db_shape=None):
        self._image_hw = tuple(images_shape[1:3])
        for layer, shape in ((self.encoder, images_shape), (self.decoder, (None, self.latent_dim)),
                             (self.noise_predictor, (None, self.latent_dim))):
            if not layer.built:  # shared, possibly trained layers are built already
                layer.build(shape)
        self.feature_mean = self._stat("feature_mean", self._init_mean, 0.0)
        self.feature_std = self._stat("feature_std", self._init_std, 1.0)
        self.built = True

    def __call__(self, images, snr_db, **kwargs):
        if not isinstance(snr_db, (tf.Tensor, tf.Variable, keras.KerasTensor)):
            snr_db = tf.constant(np.asarray(snr_db, np.float32))
        return super().__call__(images, snr_db, **kwargs)

    def features(self, images) -> tf.Tensor:
        """Normalised features ``(mu - mean) / std``, ``[batch, latent_dim]``."""
        mu, _ = self.encoder(images)
        return (mu - self.feature_mean) / self.feature_std

    def call(self, images, snr_db, return_info=False):
        check_real(images, "images")
        return self.transmit_features(self.features(images), snr_db, return_info)

    def transmit_features(self, x, snr_db, return_info=False):
        """The link after the encoder: normalised features ``x [batch, latent_dim]``
        (from :meth:`features`) in, the same outputs as calling the link out.

        A study that sends one image set through many schemes and SNRs encodes it once
        and calls this (see :func:`transmit`'s ``features``).
        """
        x = tf.convert_to_tensor(x)
        check_real(x, "x")
        if x.shape.rank != 2 or x.shape[-1] != self.latent_dim:
            raise ValueError(f"`x` must have shape [batch, {self.latent_dim}], got {x.shape}")
        x = tf.cast(x, tf.float32)
        importance = self.noise_predictor.importance(x)
        batch = tf.shape(x)[0]
        t, ns = self.num_channel_uses, self.num_streams
        no = snrdb2no(tf.cast(snr_db, tf.float32))
        no_col = tf.reshape(no, [-1, 1]) if no.shape.rank else no  # [batch, 1] or scalar

        h, h_hat = self.channel.generate(batch)
        lam = eigen_gains(h_hat, ns)  # [b, ns], the precoder's stream order
        # a real feature on the in-phase part sees noise variance no / 2
        gains = tf.tile((2.0 * lam / tf.maximum(no_col, 1e-30))[:, None, :], [1, t, 1])
        assignment, p = allocate_features(self.scheme, importance, gains, 1.0, self.alpha,
                                          mse_model=self.mse_model)

        slots = tf.reshape(apply_assignment(x, assignment), [batch, t, ns])
        amp = tf.sqrt(ns * p)  # SVDPrecoder("equal") gives each stream power 1/ns
        symbols = tf.complex(tf.transpose(amp * slots, [0, 2, 1]), 0.0)  # [b, ns, T]
        tx = self.precoder(symbols, h_hat, no)
        y = self.channel.apply(tx, no, h)
        s_hat, no_eff = self.combiner(y, h_hat, no)  # s_hat = amp s + n, var(n) = no_eff

        r = tf.transpose(tf.math.real(s_hat), [0, 2, 1])  # [b, T, ns]
        on = amp > 0
        safe_amp = tf.where(on, amp, tf.ones_like(amp))
        snr = 2.0 * tf.square(amp) / no_eff[:, None, :]  # = p g for the true channel
        unbiased = r / safe_amp
        if self.mse_model == "lmmse":
            unbiased = unbiased * snr / (1.0 + snr)
        est = tf.where(on, unbiased, tf.zeros_like(r))
        x_hat = invert_assignment(tf.reshape(est, [batch, self.latent_dim]), assignment)
        images_hat = self.decoder(self.feature_mean + self.feature_std * x_hat)
        if not return_info:
            return images_hat
        return images_hat, {"features": x, "features_hat": x_hat, "importance": importance,
                            "assignment": assignment, "power": p, "gains": gains}

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {**super().get_config(), "encoder": ser(self.encoder),
                "decoder": ser(self.decoder), "noise_predictor": ser(self.noise_predictor),
                "num_tx_ant": self.num_tx_ant, "num_rx_ant": self.num_rx_ant,
                "scheme": self.scheme, "alpha": self.alpha,
                "csi_error_var": self.csi_error_var, "seed": self.seed,
                "mse_model": self.mse_model}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder", "noise_predictor"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def transmit(link: ImportanceMIMOLink, images, snr_db: float, seed: int,
             batch_size: int = 128, per_image: bool = False,
             features=None) -> tuple[np.ndarray, float]:
    """Send ``images`` through ``link`` at ``snr_db``; returns ``(images_hat, feature_mse)``.

    ``feature_mse`` is the mean squared feature error, or with ``per_image`` its
    ``[N]`` per-image means. ``features`` (``[N, latent_dim]``, ``link.features(images)``
    computed once by the caller) skips the encoder; ``images`` is then not read, and
    the outputs equal those of the images themselves (the channel draws depend on the
    batch sizes only).

    The link's channel is reseeded from ``seed`` first, so links of different
    schemes called with the same ``seed`` see the same channel matrices and noise
    (common random numbers: scheme differences are not sampling noise).
    """
    reseed(link.channel, seed)
    send = link if features is None else link.transmit_features
    key = "_transmit_fn" if features is None else "_transmit_features_fn"
    fn = link.__dict__.get(key)
    if fn is None:
        fn = tf.function(lambda x, snr_db: send(x, snr_db, return_info=True), autograph=False)
        object.__setattr__(link, key, fn)  # not a tracked Keras attribute
    snr = tf.constant(snr_db, tf.float32)
    if features is not None:
        images = features

    def batch(x):
        x_hat, info = fn(tf.constant(x), snr)
        return x_hat, tf.square(info["features"] - info["features_hat"])

    images_hat, err = map_batches(batch, np.asarray(images, np.float32), batch_size=batch_size)
    if per_image:
        return images_hat, np.mean(np.asarray(err, np.float64), axis=-1)
    return images_hat, float(np.mean(err))
