"""Training schedule of SD-JSCC (Sun et al.) and its deep-JSCC baselines.

Algorithm 1 of the paper, with its two-stage schedule (Sec. IV-B):

1. pre-train the task network (:func:`sem_sionna.train.train_classifier`) and freeze it;
2. compute the semantic weights with the GSW module
   (:func:`sem_sionna.nets.gradient_importance`, :func:`sem_sionna.nets.semantic_weights`);
3. stage 1: train the binary JSCC codec with the pixel loss ``||x - x'||^2`` (deep JSCC);
4. stage 2: fine-tune copies of the stage-1 codec, one per loss:
   SD-JSCC (pixel + GSW-weighted feature loss), SD-JSCC without GSW (equal weights)
   and deep JSCC (pixel loss only, the same number of extra steps, so that every
   scheme has seen the same training).

The channel during training (``JSCCTraining.channel``):

- ``"awgn"`` (the paper, Algorithm 1 step 7 and eqs. 14-15): ``x' = D(q + N)``, Gaussian
  noise on the quantised code. The bits are paired as the real and imaginary parts of
  complex channel uses (``E|q_1 + j q_2|^2 = 1`` for equiprobable bits), so at
  ``SNR = 1 / no`` every bit gets real noise of variance ``no / 2``
  (:func:`noisy_bits`);
- ``"bsc"``: the quantised bits cross a binary symmetric channel whose flip
  probability is drawn per image uniformly in ``[0, pb_max]``, e.g. the bit error rate
  of the coded digital link at the training SNR
  (:func:`sem_sionna.links.sdjscc.coded_ber`): what the decoder sees after LDPC.

The gradient crosses the quantiser straight through.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Mapping

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.data import as_dataset
from sem_sionna.nets.classifier import SceneClassifier
from sem_sionna.train.classifier import train_classifier
from sem_sionna.nets.sdjscc import (BinaryQuantizer, SDJSCCDecoder, SDJSCCEncoder,
                                    semantic_loss)
from sem_sionna.phy import BSC
from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.seeding import derive_seed, set_global_seed
from sem_sionna.train.loop import Trainer
from sem_sionna.train.store import WeightStore

__all__ = ["ClassifierTraining", "JSCCTraining", "TRAIN_CHANNELS", "jscc_codec",
           "noisy_bits", "train_jscc", "train_sdjscc_schemes", "pretrain_classifier"]

TRAIN_CHANNELS = ("awgn", "bsc")
"""Training channels of the JSCC codec: ``q + N`` (the paper) or a BSC."""


def _check_lr(value, name: str) -> None:
    if not float(value) > 0:
        raise ValueError(f"`{name}` must be > 0, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ClassifierTraining:
    """Task network and its training (step 1 of Algorithm 1).

    Fields
    ------
    num_classes : int -- scene classes ``C`` (>= 2).
    width : int -- channels of the first :class:`SceneClassifier` stage (doubled per stage).
    depth : int -- classifier stages.
    epochs : int -- training epochs.
    batch_size : int -- images per step.
    lr : float -- Adam learning rate.
    head : "gap" or "fc" -- :class:`SceneClassifier` head ("fc": fully connected layers
        on the flattened maps, whose gradients depend on the image).
    fc_units : int -- hidden units of the "fc" head.
    """

    num_classes: int
    width: int
    depth: int
    epochs: int
    batch_size: int
    lr: float
    head: str = "gap"
    fc_units: int = 128

    def __post_init__(self):
        check_positive_int(self.num_classes, "num_classes", minimum=2)
        for name in ("width", "depth", "epochs", "batch_size", "fc_units"):
            check_positive_int(getattr(self, name), name)
        _check_lr(self.lr, "lr")
        if self.head not in ("gap", "fc"):
            raise ValueError(f"`head` must be 'gap' or 'fc', got {self.head!r}")


@dataclasses.dataclass(frozen=True)
class JSCCTraining:
    """Binary JSCC codec and its two-stage training (Sec. IV-B).

    Fields
    ------
    filters : int -- convolution channels of :class:`SDJSCCEncoder` / :class:`SDJSCCDecoder`.
    num_res_blocks : int -- residual blocks per resolution.
    pretrain_epochs : int -- stage 1 epochs (pixel loss).
    finetune_epochs : int -- stage 2 epochs per scheme.
    batch_size : int -- images per step.
    lr : float -- stage 1 Adam learning rate.
    finetune_lr : float -- stage 2 Adam learning rate.
    pixel_weight : float -- weight of the pixel MSE next to the semantic loss in stage 2
        (>= 0; the pixel-only schemes use 1).
    channel : "awgn" or "bsc" -- training channel (module docstring): ``q + N`` at the
        training SNR (the paper) or a BSC up to ``pb_max``.
    """

    filters: int
    num_res_blocks: int
    pretrain_epochs: int
    finetune_epochs: int
    batch_size: int
    lr: float
    finetune_lr: float
    pixel_weight: float = 1.0
    channel: str = "bsc"

    def __post_init__(self):
        if self.channel not in TRAIN_CHANNELS:
            raise ValueError(f"`channel` must be one of {TRAIN_CHANNELS}, got {self.channel!r}")
        for name in ("filters", "num_res_blocks", "pretrain_epochs", "finetune_epochs",
                     "batch_size"):
            check_positive_int(getattr(self, name), name)
        _check_lr(self.lr, "lr")
        _check_lr(self.finetune_lr, "finetune_lr")
        if not float(self.pixel_weight) >= 0:
            raise ValueError(f"`pixel_weight` must be >= 0, got {self.pixel_weight!r}")


def jscc_codec(image_size: int, latent_channels: int, filters: int = 64,
               num_res_blocks: int = 1, num_downsamples: int = 2) -> keras.Model:
    """Built ``keras.Sequential([SDJSCCEncoder, BinaryQuantizer, SDJSCCDecoder])``.

    The model (noiseless: ``decoder(Q(encoder(x)))``) holds both halves, so that one
    ``save_weights``/``load_weights`` (e.g. by :class:`~sem_sionna.train.WeightStore`)
    covers the codec; ``codec.layers`` is ``[encoder, quantizer, decoder]``.
    """
    size = check_positive_int(image_size, "image_size")
    encoder = SDJSCCEncoder(latent_channels, filters, num_res_blocks, num_downsamples,
                            name="encoder")
    decoder = SDJSCCDecoder(filters, num_res_blocks, num_downsamples, name="decoder")
    codec = keras.Sequential([keras.Input((size, size, 3)), encoder,
                              BinaryQuantizer(name="quantizer"), decoder], name="jscc_codec")
    return codec


def noisy_bits(q, no, seed) -> tf.Tensor:
    """``q + N``: the paper's training channel on the quantised code (eqs. 14-15).

    Input
    -----
    q : [batch, ...], tf.float32 -- bits in {0, 1}.
    no : scalar or [batch, 1, ...], tf.float32 -- complex noise variance per channel use
        (linear, ``SNR = 1 / no``); every bit, one real dimension of a channel use, gets
        real Gaussian noise of variance ``no / 2``.
    seed : keras.random.SeedGenerator or int.

    Output
    ------
    y : [batch, ...], tf.float32 -- ``q + N``, differentiable in ``q``.
    """
    q = tf.convert_to_tensor(q, tf.float32)
    std = tf.sqrt(tf.convert_to_tensor(no, tf.float32) / 2.0)
    return q + std * keras.random.normal(tf.shape(q), seed=seed)


def train_jscc(encoder: SDJSCCEncoder, decoder: SDJSCCDecoder, images, epochs: int,
               batch_size: int = 32, lr: float = 1e-3, pb_max: float = 0.0,
               classifier=None, weights=None, pixel_weight: float = 1.0,
               name: str = "jscc", ckpt_dir=None, seed: int = 0,
               steps_per_epoch: int | None = None,
               log: Callable[[str], None] | None = None, channel: str = "bsc",
               no: float | None = None) -> dict[str, list]:
    """Train a binary JSCC codec over ``q + N`` or a BSC; pixel loss, plus the semantic
    loss with ``weights``.

    ``loss = pixel_weight * mean((x - x')^2) + semantic_loss(F(x), F(x'), weights)``
    with ``x' = decoder(Q(encoder(x)) + N)`` (``channel="awgn"``, :func:`noisy_bits` at
    ``no``) or ``x' = decoder(BSC(Q(encoder(x)), pb))``, ``pb ~ U(0, pb_max)`` per image
    (``"bsc"``), and ``F`` the frozen ``classifier.features`` (inference mode).

    Parameters
    ----------
    encoder, decoder : SDJSCCEncoder, SDJSCCDecoder -- trained in place.
    images : [N, H, W, 3], float32 -- training images in [0, 1].
    epochs : int.
    batch_size : int, default 32.
    lr : float, default 1e-3 -- Adam learning rate.
    pb_max : float, default 0 -- largest bit flip probability, in [0, 0.5].
    classifier : SceneClassifier or None -- task network (needed with ``weights``);
        never updated.
    weights : list or None -- one entry per stage of ``classifier.features``: the
        ``[K_i]`` semantic weights of that stage (:func:`sem_sionna.nets.semantic_weights`)
        or None to leave the stage out. None: pixel loss only.
    pixel_weight : float, default 1.0 -- weight of the pixel MSE (> 0 without ``weights``).
    name : str -- stage name in logs and checkpoints.
    ckpt_dir : path or None -- per-epoch checkpoints (resume after a kill).
    seed : int -- shuffling and channel seed.
    steps_per_epoch : int or None -- cap on batches per epoch.
    channel : "awgn" or "bsc", default "bsc" -- training channel.
    no : float or None -- complex noise variance of ``"awgn"`` (``10**(-snr_db/10)``).

    Output
    ------
    history : dict -- per-epoch ``loss``, ``mse``, ``psnr`` (dB, of the noisy training
        reconstructions) and, with ``weights``, ``semantic``.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"`images` must have shape [N, H, W, 3], got {images.shape}")
    if not 0.0 <= float(pb_max) <= 0.5:
        raise ValueError(f"`pb_max` must lie in [0, 0.5], got {pb_max!r}")
    if channel not in TRAIN_CHANNELS:
        raise ValueError(f"`channel` must be one of {TRAIN_CHANNELS}, got {channel!r}")
    if channel == "awgn" and (no is None or not float(no) >= 0):
        raise ValueError(f"`no` must be a noise variance >= 0 with channel='awgn', got {no!r}")
    pixel_weight = float(pixel_weight)
    if pixel_weight < 0 or (weights is None and pixel_weight <= 0):
        raise ValueError(f"`pixel_weight` must be >= 0 (> 0 without `weights`), "
                         f"got {pixel_weight!r}")
    if weights is not None:
        if classifier is None:
            raise ValueError("`weights` needs the `classifier` whose features they weight")
        depth = len(classifier.features(tf.zeros((1, *images.shape[1:])), training=False))
        if len(weights) != depth:
            raise ValueError(f"`weights` must have one entry (or None) per classifier "
                             f"stage ({depth}), got {len(weights)}")
        stages = [i for i, w in enumerate(weights) if w is not None]
        if not stages:
            raise ValueError("`weights` has no stage with weights")
        stage_w = [tf.constant(np.asarray(weights[i], np.float32)) for i in stages]
    batch_size = check_positive_int(batch_size, "batch_size")
    quantizer = BinaryQuantizer()
    bsc = BSC(seed=derive_seed(seed, name, "bsc"))
    gen = keras.random.SeedGenerator(derive_seed(seed, name, "pb"))
    pb_max_t = tf.constant(float(pb_max), tf.float32)
    no_t = tf.constant(float(no or 0.0), tf.float32)
    for model, shape in ((encoder, images.shape), (classifier, images.shape)):
        if model is not None and not model.built:
            model.build((None, *shape[1:]))
    if not decoder.built:
        decoder.build(encoder.compute_output_shape((None, *images.shape[1:])))

    def loss_fn(x):
        q = quantizer(encoder(x))
        if channel == "awgn":
            x_hat = decoder(noisy_bits(q, no_t, gen))
        else:
            pb = keras.random.uniform((tf.shape(x)[0], 1, 1, 1), seed=gen) * pb_max_t
            x_hat = decoder(bsc(q, pb))
        mse = tf.reduce_mean(tf.square(x - x_hat))
        loss = pixel_weight * mse
        metrics = {"mse": mse}
        if weights is not None:
            maps = classifier.features(x, training=False)
            maps_hat = classifier.features(x_hat, training=False)
            sem = semantic_loss([tf.stop_gradient(maps[i]) for i in stages],
                                [maps_hat[i] for i in stages], stage_w)
            loss += sem
            metrics["semantic"] = sem
        return loss, metrics

    variables = encoder.trainable_variables + decoder.trainable_variables
    trainer = Trainer(name, loss_fn, variables, lr=lr,
                      checkpoint={"encoder": encoder, "decoder": decoder}, ckpt_dir=ckpt_dir,
                      log=log)
    data = as_dataset(images, batch_size=batch_size, shuffle=True, seed=seed,
                      drop_remainder=images.shape[0] >= batch_size)
    return trainer.fit(data, epochs, steps_per_epoch=steps_per_epoch)


