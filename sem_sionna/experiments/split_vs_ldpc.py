"""S1 + S0: Split DeepJSCC and the learned bit-importance interface vs codec + 5G LDPC.

Tung et al. (Split DeepJSCC, multi-level reliability interface) and Kong & Zhang (learned
interface with bit importance), compared with DeepJSCC and separate source-channel coding
(HEVC-intra as the BPG stand-in, and JPEG2000, over a 5G transport block with the best
(code rate, QAM) per SNR; plus the ideal-capacity bound) on the same images, over AWGN and
Rayleigh block fading, at each CBR of the configuration.

:func:`run` is the whole study: data, training (weights stored per configuration), the
resumable sweep and the figures. ``scenarios/split_vs_ldpc.py`` picks the profile.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

import numpy as np

from sem_sionna import data, links, plot, sweep, utils
from sem_sionna.experiments.split_vs_ldpc_config import Config, Schedule, SwinConfig
from sem_sionna.experiments.split_vs_ldpc_train import (describe, num_symbols, train_deepjscc,
                                                        train_learned_interface,
                                                        train_split_jscc)
from sem_sionna.nets import multilevel_eps
from sem_sionna.train import WeightStore

__all__ = ["NAME", "Config", "Schedule", "SwinConfig", "run"]

NAME = "split_vs_ldpc"
COLUMNS = ("scheme", "channel", "cbr", "snr_db", "psnr", "ms_ssim", "fail_rate", "n_images")
LABELS = {"split_jscc": "Split DeepJSCC (S1)", "learned_interface": "Learned interface (S0)",
          "deepjscc": "DeepJSCC", "hevc+ldpc": "HEVC-intra (BPG) + 5G LDPC, best MCS",
          "jpeg2000+ldpc": "JPEG2000 + 5G LDPC, best MCS",
          "hevc@capacity": "HEVC-intra (BPG) at capacity"}
NUM_EXAMPLES = 4


@dataclasses.dataclass(frozen=True)
class Models:
    """The trained learned links, ``{cbr: link}`` per scheme."""

    split_jscc: dict
    learned_interface: dict
    deepjscc: dict


def load_images(cfg: Config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test images ``[n, H, W, 3]`` in [0, 1]: CIFAR-10 when asked for and
    cached, else the embedded photos' patches."""
    if cfg.dataset == "cifar10":
        try:
            train, _ = data.cifar10("train", n=cfg.n_train)
            test, _ = data.cifar10("test", n=cfg.n_test)
            return train, test
        except FileNotFoundError:
            pass  # no local CIFAR-10 cache: the embedded photos
    return (data.embedded_patches(cfg.image_size, "train", n=cfg.n_train, seed=seed),
            data.embedded_patches(cfg.image_size, "test", n=cfg.n_test, seed=seed))


def train_models(cfg: Config, train_images, args: argparse.Namespace,
                 record: sweep.RunRecord) -> Models:
    """Train (or load) S1, S0 and DeepJSCC, one timed stage each."""
    store = WeightStore(args.out / "ckpt", retrain=args.retrain)
    with record.stage("train_split_jscc"):
        split = train_split_jscc(cfg, train_images, store, args.seed)
    with record.stage("train_learned_interface"):
        learned = train_learned_interface(cfg, train_images, store, args.seed)
    with record.stage("train_deepjscc"):
        deepjscc = train_deepjscc(cfg, train_images, store, args.seed)
    record.set("parameters", {"split_jscc": describe(split), "deepjscc": describe(deepjscc),
                              "learned_interface": describe(learned)})
    return Models(split, learned, deepjscc)


def build_schemes(cfg: Config, models: Models, image_shape, fallback,
                  seed: int) -> dict[tuple[str, float, str], Any]:
    """``{(scheme, cbr, channel): link}`` (:class:`~sem_sionna.sweep.SweepLink`): the
    learned links (one per CBR, every channel) and the digital chains (one per channel)."""
    schemes = {}
    # insertion order = the order in which the runner reseeds the links' generators
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        for name, link in (("split_jscc", models.split_jscc[cbr]),
                           ("learned_interface", models.learned_interface[cbr]),
                           ("deepjscc", models.deepjscc[cbr])):
            schemes.update({(name, cbr, ch): link for ch in cfg.channels})
        for codec in cfg.codecs:
            schemes.update({(f"{codec}+ldpc", cbr, ch): links.DigitalOracle(
                codec, k, mcs=cfg.mcs, channel=ch, fallback=fallback, seed=seed,
                select="genie") for ch in cfg.channels})
        schemes.update({("hevc@capacity", cbr, ch): links.CapacityBound(
            "hevc", k, channel=ch, fallback=fallback, seed=seed) for ch in cfg.channels})
    return schemes


