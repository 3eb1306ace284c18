"""Build and train the learned schemes of the split-vs-LDPC study (S1, S0, DeepJSCC).

One function per scheme; each builds its ``nets`` layers, trains them with the stages of
:mod:`sem_sionna.train.split` and returns the links of :mod:`sem_sionna.links.split`.
Weights go through a :class:`~sem_sionna.train.WeightStore`, keyed by the configuration
that produced them, so a rerun reuses them and a killed training resumes from its last
epoch.

S1 trains the source code once (over the multi-level BSC medium) and a channel
mapper/demapper per CBR (S1 Sec. IV: "there is no need to train two separate pairs of
source mapper and demapper"); S0 likewise over its learned interface. DeepJSCC is
trained per CBR at ``deepjscc_snr_db``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from sem_sionna import nets
from sem_sionna.experiments.split_vs_ldpc_config import Config
from sem_sionna.links.split import DeepJSCC, LearnedInterfaceJSCC, SplitJSCC
from sem_sionna.nets.swin import SwinSourceDemapper, SwinSourceMapper
from sem_sionna.train import (WeightStore, train_channel_stage, train_deepjscc_stage,
                              train_source_stage)

__all__ = ["num_symbols", "describe", "train_split_jscc", "train_learned_interface",
           "train_deepjscc"]


def num_symbols(image_shape, cbr: float) -> int:
    """Complex channel uses ``K = cbr * H * W * C`` (SPEC: CBR = K / source reals)."""
    return int(round(cbr * int(np.prod(image_shape))))


def describe(links: dict[Any, Any]) -> dict:
    """Parameter counts per link, for run.json."""
    return {str(k): int(sum(np.prod(v.shape) for v in link.trainable_variables))
            for k, link in links.items()}


def _source_pair(cfg: Config, image_shape, backbone: str = "conv"):
    """Source mapper/demapper: S1's conv backbone, or S0's Swin-style one (``"swin"``)."""
    if backbone == "swin":
        kw = dict(embed_dim=cfg.swin.embed_dim, depth=cfg.swin.depth, window=cfg.swin.window,
                  num_heads=cfg.swin.heads)
        f = SwinSourceMapper(cfg.num_bits, **kw)
        g = SwinSourceDemapper(cfg.num_bits, image_size=image_shape[:2], **kw)
    else:
        f = nets.SourceMapper(cfg.num_bits, filters=cfg.filters, head="conv")
        g = nets.SourceDemapper(cfg.num_bits, image_size=image_shape[:2], filters=cfg.filters,
                                head="conv")
    g(tf.round(f(tf.zeros([1, *image_shape]))))
    return f, g


def source_key(cfg: Config, kind: str, image_shape, seed: int) -> dict:
    """Weight-store key of a source stage (``kind`` "multilevel" = S1, "learned" = S0)."""
    key = {"kind": kind, "image_shape": list(image_shape), "seed": seed,
           "num_bits": cfg.num_bits, "num_levels": cfg.num_levels, "filters": cfg.filters,
           "stage1_epochs": cfg.stage1.epochs, "stage1_steps": cfg.stage1.steps, "lr": cfg.lr,
           "batch_size": cfg.batch_size, "vimco_samples": cfg.vimco_samples,
           "reg_weight": cfg.reg_weight, "mu_init": cfg.mu_init, "n_train": cfg.n_train}
    if kind == "learned" and cfg.s0_source != "conv":
        key.update(s0_source=cfg.s0_source, swin_embed_dim=cfg.swin.embed_dim,
                   swin_depth=cfg.swin.depth, swin_window=cfg.swin.window,
                   swin_heads=cfg.swin.heads)
    if kind == "multilevel":  # S1 only: its interface's eps ladder and VIMCO batch
        key.update(eps_max=cfg.eps_max, eps_min=cfg.eps_min)
        if cfg.vimco_batch_size is not None:
            key["vimco_batch_size"] = cfg.vimco_batch_size
    return key


def _stage_kwargs(cfg: Config, schedule, seed: int, log, estimator: str = "ste") -> dict:
    """Trainer arguments of a stage; VIMCO stages take ``vimco_batch_size`` when given.

    A VIMCO step runs the source demapper on ``J x batch`` samples: at S1's J = 100 and
    a 128-filter demapper, batch 128 needs about 28 GiB (``bench/paper_profile.py``), so
    the paper profile trains those stages with a smaller batch (S1 gives no batch size).
    """
    batch = cfg.batch_size
    if estimator == "vimco":
        batch = cfg.vimco_batch_size or batch
    return dict(epochs=schedule.epochs, steps_per_epoch=schedule.steps, lr=cfg.lr,
                batch_size=batch, seed=seed, log=log)


def train_split_jscc(cfg: Config, train_images, store: WeightStore, seed: int = 0,
                     log=None) -> dict[float, SplitJSCC]:
    """S1: source code over ``MultiLevelBSC`` (VIMCO), then a channel code per CBR over AWGN.

    Returns ``{cbr: SplitJSCC}`` sharing one source mapper/demapper.
    """
    image_shape = train_images.shape[1:]
    f, g = _source_pair(cfg, image_shape)
    interface = nets.MultiLevelBSC(cfg.num_levels, eps_max=cfg.eps_max, eps_min=cfg.eps_min,
                                   num_bits=cfg.num_bits, seed=seed)
    store.load_or_train(
        "s1_source", source_key(cfg, "multilevel", image_shape, seed),
        {"source_mapper": f, "source_demapper": g},
        lambda work: train_source_stage(f, g, interface, train_images, estimator="vimco",
                                        num_samples=cfg.vimco_samples, ckpt_dir=work,
                                        **_stage_kwargs(cfg, cfg.stage1, seed, log, "vimco")))
    links = {}
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        h = nets.ChannelMapper(cfg.num_bits, k, units=cfg.units)
        q = nets.ChannelDemapper(k, cfg.num_bits, units=cfg.units)
        q(h(tf.zeros([1, cfg.num_bits])))
        key = {**source_key(cfg, "multilevel", image_shape, seed), "cbr": cbr,
               "units": cfg.units, "stage2_epochs": cfg.stage2.epochs,
               "stage2_steps": cfg.stage2.steps, "train_snr_db": cfg.train_snr_db,
               "stage2_estimator": cfg.stage2_estimator}
        store.load_or_train(
            f"s1_channel_cbr{k}", key, {"channel_mapper": h, "channel_demapper": q},
            lambda work: train_channel_stage(
                h, q, g, train_images, cfg.train_snr_db, source_mapper=f,
                estimator=cfg.stage2_estimator, num_samples=cfg.vimco_samples, ckpt_dir=work,
                **_stage_kwargs(cfg, cfg.stage2, seed, log, cfg.stage2_estimator)))
        links[cbr] = SplitJSCC(f, g, h, q, seed=seed)
    return links


def train_learned_interface(cfg: Config, train_images, store: WeightStore, seed: int = 0,
                            log=None) -> dict[float, LearnedInterfaceJSCC]:
    """S0: source code over ``LearnedBSCInterface`` (STE), then importance-aware channel
    mapper/demapper per CBR over AWGN at SNRs drawn from ``s0_snr_range_db``.

    The source mapper/demapper are S0's Swin-style transformer when
    ``cfg.s0_source == "swin"`` (:mod:`sem_sionna.nets.swin`, the paper profile) or the
    convolutional variant of S1 (``"conv"``, quick/smoke); the channel mapper/demapper are
    S0's IAN with SNR modulation, interface attention (``1 - 2 eps``) and an SE block.
    """
    image_shape = train_images.shape[1:]
    f, g = _source_pair(cfg, image_shape, cfg.s0_source)
    interface = nets.LearnedBSCInterface(cfg.num_bits, mu_init=cfg.mu_init,
                                         reg_weight=cfg.reg_weight, seed=seed)
    interface(tf.zeros([1, cfg.num_bits]))
    store.load_or_train(
        "s0_source", source_key(cfg, "learned", image_shape, seed),
        {"source_mapper": f, "source_demapper": g, "interface": interface},
        lambda work: train_source_stage(f, g, interface, train_images, estimator="ste",
                                        ckpt_dir=work,
                                        **_stage_kwargs(cfg, cfg.stage1, seed, log)))
    links = {}
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        kw = dict(num_tokens=cfg.s0_tokens, embed_dim=cfg.s0_embed_dim,
                  num_transformer_blocks=cfg.s0_transformer_blocks)
        h = nets.ImportanceChannelMapper(cfg.num_bits, k, **kw)
        q = nets.ImportanceChannelDemapper(k, cfg.num_bits, **kw)
        q(h(tf.zeros([1, cfg.num_bits]), interface.eps, tf.zeros([1])), interface.eps,
          tf.zeros([1]))
        key = {**source_key(cfg, "learned", image_shape, seed), "cbr": cbr, **kw,
               "s0_stage2_epochs": cfg.s0_stage2.epochs, "stage2_steps": cfg.s0_stage2.steps,
               "s0_snr_range_db": cfg.s0_snr_range_db}
        store.load_or_train(
            f"s0_channel_cbr{k}", key, {"channel_mapper": h, "channel_demapper": q},
            lambda work: train_channel_stage(h, q, g, train_images, cfg.s0_snr_range_db,
                                             source_mapper=f, interface=interface,
                                             estimator="ste", ckpt_dir=work,
                                             **_stage_kwargs(cfg, cfg.s0_stage2, seed, log)))
        links[cbr] = LearnedInterfaceJSCC(f, g, interface, h, q, seed=seed)
    return links


def train_deepjscc(cfg: Config, train_images, store: WeightStore, seed: int = 0,
                   log=None) -> dict[float, DeepJSCC]:
    """Analog DeepJSCC per CBR (same backbone as S1's source mapper), MSE over AWGN at
    ``deepjscc_snr_db``."""
    image_shape = train_images.shape[1:]
    links = {}
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        enc = nets.DeepJSCCEncoder(k, filters=cfg.filters, head="dense")
        dec = nets.DeepJSCCDecoder(k, image_size=image_shape[:2], filters=cfg.filters,
                                   head="dense")
        dec(enc(tf.zeros([1, *image_shape])))
        key = {"kind": "deepjscc", "cbr": cbr, "image_shape": list(image_shape), "seed": seed,
               "filters": cfg.filters, "deepjscc_epochs": cfg.deepjscc.epochs,
               "deepjscc_steps": cfg.deepjscc.steps, "deepjscc_snr_db": cfg.deepjscc_snr_db,
               "lr": cfg.lr, "batch_size": cfg.batch_size, "n_train": cfg.n_train}
        store.load_or_train(
            f"deepjscc_cbr{k}", key, {"encoder": enc, "decoder": dec},
            lambda work, enc=enc, dec=dec, k=k: train_deepjscc_stage(
                enc, dec, train_images, cfg.deepjscc_snr_db, name=f"deepjscc K={k}",
                ckpt_dir=work, **_stage_kwargs(cfg, cfg.deepjscc, seed, log)))
        links[cbr] = DeepJSCC(enc, dec, seed=seed)
    return links
