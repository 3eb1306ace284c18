"""Build and train the learned schemes of the split-vs-LDPC study (S1, S0, DeepJSCC).

One function per scheme; each builds its ``nets`` layers, trains them with the stages of
:mod:`sem_sionna.train.split` and returns the links of :mod:`sem_sionna.links.split` and
the per-epoch training histories. Every stage runs the papers' schedule on the
validation images (learning rate x ``lr_factor`` after ``lr_patience`` epochs without
improvement, early stop after ``early_stop``; the epoch counts are caps).
Weights go through a :class:`~sem_sionna.train.WeightStore`, keyed by the configuration
that produced them, so a rerun reuses them and a killed training resumes from its last
epoch.

S1 trains the source code once (over the multi-level BSC medium) and a channel
mapper/demapper per CBR (S1 Sec. IV: "there is no need to train two separate pairs of
source mapper and demapper"), on source bits computed once from the frozen source
mapper, first with the straight-through estimator (``stage2_warmup``) then with VIMCO;
S0 likewise over its learned interface, with the reference code's loss
``255^2 MSE + L_reg``, plus its Fig. 7 ablations at the first CBR, each over AWGN and
(with ``s0_rayleigh_stage2``, as S0 trains its Rayleigh models) over Rayleigh fading.
DeepJSCC (S1's convolutional backbone and head) is trained per CBR at
``deepjscc_snr_db``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import tensorflow as tf

from sem_sionna import nets
from sem_sionna.experiments.split_vs_ldpc_config import Config
from sem_sionna.links.split import DeepJSCC, LearnedInterfaceJSCC, SplitJSCC
from sem_sionna.nets.swin import SwinSourceDemapper, SwinSourceMapper
from sem_sionna.train import (WeightStore, train_channel_stage, train_deepjscc_stage,
                              train_source_stage)

__all__ = ["num_symbols", "describe", "source_bits", "train_split_jscc", "train_s0_source",
           "train_learned_interface", "train_deepjscc", "ABLATION_SWITCHES"]

#: S0 Fig. 7 ablations: importance-mapper switches of each variant.
ABLATION_SWITCHES = {"wo_ia": dict(interface_attention=False, se_block=True),
                     "wo_ian": dict(interface_attention=False, se_block=False)}


def num_symbols(image_shape, cbr: float) -> int:
    """Complex channel uses ``K = cbr * H * W * C`` (SPEC: CBR = K / source reals)."""
    return int(round(cbr * int(np.prod(image_shape))))


def describe(links: dict[Any, Any]) -> dict:
    """Parameter counts per link, for run.json."""
    return {str(k): int(sum(np.prod(v.shape) for v in link.trainable_variables))
            for k, link in links.items()}


def _source_pair(cfg: Config, image_shape, num_bits: int, backbone: str = "conv"):
    """Source mapper/demapper: S1's conv backbone, or S0's Swin-style one (``"swin"``)."""
    if backbone == "swin":
        kw = dict(embed_dim=cfg.swin.embed_dim, depth=cfg.swin.depth, window=cfg.swin.window,
                  num_heads=cfg.swin.heads)
        f = SwinSourceMapper(num_bits, **kw)
        g = SwinSourceDemapper(num_bits, image_size=image_shape[:2], **kw)
    else:
        f = nets.SourceMapper(num_bits, filters=cfg.filters, head="conv")
        g = nets.SourceDemapper(num_bits, image_size=image_shape[:2], filters=cfg.filters,
                                head="conv")
    g(tf.round(f(tf.zeros([1, *image_shape]))))
    return f, g


def _schedule_key(cfg: Config) -> dict:
    return {"lr": cfg.lr, "batch_size": cfg.batch_size, "n_train": cfg.n_train,
            "n_val": cfg.n_val, "lr_patience": cfg.lr_patience, "lr_factor": cfg.lr_factor,
            "early_stop": cfg.early_stop, "restore_best": True}


def source_key(cfg: Config, kind: str, image_shape, seed: int) -> dict:
    """Weight-store key of a source stage (``kind`` "multilevel" = S1, "learned" = S0)."""
    key = {"kind": kind, "image_shape": list(image_shape), "seed": seed,
           "filters": cfg.filters, "stage1_epochs": cfg.stage1.epochs,
           "stage1_steps": cfg.stage1.steps, **_schedule_key(cfg)}
    if kind == "learned":  # S0: its interface and loss
        key.update(num_bits=cfg.s0_bits, reg_weight=cfg.reg_weight, mu_init=cfg.mu_init,
                   s0_mse_weight=cfg.s0_mse_weight, mu_lr_scale=cfg.mu_lr_scale)
        if cfg.s0_source != "conv":
            key.update(s0_source=cfg.s0_source, swin_embed_dim=cfg.swin.embed_dim,
                       swin_depth=cfg.swin.depth, swin_window=cfg.swin.window,
                       swin_heads=cfg.swin.heads)
    if kind == "multilevel":  # S1 only: its interface's eps ladder and VIMCO
        key.update(num_bits=cfg.num_bits, num_levels=cfg.num_levels, eps_max=cfg.eps_max,
                   eps_min=cfg.eps_min, vimco_samples=cfg.vimco_samples)
        if cfg.vimco_batch_size is not None:
            key["vimco_batch_size"] = cfg.vimco_batch_size
    return key


def _stage_kwargs(cfg: Config, schedule, seed: int, log, val, estimator: str = "ste",
                  lr: float | None = None) -> dict:
    """Trainer arguments of a stage; VIMCO stages take ``vimco_batch_size`` when given,
    and ``lr`` (None: ``cfg.lr``) replaces the config's learning rate.

    A VIMCO step runs the source demapper on ``J x batch`` samples: at S1's J = 100 and
    a 128-filter demapper, batch 128 needs about 28 GiB (``bench/paper_profile.py``), so
    the paper profile trains those stages with a smaller batch (S1 gives no batch size).
    """
    batch = cfg.batch_size
    if estimator == "vimco":
        batch = cfg.vimco_batch_size or batch
    return dict(epochs=schedule.epochs, steps_per_epoch=schedule.steps,
                lr=cfg.lr if lr is None else lr,
                batch_size=batch, seed=seed, log=log, val_dataset=val,
                lr_patience=cfg.lr_patience, lr_factor=cfg.lr_factor,
                early_stopping_patience=cfg.early_stop, restore_best=True)


def source_bits(mapper, images, batch_size: int = 256) -> np.ndarray:
    """``round(f(x))`` of every image, [n, M] float32 (the frozen source code's bits)."""
    return np.concatenate([tf.round(mapper(tf.convert_to_tensor(images[i:i + batch_size])))
                           .numpy() for i in range(0, len(images), batch_size)])


def train_split_jscc(cfg: Config, train_images, val_images, store: WeightStore, seed: int = 0,
                     log=None) -> tuple[dict[float, SplitJSCC], dict]:
    """S1: source code over ``MultiLevelBSC`` (VIMCO), then a channel code per CBR over AWGN.

    Returns ``({cbr: SplitJSCC}, histories)``; the links share one source mapper/demapper.
    """
    image_shape = train_images.shape[1:]
    f, g = _source_pair(cfg, image_shape, cfg.num_bits)
    interface = nets.MultiLevelBSC(cfg.num_levels, eps_max=cfg.eps_max, eps_min=cfg.eps_min,
                                   num_bits=cfg.num_bits, seed=seed)
    _, hist = store.load_or_train(
        "s1_source", source_key(cfg, "multilevel", image_shape, seed),
        {"source_mapper": f, "source_demapper": g},
        lambda work: train_source_stage(f, g, interface, train_images, estimator="vimco",
                                        num_samples=cfg.vimco_samples, ckpt_dir=work,
                                        **_stage_kwargs(cfg, cfg.stage1, seed, log, val_images,
                                                        "vimco")))
    histories = {"s1_source": hist}
    bits = (source_bits(f, train_images), train_images)
    val = (source_bits(f, val_images), val_images)
    links = {}
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        h = nets.ChannelMapper(cfg.num_bits, k, units=cfg.units)
        q = nets.ChannelDemapper(k, cfg.num_bits, units=cfg.units)
        q(h(tf.zeros([1, cfg.num_bits])))
        warm = cfg.stage2_warmup
        key = {**source_key(cfg, "multilevel", image_shape, seed), "cbr": cbr,
               "units": cfg.units, "stage2_epochs": cfg.stage2.epochs,
               "stage2_steps": cfg.stage2.steps, "train_snr_db": cfg.train_snr_db,
               "stage2_estimator": cfg.stage2_estimator,
               "stage2_warmup": None if warm is None else [warm.epochs, warm.steps],
               "vimco_lr": cfg.vimco_lr}

        def stage2(work, h=h, q=q):
            common = dict(source_mapper=f, num_samples=cfg.vimco_samples,
                          num_levels=cfg.num_levels)
            out = {}
            if warm is not None:
                out["warmup"] = train_channel_stage(
                    h, q, g, bits, cfg.train_snr_db, estimator="ste", ckpt_dir=work / "warm",
                    **common, **_stage_kwargs(cfg, warm, seed, log, val))
            lr = cfg.vimco_lr if cfg.stage2_estimator == "vimco" else None
            out["main"] = train_channel_stage(
                h, q, g, bits, cfg.train_snr_db, estimator=cfg.stage2_estimator,
                ckpt_dir=work / "main", **common,
                **_stage_kwargs(cfg, cfg.stage2, seed, log, val, cfg.stage2_estimator, lr))
            return out

        _, histories[f"s1_channel_cbr{k}"] = store.load_or_train(
            f"s1_channel_cbr{k}", key, {"channel_mapper": h, "channel_demapper": q}, stage2)
        links[cbr] = SplitJSCC(f, g, h, q, seed=seed)
    return links, histories


def train_s0_source(cfg: Config, train_images, val_images, store: WeightStore, seed: int = 0,
                    log=None, source_monitor: Callable[..., dict] | None = None
                    ) -> tuple[Any, Any, nets.LearnedBSCInterface, dict]:
    """S0's source stage alone: source mapper/demapper over ``LearnedBSCInterface``
    (STE, ``s0_mse_weight * MSE + L_reg``, schedule ``cfg.stage1``); ``source_monitor``
    as in :func:`train_learned_interface`. Returns ``(source_mapper, source_demapper,
    interface, history)``."""
    image_shape = train_images.shape[1:]
    m = cfg.s0_bits
    f, g = _source_pair(cfg, image_shape, m, cfg.s0_source)
    interface = nets.LearnedBSCInterface(m, mu_init=cfg.mu_init, reg_weight=cfg.reg_weight,
                                         mu_lr_scale=cfg.mu_lr_scale, seed=seed)
    interface(tf.zeros([1, m]))
    _, hist = store.load_or_train(
        "s0_source", source_key(cfg, "learned", image_shape, seed),
        {"source_mapper": f, "source_demapper": g, "interface": interface},
        lambda work: train_source_stage(f, g, interface, train_images, estimator="ste",
                                        mse_weight=cfg.s0_mse_weight, ckpt_dir=work,
                                        epoch_metrics=None if source_monitor is None else
                                        lambda: source_monitor(f, g, interface),
                                        **_stage_kwargs(cfg, cfg.stage1, seed, log,
                                                        val_images)))
    return f, g, interface, hist


def train_learned_interface(cfg: Config, train_images, val_images, store: WeightStore,
                            seed: int = 0, log=None,
                            source_monitor: Callable[..., dict] | None = None
                            ) -> tuple[dict, dict]:
    """S0: source code over ``LearnedBSCInterface`` (STE, ``s0_mse_weight * MSE + L_reg``),
    then importance-aware channel mapper/demapper per CBR over AWGN (and Rayleigh) at SNRs
    drawn from ``s0_snr_range_db``; the ablations of ``s0_ablations`` at the first CBR.

    The source mapper/demapper are S0's Swin-style transformer when
    ``cfg.s0_source == "swin"`` (:mod:`sem_sionna.nets.swin`, the paper profile) or the
    convolutional variant of S1 (``"conv"``, quick/smoke); the channel mapper/demapper are
    S0's IAN with SNR modulation, interface attention (``1 - 2 eps``) and an SE block.

    With ``cfg.s0_rayleigh_stage2`` every variant and CBR also gets a channel
    mapper/demapper trained over Rayleigh block fading (at ``s0_rayleigh_lr``), on the
    same source code and interface.

    ``source_monitor(source_mapper, source_demapper, interface) -> {name: float}``, when
    given, runs after every source epoch and its values join that stage's history (the
    run's per-epoch eps-vs-flip-cost margin); a source stage loaded from the store keeps
    the history it was trained with.

    Returns ``({channel: {variant: {cbr: LearnedInterfaceJSCC}}}, histories)``: channel
    ``"awgn"`` (and ``"rayleigh"`` with its stage), the training channel; variant
    ``"full"`` and the ablations' names.
    """
    image_shape = train_images.shape[1:]
    m = cfg.s0_bits
    f, g, interface, hist = train_s0_source(cfg, train_images, val_images, store, seed, log,
                                            source_monitor)
    histories = {"s0_source": hist}
    bits = (source_bits(f, train_images), train_images)
    val = (source_bits(f, val_images), val_images)
    variants = {"full": dict(interface_attention=True, se_block=True)}
    variants.update({name: ABLATION_SWITCHES[name] for name in cfg.s0_ablations})
    stages = {"awgn": (cfg.s0_stage2, cfg.lr)}
    if cfg.s0_rayleigh_stage2 is not None:
        stages["rayleigh"] = (cfg.s0_rayleigh_stage2, cfg.s0_rayleigh_lr or cfg.lr)
    links = {ch: {name: {} for name in variants} for ch in stages}
    for ch, (schedule, lr) in stages.items():
        for name, switches in variants.items():
            for cbr in (cfg.cbrs if name == "full" else cfg.cbrs[:1]):
                k = num_symbols(image_shape, cbr)
                kw = dict(num_tokens=cfg.s0_tokens, embed_dim=cfg.s0_embed_dim,
                          num_transformer_blocks=cfg.s0_transformer_blocks, **switches)
                h = nets.ImportanceChannelMapper(m, k, **kw)
                q = nets.ImportanceChannelDemapper(k, m, **kw)
                q(h(tf.zeros([1, m]), interface.eps, tf.zeros([1])), interface.eps,
                  tf.zeros([1]))
                key = {**source_key(cfg, "learned", image_shape, seed), "cbr": cbr, **kw,
                       "s0_stage2_epochs": schedule.epochs, "stage2_steps": schedule.steps,
                       "s0_snr_range_db": cfg.s0_snr_range_db}
                if ch != "awgn":
                    key.update(channel=ch, lr=lr)
                tag = ("" if name == "full" else f"_{name}") + ("" if ch == "awgn" else f"_{ch}")
                _, histories[f"s0_channel{tag}_cbr{k}"] = store.load_or_train(
                    f"s0_channel{tag}_cbr{k}", key,
                    {"channel_mapper": h, "channel_demapper": q},
                    lambda work, h=h, q=q, ch=ch, schedule=schedule, lr=lr: train_channel_stage(
                        h, q, g, bits, cfg.s0_snr_range_db, source_mapper=f,
                        interface=interface, estimator="ste", ckpt_dir=work, channel=ch,
                        **_stage_kwargs(cfg, schedule, seed, log, val, lr=lr)))
                links[ch][name][cbr] = LearnedInterfaceJSCC(f, g, interface, h, q, seed=seed)
    return links, histories


def train_deepjscc(cfg: Config, train_images, val_images, store: WeightStore, seed: int = 0,
                   log=None) -> tuple[dict[float, DeepJSCC], dict]:
    """Analog DeepJSCC per CBR with S1's source-mapper architecture (residual analysis
    transform and a conv head to ``2K`` reals), MSE over AWGN at ``deepjscc_snr_db``."""
    image_shape = train_images.shape[1:]
    links, histories = {}, {}
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        enc = nets.DeepJSCCEncoder(k, filters=cfg.filters, head="conv")
        dec = nets.DeepJSCCDecoder(k, image_size=image_shape[:2], filters=cfg.filters,
                                   head="conv")
        dec(enc(tf.zeros([1, *image_shape])))
        key = {"kind": "deepjscc", "cbr": cbr, "image_shape": list(image_shape), "seed": seed,
               "filters": cfg.filters, "head": "conv", "deepjscc_epochs": cfg.deepjscc.epochs,
               "deepjscc_steps": cfg.deepjscc.steps, "deepjscc_snr_db": cfg.deepjscc_snr_db,
               **_schedule_key(cfg)}
        _, histories[f"deepjscc_cbr{k}"] = store.load_or_train(
            f"deepjscc_cbr{k}", key, {"encoder": enc, "decoder": dec},
            lambda work, enc=enc, dec=dec, k=k: train_deepjscc_stage(
                enc, dec, train_images, cfg.deepjscc_snr_db, name=f"deepjscc K={k}",
                ckpt_dir=work, **_stage_kwargs(cfg, cfg.deepjscc, seed, log, val_images)))
        links[cbr] = DeepJSCC(enc, dec, seed=seed)
    return links, histories
