"""S3: SCSC (Han et al.) -- PPEN + BPG + 5G LDPC + QPSK + SVD/PCEN over 2x2 MIMO.

Standards-compatible semantic communication on procedural scenes with segmentation
masks: a learned pre-processor (PPEN) before an unmodified HEVC-intra + LDPC + QPSK
chain, a learned precoder/combiner pair (PCEN) around the SVD precoder, a proxy network
for the gradient of the chain and a frozen segmentation network at the receiver (mIoU).
Baselines: the digital chain, ProxyNet, DeepJSCC-MIMO and ADJSCC; ablations w/o PPEN,
w/o PCEN, w/o QA; PPEN with JPEG and JPEG2000; Rayleigh and CDL-A channels with perfect
and imperfect CSI.

:func:`run` is built from named steps::

    load_data -> build_models -> train_models (stages 1-6 of sem_sionna.train.scsc,
    each stored in the weight store) -> run_sweep (metrics.csv) -> write_report
    (figures, bd_rates.csv) + plot_examples (examples.png)

Outputs in ``args.out``: ``metrics.csv`` (:data:`COLUMNS`), ``run.json``,
``bd_rates.csv``, ``miou_vs_snr.png``, ``psnr_vs_snr.png``, ``ms_ssim_vs_snr.png``,
``psnr_vs_cbr.png``, ``miou_vs_cbr.png``, ``ms_ssim_vs_cbr.png``,
``miou_vs_snr_channels.png``, ``miou_vs_snr_codecs.png`` (with ``gen_codecs``),
``ablation.png``, ``examples.png``; trained weights under ``ckpt/``.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import math
from pathlib import Path
from typing import Callable

import numpy as np

from sem_sionna import codecs, data, utils
from sem_sionna.experiments.scsc_mimo_config import (ChainConfig, Config, JSCCConfig,
                                                     PCENConfig, ProxyConfig, SCSCConfig,
                                                     SegNetConfig, SweepConfig)
from sem_sionna.experiments.report import write_claims
from sem_sionna.experiments.scsc_mimo_report import plot_examples, versus_table, write_report
from sem_sionna.metrics import AllOf, Claim, Greater, GreaterAtEveryPoint, Threshold
from sem_sionna.experiments.scsc_mimo_sweep import (COLUMNS, JSCC_SCHEMES, Models,
                                                    SceneData, SchemeEvaluator,
                                                    mimo_channel_config, run_sweep)
from sem_sionna.links.mimo_jscc import MIMOJSCC
from sem_sionna.links.proxynet import ProxyNetMIMO
from sem_sionna.links.scsc import SCSC, channel_uses_for_payload
from sem_sionna.nets.pcen import PCEN
from sem_sionna.nets.ppen import PPEN
from sem_sionna.nets.proxy import ProxyNetwork
from sem_sionna.nets.segnet import SegNet
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.sweep import RunRecord
from sem_sionna.train import WeightStore
from sem_sionna.experiments.scsc_mimo_pcen import pcen_link_curves, write_pcen_link
from sem_sionna.train.scsc import (chain_symbols, proxy_targets, train_mimo_jscc, train_pcen,
                                   train_proxy, train_proxynet, train_scsc, train_segnet)

__all__ = ["CLAIMS", "Config", "ChainConfig", "SegNetConfig", "PCENConfig", "ProxyConfig",
           "SCSCConfig", "JSCCConfig", "SweepConfig", "COLUMNS", "load_data",
           "build_models", "train_models", "run"]

NAME = "scsc_mimo"
#: The chain's codec: real BPG files (libbpg 0.9.8 format, x265 veryslow, 4:2:0).
CODEC = "bpg"
#: Where the SNR curves of S3 are compared (2x2 Rayleigh, perfect CSI, Q=41).
_MAIN = {"channel": "rayleigh", "csi": "perfect", "q": 41}
#: Where the ablations are compared: the paper's Fig. 16 setting, Q=37 (``q_ablation``).
_ABLATION = {**_MAIN, "q": 37}

CLAIMS = (
    Claim("table2_bd_vs_digital", "S3 Table II",
          "SCSC needs less bandwidth than the digital chain for the same mIoU (BD-CBR < 0) "
          "and gains PSNR at the same CBR (BD-PSNR > 0), 10 dB",
          AllOf(Threshold("bd_cbr_pct", "<", 0.0, where={"scheme": "scsc"}, table="bd_rates"),
                Threshold("bd_psnr_db", ">", 0.0, where={"scheme": "scsc"},
                          table="bd_rates"))),
    Claim("fig6_scsc_above_digital", "S3 Fig. 6",
          "SCSC achieves a higher mIoU than the digital chain (BPG + LDPC + QPSK + SVD) at "
          "every SNR",
          GreaterAtEveryPoint("scsc", "digital", "miou", where=_MAIN)),
    Claim("fig8_vs_learned_baselines", "S3 Fig. 8",
          "SCSC is above ProxyNet and ADJSCC in mIoU and below DeepJSCC-MIMO (except at high "
          "CBR); here at the main CBR, each scheme at its own point, unpaired CIs",
          AllOf(Threshold("miou_diff", ">", 0.0, where={"versus": "proxynet"}, table="fig8"),
                Threshold("miou_diff", ">", 0.0, where={"versus": "adjscc"}, table="fig8"),
                Threshold("miou_diff", "<", 0.0, where={"versus": "deepjscc_mimo"},
                          table="fig8"))),
    Claim("fig12a_ppen_helps_other_codecs", "S3 Fig. 12(a)",
          "SCSC's PPEN and PCEN, trained with BPG and not fine-tuned, also raise the mIoU "
          "of JPEG and JPEG2000 chains (SCSC (JPEG) vs JPEG, SCSC (JPEG2000) vs JPEG2000)",
          AllOf(Greater("scsc_jpeg", "jpeg", "miou", where={"channel": "rayleigh"}),
                Greater("scsc_jpeg2000", "jpeg2000", "miou", where={"channel": "rayleigh"}))),
    Claim("fig16_ablations_below_scsc", "S3 Fig. 16",
          "Each ablation (w/o PPEN, w/o PCEN, w/o QA) has a lower mIoU than full SCSC",
          AllOf(*(Greater("scsc", name, "miou", where=_ABLATION)
                  for name in ("scsc_wo_ppen", "scsc_wo_pcen", "scsc_wo_qa")))),
)


def load_data(config: Config, seed: int, record) -> SceneData:
    """Train/test scenes, the fallback image and the block length of every ``Q``.

    A ``Q``'s block carries ``budget_quantile`` of the HEVC sizes of ``n_budget``
    training images; its CBR is its channel uses per stream over the source reals.
    """
    chain, size = config.chain, config.size
    with record.stage("data"):
        x_tr, m_tr, _ = data.scenes(config.n_train, size=size, seed=seed, split="train")
        x_te, m_te, _ = data.scenes(config.n_test, size=size, seed=seed, split="test")
        x_val, m_val, _ = data.scenes(config.n_val, size=size, split="train",
                                  seed=utils.derive_seed(seed, "validation") % (1 << 31))
        fallback = data.mean_image(x_tr)
        bpg = codecs.get(CODEC)
        blocks = {}
        for q in chain.qualities:
            sizes = [len(bpg.encode(x, q)) for x in x_tr[:chain.n_budget]]
            budget = int(math.ceil(np.quantile(sizes, chain.budget_quantile)))
            k = channel_uses_for_payload(budget, chain.num_bits_per_symbol, chain.coderate, 2)
            blocks[q] = {"budget_bytes": budget, "num_channel_uses": k,
                         "cbr": k / float(3 * size * size)}
        record.set("blocks", {str(q): v for q, v in blocks.items()})
        # JSCC latent count of about the same CBR: c / 48 per 2 streams, even
        latent = {q: max(2, 2 * int(round(blocks[q]["cbr"] * 48.0))) for q in chain.qualities}
        record.set("jscc_latent_channels", {str(q): c for q, c in latent.items()})
    utils.logger.info("blocks: %s", {q: (b["budget_bytes"], b["num_channel_uses"],
                                         round(b["cbr"], 4)) for q, b in blocks.items()})
    return SceneData(x_tr, m_tr, x_te, m_te, fallback, len(data.SCENE_CLASSES) + 1, blocks,
                     latent, x_val, m_val)


def build_models(config: Config, scenes: SceneData, seed: int) -> Models:
    """SegNet, PCEN, the proxy, PPEN (with and without QA), the two SCSC chains sharing
    their links, and the MIMO JSCC baselines; all built for ``size x size`` images."""
    chain, q_range = config.chain, config.chain.q_range
    segnet = SegNet(scenes.num_classes, config.segnet.widths, config.segnet.blocks,
                    name="segnet")
    pcen = PCEN(2, 2, num_layers=config.pcen.num_layers, name="pcen")
    proxy = ProxyNetwork(config.proxy.filters, config.proxy.num_latent, config.snr_range,
                         q_range, seed=seed, name="proxy")
    s = config.scsc
    ppen = PPEN(s.ppen_filters, s.ppen_stages, s.ppen_dac, use_qa=True, q_range=q_range,
                name="ppen")
    ppen_noqa = PPEN(s.ppen_filters, s.ppen_stages, s.ppen_dac, use_qa=False, q_range=q_range,
                     name="ppen_noqa")
    train_channel = mimo_channel_config("rayleigh", "perfect", 0.0)
    chain_args = dict(
        num_channel_uses=[scenes.blocks[q]["num_channel_uses"] for q in chain.qualities],
        qualities=list(chain.qualities), codec=CODEC,
        num_bits_per_symbol=chain.num_bits_per_symbol, coderate=chain.coderate,
        channel=train_channel, fallback=scenes.fallback, seed=seed)
    model = SCSC(ppen, proxy, segnet, pcen, **chain_args, name="scsc")
    model_noqa = SCSC(ppen_noqa, proxy, segnet, pcen, **chain_args, name="scsc_noqa")
    model_noqa.share_links(model)
    shape = (None, config.size, config.size, 3)
    model.build(shape)
    model_noqa.build(shape)
    jscc = {name: MIMOJSCC(MIMOChannel(2, 2, "rayleigh", seed=seed),
                           max(scenes.latent_choices), config.jscc.filters,
                           csi_aware=(name == "deepjscc_mimo"), snr_range=config.snr_range,
                           name=name)
            for name in JSCC_SCHEMES}
    for net in jscc.values():
        net.build(shape)
    proxynet = ProxyNetMIMO(
        ProxyNetwork(config.proxy.filters, scenes.latent[chain.q_main], config.snr_range,
                     q_range, seed=seed, name="proxynet_proxy"),
        pcen, MIMOChannel(2, 2, "rayleigh", seed=seed), name="proxynet")
    proxynet.build(shape)
    return Models(segnet, pcen, proxy, ppen, ppen_noqa, model, model_noqa, jscc,
                  train_channel, proxynet)


def _stage_keys(config: Config, scenes: SceneData, seed: int) -> dict[str, dict]:
    """Weight-store key of every stage: its settings and those of the stages it uses."""
    common = {"size": config.size, "n_train": config.n_train, "seed": seed,
              "batch_size": config.batch_size, "snr_range": config.snr_range}
    segnet = {**common, "segnet": dataclasses.asdict(config.segnet)}
    pcen = {"seed": seed, "snr_range": config.snr_range, "combiner": "learned",
            "pcen": dataclasses.asdict(config.pcen), "q_main": config.chain.q_main}
    chain = {**dataclasses.asdict(config.chain), "blocks": {
        str(q): b["num_channel_uses"] for q, b in scenes.blocks.items()}}
    proxy = {**common, "pcen": pcen, "chain": chain, "proxy": dataclasses.asdict(config.proxy)}
    scsc = {"proxy": proxy, "segnet": segnet, "n_val": config.n_val, "pcen": pcen, "scsc": {
        k: v for k, v in dataclasses.asdict(config.scsc).items() if k != "noqa_epochs"}}
    keys = {"segnet": segnet, "pcen": pcen, "proxy": proxy, "scsc": scsc,
            "scsc_noqa": {"scsc": scsc, "noqa_epochs": config.scsc.noqa_epochs,
                          "q_ablation": config.chain.q_ablation}}
    for name in JSCC_SCHEMES:
        keys[name] = {**common, "scheme": name, "latent_choices": scenes.latent_choices,
                      "jscc": dataclasses.asdict(config.jscc)}
    keys["proxynet"] = {"scsc": scsc, "proxy": dataclasses.asdict(config.proxy),
                        "num_latent": scenes.latent[config.chain.q_main]}
    return keys


def _fit_segnet(work, *, config: Config, scenes: SceneData, models: Models, seed: int):
    return train_segnet(models.segnet, scenes.x_train, scenes.m_train, config.segnet.epochs,
                        batch_size=config.batch_size, lr=config.segnet.lr, ckpt_dir=work,
                        seed=utils.derive_seed(seed, "segnet"))


def _chain_streams(config: Config, scenes: SceneData, models: Models) -> np.ndarray:
    """The QPSK streams of the transport blocks of training images at ``q_main``."""
    link = models.scsc.link(config.chain.q_main)
    return chain_symbols(link, scenes.x_train[:config.pcen.symbol_images])


def _fit_pcen(work, *, config: Config, scenes: SceneData, models: Models, seed: int):
    channel = MIMOChannel.from_config({**models.train_channel, "seed": seed})
    return train_pcen(models.pcen, channel, config.pcen.steps,
                      symbols=_chain_streams(config, scenes, models),
                      snr_range=config.snr_range, lr=config.pcen.lr,
                      seed=utils.derive_seed(seed, "pcen"))


def _fit_proxy(work, *, config: Config, scenes: SceneData, models: Models, seed: int):
    targets = proxy_targets(models.scsc, scenes.x_train, config.proxy.draws,
                            snr_range=config.snr_range, batch_size=2 * config.batch_size,
                            seed=utils.derive_seed(seed, "proxy_targets"))
    hist = train_proxy(models.proxy, targets, config.proxy.epochs,
                       batch_size=config.batch_size, lr=config.proxy.lr,
                       decoded_only=config.proxy.decoded_only, ckpt_dir=work,
                       seed=utils.derive_seed(seed, "proxy"))
    return {**hist, "chain_decoded": targets["decoded"]}


def _fit_scsc(work, *, config: Config, scenes: SceneData, models: Models, seed: int,
              use_qa: bool = True):
    """SCSC over every ``Q`` (PPEN and PEN), or PPEN without QA at ``q_ablation`` only."""
    s = config.scsc
    return train_scsc(
        models.scsc if use_qa else models.scsc_noqa, scenes.x_train,
        s.epochs if use_qa else s.noqa_epochs, batch_size=config.batch_size,
        snr_range=config.snr_range,
        qualities=config.chain.qualities if use_qa else (config.chain.q_ablation,),
        loss_weights=s.loss_weights, lr=s.lr, train_pcen=use_qa, seg_target=s.seg_target,
        masks=scenes.m_train if s.seg_target == "mask" else None,
        pcen_symbols=_chain_streams(config, scenes, models), pre_scale=s.pre_scale,
        val_images=scenes.x_val, patience=s.patience,
        proxy_refresh=s.proxy_refresh if use_qa else 0, ckpt_dir=work,
        seed=utils.derive_seed(seed, "scsc" if use_qa else "scsc_noqa"))


def _fit_jscc(work, *, config: Config, scenes: SceneData, models: Models, seed: int,
              name: str):
    return train_mimo_jscc(models.jscc[name], scenes.x_train, config.jscc.epochs,
                           batch_size=config.jscc.batch_size, snr_range=config.snr_range,
                           latent_choices=scenes.latent_choices, lr=config.jscc.lr,
                           ckpt_dir=work, seed=utils.derive_seed(seed, name))


def _fit_proxynet(work, *, config: Config, scenes: SceneData, models: Models, seed: int):
    """ProxyNet on PPEN's outputs at ``q_main`` (PPEN trained and frozen)."""
    q = float(config.chain.q_main)
    inputs = utils.map_batches(lambda im: models.ppen(im, q), scenes.x_train,
                               batch_size=config.batch_size)
    return train_proxynet(models.proxynet, inputs, scenes.x_train,
                          config.proxy.proxynet_epochs, q=q, batch_size=config.batch_size,
                          snr_range=config.snr_range,
                          lr=config.proxy.lr, ckpt_dir=work,
                          seed=utils.derive_seed(seed, "proxynet"))


