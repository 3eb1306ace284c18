"""S4 classification extension (Cao et al., Sec. 4.4, Fig. 11).

The semantic codec is a classifier split in two: an encoder to ``d`` features and a
classifier head (the semantic decoder), trained jointly on the cross-entropy without
a channel. CIBA scores the features with the head's cross-entropy as the task term
(instead of the reconstruction error), and the features travel over the same SVD
MIMO link and schemes as the reconstruction study; the metric is the head's accuracy
on the received features::

    train_classification_models (codec, then the task predictor at the selected beta)
      --> classification_sweep (EUB + schemes x MSE models vs SNR, test)
      --> classification.csv, classification_accuracy_vs_snr.png
"""
from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from sem_sionna import plot
from sem_sionna.links.importance_mimo import ImportanceMIMOLink, transmit
from sem_sionna.metrics import PerImage, mean_ci95
from sem_sionna.nets.ciba import LatentClassifier, NoisePredictor
from sem_sionna.nets.vae import VAEEncoder
from sem_sionna.train import WeightStore
from sem_sionna.train.ciba import (encoder_features, train_feature_classifier,
                                   train_task_noise_predictor)
from sem_sionna.utils.batches import map_batches
from sem_sionna.utils.io import format_value, write_csv
from sem_sionna.utils.seeding import derive_seed, set_global_seed

from .importance_mimo_config import Config
from .importance_mimo_models import Split

__all__ = ["ClassificationModels", "TASK", "classification_sweep",
           "train_classification_models"]

TASK = "classification"
"""Value of the ``task`` column of the extension's rows and samples."""

COLUMNS = ("task", "scheme", "mse_model", "snr_db", "beta", "alpha", "accuracy",
           "accuracy_ci95", "n_images")
"""Columns of ``classification.csv``."""


@dataclasses.dataclass
class ClassificationModels:
    """Encoder, head, feature statistics and the task-loss CIBA predictor."""

    encoder: VAEEncoder
    head: LatentClassifier
    feature_mean: np.ndarray
    feature_std: np.ndarray
    predictor: NoisePredictor
    beta: float
    summaries: dict[str, Any]


def train_classification_models(config: Config, train: Split, store: WeightStore, seed: int,
                                beta: float, record=None) -> ClassificationModels:
    """Train (or load) the codec of ``config.classification`` and its predictor at ``beta``."""
    c, v, a = config.classification, config.vae, config.ciba
    set_global_seed(derive_seed(seed, "train", TASK))
    images, labels = train
    base = {"n_train": config.n_train, "image_size": config.image_size,
            "num_classes": config.num_classes, "seed": seed, "latent_dim": v.latent_dim,
            "filters": v.filters, "num_stages": v.num_stages, **dataclasses.asdict(c)}
    encoder = VAEEncoder(v.latent_dim, v.filters, v.num_stages)
    encoder.build((None, *images.shape[1:]))
    head = LatentClassifier(v.latent_dim, config.num_classes, units=c.units)
    head.build((None, v.latent_dim))
    summaries = {}

    def stage(name):
        return record.stage(name) if record is not None else contextlib.nullcontext()

    with stage("train_classification_codec"):
        _, summaries["codec"] = store.load_or_train(
            "cls_codec", base, {"encoder": encoder, "head": head},
            lambda work: train_feature_classifier(encoder, head, images, labels, c.epochs,
                                                  c.batch_size, c.lr, ckpt_dir=work, seed=seed))
    mu = encoder_features(encoder, images)
    mean, std = mu.mean(0), np.maximum(mu.std(0), 1e-6).astype(np.float32)
    pred = NoisePredictor(v.latent_dim, units=a.units)
    pred.build((None, v.latent_dim))
    with stage("train_classification_ciba"):
        _, summaries["ciba"] = store.load_or_train(
            "cls_ciba", {**base, **dataclasses.asdict(a), "beta": beta}, {"predictor": pred},
            lambda work: train_task_noise_predictor(pred, encoder, head, images, labels, mean,
                                                    std, beta, c.ciba_epochs, a.batch_size,
                                                    a.lr, ckpt_dir=work, seed=seed))
    return ClassificationModels(encoder, head, np.asarray(mean, np.float32),
                                np.asarray(std, np.float32), pred, beta, summaries)


def _correct(logits, labels) -> np.ndarray:
    return (np.argmax(np.asarray(logits), -1) == np.asarray(labels)).astype(np.float64)


def classification_sweep(models: ClassificationModels, config: Config, alphas: dict,
                         test: Split, seed: int, out_dir) -> tuple[list[dict], PerImage]:
    """``EUB`` and ``config.schemes`` x ``config.mse_models`` vs ``config.snr_db``.

    ``config.channel_draws`` draws per test image, the same channels for every scheme
    (seeds ``(seed, "classification", snr_db, draw)``). Writes ``classification.csv``
    and ``classification_accuracy_vs_snr.png``; returns the rows and the per-image
    samples (points ``{"scheme", "task", "mse_model", "snr_db"}``).
    """
    images, labels = test
    draws = config.channel_draws
    mu = encoder_features(models.encoder, images)
    x = (mu - models.feature_mean) / models.feature_std  # the links' input, encoded once
    clean = _correct(map_batches(lambda z: models.head(tf.constant(z)), mu, batch_size=256),
                     labels)
    rows, samples = [], PerImage()

    def add(scheme, model, snr, alpha, correct):
        mean, ci = mean_ci95(correct)
        rows.append({"task": TASK, "scheme": scheme, "mse_model": model, "snr_db": snr,
                     "beta": models.beta, "alpha": alpha, "accuracy": mean,
                     "accuracy_ci95": ci, "n_images": len(correct)})
        samples.add({"scheme": scheme, "task": TASK, "mse_model": model, "snr_db": snr},
                    {"accuracy": correct})

    for model in config.mse_models:
        alpha = alphas[model]
        for snr in config.snr_db:
            add("EUB", model, snr, alpha, np.tile(clean, draws))
        for scheme in config.schemes:
            link = ImportanceMIMOLink(models.encoder, models.head, models.predictor,
                                      config.num_tx_ant, config.num_rx_ant, scheme=scheme,
                                      alpha=alpha, feature_mean=models.feature_mean,
                                      feature_std=models.feature_std, mse_model=model)
            link.build((None, *images.shape[1:]))
            for snr in config.snr_db:
                parts = [_correct(transmit(link, images, snr,
                                           derive_seed(seed, TASK, snr, d),
                                           config.eval_batch_size, features=x)[0], labels)
                         for d in range(draws)]
                add(scheme, model, snr, alpha, np.concatenate(parts))
    out_dir = Path(out_dir)
    write_csv(out_dir / "classification.csv", list(COLUMNS),
              [{k: format_value(r[k]) for k in COLUMNS} for r in rows])
    plot.metric_vs_snr(rows, "accuracy", out_dir / "classification_accuracy_vs_snr.png",
                       panels=("mse_model",),
                       title="Classification extension: accuracy vs SNR (test)")
    return rows, samples
