"""The trained S4 models and their evaluation (:mod:`sem_sionna.experiments.importance_mimo`).

Training goes through the :class:`~sem_sionna.train.WeightStore` (one entry per model
and config hash, so a rerun loads instead of training); the evaluation model is a
separately trained scene classifier, the semantic metric next to PSNR and MS-SSIM.
"""
from __future__ import annotations

import contextlib
import dataclasses
import weakref
from typing import Any

import numpy as np
import tensorflow as tf

from sem_sionna.links.importance_mimo import ImportanceMIMOLink
from sem_sionna.metrics import ms_ssim, psnr
from sem_sionna.nets.ciba import NoisePredictor
from sem_sionna.nets.classifier import SceneClassifier
from sem_sionna.nets.vae import VAE
from sem_sionna.phy.allocation import DEFAULT_MSE_MODEL
from sem_sionna.train import WeightStore
from sem_sionna.train.ciba import (encode_features, feature_statistics, train_noise_predictor,
                                   train_vae)
from sem_sionna.train.classifier import train_classifier
from sem_sionna.utils.batches import map_batches
from sem_sionna.utils.seeding import derive_seed, set_global_seed

from .importance_mimo_config import Config

__all__ = ["Models", "decode", "evaluate_images", "features", "score_images", "train_models"]

Split = tuple[np.ndarray, np.ndarray]
"""``(images [N, H, W, 3] float32 in [0, 1], labels [N] int)``."""


@dataclasses.dataclass
class Models:
    """The trained S4 models.

    Fields
    ------
    classifier : SceneClassifier -- the evaluation model.
    vae : VAE -- the semantic codec.
    feature_mean, feature_std : [latent_dim] float32 -- statistics of the VAE features
        on the training images (the link sends ``(mu - mean) / std``).
    predictors : dict float -> NoisePredictor -- one CIBA predictor per ``beta``.
    summaries : dict -- training summaries by model name (``run.json``).
    """

    classifier: SceneClassifier
    vae: VAE
    feature_mean: np.ndarray
    feature_std: np.ndarray
    predictors: dict[float, NoisePredictor]
    summaries: dict[str, Any]

    def link(self, beta: float, scheme: str, alpha: float, num_tx_ant: int = 4,
             num_rx_ant: int = 4, seed: int = 0,
             mse_model: str = DEFAULT_MSE_MODEL) -> ImportanceMIMOLink:
        """A built link with the predictor of ``beta`` and the MSE model ``mse_model``."""
        link = ImportanceMIMOLink(self.vae.encoder, self.vae.decoder, self.predictors[beta],
                                  num_tx_ant, num_rx_ant, scheme=scheme, alpha=alpha,
                                  feature_mean=self.feature_mean, feature_std=self.feature_std,
                                  seed=seed, mse_model=mse_model)
        link.build((None, *self.vae.image_size, 3))
        return link