def scheme_names(schemes) -> list[str]:
    """Scheme names in first-seen order."""
    return list(dict.fromkeys(key[0] for key in schemes))


def run_sweep(cfg: Config, schemes, test_images, args: argparse.Namespace,
              record: sweep.RunRecord) -> list[dict]:
    """Every (scheme, channel, CBR, SNR) point into ``metrics.csv``; resumable, sharded,
    or spread over ``--devices`` (children relaunch the script this process runs)."""
    points = sweep.grid(scheme=scheme_names(schemes), channel=cfg.channels, cbr=cfg.cbrs,
                        snr_db=cfg.snr_db)
    evaluator = sweep.ImageSweep(schemes, test_images)
    runner = sweep.SweepRunner(args.out, list(COLUMNS), resume=args.resume, shard=args.shard,
                               seed=args.seed, record=record, desc=NAME, devices=args.devices,
                               argv=args.argv, script=getattr(args, "script", sys.argv[0]))
    with record.stage("sweep"):
        return runner.run(points, evaluator.evaluate, evaluator.prepare,
                          reseed=evaluator.seeded_layers())


def plot_interface(cfg: Config, models: Models, test_images, out, record) -> None:
    """S1's empirical BER per reliability level vs the eq. (17) ladder, and S0's learned
    flip probabilities (first CBR, AWGN)."""
    cbr = cfg.cbrs[0]
    ber = links.interface_ber(models.split_jscc[cbr], test_images, cfg.snr_db, cfg.num_levels)
    ladder = multilevel_eps(cfg.num_levels, cfg.eps_max, cfg.eps_min)
    plot.line_plot(list(range(1, cfg.num_levels + 1)),
                   {"interface eps (S1 eq. 17)": list(ladder),
                    **{f"empirical, {s:g} dB": b for s, b in zip(cfg.snr_db, ber)}},
                   out / "interface_ber.png", xlabel="reliability level",
                   ylabel="bit error rate", title=f"Split DeepJSCC, AWGN, CBR {cbr:.4g}",
                   logy=True)
    eps = sorted(models.learned_interface[cbr].interface.eps.numpy())
    plot.line_plot(list(range(len(eps))), {"learned eps (sorted)": eps},
                   out / "learned_eps.png", xlabel="bit index (sorted)",
                   ylabel="flip probability eps", title="S0 learned interface", logy=True)
    record.set("interface_ber", {"snr_db": cfg.snr_db, "ber": ber.tolist()})
    record.set("learned_eps", [float(e) for e in eps])


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


def plot_figures(cfg: Config, rows, models: Models, schemes, test_images, out,
                 record: sweep.RunRecord) -> None:
    """Metric and failure-rate vs SNR, the interface figures and the examples."""
    labels = {**LABELS, "learned_interface": f"Learned interface (S0, {cfg.s0_source})"}
    with record.stage("figures"):
        plot.metric_vs_snr(rows, "psnr", out / "psnr_vs_snr.png")
        plot.metric_vs_snr(rows, "ms_ssim", out / "ms_ssim_vs_snr.png")
        plot.failure_rate_vs_snr(rows, out / "decode_failure_vs_snr.png")
        plot_interface(cfg, models, test_images, out, record)
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
            train_images, test_images = load_images(config, args.seed)
            fallback = data.mean_image(train_images)
        models = train_models(config, train_images, args, record)
        schemes = build_schemes(config, models, test_images.shape[1:], fallback, args.seed)
        rows = run_sweep(config, schemes, test_images, args, record)
        if args.shard is None:
            plot_figures(config, rows, models, schemes, test_images, args.out, record)
