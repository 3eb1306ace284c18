"""Proxy network for a non-differentiable codec chain (SCSC, Han et al., Secs. II-D, III-C).

The standard chain (BPG + LDPC + QPSK + SVD MIMO) has no gradient. SCSC trains
a JSCC autoencoder (Jankowski et al.) to mimic it, with
``L_pro = ||x_hat - x_hat_proxy||^2 / (3 h w)`` (Eq. (18)), and then uses the real
chain's output in the forward pass and the proxy's gradient in the backward pass
(Alg. 2)::

    x --+--> chain_fn (NumPy: codec, LDPC, MIMO) -------> x_hat ----+
        |                                                           +--> y = x_hat, dy/dx = dx_hat_proxy/dx
        +--> ProxyNetwork(x, snr_db, q) --> x_hat_proxy ------------+

:func:`straight_through_chain` builds ``y``; :class:`ProxyNetwork` is the
autoencoder: a convolutional encoder (stride 4) conditioned on the channel SNR
and the codec quantisation parameter ``Q``, a per-image power normalisation,
complex AWGN at the SNR, and a mirrored decoder.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import (check_positive_int, check_range, check_real,
                                     check_spatial_multiple)

__all__ = ["ProxyNetwork", "proxy_loss", "straight_through_chain"]


def proxy_loss(x_hat_proxy: tf.Tensor, x_hat_codec: tf.Tensor) -> tf.Tensor:
    """``L_pro`` (Eq. (18)): mean squared error between proxy and chain outputs.

    Input
    -----
    x_hat_proxy : [batch, H, W, 3], tf.float32 -- proxy reconstructions in [0, 1].
    x_hat_codec : [batch, H, W, 3], tf.float32 -- real chain reconstructions in [0, 1].

    Output
    ------
    loss : [], tf.float32 -- averaged over pixels, channels and batch.
    """
    return tf.reduce_mean(tf.square(tf.cast(x_hat_proxy, tf.float32)
                                    - tf.cast(x_hat_codec, tf.float32)))


def straight_through_chain(x: tf.Tensor, proxy_out: tf.Tensor, chain_fn: Callable,
                           chain_args: Sequence = ()) -> tf.Tensor:
    """Real chain output in the forward pass, proxy gradient in the backward pass.

    ``y = stop_gradient(chain(x)) + (proxy_out - stop_gradient(proxy_out))``: the
    value is exactly ``chain_fn(x, *chain_args)`` and ``dy/dx`` is
    ``d proxy_out / dx`` (Alg. 2, step 8). ``chain_fn`` is a batched NumPy
    function run through ``tf.numpy_function``, so the result works eagerly and in
    ``tf.function`` but not under XLA (``jit_compile=True``).

    Input
    -----
    x : [batch, ...], tf.float32 -- chain input (e.g. pre-processed images).
    proxy_out : tf.float32 -- proxy output computed from ``x``; its static shape
        is the shape of the result.
    chain_fn : callable -- ``chain_fn(x_np, *args_np) -> np.ndarray`` of the shape of
        ``proxy_out`` (cast to float32).
    chain_args : sequence of tensors -- extra inputs to ``chain_fn`` (e.g. SNR, Q).

    Output
    ------
    y : like ``proxy_out``, tf.float32.
    """
    if not callable(chain_fn):
        raise TypeError(f"`chain_fn` must be callable, got {type(chain_fn).__name__}")
    proxy_out = tf.convert_to_tensor(proxy_out)
    check_real(proxy_out, "proxy_out")

    def _run(*arrays):
        return np.asarray(chain_fn(*arrays), dtype=np.float32)

    chain_out = tf.numpy_function(_run, [x, *chain_args], tf.float32, stateful=True)
    chain_out = tf.ensure_shape(chain_out, proxy_out.shape)
    chain_out = tf.stop_gradient(chain_out)
    return chain_out + (proxy_out - tf.stop_gradient(proxy_out))


@keras.saving.register_keras_serializable(package="sem_sionna")
class ProxyNetwork(ScalarArgsLayer):
    """Conditioned JSCC autoencoder standing in for a digital codec chain.

    Parameters
    ----------
    num_filters : int, default 32 -- channels of the hidden convolutions.
    latent_channels : int, default 4 -- complex latent channels ``c`` at 1/4
        resolution; CBR = ``c / 48`` (4 -> 1/12, SCSC's default).
    snr_range : (float, float), default (2, 12) -- SNR range in dB mapped to
        [-1, 1] for conditioning (SCSC trains over 2..12 dB).
    q_range : (float, float), default (28, 41) -- codec ``Q`` range mapped to [-1, 1].
    seed : int or None -- seed of the layer's noise generator.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- chain inputs in [0, 1]; H, W multiples of 4.
    snr_db : scalar, [batch] or [batch, 1], tf.float32 -- channel SNR in dB
        (sets the latent AWGN, ``no = 10**(-snr_db/10)`` for unit-power symbols).
    q : scalar, [batch] or [batch, 1], tf.float32 -- codec quantisation parameter.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions in [0, 1].
    """

    _scalar_args = ("snr_db", "q")

    def __init__(self, num_filters=32, latent_channels=4, snr_range=(2.0, 12.0),
                 q_range=(28.0, 41.0), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_filters = check_positive_int(num_filters, "num_filters")
        self.latent_channels = check_positive_int(latent_channels, "latent_channels")
        self.snr_range = check_range(snr_range, "snr_range")
        self.q_range = check_range(q_range, "q_range")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        f = self.num_filters
        conv = keras.layers.Conv2D
        deconv = keras.layers.Conv2DTranspose
        self.encoder_layers = [
            conv(f, 5, strides=2, padding="same", name="enc_0"),
            keras.layers.PReLU(shared_axes=[1, 2], name="enc_act_0"),
            conv(f, 5, strides=2, padding="same", name="enc_1"),
            keras.layers.PReLU(shared_axes=[1, 2], name="enc_act_1"),
            conv(f, 3, padding="same", name="enc_2"),
            keras.layers.PReLU(shared_axes=[1, 2], name="enc_act_2"),
            conv(2 * self.latent_channels, 3, padding="same", name="enc_out"),
        ]
        self.decoder_layers = [
            conv(f, 3, padding="same", name="dec_0"),
            keras.layers.PReLU(shared_axes=[1, 2], name="dec_act_0"),
            deconv(f, 5, strides=2, padding="same", name="dec_1"),
            keras.layers.PReLU(shared_axes=[1, 2], name="dec_act_1"),
            deconv(f, 5, strides=2, padding="same", name="dec_2"),
            keras.layers.PReLU(shared_axes=[1, 2], name="dec_act_2"),
            conv(3, 3, padding="same", name="dec_out"),
        ]

    def build(self, images_shape, snr_db_shape=None, q_shape=None):
        if len(images_shape) != 4 or images_shape[-1] != 3:
            raise ValueError(f"`images` must have shape [batch, H, W, 3], got {images_shape}")
        shape = (None, None, None, 5)
        for layer in self.encoder_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        shape = (None, None, None, 2 * self.latent_channels + 2)
        for layer in self.decoder_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def _conditioning(self, features, snr_db, q):
        """Normalised SNR and Q as two constant feature maps."""
        shape = tf.shape(features)
        maps = []
        for value, (low, high) in ((snr_db, self.snr_range), (q, self.q_range)):
            value = tf.reshape(tf.cast(value, tf.float32), [-1, 1, 1, 1])
            value = 2.0 * (value - low) / (high - low) - 1.0
            maps.append(tf.broadcast_to(value, tf.stack([shape[0], shape[1], shape[2], 1])))
        return tf.concat([features, *maps], axis=-1)

    def call(self, images, snr_db, q):
        check_spatial_multiple(images, 4)
        f = self.encode(images, snr_db, q)
        # Unit average power per complex latent symbol and image.
        power = tf.reduce_mean(tf.square(f), axis=[1, 2, 3], keepdims=True) * 2.0
        f = f / tf.sqrt(power + 1e-12)
        no = tf.pow(10.0, -tf.reshape(tf.cast(snr_db, tf.float32), [-1, 1, 1, 1]) / 10.0)
        noise = keras.random.normal(tf.shape(f), seed=self.seed_generator)
        return self.decode(f + tf.sqrt(no / 2.0) * noise, snr_db, q)

    def encode(self, images, snr_db, q) -> tf.Tensor:
        """Encoder output before power normalisation: ``[batch, H/4, W/4, 2c]`` reals
        (complex latent channel ``j`` is channels ``(j, c + j)``)."""
        f = self._conditioning(tf.convert_to_tensor(images), snr_db, q)
        for layer in self.encoder_layers:
            f = layer(f)
        return f

    def decode(self, latent, snr_db, q) -> tf.Tensor:
        """Reconstructions ``[batch, H, W, 3]`` in [0, 1] from a received latent
        ``[batch, H/4, W/4, 2c]`` (the layout of :meth:`encode`)."""
        f = self._conditioning(tf.convert_to_tensor(latent), snr_db, q)
        for layer in self.decoder_layers:
            f = layer(f)
        return tf.sigmoid(f)

    def compute_output_shape(self, images_shape, *args, **kwargs):
        return images_shape

    def get_config(self):
        return {**super().get_config(), "num_filters": self.num_filters,
                "latent_channels": self.latent_channels, "snr_range": self.snr_range,
                "q_range": self.q_range, "seed": self.seed}
