"""S4: CIBA importance + WMMSE power allocation for VAE features over SVD MIMO (Cao et al.).

A VAE is trained on one-object procedural scenes (no channel); a CIBA noise predictor,
trained with the information-bottleneck objective for each ``beta``, scores the
importance of every latent feature (the AWGN capacity it needs). The features are sent
as analog symbols over the eigen-channels of a Rayleigh MIMO channel
(:class:`~sem_sionna.links.importance_mimo.ImportanceMIMOLink`) with EPA, MMSE or WMMSE
power allocation, each with and without subchannel matching, and the decoded images
are scored by PSNR, MS-SSIM and a separately trained classifier (the evaluation model)::

    load_data --> train_models --> beta_search (EPA-M, validation)
      --> alpha_search (WMMSE-M per MSE model, validation) --> phif_plif (test)
      --> sweep_schemes (EUB + the schemes x MSE models vs SNR, test) --> plot_sweep
      --> classification extension (Sec. 4.4, if configured)
      --> claims (claims.json, CLAIMS.md)

Both MSE models of :mod:`sem_sionna.phy.allocation` are swept (column ``mse_model``:
``zf``, the default, and ``lmmse``); scheme names are the SPEC's in both.

Outputs in ``args.out``: ``metrics.csv`` (:data:`COLUMNS`), ``per_image.npz``,
``claims.json`` / ``CLAIMS.md`` (:data:`CLAIMS`), ``search_contrasts.csv``, ``run.json``,
``{accuracy,psnr,ms_ssim}_vs_snr.png``, ``classification.csv`` and
``classification_accuracy_vs_snr.png`` (Sec. 4.4), ``beta_search.{csv,png}``,
``alpha_search.{csv,png}``, ``phif_plif.{csv,png}``, ``phif_plif_examples.png`` and the
weight store ``ckpt/``.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from sem_sionna import plot, sweep
from sem_sionna.metrics import PerImage
from sem_sionna.data import scenes
from sem_sionna.links.importance_mimo import transmit
from sem_sionna.train import WeightStore
from sem_sionna.utils.seeding import derive_seed

from .importance_mimo_config import (CIBAConfig, ClassificationConfig, ClassifierConfig, Config,
                                     TrainingConfig, VAEConfig)
from .importance_mimo_models import (Models, Split, decode, evaluate_images, features,
                                     score_images, train_models)
from .importance_mimo_claims import CLAIMS, write_study_claims
from .importance_mimo_classify import classification_sweep, train_classification_models
from .importance_mimo_validation import alpha_search, best_value, beta_search, phif_plif

__all__ = ["CLAIMS", "COLUMNS", "METRICS", "CIBAConfig", "ClassificationConfig",
           "ClassifierConfig", "Config", "Models", "NAME",
           "SchemeEvaluator", "TrainingConfig", "VAEConfig", "load_data", "plot_sweep", "run",
           "sweep_schemes"]

NAME = "importance_mimo"

METRICS = ("psnr", "ms_ssim", "accuracy", "feature_mse")
"""Per-image metrics of the sweep (``accuracy``: 1.0 where the evaluation model is right)."""

COLUMNS = tuple(sweep.with_ci95(
    ("scheme", "mse_model", "channel", "snr_db", "cbr", "beta", "alpha", "psnr", "ms_ssim",
     "accuracy", "feature_mse", "n_images"), METRICS))
"""Columns of ``metrics.csv`` written by :func:`sweep_schemes` (``<m>_ci95``: 95 % half-widths)."""

UPPER_BOUND = "EUB"
"""Scheme name of the empirical upper bound: the VAE and classifier without a channel."""


def load_data(config: Config, seed: int) -> dict[str, Split]:
    """Train / validation / test scenes ``(images, labels)`` (one object per scene).

    Validation scenes come from the training photos with another seed (used for the
    beta / alpha searches); test scenes from the test photos.
    """
    def split(n, name, split_seed):
        images, _, labels = scenes(n, size=config.image_size, seed=split_seed, split=name,
                                   num_classes=config.num_classes, max_objects=1)
        return images, labels

    return {"train": split(config.n_train, "train", seed),
            "val": split(config.n_val, "train", derive_seed(seed, "val")),
            "test": split(config.n_test, "test", seed)}


@dataclasses.dataclass
class SchemeEvaluator:
    """``prepare`` / ``evaluate`` of the scheme sweep for :class:`~sem_sionna.sweep.SweepRunner`.

    ``prepare`` builds one link per scheme and MSE model (or, for ``EUB``, scores the
    clean features once); ``evaluate`` sends the test images ``config.channel_draws``
    times at the point's SNR and returns per-image arrays (draw-major: row
    ``d * n_test + i`` is image ``i`` under draw ``d``). Every scheme at a given SNR
    and draw sees the same channel matrices and noise (:func:`transmit` reseeds from
    ``(seed, "channel", snr_db, draw)``), so rows pair across schemes and MSE models.
    """

    models: Models
    config: Config
    beta: float
    alphas: dict
    test: Split
    seed: int
    _features: np.ndarray | None = dataclasses.field(default=None, init=False, repr=False)

    def prepare(self, group: dict):
        images, labels = self.test
        if group["scheme"] == UPPER_BOUND:
            x_hat = decode(self.models, features(self.models, images))
            scores = score_images(images, x_hat, labels, self.models.classifier)
            return {k: np.tile(v, self.config.channel_draws) for k, v in scores.items()}
        model = group["mse_model"]
        return self.models.link(self.beta, group["scheme"], self.alphas[model],
                                self.config.num_tx_ant, self.config.num_rx_ant,
                                mse_model=model)

    def evaluate(self, point: dict, link) -> dict:
        images, labels = self.test
        n = len(images) * self.config.channel_draws
        if isinstance(link, dict):  # the upper bound, the same at every SNR
            return {**link, "feature_mse": np.zeros(n), "n_images": n}
        if self._features is None:  # encoded once for every scheme, SNR and draw
            self._features = features(self.models, images)
        parts = []
        for draw in range(self.config.channel_draws):
            x_hat, mse = transmit(link, images, point["snr_db"],
                                  derive_seed(self.seed, "channel", point["snr_db"], draw),
                                  self.config.eval_batch_size, per_image=True,
                                  features=self._features)
            parts.append({**score_images(images, x_hat, labels, self.models.classifier),
                          "feature_mse": mse})
        return {**{m: np.concatenate([p[m] for p in parts]) for m in METRICS}, "n_images": n}


def sweep_schemes(models: Models, config: Config, beta: float, alphas: dict, test: Split,
                  args: argparse.Namespace, record: sweep.RunRecord | None = None) -> list[dict]:
    """``EUB`` and ``config.schemes`` x ``config.mse_models`` vs ``config.snr_db`` on ``test``
    into ``metrics.csv`` (``alphas``: the WMMSE exponent of each MSE model).

    Honours ``args.resume``, ``args.shard`` and ``args.devices`` (with ``args.script``,
    the scenario file the device shards rerun, and ``args.argv``).
    """
    channel = f"rayleigh-{config.num_tx_ant}x{config.num_rx_ant}"
    cbr = models.link(beta, "EPA", 0.0, config.num_tx_ant, config.num_rx_ant).cbr
    points = []
    for model in config.mse_models:
        points += sweep.grid(scheme=[UPPER_BOUND, *config.schemes], mse_model=model,
                             channel=channel, snr_db=list(config.snr_db), cbr=cbr, beta=beta,
                             alpha=alphas[model])
    evaluator = SchemeEvaluator(models, config, beta, alphas, test, args.seed)
    if record is not None:  # the evaluation model on the original images, for reference
        images, labels = test
        record.set("classifier_accuracy_original",
                   evaluate_images(images, images, labels, models.classifier)["accuracy"])
    runner = sweep.SweepRunner(args.out, COLUMNS, resume=args.resume, shard=args.shard,
                               seed=args.seed, record=record, desc=NAME,
                               devices=getattr(args, "devices", None),
                               argv=getattr(args, "argv", None),
                               script=getattr(args, "script", None),
                               key_columns=("scheme", "mse_model", "channel", "cbr", "snr_db"))
    return runner.run(points, evaluator.evaluate, prepare=evaluator.prepare,
                      group_by=("scheme", "mse_model", "channel", "cbr"))


def plot_sweep(rows: list[dict], out_dir) -> None:
    """``accuracy_vs_snr.png``, ``psnr_vs_snr.png`` and ``ms_ssim_vs_snr.png`` (one panel
    per MSE model, 95 % bands)."""
    for metric in ("accuracy", "psnr", "ms_ssim"):
        plot.metric_vs_snr(rows, metric, Path(out_dir) / f"{metric}_vs_snr.png",
                           panels=("mse_model",))


def _argmax_per_snr(rows: list[dict], config: Config) -> dict:
    """The best alpha of each MSE model at each search SNR (reported, not used)."""
    return {m: {f"{snr:g}": best_value([r for r in rows if r["mse_model"] == m
                                        and r["snr_db"] == snr], "alpha", config.select_metric)
                for snr in config.search_snr_db} for m in config.mse_models}


def run(config: Config, args: argparse.Namespace) -> None:
    """The whole S4 study into ``args.out`` (see the module docstring for the steps).

    ``args`` as from :func:`sem_sionna.sweep.parse_args` (``out``, ``seed``, ``resume``,
    ``retrain``, ``shard``, ``devices``, ``argv``), plus ``script``: the scenario file,
    needed with ``devices``.
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be an importance_mimo.Config, "
                        f"got {type(config).__name__}")
    out = Path(args.out)
    with sweep.RunRecord(out, NAME, args, config) as record:
        data = load_data(config, args.seed)
        store = WeightStore(out / "ckpt", retrain=args.retrain)
        models = train_models(config, data["train"], store, args.seed, record)
        search = PerImage()
        with record.stage("beta_search"):
            beta, beta_rows = beta_search(models, config, data["val"], out, args.seed, search)
        with record.stage("alpha_search"):
            alphas, alpha_rows = alpha_search(models, config, beta, data["val"], out, args.seed,
                                              search)
        record.set("selected", {"beta": beta, "alpha": alphas,
                                "select_metric": config.select_metric,
                                "alpha_argmax_per_snr": _argmax_per_snr(alpha_rows, config)})
        with record.stage("phif_plif"):
            phif_plif(models, config, beta, data["test"], out, args.seed)
        with record.stage("sweep"):
            rows = sweep_schemes(models, config, beta, alphas, data["test"], args, record)
        extra, extra_rows = None, {}
        if config.classification is not None and args.shard is None:
            cls_models = train_classification_models(config, data["train"], store, args.seed,
                                                     beta, record)
            with record.stage("classification_sweep"):
                cls_rows, extra = classification_sweep(cls_models, config, alphas,
                                                       data["test"], args.seed, out)
            extra_rows = {"classification": cls_rows}
            models.summaries["classification"] = cls_models.summaries
        if args.shard is None:
            with record.stage("figures"):
                plot_sweep(rows, out)
            with record.stage("claims"):
                write_study_claims(out, config, rows, beta_rows, alpha_rows, search, extra,
                                   extra_rows)
        record.set("train_summaries", models.summaries)
