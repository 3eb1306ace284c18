"""Build and train the learned schemes of the split-vs-LDPC study (S1, S0, DeepJSCC).

One function per scheme; each builds its ``nets`` layers, trains them through
:mod:`sem_sionna.train.split` / :class:`~sem_sionna.train.Trainer` and returns the link
of :mod:`sem_sionna.links.split`. Weights go through a
:class:`~sem_sionna.train.WeightStore`, keyed by the configuration, so a rerun reuses
them and a killed training resumes from its last epoch.

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
from sem_sionna.links.analog import SISOChannel
from sem_sionna.links.split import DeepJSCC, LearnedInterfaceJSCC, SplitJSCC
from sem_sionna.nets.swin import SwinSourceDemapper, SwinSourceMapper
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.train.loop import Trainer
from sem_sionna.train.split import train_channel_stage, train_source_stage
from sem_sionna.train.store import WeightStore

__all__ = ["num_symbols", "train_split_jscc", "train_learned_interface", "train_deepjscc"]


def num_symbols(image_shape, cbr: float) -> int:
    """Complex channel uses ``K = cbr * H * W * C`` (SPEC: CBR = K / source reals)."""
    return int(round(cbr * int(np.prod(image_shape))))


def _source_pair(cfg, image_shape, seed, backbone="conv"):
    """Source mapper/demapper: S1's conv backbone, or S0's Swin-style one (``"swin"``)."""
    if backbone == "swin":
        kw = dict(embed_dim=cfg["swin_embed_dim"], depth=cfg["swin_depth"],
                  window=cfg["swin_window"], num_heads=cfg["swin_heads"])
        f = SwinSourceMapper(cfg["num_bits"], **kw)
        g = SwinSourceDemapper(cfg["num_bits"], image_size=image_shape[:2], **kw)
    elif backbone == "conv":
        f = nets.SourceMapper(cfg["num_bits"], filters=cfg["filters"], head="conv")
        g = nets.SourceDemapper(cfg["num_bits"], image_size=image_shape[:2],
                                filters=cfg["filters"], head="conv")
    else:
        raise ValueError(f"`s0_source` must be 'conv' or 'swin', got {backbone!r}")
    x0 = tf.zeros([1, *image_shape])
    g(tf.round(f(x0)))
    return f, g


def _stage1_config(cfg, kind, image_shape, seed):
    keys = ("num_bits", "num_levels", "filters", "stage1_epochs", "stage1_steps", "lr",
            "batch_size", "vimco_samples", "reg_weight", "mu_init", "n_train")
    if kind == "learned" and cfg.get("s0_source", "conv") != "conv":
        keys += ("s0_source", "swin_embed_dim", "swin_depth", "swin_window", "swin_heads")
    if kind == "multilevel" and "vimco_batch_size" in cfg:   # S1's VIMCO stages only
        keys += ("vimco_batch_size",)
    return {"kind": kind, "image_shape": list(image_shape), "seed": seed,
            **{k: cfg.get(k) for k in keys}}


def _stage_kwargs(cfg, stage, seed, log, estimator="ste", epochs=None):
    """Trainer arguments of ``stage`` (``cfg[stage + "_epochs"]`` unless ``epochs``);
    VIMCO stages take ``vimco_batch_size`` when given.

    A VIMCO step runs the source demapper on ``J x batch`` samples: at S1's J = 100 and
    a 128-filter demapper, batch 128 needs about 28 GiB (``bench/paper_profile.py``), so
    the paper profile trains those stages with a smaller batch (S1 gives no batch size).
    """
    batch = cfg["batch_size"]
    if estimator == "vimco":
        batch = cfg.get("vimco_batch_size") or batch
    return dict(epochs=cfg[f"{stage}_epochs"] if epochs is None else epochs,
                steps_per_epoch=cfg.get(f"{stage}_steps"), lr=cfg["lr"], batch_size=batch,
                seed=seed, log=log)


def train_split_jscc(cfg: dict, train_images, cbrs, store: WeightStore, seed: int = 0,
                     log=None) -> dict[float, SplitJSCC]:
    """S1: source code over ``MultiLevelBSC`` (VIMCO), then a channel code per CBR over AWGN.

    Returns ``{cbr: SplitJSCC}`` sharing one source mapper/demapper.
    """
    image_shape = train_images.shape[1:]
    f, g = _source_pair(cfg, image_shape, seed)
    interface = nets.MultiLevelBSC(cfg["num_levels"], num_bits=cfg["num_bits"], seed=seed)
    store.load_or_train(
        "s1_source", _stage1_config(cfg, "multilevel", image_shape, seed),
        {"source_mapper": f, "source_demapper": g},
        lambda work: train_source_stage(f, g, interface, train_images, estimator="vimco",
                                        num_samples=cfg["vimco_samples"], ckpt_dir=work,
                                        **_stage_kwargs(cfg, "stage1", seed, log, "vimco")))
    links = {}
    for cbr in cbrs:
        k = num_symbols(image_shape, cbr)
        h = nets.ChannelMapper(cfg["num_bits"], k, units=cfg["units"])
        q = nets.ChannelDemapper(k, cfg["num_bits"], units=cfg["units"])
        q(h(tf.zeros([1, cfg["num_bits"]])))
        config = {**_stage1_config(cfg, "multilevel", image_shape, seed), "cbr": cbr,
                  **{key: cfg.get(key) for key in ("units", "stage2_epochs", "stage2_steps",
                                                    "train_snr_db", "stage2_estimator")}}
        store.load_or_train(
            f"s1_channel_cbr{k}", config, {"channel_mapper": h, "channel_demapper": q},
            lambda work: train_channel_stage(h, q, g, train_images, cfg["train_snr_db"],
                                             source_mapper=f, estimator=cfg["stage2_estimator"],
                                             num_samples=cfg["vimco_samples"], ckpt_dir=work,
                                             **_stage_kwargs(cfg, "stage2", seed, log,
                                                             cfg["stage2_estimator"])))
        links[cbr] = SplitJSCC(f, g, h, q, seed=seed)
    return links


def train_learned_interface(cfg: dict, train_images, cbrs, store: WeightStore, seed: int = 0,
                            log=None) -> dict[float, LearnedInterfaceJSCC]:
    """S0: source code over ``LearnedBSCInterface`` (STE), then importance-aware channel
    mapper/demapper per CBR over AWGN at SNRs drawn from ``s0_snr_range_db``.

    The source mapper/demapper are S0's Swin-style transformer when
    ``cfg["s0_source"] == "swin"`` (:mod:`sem_sionna.nets.swin`, the paper profile) or the
    convolutional variant of S1 (``"conv"``, quick/smoke); the channel mapper/demapper are
    S0's IAN with SNR modulation, interface attention (``1 - 2 eps``) and an SE block.
    """
    image_shape = train_images.shape[1:]
    f, g = _source_pair(cfg, image_shape, seed, cfg.get("s0_source", "conv"))
    interface = nets.LearnedBSCInterface(cfg["num_bits"], mu_init=cfg["mu_init"],
                                         reg_weight=cfg["reg_weight"], seed=seed)
    interface(tf.zeros([1, cfg["num_bits"]]))
    store.load_or_train(
        "s0_source", _stage1_config(cfg, "learned", image_shape, seed),
        {"source_mapper": f, "source_demapper": g, "interface": interface},
        lambda work: train_source_stage(f, g, interface, train_images, estimator="ste",
                                        ckpt_dir=work,
                                        **_stage_kwargs(cfg, "stage1", seed, log)))
    links = {}
    for cbr in cbrs:
        k = num_symbols(image_shape, cbr)
        kw = dict(num_tokens=cfg["s0_tokens"], embed_dim=cfg["s0_embed_dim"],
                  num_transformer_blocks=cfg["s0_transformer_blocks"])
        h = nets.ImportanceChannelMapper(cfg["num_bits"], k, **kw)
        q = nets.ImportanceChannelDemapper(k, cfg["num_bits"], **kw)
        q(h(tf.zeros([1, cfg["num_bits"]]), interface.eps, tf.zeros([1])), interface.eps,
          tf.zeros([1]))
        config = {**_stage1_config(cfg, "learned", image_shape, seed), "cbr": cbr, **kw,
                  **{key: cfg.get(key) for key in ("s0_stage2_epochs", "stage2_steps",
                                                    "s0_snr_range_db")}}
        store.load_or_train(
            f"s0_channel_cbr{k}", config, {"channel_mapper": h, "channel_demapper": q},
            lambda work: train_channel_stage(h, q, g, train_images,
                                             tuple(cfg["s0_snr_range_db"]), source_mapper=f,
                                             interface=interface, estimator="ste",
                                             ckpt_dir=work,
                                             **_stage_kwargs(cfg, "stage2", seed, log,
                                                             epochs=cfg["s0_stage2_epochs"])))
        links[cbr] = LearnedInterfaceJSCC(f, g, interface, h, q, seed=seed)
    return links


def train_deepjscc(cfg: dict, train_images, cbrs, store: WeightStore, seed: int = 0,
                   log=None) -> dict[float, DeepJSCC]:
    """Analog DeepJSCC per CBR (same backbone as S1's source mapper), MSE over AWGN at
    ``deepjscc_snr_db``."""
    image_shape = train_images.shape[1:]
    links = {}
    for cbr in cbrs:
        k = num_symbols(image_shape, cbr)
        enc = nets.DeepJSCCEncoder(k, filters=cfg["filters"], head="dense")
        dec = nets.DeepJSCCDecoder(k, image_size=image_shape[:2], filters=cfg["filters"],
                                   head="dense")
        dec(enc(tf.zeros([1, *image_shape])))
        channel = SISOChannel("awgn", seed=seed)
        no = float(snrdb2no(cfg["deepjscc_snr_db"]))

        def loss_fn(images, enc=enc, dec=dec, channel=channel):
            z_hat, _ = channel(enc(images), no)
            mse = tf.reduce_mean(tf.square(images - dec(z_hat)))
            return mse, {"mse": mse}

        def train(work, enc=enc, dec=dec, loss_fn=loss_fn):
            ds = (tf.data.Dataset.from_tensor_slices(train_images)
                  .shuffle(len(train_images), seed=seed)
                  .batch(cfg["batch_size"], drop_remainder=True))
            trainer = Trainer(f"deepjscc K={k}", loss_fn,
                              enc.trainable_variables + dec.trainable_variables, lr=cfg["lr"],
                              checkpoint={"encoder": enc, "decoder": dec}, ckpt_dir=work, log=log)
            return trainer.fit(ds, cfg["deepjscc_epochs"],
                               steps_per_epoch=cfg.get("deepjscc_steps"))

        config = {"kind": "deepjscc", "cbr": cbr, "image_shape": list(image_shape), "seed": seed,
                  **{key: cfg.get(key) for key in ("filters", "deepjscc_epochs", "deepjscc_steps",
                                                    "deepjscc_snr_db", "lr", "batch_size",
                                                    "n_train")}}
        store.load_or_train(f"deepjscc_cbr{k}", config, {"encoder": enc, "decoder": dec}, train)
        links[cbr] = DeepJSCC(enc, dec, seed=seed)
    return links


def describe(links: dict[Any, Any]) -> dict:
    """Parameter counts per link, for run.json."""
    return {str(k): int(sum(np.prod(v.shape) for v in link.trainable_variables))
            for k, link in links.items()}
