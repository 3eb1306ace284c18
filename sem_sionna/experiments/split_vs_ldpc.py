"""S1 + S0: Split DeepJSCC and the learned bit-importance interface vs codec + 5G LDPC.

Tung et al. (Split DeepJSCC, multi-level reliability interface) and Kong & Zhang (learned
interface with bit importance, and its Fig. 7 ablations), compared with DeepJSCC and
separate source-channel coding (real BPG files and JPEG2000 over a 5G transport block, the
(code rate, QAM) per SNR and CBR chosen on validation images; plus BPG at the ideal
capacity) on the same images, over AWGN and Rayleigh block fading, at each CBR of the
configuration.

:func:`run` is the whole study: data, training (weights stored per configuration), the
resumable sweep, the interface tables (:mod:`split_vs_ldpc_report`), the figures and the
claims. ``scenarios/split_vs_ldpc.py`` picks the profile.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

import numpy as np

from sem_sionna import data, links, plot, sweep, utils
from sem_sionna.experiments import report
from sem_sionna.experiments.split_vs_ldpc_config import Config, Schedule, SwinConfig
from sem_sionna.experiments.split_vs_ldpc_report import (CLAIMS, claim_margin_rows,
                                                         eps_flip_margin,
                                                         flip_cost_agreement,
                                                         generalisation_rows,
                                                         interface_ber_rows, learned_eps_rows,
                                                         learning_curve_rows,
                                                         plot_claim_margins, plot_interface,
                                                         plot_learning_curves, write_table)
from sem_sionna.experiments.split_vs_ldpc_train import (describe, num_symbols, train_deepjscc,
                                                        train_learned_interface,
                                                        train_split_jscc)
from sem_sionna.train import WeightStore

__all__ = ["NAME", "Config", "Schedule", "SwinConfig", "CLAIMS", "run"]

NAME = "split_vs_ldpc"
METRICS = ("psnr", "ms_ssim", "fail_rate")
COLUMNS = tuple(sweep.with_ci95(("scheme", "channel", "cbr", "snr_db", "psnr", "ms_ssim",
                                 "fail_rate", "coderate", "num_bits_per_symbol",
                                 "n_images"), METRICS))
LABELS = {"split_jscc": "Split DeepJSCC (S1)", "learned_interface": "Learned interface (S0)",
          "learned_interface_wo_ia": "S0 w/o interface attention",
          "learned_interface_wo_ian": "S0 w/o IAN",
          "deepjscc": "DeepJSCC", "bpg+ldpc": "BPG + 5G LDPC, MCS chosen on validation",
          "jpeg2000+ldpc": "JPEG2000 + 5G LDPC, MCS chosen on validation",
          "bpg@capacity": "BPG at capacity"}
NUM_EXAMPLES = 4


@dataclasses.dataclass(frozen=True)
class Models:
    """The trained learned links, ``{cbr: link}`` per scheme (S0: per training channel
    and variant, ``{channel: {variant: {cbr: link}}}``), and the training histories."""

    split_jscc: dict
    learned_interface: dict
    deepjscc: dict
    histories: dict


def load_images(cfg: Config, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training, validation and test images ``[n, H, W, 3]`` in [0, 1]: CIFAR-10 when asked
    for and cached, else the embedded photos' patches (validation: further patches of the
    training photos; test: the other photos)."""
    if cfg.dataset == "cifar10":
        try:
            train, _ = data.cifar10("train", n=None if cfg.n_train is None
                                    else cfg.n_train + cfg.n_val)
            test, _ = data.cifar10("test", n=cfg.n_test)
            return train[:-cfg.n_val], train[-cfg.n_val:], test
        except FileNotFoundError:
            pass  # no local CIFAR-10 cache: the embedded photos
    n_train = cfg.n_train or 2048
    train = data.embedded_patches(cfg.image_size, "train", n=n_train + cfg.n_val, seed=seed)
    return (train[:n_train], train[n_train:],
            data.embedded_patches(cfg.image_size, "test", n=cfg.n_test, seed=seed))


def flip_cost_set(cfg: Config, seed: int, test_images: np.ndarray) -> np.ndarray:
    """Images of S0's bit flip-cost measurement (``learned_eps.csv``): the first
    ``cfg.flip_cost_images`` of the test split, drawn beyond the sweep's ``n_test`` test
    images when more are asked for (a single bit's cost is a small MSE change, so it needs
    more images than the sweep's means do); None: the sweep's test images.

    The test split of :func:`load_images` is a prefix of a longer one, so the extension
    starts with ``test_images``."""
    n = cfg.flip_cost_images
    if n is None or n <= len(test_images):
        return test_images[:n]
    return load_images(dataclasses.replace(cfg, n_test=n), seed)[2]