def _channel_key(training: JSCCTraining, no) -> dict:
    # the BSC key stays as before so that stored BSC-trained codecs keep loading
    return {} if training.channel == "bsc" else {"channel": "awgn",
                                                 "no": round(float(no), 8)}


def train_sdjscc_schemes(store: WeightStore, images, classifier, losses: Mapping[str, object],
                         training: JSCCTraining, latent_channels: int, pb_max: float,
                         seed: int = 0, no: float | None = None
                         ) -> tuple[dict[str, keras.Model], dict[str, dict]]:
    """Two-stage training of every JSCC scheme, through a :class:`WeightStore`.

    Stage 1 (``"jscc_pretrain"``): pixel loss, ``training.pretrain_epochs`` epochs.
    Stage 2: for each ``name, weights`` in ``losses``, a copy of the stage-1 codec is
    fine-tuned ``training.finetune_epochs`` epochs with :func:`train_jscc` (``weights``
    None: pixel loss only; otherwise the semantic weights per classifier stage).

    Parameters
    ----------
    store : WeightStore -- trained codecs are loaded when their configuration (``training``,
        the image size, ``latent_channels``, ``pb_max``, ``seed`` and the scheme's weights)
        matches.
    images : [N, H, W, 3], float32 -- training images.
    classifier : SceneClassifier -- frozen task network.
    losses : dict ``{scheme: weights or None}``.
    training : JSCCTraining.
    latent_channels : int -- channels ``c`` of the binary latent ``[H/4, W/4, c]``.
    pb_max : float -- largest BSC flip probability during training, in [0, 0.5]
        (``training.channel == "bsc"``).
    seed : int -- run seed.
    no : float or None -- noise variance of ``q + N`` (``training.channel == "awgn"``).

    Output
    ------
    codecs : dict ``{scheme: keras.Model}`` -- :func:`jscc_codec` models.
    summaries : dict ``{stage: history summary}``.
    """
    images = np.asarray(images, np.float32)
    latent_channels = check_positive_int(latent_channels, "latent_channels")
    image_size = int(images.shape[1])
    shape = {"image_size": image_size, "latent_channels": latent_channels,
             "filters": training.filters, "num_res_blocks": training.num_res_blocks}

    def new_codec():
        # weight initialisation draws from the global generators: seed them so that the
        # initial weights do not depend on what ran before
        set_global_seed(derive_seed(seed, "init", "jscc"))
        return jscc_codec(image_size, latent_channels, training.filters,
                          training.num_res_blocks)

    def fit(codec, name, epochs, lr, weights, pixel_weight):
        def train_fn(work: Path):
            set_global_seed(derive_seed(seed, "train", name))
            enc, _, dec = codec.layers
            hist = train_jscc(enc, dec, images, epochs, training.batch_size, lr, pb_max,
                              classifier=classifier if weights is not None else None,
                              weights=weights, pixel_weight=pixel_weight, name=name,
                              ckpt_dir=work, seed=derive_seed(seed, name),
                              channel=training.channel, no=no)
            return {k: [float(v) for v in vals] for k, vals in hist.items()}
        return train_fn

    summaries = {}
    pre = new_codec()
    pre_cfg = {**shape, "pretrain_epochs": training.pretrain_epochs,
               "batch_size": training.batch_size, "lr": training.lr, "pb_max": pb_max,
               "seed": seed, **_channel_key(training, no)}
    _, summaries["jscc_pretrain"] = store.load_or_train(
        "jscc_pretrain", pre_cfg, {"codec": pre},
        fit(pre, "jscc_pretrain", training.pretrain_epochs, training.lr, None, 1.0))
    out = {}
    for name, weights in losses.items():
        codec = new_codec()
        codec.set_weights(pre.get_weights())
        stage_cfg = {**dataclasses.asdict(training), **shape, "pb_max": pb_max,
                     "stage": name, "seed": seed, **_channel_key(training, no),
                     "weights": None if weights is None else
                     [None if w is None else np.asarray(w).round(6).tolist() for w in weights]}
        _, summaries[name] = store.load_or_train(
            name, stage_cfg, {"codec": codec},
            fit(codec, name, training.finetune_epochs, training.finetune_lr, weights,
                training.pixel_weight if weights is not None else 1.0))
        out[name] = codec
    return out, summaries


