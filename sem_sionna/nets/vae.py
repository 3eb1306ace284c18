"""Convolutional variational autoencoder: the semantic encoder/decoder of CIBA (S4).

Cao et al. use a VAE (Kingma & Welling 2014) as semantic encoder and decoder: its
latent features follow (approximately) the isotropic Gaussian prior, so each one
can be sent as an analog Gaussian symbol and its importance measured as the
capacity it needs (:mod:`sem_sionna.nets.ciba`)::

    images --[conv4x4/2 -> ReLU] x num_stages --> flatten --> dense --> (mu, logvar) in R^d
    z = mu + exp(logvar / 2) * eps            (training; mu at inference)
    z --> dense --> [convT4x4/2 -> ReLU] x num_stages --> conv3x3 --> sigmoid --> images

Stage ``i`` has ``filters * 2**i`` channels (mirrored in the decoder).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int, check_real

__all__ = ["VAE", "VAEDecoder", "VAEEncoder", "kl_divergence"]


def _image_size(image_size, num_stages: int) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"`image_size` must be an int or (H, W), got {image_size!r}") from None
    step = 2 ** num_stages
    if h <= 0 or w <= 0 or h % step or w % step:
        raise ValueError(f"`image_size` must be positive multiples of 2**num_stages = {step}, "
                         f"got {image_size!r}")
    return h, w


def kl_divergence(mu, logvar) -> tf.Tensor:
    """KL divergence of ``N(mu, exp(logvar))`` from ``N(0, I)``, summed over the features.

    Input
    -----
    mu, logvar : [batch, d], tf.float32 -- posterior mean and log-variance.

    Output
    ------
    kl : [batch], tf.float32 -- nats per example.
    """
    return 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mu) - 1.0 - logvar, axis=-1)


@keras.saving.register_keras_serializable(package="sem_sionna")
class VAEEncoder(keras.layers.Layer):
    """VAE encoder: images -> posterior mean and log-variance of ``d`` latent features.

    Parameters
    ----------
    latent_dim : int -- number of latent features ``d``.
    filters : int, default 32 -- channels of the first stage.
    num_stages : int, default 3 -- stride-2 convolutions.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1], ``H, W`` multiples of
        ``2**num_stages``.

    Output
    ------
    mu : [batch, latent_dim], tf.float32 -- posterior mean.
    logvar : [batch, latent_dim], tf.float32 -- posterior log-variance (natural log).
    """

    def __init__(self, latent_dim: int, filters: int = 32, num_stages: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = check_positive_int(filters, "filters")
        self.num_stages = check_positive_int(num_stages, "num_stages")
        self.convs = [keras.layers.Conv2D(self.filters * 2 ** i, 4, strides=2, padding="same",
                                          activation="relu", name=f"conv_{i}")
                      for i in range(self.num_stages)]
        self.head = keras.layers.Dense(2 * self.latent_dim, name="head")

    def build(self, images_shape):
        if len(images_shape) != 4 or images_shape[-1] != 3:
            raise ValueError(f"`images` must have shape [batch, H, W, 3], got {tuple(images_shape)}")
        h, w = _image_size(tuple(images_shape[1:3]), self.num_stages)
        channels = 3
        for i, conv in enumerate(self.convs):
            conv.build((None, None, None, channels))
            channels = self.filters * 2 ** i
        self.head.build((None, (h // 2 ** self.num_stages) * (w // 2 ** self.num_stages)
                         * channels))
        self.built = True

    def call(self, images):
        check_real(images, "images")
        f = images - 0.5
        for conv in self.convs:
            f = conv(f)
        out = self.head(tf.reshape(f, [tf.shape(f)[0], -1]))
        mu, logvar = tf.split(out, 2, axis=-1)
        return mu, logvar

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters,
                "num_stages": self.num_stages}


@keras.saving.register_keras_serializable(package="sem_sionna")
class VAEDecoder(keras.layers.Layer):
    """VAE decoder: ``d`` latent features -> image in (0, 1).

    Parameters
    ----------
    latent_dim : int -- number of latent features ``d``.
    image_size : int or (H, W), default 32 -- output size, multiples of ``2**num_stages``.
    filters : int, default 32 -- channels of the last up-sampling stage.
    num_stages : int, default 3 -- stride-2 transposed convolutions.

    Input
    -----
    z : [batch, latent_dim], tf.float32 -- latent features.

    Output
    ------
    images : [batch, H, W, 3], tf.float32 -- reconstruction in (0, 1).
    """

    def __init__(self, latent_dim: int, image_size=32, filters: int = 32, num_stages: int = 3,
                 **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.filters = check_positive_int(filters, "filters")
        self.num_stages = check_positive_int(num_stages, "num_stages")
        self.image_size = _image_size(image_size, self.num_stages)
        h, w = self.image_size
        self._grid = (h // 2 ** self.num_stages, w // 2 ** self.num_stages)
        self._top = self.filters * 2 ** (self.num_stages - 1)
        self.head = keras.layers.Dense(self._grid[0] * self._grid[1] * self._top,
                                       activation="relu", name="head")
        self.deconvs = [keras.layers.Conv2DTranspose(self.filters * 2 ** max(i - 1, 0), 4,
                                                     strides=2, padding="same",
                                                     activation="relu", name=f"deconv_{i}")
                        for i in reversed(range(self.num_stages))]
        self.out = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="out")

    def build(self, z_shape):
        if len(z_shape) != 2 or z_shape[-1] != self.latent_dim:
            raise ValueError(f"`z` must have shape [batch, latent_dim={self.latent_dim}], "
                             f"got {tuple(z_shape)}")
        self.head.build((None, self.latent_dim))
        channels = self._top
        for deconv in self.deconvs:
            deconv.build((None, None, None, channels))
            channels = deconv.filters
        self.out.build((None, None, None, channels))
        self.built = True

    def call(self, z):
        check_real(z, "z")
        f = tf.reshape(self.head(z), [-1, self._grid[0], self._grid[1], self._top])
        for deconv in self.deconvs:
            f = deconv(f)
        return self.out(f)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "image_size": list(self.image_size), "filters": self.filters,
                "num_stages": self.num_stages}


@keras.saving.register_keras_serializable(package="sem_sionna")
class VAE(keras.Model):
    """Variational autoencoder with a Gaussian posterior and a standard normal prior.

    Parameters
    ----------
    latent_dim : int -- number of latent features ``d``.
    image_size : int or (H, W), default 32 -- image size.
    filters : int, default 32 -- channels of the first encoder stage.
    num_stages : int, default 3 -- down-/up-sampling stages.
    seed : int or None -- seed of the reparameterisation noise.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1].
    training : bool -- sample ``z = mu + exp(logvar/2) eps`` (True) or use ``mu``.

    Output
    ------
    images_hat : [batch, H, W, 3], tf.float32 -- reconstruction in (0, 1).

    Use :meth:`encode`, :meth:`sample` and :meth:`decode` for the parts, and
    :func:`kl_divergence` for the prior term of the loss.
    """

    def __init__(self, latent_dim: int, image_size=32, filters: int = 32, num_stages: int = 3,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = VAEEncoder(latent_dim, filters, num_stages, name="encoder")
        self.decoder = VAEDecoder(latent_dim, image_size, filters, num_stages, name="decoder")
        self.latent_dim = self.encoder.latent_dim
        self.image_size = self.decoder.image_size
        self.filters = self.encoder.filters
        self.num_stages = self.encoder.num_stages
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, images_shape):
        if not self.encoder.built:  # encode() may have built it already
            self.encoder.build(images_shape)
        if not self.decoder.built:
            self.decoder.build((None, self.latent_dim))
        self.built = True

    def encode(self, images):
        """``(mu, logvar)``, each ``[batch, latent_dim]``."""
        return self.encoder(images)

    def sample(self, mu, logvar):
        """Reparameterised draw ``mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``."""
        eps = keras.random.normal(tf.shape(mu), seed=self.seed_generator, dtype=mu.dtype)
        return mu + tf.exp(0.5 * logvar) * eps

    def decode(self, z):
        """Images ``[batch, H, W, 3]`` in (0, 1) from latent features ``[batch, latent_dim]``."""
        return self.decoder(z)

    def call(self, images, training=False):
        mu, logvar = self.encode(images)
        z = self.sample(mu, logvar) if training else mu
        return self.decode(z)

    def compute_output_shape(self, images_shape):
        return tuple(images_shape)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim,
                "image_size": list(self.image_size), "filters": self.filters,
                "num_stages": self.num_stages, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