def _stages(models: Models) -> list[tuple[str, dict, Callable]]:
    """``(name, stored layers, fit)`` of the training stages, in training order."""
    stages = [("segnet", {"segnet": models.segnet}, _fit_segnet),
              ("pcen", {"pcen": models.pcen}, _fit_pcen),
              ("proxy", {"proxy": models.proxy}, _fit_proxy),
              # the proxy is refit on PPEN's outputs during stage 4 (proxy_refresh)
              ("scsc", {"ppen": models.ppen, "pcen": models.pcen, "proxy": models.proxy},
               _fit_scsc),
              ("scsc_noqa", {"ppen_noqa": models.ppen_noqa},
               functools.partial(_fit_scsc, use_qa=False))]
    stages += [(name, {name: net}, functools.partial(_fit_jscc, name=name))
               for name, net in models.jscc.items()]
    stages.append(("proxynet", {"proxynet": models.proxynet.proxy}, _fit_proxynet))
    return stages


def train_models(config: Config, scenes: SceneData, models: Models, store: WeightStore,
                 seed: int, record) -> None:
    """Stages 1-6 in order, each loaded from ``store`` when trained before."""
    keys = _stage_keys(config, scenes, seed)
    summaries = {}
    for name, parts, fit in _stages(models):
        train_fn = functools.partial(fit, config=config, scenes=scenes, models=models,
                                     seed=seed)
        with record.stage(f"train_{name}"):
            loaded, summary = store.load_or_train(name, keys[name], parts, train_fn)
        summaries[name] = {"loaded": loaded, **(summary or {})}
    record.set("training", summaries)


