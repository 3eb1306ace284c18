"""Training of the S4 models: the VAE (semantic codec) and the CIBA noise predictor.

Both run through :class:`~sem_sionna.train.Trainer` (compiled steps, per-epoch
checkpoints, NaN detection). The VAE is trained once, without any channel
(separate source-channel coding); the noise predictor is trained afterwards with
the VAE frozen, one predictor per information-bottleneck weight ``beta``. The
classification extension (Sec. 4.4) trains an encoder + classifier head instead of
the VAE and its predictor with the classifier's cross-entropy.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.data import as_dataset
from sem_sionna.nets.ciba import LatentClassifier, NoisePredictor, ciba_loss, ciba_task_loss
from sem_sionna.nets.vae import VAE, VAEEncoder, kl_divergence
from sem_sionna.train.loop import Trainer
from sem_sionna.utils.batches import map_batches
from sem_sionna.utils.checks import check_positive_int

__all__ = ["encode_features", "encoder_features", "feature_statistics",
           "train_feature_classifier", "train_noise_predictor", "train_task_noise_predictor",
           "train_vae"]


def _images(images) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"`images` must have shape [N, H, W, 3], got {images.shape}")
    return images


def _dataset(arrays, batch_size: int, seed: int):
    n = arrays[0].shape[0]
    return as_dataset(*arrays, batch_size=batch_size, shuffle=True, seed=seed,
                      drop_remainder=n >= batch_size)


def train_vae(vae: VAE, images, epochs: int, batch_size: int = 64, lr: float = 1e-3,
              kl_weight: float = 0.01, ckpt_dir=None, seed: int = 0) -> dict[str, list]:
    """Train ``vae`` on ``images`` (no channel): ``MSE + kl_weight * KL / (H W 3)``.

    With a Gaussian likelihood of variance ``sigma_x^2`` per pixel value the ELBO is
    proportional to this loss with ``kl_weight = 2 sigma_x^2``: a small ``kl_weight``
    keeps more latent features in use.

    Parameters
    ----------
    vae : VAE -- trained in place.
    images : [N, H, W, 3], float32 -- training images in [0, 1].
    epochs : int -- passes over the data.
    batch_size : int, default 64.
    lr : float, default 1e-3 -- Adam learning rate.
    kl_weight : float, default 0.01 -- weight of the KL term, ``>= 0``.
    ckpt_dir : path or None -- per-epoch checkpoints (a killed training resumes).
    seed : int, default 0 -- shuffling seed.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``mse``, ``psnr``, ``kl`` (nats per image), ...
    """
    images = _images(images)
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(kl_weight, bool) or not isinstance(kl_weight, (int, float)) or kl_weight < 0:
        raise ValueError(f"`kl_weight` must be a number >= 0, got {kl_weight!r}")
    if not vae.built:
        vae.build((None, *images.shape[1:]))
    num_values = float(np.prod(images.shape[1:]))

    def loss_fn(batch):
        x = batch
        mu, logvar = vae.encode(x)
        x_hat = vae.decode(vae.sample(mu, logvar))
        mse = tf.reduce_mean(tf.square(x - x_hat))
        kl = tf.reduce_mean(kl_divergence(mu, logvar))
        return mse + kl_weight * kl / num_values, {"mse": mse, "kl": kl}

    trainer = Trainer("vae", loss_fn, vae.trainable_variables, lr=lr,
                      checkpoint={"vae": vae}, ckpt_dir=ckpt_dir)
    return trainer.fit(_dataset((images,), batch_size, seed), epochs)


def encode_features(vae: VAE, images, batch_size: int = 256) -> np.ndarray:
    """Posterior means ``[N, latent_dim]`` (float32) of ``images`` (batched, inference)."""
    mu = map_batches(lambda x: vae.encode(tf.constant(x))[0], _images(images),
                     batch_size=batch_size)
    return mu.astype(np.float32)


def feature_statistics(vae: VAE, images, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``[latent_dim]`` of the VAE features over ``images``.

    The link sends ``(mu - mean) / std``: every feature with unit power, as the
    analog channel model (and the capacity in the importance score) assumes.
    """
    mu = encode_features(vae, images, batch_size)
    return mu.mean(0), np.maximum(mu.std(0), 1e-6).astype(np.float32)


def _predictor_inputs(predictor: NoisePredictor, mu, feature_mean, feature_std, seed: int):
    """Normalised features, the statistics as constants and the noise generator."""
    features = (mu - feature_mean) / feature_std
    if not predictor.built:
        predictor.build((None, features.shape[-1]))
    return (features, tf.constant(feature_mean, tf.float32),
            tf.constant(feature_std, tf.float32), keras.random.SeedGenerator(seed))


def _perturb(predictor: NoisePredictor, x, gen):
    """CIBA's channel on normalised features: ``z = x + sigma * eps`` with
    ``sigma^2 = exp(predictor(x))``; returns ``(z, sigma^2)``."""
    noise_var = tf.exp(predictor(x))
    eps = keras.random.normal(tf.shape(x), seed=gen)
    return x + tf.sqrt(noise_var) * eps, noise_var


