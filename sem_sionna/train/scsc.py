"""Training stages of SCSC (S3, Han et al., Alg. 1-2, Sec. IV).

Stages, in the order of the experiment (:mod:`sem_sionna.experiments.scsc_mimo`):

1. :func:`train_segnet` -- the downstream task network on clean images and masks
   (cross-entropy); frozen afterwards (Sec. IV-A-2).
2. :func:`train_pcen` -- PEN's unfolded parameters on ``L_pcen`` (Eq. (10), Alg. 1) with
   random QPSK streams over the training channel, SNR uniform in [2, 12] dB.
3. :func:`proxy_targets` + :func:`train_proxy` -- the proxy network on
   ``L_pro = MSE(x_hat_proxy, x_hat_chain)`` (Eq. (18)) against the real chain's outputs
   at random ``Q`` and SNR (by default over the decoded blocks only, see
   :func:`train_proxy`).
4. :func:`train_scsc` -- PPEN (and PEN) end to end with
   ``L = 0.1 L_pcen + 0.5 L_seg + 0.1 L_pre`` (Eq. (19)): the chain's output forward,
   the proxy's gradient backward (Alg. 2); AdamW with the polynomial learning-rate decay
   of Sec. IV-A-4; proxy and SegNet frozen.
5. :func:`train_mimo_jscc` -- the DeepJSCC-MIMO and ADJSCC baselines (MSE).
6. :func:`train_proxynet` -- the ProxyNet baseline (MSE) over QPSK + SVD + PCEN, on
   PPEN's outputs (:class:`~sem_sionna.links.proxynet.ProxyNetMIMO`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.data import as_dataset
from sem_sionna.links.mimo_jscc import MIMOJSCC
from sem_sionna.links.proxynet import ProxyNetMIMO
from sem_sionna.links.scsc import SCSC
from sem_sionna.nets.proxy import ProxyNetwork
from sem_sionna.nets.segnet import SegNet
from sem_sionna.phy.mapping import QAMMapper
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDPrecoder
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.seeding import derive_seed
from sem_sionna.train.loop import Trainer
from sem_sionna.train.scsc_pcen import chain_symbols, pcen_objective, train_pcen

__all__ = ["LOSS_WEIGHTS", "SEG_TARGETS", "PRE_SCALE", "soft_iou_loss", "masked_mse",
           "scsc_loss", "train_segnet", "train_pcen", "chain_symbols", "proxy_targets",
           "train_proxy", "train_scsc", "train_mimo_jscc", "train_proxynet"]

#: ``(lambda_1, lambda_2, lambda_3)`` of Eq. (19): weights of L_pcen, L_seg, L_pre.
LOSS_WEIGHTS = (0.1, 0.5, 0.1)

#: Targets of ``L_seg`` in :func:`train_scsc`: SegNet's segmentation of the original
#: image (Eq. (20)) or the ground-truth mask.
SEG_TARGETS = ("teacher", "mask")

#: Scale of ``L_pre``: the MSE of 8-bit pixel values (0..255) over 100, i.e.
#: ``L_pre = MSE_[0,1] * 255**2 / 100`` (``L_pre = 1`` at PSNR 28.1 dB). On the [0, 1]
#: scale ``lambda_3 L_pre`` is ~1e-3 against ``lambda_2 L_seg`` ~0.3 and PPEN gives up
#: pixel fidelity for the task loss; on this scale the two terms are of one order.
PRE_SCALE = 255.0 ** 2 / 100.0


# ------------------------------------------------------------------------------ losses
def soft_iou_loss(logits: tf.Tensor, target: tf.Tensor, num_classes: int,
                  weights: tf.Tensor | None = None) -> tf.Tensor:
    """``L_seg`` (Eq. (20)): one minus the soft IoU averaged over the classes present.

    ``IoU_b = sum(p_b t_b) / sum(p_b + t_b - p_b t_b)`` with ``p`` the softmax of
    ``logits`` and ``t`` the one-hot target, sums over the batch and pixels, averaged
    over the classes that occur in ``target``.

    Input
    -----
    logits : [b, H, W, num_classes], tf.float32.
    target : [b, H, W], int -- class ids (the segmentation of the original image in
        Eq. (20), or the ground-truth mask).
    num_classes : int.
    weights : None or [b], tf.float32 -- per-example weights (0 drops an example, e.g. a
        failed block: its gradient is then zero).

    Output
    ------
    loss : [], tf.float32 -- in [0, 1].
    """
    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    p = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    t = tf.one_hot(tf.cast(target, tf.int32), num_classes, dtype=tf.float32)
    if weights is not None:
        w = tf.reshape(tf.cast(weights, tf.float32), [-1, 1, 1, 1])
        p, t = p * w, t * w
    inter = tf.reduce_sum(p * t, axis=[0, 1, 2])
    union = tf.reduce_sum(p + t - p * t, axis=[0, 1, 2])
    present = tf.cast(tf.reduce_sum(t, axis=[0, 1, 2]) > 0, tf.float32)
    iou = inter / (union + 1e-6)
    return 1.0 - tf.reduce_sum(iou * present) / tf.maximum(tf.reduce_sum(present), 1.0)


def masked_mse(a: tf.Tensor, b: tf.Tensor, weights: tf.Tensor | None = None) -> tf.Tensor:
    """Mean squared error per example, averaged with ``weights`` [b] (None: all 1)."""
    per_example = tf.reduce_mean(tf.square(a - b), axis=list(range(1, len(a.shape))))
    if weights is None:
        return tf.reduce_mean(per_example)
    w = tf.cast(weights, tf.float32)
    return tf.reduce_sum(w * per_example) / tf.maximum(tf.reduce_sum(w), 1.0)


def scsc_loss(l_pcen, l_seg, l_pre, weights: Sequence[float] = LOSS_WEIGHTS) -> tf.Tensor:
    """Total loss of Eq. (19): ``lambda_1 L_pcen + lambda_2 L_seg + lambda_3 L_pre``."""
    if len(weights) != 3:
        raise ValueError(f"`weights` must be (lambda_1, lambda_2, lambda_3), got {weights!r}")
    w1, w2, w3 = (float(w) for w in weights)
    return w1 * l_pcen + w2 * l_seg + w3 * l_pre


# ----------------------------------------------------------------------------- helpers
class _Parts(keras.Model):
    """Container so that built layers are checkpointed together."""

    def __init__(self, *layers):
        super().__init__()
        self.parts = list(layers)
        self.built = True


def _shuffled(*arrays, batch_size: int, seed: int) -> tf.data.Dataset:
    """Full batches of ``arrays`` (at most all examples), in a new order every epoch."""
    n = int(np.shape(arrays[0])[0])
    bs = min(check_positive_int(batch_size, "batch_size"), n)
    return as_dataset(*arrays, batch_size=bs, shuffle=True, seed=seed, drop_remainder=True)


def _history(hist: Mapping[str, list]) -> dict:
    return {k: [float(v) for v in vals] for k, vals in hist.items()}


def _uniform(shape, low, high, seed_gen):
    return keras.random.uniform(shape, float(low), float(high), seed=seed_gen)


# ----------------------------------------------------------------------------- stages
def train_segnet(segnet: SegNet, images, masks, epochs: int, *, batch_size: int = 16,
                 lr: float = 3e-3, ckpt_dir=None, seed: int = 0) -> dict:
    """Train the task network with pixel-wise cross-entropy (stage 1).

    Input
    -----
    images : [N, H, W, 3] float32 in [0, 1]; masks : [N, H, W] int class ids.

    Output
    ------
    history : dict -- per-epoch ``loss`` and ``pixel_acc``.
    """
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks, np.int32)
    if not segnet.built:
        segnet.build((None, *images.shape[1:]))

    def loss_fn(batch):
        x, m = batch
        logits = segnet(x, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            m, logits, from_logits=True))
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), m),
                                     tf.float32))
        return loss, {"pixel_acc": acc}

    trainer = Trainer("segnet", loss_fn, segnet.trainable_weights, lr=lr,
                      checkpoint={"segnet": _Parts(segnet)}, ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_shuffled(images, masks, batch_size=batch_size, seed=seed),
                                epochs))


def proxy_targets(model: SCSC, images, draws: int, *,
                  snr_range: Sequence[float] = (2.0, 12.0), batch_size: int = 16,
                  use_ppen: bool = False, seed: int = 0) -> dict:
    """Outputs of the real chain for the proxy's training set (stage 3).

    ``draws`` passes over ``images``; every batch gets one ``Q`` drawn from
    ``model.qualities`` and every image an SNR uniform in ``snr_range`` and its own
    channel draw.

    Output
    ------
    dict of NumPy arrays -- ``x`` [M, H, W, 3] (chain input), ``snr_db`` [M], ``q`` [M],
    ``x_hat`` [M, H, W, 3] (chain output), ``decoded_mask`` [M] (the block was decoded),
    ``decoded`` (fraction of decoded blocks).
    """
    images = np.asarray(images, np.float32)
    rng = np.random.default_rng(seed)
    out = {"x": [], "snr_db": [], "q": [], "x_hat": [], "decoded_mask": []}
    for _ in range(check_positive_int(draws, "draws")):
        order = rng.permutation(len(images))
        for start in range(0, len(images), batch_size):
            idx = order[start:start + batch_size]
            q = float(rng.choice(model.qualities))
            snr = rng.uniform(*snr_range, size=len(idx)).astype(np.float32)
            x = images[idx]
            if use_ppen:
                x = model.preprocess(x, q).numpy()
            out["x_hat"].append(model.run_chain(x, snr, q))
            out["decoded_mask"].append(model.last_chain_info["decoded_mask"])
            out["x"].append(x)
            out["snr_db"].append(snr)
            out["q"].append(np.full(len(idx), q, np.float32))
    result = {k: np.concatenate(v) for k, v in out.items()}
    result["decoded"] = float(np.mean(result["decoded_mask"]))
    return result


def train_proxy(proxy: ProxyNetwork, targets: Mapping[str, np.ndarray], epochs: int, *,
                batch_size: int = 16, lr: float = 2e-3, decoded_only: bool = True,
                ckpt_dir=None, seed: int = 0) -> dict:
    """Train the proxy network on ``L_pro`` (Eq. (18)) against :func:`proxy_targets` (stage 3).

    With ``decoded_only`` (default) ``L_pro`` is averaged over the examples whose block
    was decoded (``targets["decoded_mask"]``): a failed block gives the constant fallback
    image, whose derivative with respect to the chain input is zero, and fitting it only
    blurs the proxy towards the mean image and its gradient towards zero. The proxy then
    mimics the codec at ``Q`` (with SNR-dependent latent noise), the part of the chain
    whose gradient PPEN needs. ``decoded_only=False`` is Eq. (18) over all examples.

    Output
    ------
    history : dict -- per-epoch ``loss`` (= ``L_pro``).
    """
    x = np.asarray(targets["x"], np.float32)
    if not proxy.built:
        proxy.build((None, *x.shape[1:]))
    mask = np.ones(len(x), np.float32)
    if decoded_only and "decoded_mask" in targets:
        mask = np.asarray(targets["decoded_mask"], np.float32)
    arrays = (x, np.asarray(targets["snr_db"], np.float32), np.asarray(targets["q"], np.float32),
              np.asarray(targets["x_hat"], np.float32), mask)

    def loss_fn(batch):
        xb, snr, q, target, w = batch
        per_example = tf.reduce_mean(tf.square(proxy(xb, snr, q) - target), axis=[1, 2, 3])
        return tf.reduce_sum(w * per_example) / tf.maximum(tf.reduce_sum(w), 1.0), {}

    trainer = Trainer("proxy", loss_fn, proxy.trainable_weights, lr=lr,
                      checkpoint={"proxy": _Parts(proxy)}, ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_shuffled(*arrays, batch_size=batch_size, seed=seed), epochs))


def train_scsc(model: SCSC, images, epochs: int, *, batch_size: int = 16,
               snr_range: Sequence[float] = (2.0, 12.0), qualities: Sequence[int] | None = None,
               loss_weights: Sequence[float] = LOSS_WEIGHTS, lr: float = 5e-4,
               train_pcen: bool = True, seg_target: str = "teacher", masks=None,
               pcen_symbols=None, pcen_window: int = 32, pre_scale: float = PRE_SCALE,
               val_images=None, patience: int | None = None, proxy_refresh: int = 0,
               proxy_lr: float = 1e-3, ckpt_dir=None, seed: int = 0) -> dict:
    """End-to-end SCSC training (Alg. 2, stage 4): PPEN (and PCEN) through the real chain.

    Per step: one ``Q`` drawn from ``qualities`` for the batch, SNRs uniform in
    ``snr_range`` per image; ``out = model(x_o, snr, Q)`` runs PPEN, the chain (forward)
    and the proxy (backward), SegNet on the chain output;
    ``L = lambda_1 L_pcen + lambda_2 L_seg + lambda_3 L_pre`` with
    ``L_seg = soft_iou_loss(logits, target)`` (target: SegNet's segmentation of the
    original image, Eq. (20); or the ground-truth ``masks`` with ``seg_target="mask"``),
    ``L_pre = pre_scale * MSE(x_o, x_hat)`` (:data:`PRE_SCALE`) and ``L_pcen`` of PCEN on
    windows of ``pcen_symbols`` (the chain's own streams, ``[N, ns, S]``; None: uniform
    QPSK) over the model's channel. ``L_seg`` and ``L_pre`` are averaged over the blocks
    the chain decoded: a failed block returns the fallback image, whose loss says nothing
    about PPEN and whose proxy gradient would train PPEN on noise (its gradient is zero).
    AdamW with ``beta_n = beta_0 (1 - n/K)^0.9`` (Sec. IV-A-4). Trainable: PPEN, and
    PCEN (PEN and the channel-conditioned CEN) with ``train_pcen``; SegNet is frozen.

    ``proxy_refresh > 0``: after every epoch the proxy takes one pass over
    ``proxy_refresh`` training images pre-processed by the current PPEN against the real
    chain (decoded blocks only), so that it follows PPEN's output distribution.
    ``val_images`` with ``patience``: stop when the validation loss (same objective)
    has not improved for ``patience`` epochs.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``l_seg``, ``l_pre``, ``l_pcen``, ``decoded``
    (and ``val_mse`` = validation loss, ``proxy_loss``).
    """
    if seg_target not in SEG_TARGETS:
        raise ValueError(f"`seg_target` must be one of {list(SEG_TARGETS)}, got {seg_target!r}")
    if seg_target == "mask" and masks is None:
        raise ValueError("`masks` are required with seg_target='mask'")
    images = np.asarray(images, np.float32)
    qualities = list(model.qualities if qualities is None else qualities)
    for q in qualities:
        model.num_channel_uses_for(q)
    if not model.built:
        model.build((None, *images.shape[1:]))
    seed_gen = keras.random.SeedGenerator(seed)
    channel = MIMOChannel.from_config(model.channel)
    precoder = SVDPrecoder(model.pcen.num_tx_ant, model.power_allocation)
    ns = model.pcen.num_tx_ant
    qpsk = np.asarray(QAMMapper(2).points)  # QPSK, unit energy
    pool = tf.constant(qpsk[np.random.default_rng(seed).integers(0, 4, (64, ns, pcen_window))]
                       if pcen_symbols is None else np.asarray(pcen_symbols, np.complex64))
    q_table = tf.constant(qualities, tf.float32)
    num_classes = model.segnet.num_classes
    steps = max(1, len(images) // min(batch_size, len(images))) * check_positive_int(
        epochs, "epochs")
    schedule = keras.optimizers.schedules.PolynomialDecay(lr, steps, 0.0, power=0.9)
    optimizer = keras.optimizers.AdamW(learning_rate=schedule)

    def decoded_mask(x_hat):
        # the chain ran for x_hat (data dependency): its per-block CRC result
        return tf.numpy_function(
            lambda _: model.last_chain_info["decoded_mask"].astype(np.float32), [x_hat],
            tf.float32, stateful=True)

    def objective(x_o, masks_b):
        b = tf.shape(x_o)[0]
        q = tf.gather(q_table, keras.random.randint((), 0, len(qualities), seed=seed_gen))
        snr = _uniform((b,), *snr_range, seed_gen)
        out = model(x_o, snr, tf.fill([b], q))
        ok = tf.ensure_shape(decoded_mask(out["x_hat"]), [None])
        if seg_target == "teacher":
            target = tf.argmax(model.segnet(x_o, training=False), -1, output_type=tf.int32)
        else:
            target = masks_b
        l_seg = soft_iou_loss(out["logits"], target, num_classes, weights=ok)
        l_pre = pre_scale * masked_mse(out["x_hat"], x_o, ok)
        i = keras.random.randint((b,), 0, int(pool.shape[0]), seed=seed_gen)
        j = keras.random.randint((), 0, int(pool.shape[2]) - pcen_window + 1, seed=seed_gen)
        s = tf.gather(pool, i)[:, :, j:j + pcen_window]
        h, h_hat = channel.generate(b)
        l_pcen = pcen_objective(model.pcen, precoder, s, h, h_hat, snrdb2no(snr),
                                model.combiner)
        loss = scsc_loss(l_pcen, l_seg, l_pre, loss_weights)
        return loss, {"l_seg": l_seg, "l_pre": l_pre, "l_pcen": l_pcen,
                      "decoded": tf.reduce_mean(ok)}

    def loss_fn(batch):
        return objective(*((batch, None) if masks is None else batch))

    def eval_fn(batch):
        return {"mse": objective(batch, None)[0]}

    refresh_rng = np.random.default_rng(derive_seed(seed, "scsc", "proxy_refresh"))

    def refresh():
        if proxy_refresh <= 0:
            return {}
        idx = refresh_rng.choice(len(images), min(proxy_refresh, len(images)), replace=False)
        targets = proxy_targets(model, images[idx], 1, snr_range=snr_range,
                                batch_size=batch_size, use_ppen=True,
                                seed=int(refresh_rng.integers(1 << 30)))
        hist = train_proxy(model.proxy, targets, 1, batch_size=batch_size, lr=proxy_lr,
                           seed=int(refresh_rng.integers(1 << 30)))
        return {"proxy_loss": hist["loss"][-1]}

    variables = list(model.ppen.trainable_weights)
    if train_pcen:
        variables += model.pcen.pen.trainable_weights
        variables += (model.pcen.ccen if model.combiner == "learned"
                      else model.pcen.cen).trainable_weights
    arrays = (images,) if masks is None else (images, np.asarray(masks, np.int32))
    val = None
    if val_images is not None and patience is not None and seg_target == "teacher":
        val = as_dataset(np.asarray(val_images, np.float32),
                         batch_size=min(batch_size, len(val_images)))
    trainer = Trainer("scsc", loss_fn, variables, optimizer=optimizer,
                      eval_fn=eval_fn if val is not None else None,
                      checkpoint={"ppen": _Parts(model.ppen), "pcen": _Parts(model.pcen)},
                      ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_shuffled(*arrays, batch_size=batch_size, seed=seed), epochs,
                                val_dataset=val, early_stopping_patience=patience if val
                                is not None else None, extra=refresh))


def train_mimo_jscc(model: MIMOJSCC, images, epochs: int, *, batch_size: int = 16,
                    snr_range: Sequence[float] = (2.0, 12.0),
                    latent_choices: Sequence[int] | None = None, lr: float = 2e-3,
                    ckpt_dir=None, seed: int = 0) -> dict:
    """Train a DeepJSCC-MIMO / ADJSCC baseline on MSE (stage 5).

    Every batch sends ``c`` latent channels drawn from ``latent_choices`` (one model for
    all CBRs), every image an SNR uniform in ``snr_range``.

    Output
    ------
    history : dict -- per-epoch ``loss`` and ``mse``.
    """
    images = np.asarray(images, np.float32)
    if not model.built:
        model.build((None, *images.shape[1:]))
    choices = tf.constant(list(latent_choices or [model.max_latent_channels]), tf.int32)
    seed_gen = keras.random.SeedGenerator(seed)

    def loss_fn(x):
        b = tf.shape(x)[0]
        c = tf.gather(choices, keras.random.randint((), 0, int(choices.shape[0]), seed=seed_gen))
        x_hat = model(x, _uniform((b,), *snr_range, seed_gen), num_latent=c)
        mse = tf.reduce_mean(tf.square(x_hat - x))
        return mse, {"mse": mse}

    trainer = Trainer(model.name, loss_fn, model.trainable_weights, lr=lr,
                      checkpoint={"model": _Parts(model)}, ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_shuffled(images, batch_size=batch_size, seed=seed), epochs))


def train_proxynet(link: ProxyNetMIMO, inputs, targets, epochs: int, *, q: float,
                   batch_size: int = 16, snr_range: Sequence[float] = (2.0, 12.0),
                   lr: float = 2e-3, ckpt_dir=None, seed: int = 0) -> dict:
    """Train the ProxyNet baseline on MSE over its MIMO channel (stage 6).

    ``inputs`` are PPEN's outputs at ``q`` (the proxy is conditioned on ``q``),
    ``targets`` the original images; every image an SNR uniform in ``snr_range``. Only
    the proxy's weights train: PCEN is the chain's, shared and frozen.

    Output
    ------
    history : dict -- per-epoch ``loss`` (= ``mse``).
    """
    inputs = np.asarray(inputs, np.float32)
    targets = np.asarray(targets, np.float32)
    if inputs.shape != targets.shape:
        raise ValueError(f"`inputs` {inputs.shape} and `targets` {targets.shape} must have "
                         f"the same shape")
    if not link.built:
        link.build((None, *inputs.shape[1:]))
    seed_gen = keras.random.SeedGenerator(seed)

    def loss_fn(batch):
        x, target = batch
        b = tf.shape(x)[0]
        mse = tf.reduce_mean(tf.square(link(x, _uniform((b,), *snr_range, seed_gen), q)
                                       - target))
        return mse, {"mse": mse}

    trainer = Trainer(link.name, loss_fn, link.trainable_proxy_weights, lr=lr,
                      checkpoint={"proxy": _Parts(link.proxy)}, ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_shuffled(inputs, targets, batch_size=batch_size, seed=seed),
                                epochs))