def train_models(cfg: Config, train_images, val_images, args: argparse.Namespace,
                 record: sweep.RunRecord, flip_images=None) -> Models:
    """Train (or load) S1, S0 (and its ablations) and DeepJSCC, one timed stage each;
    with ``flip_images`` (:func:`flip_cost_set`) S0's source stage logs its
    eps-vs-flip-cost margin per epoch over them (:func:`eps_flip_margin`, a diagnostic
    that never steers the training)."""
    store = WeightStore(args.out / "ckpt", retrain=args.retrain)
    monitor = None if flip_images is None else (
        lambda f, g, interface: eps_flip_margin(f, g, interface, flip_images))
    with record.stage("train_split_jscc"):
        split, h1 = train_split_jscc(cfg, train_images, val_images, store, args.seed)
    with record.stage("train_learned_interface"):
        learned, h0 = train_learned_interface(cfg, train_images, val_images, store, args.seed,
                                              source_monitor=monitor)
    with record.stage("train_deepjscc"):
        deepjscc, hd = train_deepjscc(cfg, train_images, val_images, store, args.seed)
    record.set("parameters", parameter_counts(split, learned, deepjscc))
    histories = {**h1, **h0, **hd}
    record.set("training", histories)
    return Models(split, learned, deepjscc, histories)


def parameter_counts(split: dict, learned: dict, deepjscc: dict) -> dict:
    """run.json's ``parameters``: trainable weights per scheme and CBR (:func:`describe`);
    S0's models trained over another channel than AWGN are named ``"<scheme> (trained over
    <channel>)"``."""
    return {"split_jscc": describe(split), "deepjscc": describe(deepjscc),
            **{_s0_name(v) + ("" if ch == "awgn" else f" (trained over {ch})"): describe(ls)
               for ch, variants in learned.items() for v, ls in variants.items()}}


def _s0_name(variant: str) -> str:
    return "learned_interface" if variant == "full" else f"learned_interface_{variant}"


def build_schemes(cfg: Config, models: Models, image_shape, fallback, val_images,
                  seed: int) -> dict[tuple[str, float, str], Any]:
    """``{(scheme, cbr, channel): link}`` (:class:`~sem_sionna.sweep.SweepLink`): the
    learned links (one per CBR, every channel; S0's ablations at the first CBR, and over
    a channel S0 was trained on, its model of that channel) and the digital chains (one
    per CBR and channel, their MCS per SNR chosen on ``val_images``)."""
    schemes = {}
    s0 = models.learned_interface
    # insertion order = the order in which the runner reseeds the links' generators
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        learned = {"split_jscc": dict.fromkeys(cfg.channels, models.split_jscc[cbr]),
                   **{_s0_name(v): {ch: s0.get(ch, s0["awgn"])[v][cbr] for ch in cfg.channels}
                      for v, ls in s0["awgn"].items() if cbr in ls},
                   "deepjscc": dict.fromkeys(cfg.channels, models.deepjscc[cbr])}
        for name, by_channel in learned.items():
            schemes.update({(name, cbr, ch): link for ch, link in by_channel.items()})
        for codec in cfg.codecs:
            for ch in cfg.channels:
                oracle = links.DigitalOracle(codec, k, mcs=cfg.mcs, channel=ch,
                                             fallback=fallback, seed=seed, select="validation")
                oracle.select_mcs(val_images, sorted({*cfg.snr_db, cfg.example_snr_db}))
                schemes[(f"{codec}+ldpc", cbr, ch)] = oracle
        schemes.update({("bpg@capacity", cbr, ch): links.CapacityBound(
            "bpg", k, channel=ch, fallback=fallback, seed=seed) for ch in cfg.channels})
    return schemes


def scheme_names(schemes) -> list[str]:
    """Scheme names in first-seen order."""
    return list(dict.fromkeys(key[0] for key in schemes))


def run_sweep(cfg: Config, schemes, test_images, args: argparse.Namespace,
              record: sweep.RunRecord) -> list[dict]:
    """Every (scheme, channel, CBR, SNR) point into ``metrics.csv``; resumable, sharded,
    or spread over ``--devices`` (children relaunch the script this process runs)."""
    points = [p for p in sweep.grid(scheme=scheme_names(schemes), channel=cfg.channels,
                                    cbr=cfg.cbrs, snr_db=cfg.snr_db)
              if (p["scheme"], p["cbr"], p["channel"]) in schemes]
    last = {}
    evaluator = sweep.ImageSweep(schemes, test_images,
                                 on_result=lambda point, x_hat, info: last.update(info=info))

    def evaluate(point, state):
        metrics = evaluator.evaluate(point, state)
        info = last.pop("info", None) or {}
        for col in ("coderate", "num_bits_per_symbol"):  # the digital chains' chosen MCS
            value = info.get(col) if isinstance(info, dict) else None
            if value is not None:
                metrics[col] = float(value)
        return metrics

    runner = sweep.SweepRunner(args.out, list(COLUMNS), resume=args.resume, shard=args.shard,
                               seed=args.seed, record=record, desc=NAME, devices=args.devices,
                               argv=args.argv, script=getattr(args, "script", sys.argv[0]))
    with record.stage("sweep"):
        return runner.run(points, evaluate, evaluator.prepare,
                          reseed=evaluator.seeded_layers())