def _fit_predictor(name: str, predictor: NoisePredictor, loss_fn, data, epochs: int,
                   batch_size: int, lr: float, ckpt_dir, seed: int) -> dict[str, list]:
    """Adam on the predictor's variables over shuffled ``data`` batches (the rest frozen)."""
    trainer = Trainer(name, loss_fn, predictor.trainable_variables, lr=lr,
                      checkpoint={"predictor": predictor}, ckpt_dir=ckpt_dir)
    return trainer.fit(_dataset(data, batch_size, seed), epochs)


def train_noise_predictor(predictor: NoisePredictor, vae: VAE, images, feature_mean,
                          feature_std, beta: float, epochs: int, batch_size: int = 64,
                          lr: float = 2e-3, ckpt_dir=None, seed: int = 0) -> dict[str, list]:
    """Train the CIBA noise predictor with the VAE frozen (Cao et al., eq. 21).

    Per batch: normalised features ``x = (mu - mean) / std``, noise variances
    ``sigma^2 = exp(predictor(x))``, ``z = x + sigma * eps``, images decoded from
    ``mean + std * z``; loss :func:`~sem_sionna.nets.ciba_loss` with ``beta``.

    Parameters
    ----------
    predictor : NoisePredictor -- trained in place.
    vae : VAE -- frozen semantic encoder/decoder.
    images : [N, H, W, 3], float32 -- training images.
    feature_mean, feature_std : [latent_dim] -- from :func:`feature_statistics`.
    beta : float -- information-bottleneck weight, ``>= 0``.
    epochs : int -- passes over the data.
    batch_size : int, default 64.
    lr : float, default 2e-3 -- Adam learning rate.
    ckpt_dir : path or None -- per-epoch checkpoints.
    seed : int, default 0 -- shuffling and noise seed.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``mse``, ``psnr``, ``capacity`` (bits per image).
    """
    images = _images(images)
    batch_size = check_positive_int(batch_size, "batch_size")
    features, mean, std, gen = _predictor_inputs(predictor, encode_features(vae, images),
                                                 feature_mean, feature_std, seed)

    def loss_fn(batch):
        x_img, x = batch
        z, noise_var = _perturb(predictor, x, gen)
        x_hat = vae.decode(mean + std * z)
        return ciba_loss(x_img, x_hat, noise_var, beta)

    return _fit_predictor(f"ciba(beta={beta:g})", predictor, loss_fn, (images, features),
                          epochs, batch_size, lr, ckpt_dir, seed)


def encoder_features(encoder: VAEEncoder, images, batch_size: int = 256) -> np.ndarray:
    """Posterior means ``[N, latent_dim]`` (float32) of a bare :class:`VAEEncoder`."""
    mu = map_batches(lambda x: encoder(tf.constant(x))[0], _images(images),
                     batch_size=batch_size)
    return mu.astype(np.float32)


def train_feature_classifier(encoder: VAEEncoder, head: LatentClassifier, images, labels,
                             epochs: int, batch_size: int = 64, lr: float = 1e-3,
                             ckpt_dir=None, seed: int = 0) -> dict[str, list]:
    """Train the classification codec of Sec. 4.4 (no channel): cross-entropy of
    ``head(mu)``, ``mu`` the encoder's posterior mean, encoder and head jointly.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``accuracy``, ...
    """
    images = _images(images)
    labels = np.asarray(labels, np.int32)
    if not encoder.built:
        encoder.build((None, *images.shape[1:]))
    if not head.built:
        head.build((None, encoder.latent_dim))

    def loss_fn(batch):
        x, y = batch
        logits = head(encoder(x)[0])
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y),
                                     tf.float32))
        return ce, {"accuracy": acc}

    trainer = Trainer("feature_classifier", loss_fn,
                      encoder.trainable_variables + head.trainable_variables, lr=lr,
                      checkpoint={"encoder": encoder, "head": head}, ckpt_dir=ckpt_dir)
    return trainer.fit(_dataset((images, labels), batch_size, seed), epochs)


def train_task_noise_predictor(predictor: NoisePredictor, encoder: VAEEncoder,
                               head: LatentClassifier, images, labels, feature_mean,
                               feature_std, beta: float, epochs: int, batch_size: int = 64,
                               lr: float = 2e-3, ckpt_dir=None, seed: int = 0) -> dict[str, list]:
    """CIBA with a classifier's loss (Sec. 4.4): encoder and head frozen, loss
    :func:`~sem_sionna.nets.ciba_task_loss` of ``head(mean + std * (x + sigma eps))``.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``ce``, ``accuracy``, ``capacity`` (bits).
    """
    images, labels = _images(images), np.asarray(labels, np.int32)
    batch_size = check_positive_int(batch_size, "batch_size")
    features, mean, std, gen = _predictor_inputs(predictor, encoder_features(encoder, images),
                                                 feature_mean, feature_std, seed)

    def loss_fn(batch):
        y, x = batch
        z, noise_var = _perturb(predictor, x, gen)
        logits = head(mean + std * z)
        return ciba_task_loss(y, logits, noise_var, beta)

    return _fit_predictor(f"ciba_task(beta={beta:g})", predictor, loss_fn, (labels, features),
                          epochs, batch_size, lr, ckpt_dir, seed)