def pretrain_classifier(store: WeightStore, images, labels, config: ClassifierTraining,
                        seed: int = 0, val_data=None) -> tuple[SceneClassifier, dict]:
    """Step 1 of Algorithm 1: train (or load) the task network that SD-JSCC then freezes.

    Parameters
    ----------
    store : WeightStore.
    images : [N, H, W, 3] float32, labels : [N] int -- training set.
    config : ClassifierTraining -- hashed with ``seed``, the image shape and ``N`` by the
        store.
    seed : int.
    val_data : (images, labels) or None -- logged per epoch as ``val_accuracy``.

    Output
    ------
    classifier : SceneClassifier -- built, trained, to be used in inference mode.
    summary : dict -- the training history.
    """
    images = np.asarray(images, np.float32)
    set_global_seed(derive_seed(seed, "init", "classifier"))  # initial weights
    classifier = SceneClassifier(config.num_classes, config.width, config.depth,
                                 head=config.head, fc_units=config.fc_units,
                                 name="classifier")
    classifier.build((None, *images.shape[1:]))

    def train_fn(work: Path):
        set_global_seed(derive_seed(seed, "train", "classifier"))
        hist = train_classifier(classifier, images, labels, config.epochs, config.batch_size,
                                config.lr, ckpt_dir=work, seed=derive_seed(seed, "classifier"),
                                val_data=val_data)
        return {k: [float(v) for v in vals] for k, vals in hist.items()}

    _, summary = store.load_or_train(
        "classifier", {**dataclasses.asdict(config), "seed": seed,
                       "image_shape": list(images.shape[1:]), "n_train": int(images.shape[0])},
        {"classifier": classifier}, train_fn)
    return classifier, summary
