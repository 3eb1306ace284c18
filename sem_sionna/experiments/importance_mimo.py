"""S4: CIBA importance + WMMSE power allocation for VAE features over SVD MIMO (Cao et al.).

A VAE is trained on one-object procedural scenes (no channel); a CIBA noise predictor,
trained with the information-bottleneck objective for each ``beta``, scores the
importance of every latent feature (the AWGN capacity it needs). The features are sent
as analog symbols over the eigen-channels of a Rayleigh MIMO channel
(:class:`~sem_sionna.links.importance_mimo.ImportanceMIMOLink`) with EPA, MMSE or WMMSE
power allocation, each with and without subchannel matching, and the decoded images
are scored by PSNR, MS-SSIM and a separately trained classifier (the evaluation model)::

    load_data --> train_models --> beta_search (EPA-M, validation)
      --> alpha_search (WMMSE-M, validation) --> phif_plif (test)
      --> sweep_schemes (EUB + the schemes vs SNR, test) --> plot_sweep

Outputs in ``args.out``: ``metrics.csv`` (:data:`COLUMNS`), ``run.json``,
``{accuracy,psnr,ms_ssim}_vs_snr.png``, ``beta_search.{csv,png}``,
``alpha_search.{csv,png}``, ``phif_plif.{csv,png}``, ``phif_plif_examples.png`` and the
weight store ``ckpt/``.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from sem_sionna import plot, sweep
from sem_sionna.data import scenes
from sem_sionna.links.importance_mimo import transmit
from sem_sionna.train import WeightStore
from sem_sionna.utils.seeding import derive_seed

from .importance_mimo_config import CIBAConfig, ClassifierConfig, Config, TrainingConfig, VAEConfig
from .importance_mimo_models import Models, Split, decode, evaluate_images, features, train_models
from .importance_mimo_validation import alpha_search, beta_search, phif_plif

__all__ = ["COLUMNS", "CIBAConfig", "ClassifierConfig", "Config", "Models", "NAME",
           "SchemeEvaluator", "TrainingConfig", "VAEConfig", "load_data", "plot_sweep", "run",
           "sweep_schemes"]

NAME = "importance_mimo"

COLUMNS = ("scheme", "channel", "snr_db", "cbr", "beta", "alpha", "psnr", "ms_ssim", "accuracy",
           "feature_mse", "n_images")
"""Columns of ``metrics.csv`` written by :func:`sweep_schemes`."""

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

    ``prepare`` builds one link per scheme (or, for ``EUB``, scores the clean
    features once); ``evaluate`` sends the test images at the point's SNR. Every
    scheme at a given SNR sees the same channel matrices and noise (:func:`transmit`
    reseeds from ``(seed, "channel", snr_db)``).
    """

    models: Models
    config: Config
    beta: float
    alpha: float
    test: Split
    seed: int

    def prepare(self, group: dict):
        images, labels = self.test
        if group["scheme"] == UPPER_BOUND:
            x_hat = decode(self.models, features(self.models, images))
            return evaluate_images(images, x_hat, labels, self.models.classifier)
        return self.models.link(self.beta, group["scheme"], self.alpha, self.config.num_tx_ant,
                                self.config.num_rx_ant)

    def evaluate(self, point: dict, link) -> dict:
        images, labels = self.test
        if isinstance(link, dict):  # the upper bound, the same at every SNR
            return {**link, "feature_mse": 0.0, "n_images": len(images)}
        x_hat, mse = transmit(link, images, point["snr_db"],
                              derive_seed(self.seed, "channel", point["snr_db"]),
                              self.config.eval_batch_size)
        return {**evaluate_images(images, x_hat, labels, self.models.classifier),
                "feature_mse": mse, "n_images": len(images)}


def sweep_schemes(models: Models, config: Config, beta: float, alpha: float, test: Split,
                  args: argparse.Namespace, record: sweep.RunRecord | None = None) -> list[dict]:
    """``EUB`` and ``config.schemes`` vs ``config.snr_db`` on ``test`` into ``metrics.csv``.

    Honours ``args.resume``, ``args.shard`` and ``args.devices`` (with ``args.script``,
    the scenario file the device shards rerun, and ``args.argv``).
    """
    channel = f"rayleigh-{config.num_tx_ant}x{config.num_rx_ant}"
    cbr = models.link(beta, "EPA", alpha, config.num_tx_ant, config.num_rx_ant).cbr
    points = sweep.grid(scheme=[UPPER_BOUND, *config.schemes], channel=channel,
                        snr_db=list(config.snr_db), cbr=cbr, beta=beta, alpha=alpha)
    evaluator = SchemeEvaluator(models, config, beta, alpha, test, args.seed)
    if record is not None:  # the evaluation model on the original images, for reference
        images, labels = test
        record.set("classifier_accuracy_original",
                   evaluate_images(images, images, labels, models.classifier)["accuracy"])
    runner = sweep.SweepRunner(args.out, COLUMNS, resume=args.resume, shard=args.shard,
                               seed=args.seed, record=record, desc=NAME,
                               devices=getattr(args, "devices", None),
                               argv=getattr(args, "argv", None),
                               script=getattr(args, "script", None))
    return runner.run(points, evaluator.evaluate, prepare=evaluator.prepare)


def plot_sweep(rows: list[dict], out_dir) -> None:
    """``accuracy_vs_snr.png``, ``psnr_vs_snr.png`` and ``ms_ssim_vs_snr.png``."""
    for metric in ("accuracy", "psnr", "ms_ssim"):
        plot.metric_vs_snr(rows, metric, Path(out_dir) / f"{metric}_vs_snr.png",
                           panels=("channel",))


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
        with record.stage("beta_search"):
            beta, _ = beta_search(models, config, data["val"], out, args.seed)
        with record.stage("alpha_search"):
            alpha, _ = alpha_search(models, config, beta, data["val"], out, args.seed)
        record.set("selected", {"beta": beta, "alpha": alpha})
        with record.stage("phif_plif"):
            phif_plif(models, config, beta, data["test"], out, args.seed)
        with record.stage("sweep"):
            rows = sweep_schemes(models, config, beta, alpha, data["test"], args, record)
        if args.shard is None:
            with record.stage("figures"):
                plot_sweep(rows, out)
        record.set("train_summaries", models.summaries)