def train_models(config: Config, train: Split, store: WeightStore, seed: int,
                 record=None) -> Models:
    """Train (or load from ``store``) the classifier, the VAE and one predictor per beta.

    Each model's store entry is keyed by the training-set size, scene parameters,
    ``seed`` and the model's own config group (the predictor's also by the VAE's and
    ``beta``). ``record`` (a :class:`~sem_sionna.sweep.RunRecord` or None) times the
    stages ``train_classifier``, ``train_vae`` and ``train_ciba``.
    """
    set_global_seed(derive_seed(seed, "train"))  # weight initialisation
    images, labels = train
    shape = (None, *images.shape[1:])
    base = {"n_train": config.n_train, "image_size": config.image_size,
            "num_classes": config.num_classes, "seed": seed}
    summaries: dict[str, Any] = {}

    def stage(name):
        return record.stage(name) if record is not None else contextlib.nullcontext()

    c = config.classifier
    clf = SceneClassifier(config.num_classes, width=c.width, depth=c.depth)
    clf.build(shape)
    with stage("train_classifier"):
        _, summaries["classifier"] = store.load_or_train(
            "classifier", {**base, **dataclasses.asdict(c)}, {"classifier": clf},
            lambda work: train_classifier(clf, images, labels, c.epochs, c.batch_size, c.lr,
                                          ckpt_dir=work, seed=seed))

    v = config.vae
    vae = VAE(v.latent_dim, config.image_size, v.filters, v.num_stages, seed=seed)
    vae.build(shape)
    with stage("train_vae"):
        _, summaries["vae"] = store.load_or_train(
            "vae", {**base, **dataclasses.asdict(v)}, {"vae": vae},
            lambda work: train_vae(vae, images, v.epochs, v.batch_size, v.lr, v.kl_weight,
                                   ckpt_dir=work, seed=seed))
    mean, std = feature_statistics(vae, images)

    a = config.ciba
    predictors = {}
    with stage("train_ciba"):
        for beta in config.betas:
            pred = NoisePredictor(v.latent_dim, units=a.units)
            pred.build((None, v.latent_dim))
            entry = {**base, **dataclasses.asdict(v), **dataclasses.asdict(a), "beta": beta}
            _, summaries[f"ciba_beta={beta:g}"] = store.load_or_train(
                "ciba", entry, {"predictor": pred},
                lambda work, pred=pred, beta=beta: train_noise_predictor(
                    pred, vae, images, mean, std, beta, a.epochs, a.batch_size, a.lr,
                    ckpt_dir=work, seed=seed))
            predictors[beta] = pred
    return Models(clf, vae, np.asarray(mean, np.float32), np.asarray(std, np.float32),
                  predictors, summaries)


def features(models: Models, images, batch_size: int = 256) -> np.ndarray:
    """Normalised VAE features ``(mu - mean) / std``, ``[N, latent_dim]`` float32."""
    mu = encode_features(models.vae, images, batch_size)
    return (mu - models.feature_mean) / models.feature_std


def decode(models: Models, x, batch_size: int = 1024) -> np.ndarray:
    """Images ``[N, H, W, 3]`` decoded from normalised features ``x [N, latent_dim]``."""
    z = models.feature_mean + models.feature_std * np.asarray(x, np.float32)
    fn = _compiled(models.vae.decoder, lambda d: tf.function(
        lambda b: d(b), reduce_retracing=True))
    return map_batches(lambda b: fn(tf.constant(b)), z, batch_size=batch_size)


def score_images(images, images_hat, labels, classifier, batch_size: int = 1024) -> dict:
    """Per-image ``psnr`` (dB), ``ms_ssim`` and ``accuracy`` (1.0 if the classifier is
    right on the reconstruction), each ``[N]`` float64.

    ``images_hat`` is clipped to [0, 1]; the three metrics of a batch run in one compiled
    graph (the sweep's inner loop: about twice as fast as three eager passes).
    """
    fn = _compiled(classifier, _scorer)
    psnr_db, ssim, pred = map_batches(lambda x, xh: fn(tf.constant(x), tf.constant(xh)),
                                      np.asarray(images, np.float32),
                                      np.asarray(images_hat, np.float32), batch_size=batch_size)
    return {"psnr": psnr_db.astype(np.float64), "ms_ssim": ssim.astype(np.float64),
            "accuracy": (pred == np.asarray(labels)).astype(np.float64)}


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model, make):
    """``make(model)``, a ``tf.function`` built once per model (freed with the model)."""
    fn = _COMPILED.get(model)
    if fn is None:
        fn = _COMPILED[model] = make(model)
    return fn


def _scorer(classifier):
    @tf.function(reduce_retracing=True)
    def score(x, x_hat):
        x_hat = tf.clip_by_value(x_hat, 0.0, 1.0)
        pred = tf.argmax(classifier(x_hat, training=False), axis=-1, output_type=tf.int32)
        return psnr(x, x_hat), ms_ssim(x, x_hat), pred
    return score


def evaluate_images(images, images_hat, labels, classifier, batch_size: int = 256) -> dict:
    """Mean ``psnr`` (dB), ``ms_ssim`` and classifier ``accuracy`` of reconstructions."""
    scores = score_images(images, images_hat, labels, classifier, batch_size)
    return {k: float(np.mean(v)) for k, v in scores.items()}