def plot_examples(cfg: Config, schemes, labels, test_images, out) -> None:
    """Reconstructions of the first test images by every scheme (first CBR, AWGN)."""
    cbr = cfg.cbrs[0]
    images = test_images[:NUM_EXAMPLES]
    examples = sweep.reconstruct_examples(
        {labels[n]: schemes[(n, cbr, "awgn")] for n in scheme_names(schemes)}, images,
        cfg.example_snr_db, "awgn")
    plot.image_grid([list(images)] + [list(x) for x in examples.values()],
                    ["original"] + list(examples), [f"image {i}" for i in range(len(images))],
                    out / "examples.png",
                    title=f"AWGN, {cfg.example_snr_db:g} dB, CBR {cbr:.4g}")


def interface_tables(cfg: Config, models: Models, val_images, test_images, flip_images, out,
                     record: sweep.RunRecord) -> dict[str, list[dict]]:
    """``interface_ber.csv`` (S1, per level, SNR and CBR), ``learned_eps.csv`` (S0: eps
    and flip cost per bit over ``flip_images``, from :func:`flip_cost_set`, exact and
    Gauss-Newton; their agreement goes to run.json's ``flip_cost_gauss_newton``),
    ``generalisation.csv`` (validation vs test PSNR), ``learning_curves.csv`` (per stage
    and epoch) and ``claim_margins.csv`` (the margins of S0 Fig. 7, S1 Fig. 9 and S0's
    eps-vs-flip-cost claim per epoch)."""
    s0 = next(iter(models.learned_interface["awgn"]["full"].values()))
    with record.stage("interface_tables"):
        tables = {
            "interface_ber": interface_ber_rows(cfg, models.split_jscc, test_images),
            "learned_eps": learned_eps_rows(s0.source_mapper, s0.source_demapper,
                                            s0.interface, flip_images),
            "generalisation": generalisation_rows(cfg, models, val_images, test_images),
            "learning_curves": learning_curve_rows(models.histories)}
        tables["claim_margins"] = claim_margin_rows(cfg, tables["learning_curves"],
                                                    test_images.shape[1:])
        for name, rows in tables.items():
            write_table(out / f"{name}.csv", rows)
    record.set("generalisation", tables["generalisation"])
    record.set("flip_cost_gauss_newton", flip_cost_agreement(tables["learned_eps"]))
    return tables


def plot_figures(cfg: Config, rows, tables, schemes, test_images, out,
                 record: sweep.RunRecord) -> None:
    """Metric and failure-rate vs SNR, the interface figures and the examples."""
    labels = {**LABELS, "learned_interface": f"Learned interface (S0, {cfg.s0_source})"}
    with record.stage("figures"):
        plot.metric_vs_snr(rows, "psnr", out / "psnr_vs_snr.png")
        plot.metric_vs_snr(rows, "ms_ssim", out / "ms_ssim_vs_snr.png")
        plot.failure_rate_vs_snr(rows, out / "decode_failure_vs_snr.png")
        plot_interface(cfg, tables, out)
        plot_learning_curves(tables["learning_curves"], out)
        plot_claim_margins(tables["claim_margins"], out)
        plot_examples(cfg, schemes, labels, test_images, out)
    record.set("scheme_labels", labels)


def run(config: Config, args: argparse.Namespace) -> None:
    """The whole study into ``args.out`` (SPEC: metrics.csv, run.json, figures).

    Parameters
    ----------
    config : Config -- the profile.
    args : argparse.Namespace -- from :func:`sem_sionna.sweep.parse_args` (``out``, ``seed``,
        ``resume``, ``retrain``, ``shard``, ``devices``, ``argv``); ``script`` (optional,
        default ``sys.argv[0]``) is the file ``--devices`` relaunches per shard.
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a split_vs_ldpc.Config, got "
                        f"{type(config).__name__}")
    utils.set_global_seed(args.seed)  # before any layer draws its initial weights or seed
    with sweep.RunRecord(args.out, NAME, args, config) as record:
        with record.stage("data"):
            train_images, val_images, test_images = load_images(config, args.seed)
            fallback = data.mean_image(train_images)
            flip_images = flip_cost_set(config, args.seed, test_images)
        models = train_models(config, train_images, val_images, args, record, flip_images)
        with record.stage("select_mcs"):
            schemes = build_schemes(config, models, test_images.shape[1:], fallback,
                                    val_images, args.seed)
        rows = run_sweep(config, schemes, test_images, args, record)
        if args.shard is None:
            record.set("flip_cost_images", len(flip_images))
            tables = interface_tables(config, models, val_images, test_images, flip_images,
                                      args.out, record)
            plot_figures(config, rows, tables, schemes, test_images, args.out, record)
            with record.stage("claims"):
                report.write_claims(args.out, CLAIMS, rows={"metrics": rows, **tables},
                                    title="split_vs_ldpc: S1 (Split DeepJSCC) and S0 "
                                          "(learned interface)")