def _pcen_link(config: Config, scenes: SceneData, models: Models, seed: int) -> list[dict]:
    q = config.chain.q_main
    return pcen_link_curves(models.pcen, models.train_channel,
                            scenes.blocks[q]["num_channel_uses"], config.sweep.snr_db,
                            n_blocks=config.pcen.link_blocks,
                            num_bits_per_symbol=config.chain.num_bits_per_symbol,
                            coderate=config.chain.coderate,
                            seed=utils.derive_seed(seed, "pcen_link"))


def run(config: Config, args: argparse.Namespace, script: str | None = None) -> None:
    """Train every model (or load it), run the sweep and write the outputs of S3.

    Parameters
    ----------
    config : Config -- a profile of ``scenarios/scsc_mimo.py``.
    args : argparse.Namespace -- from :func:`sem_sionna.sweep.parse_args` (``out``,
        ``seed``, ``resume``, ``retrain``, ``shard``, ``devices``, ``argv``).
    script : str or None -- the scenario file, relaunched per device with ``--devices``.
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a scsc_mimo.Config, got {type(config).__name__}")
    out, seed = Path(args.out), int(args.seed)
    utils.set_global_seed(seed)
    with RunRecord(out, getattr(args, "name", NAME), args, config) as record:
        store = WeightStore(out / "ckpt", retrain=getattr(args, "retrain", False))
        scenes = load_data(config, seed, record)
        models = build_models(config, scenes, seed)
        train_models(config, scenes, models, store, seed, record)
        evaluator = SchemeEvaluator(config, scenes, models, seed)
        record.set("segnet_clean_test_miou", evaluator.miou(scenes.x_test))
        with record.stage("pcen_link"):
            write_pcen_link(_pcen_link(config, scenes, models, seed), out)
        record.set("pcen_parameters", {
            "gamma": [float(v) for v in models.pcen.pen.gamma.numpy()],
            "alpha": [float(v) for v in models.pcen.pen.alpha.numpy()],
            "beta": models.pcen.ccen.beta})
        record.write()
        rows = run_sweep(evaluator, args, record, script)
        with record.stage("report"):
            if args.shard is None:
                c_main = scenes.latent[config.chain.q_main]
                record.set("pair_selection", evaluator.selections)
                bd_rows = write_report(rows, out, config, c_main, record)
                plot_examples(evaluator, out, c_main)
                fig8 = versus_table(
                    rows, "scsc", ("proxynet", "adjscc", "deepjscc_mimo"),
                    lambda r: (r["channel"] == "rayleigh" and r["csi"] == "perfect"
                               and float(r["snr_db"]) in config.sweep.snr_db
                               and (r["q"] == config.chain.q_main or r["num_latent"] == c_main)))
                write_claims(out, CLAIMS, rows={"metrics": rows, "bd_rates": bd_rows,
                                                "fig8": fig8},
                             title="S3 SCSC over 2x2 MIMO: claims")
