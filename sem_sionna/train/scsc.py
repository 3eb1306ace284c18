"""Training schedules and the experiment of SCSC (S3, Han et al., Alg. 1-2, Sec. IV).

Stages, in order (each stored by :class:`~sem_sionna.train.WeightStore`, keyed by its
configuration and those of the stages it depends on):

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

:func:`run_experiment` runs the stages, the sweep (metrics.csv), the figures and the
BD-rate table of ``scenarios/scsc_mimo.py``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna import codecs, data, metrics, plot, sweep, utils
from sem_sionna.links.mimo_jscc import MIMOJSCC, mimo_jscc_cbr
from sem_sionna.links.scsc import SCSC, channel_uses_for_payload, pcen_precode
from sem_sionna.nets.pcen import PCEN, pcen_loss
from sem_sionna.nets.ppen import PPEN, SCSC_Q_VALUES
from sem_sionna.nets.proxy import ProxyNetwork
from sem_sionna.nets.segnet import SegNet
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDPrecoder
from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.io import write_csv
from sem_sionna.train.loop import Trainer
from sem_sionna.train.store import WeightStore

__all__ = ["LOSS_WEIGHTS", "DEFAULT_CONFIG", "COLUMNS", "CHAIN_SCHEMES", "JSCC_SCHEMES",
           "MAIN_SCHEMES", "ABLATION_SCHEMES", "soft_iou_loss", "scsc_loss", "channel_config",
           "train_segnet", "train_pcen", "proxy_targets", "train_proxy", "train_scsc",
           "train_mimo_jscc", "bd_table", "run_experiment"]

#: ``(lambda_1, lambda_2, lambda_3)`` of Eq. (19): weights of L_pcen, L_seg, L_pre.
LOSS_WEIGHTS = (0.1, 0.5, 0.1)

#: Settings of the experiment (the quick profile); scenario profiles override entries.
DEFAULT_CONFIG: dict[str, Any] = dict(
    size=64, n_train=512, n_test=48, n_budget=64, budget_quantile=0.9,
    qualities=list(SCSC_Q_VALUES), q_main=41, q_gen=37, num_bits_per_symbol=2, coderate=0.5,
    snr_db=[2.0, 5.0, 8.0, 11.0], snr_cbr=[10.0], snr_channels=[2.0, 7.0, 12.0],
    snr_example=8.0, snr_range=[2.0, 12.0], channels=["rayleigh", "cdl-a"], csi_error_var=0.1,
    gen_codecs=["jpeg", "jpeg2000"], batch_size=16,
    seg_widths=[8, 16, 32], seg_blocks=[1, 2], seg_epochs=10, seg_lr=3e-3,
    pcen_layers=10, pcen_steps=100, pcen_lr=0.01,
    proxy_filters=32, proxy_latent=4, proxy_draws=1, proxy_epochs=8, proxy_lr=2e-3,
    proxy_decoded_only=True,
    ppen_filters=16, ppen_stages=2, ppen_dac=1, scsc_epochs=3, scsc_lr=5e-4,
    loss_weights=list(LOSS_WEIGHTS), seg_target="teacher", noqa_epochs=1,
    jscc_filters=32, jscc_epochs=16, jscc_lr=3e-3, jscc_batch_size=8, num_examples=4,
)

#: Columns of ``metrics.csv``.
COLUMNS = ["scheme", "channel", "csi", "snr_db", "cbr", "q", "num_latent", "miou", "psnr",
           "ms_ssim", "decoded", "payload_bytes", "n_images"]

_SEG_TARGETS = ("teacher", "mask")


# ------------------------------------------------------------------------------ losses
def soft_iou_loss(logits: tf.Tensor, target: tf.Tensor, num_classes: int) -> tf.Tensor:
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

    Output
    ------
    loss : [], tf.float32 -- in [0, 1].
    """
    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    p = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    t = tf.one_hot(tf.cast(target, tf.int32), num_classes, dtype=tf.float32)
    inter = tf.reduce_sum(p * t, axis=[0, 1, 2])
    union = tf.reduce_sum(p + t - p * t, axis=[0, 1, 2])
    present = tf.cast(tf.reduce_sum(t, axis=[0, 1, 2]) > 0, tf.float32)
    iou = inter / (union + 1e-6)
    return 1.0 - tf.reduce_sum(iou * present) / tf.maximum(tf.reduce_sum(present), 1.0)


def scsc_loss(l_pcen, l_seg, l_pre, weights: Sequence[float] = LOSS_WEIGHTS) -> tf.Tensor:
    """Total loss of Eq. (19): ``lambda_1 L_pcen + lambda_2 L_seg + lambda_3 L_pre``."""
    if len(weights) != 3:
        raise ValueError(f"`weights` must be (lambda_1, lambda_2, lambda_3), got {weights!r}")
    w1, w2, w3 = (float(w) for w in weights)
    return w1 * l_pcen + w2 * l_seg + w3 * l_pre


# ----------------------------------------------------------------------------- helpers
class _Parts(keras.Model):
    """Container so that built layers can be saved/loaded together as one weights file."""

    def __init__(self, *layers):
        super().__init__()
        self.parts = list(layers)
        self.built = True


def _dataset(arrays, batch_size: int, seed: int) -> tf.data.Dataset:
    n = int(np.shape(arrays[0])[0])
    bs = min(check_positive_int(batch_size, "batch_size"), n)
    ds = tf.data.Dataset.from_tensor_slices(tuple(arrays)).shuffle(
        n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(bs, drop_remainder=True)


def _history(hist: Mapping[str, list]) -> dict:
    return {k: [float(v) for v in vals] for k, vals in hist.items()}


def _uniform(shape, low, high, seed_gen):
    return keras.random.uniform(shape, float(low), float(high), seed=seed_gen)


# ----------------------------------------------------------------------------- stages
def train_segnet(segnet: SegNet, images, masks, epochs: int, batch_size: int = 16,
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
    return _history(trainer.fit(_dataset((images, masks), batch_size, seed), epochs))


def train_pcen(pcen: PCEN, channel: MIMOChannel, steps: int, batch_size: int = 64,
               num_symbols: int = 32, snr_range: Sequence[float] = (2.0, 12.0),
               lr: float = 0.01, combiner: str = "adaptive", power_allocation="waterfilling",
               train_cen: bool = False, ckpt_dir=None, seed: int = 0) -> dict:
    """Train PEN's ``gamma_t, alpha_t`` (and CEN with ``train_cen``) on ``L_pcen`` (stage 2).

    Each step draws QPSK streams, channels (with the channel's CSI error) and SNRs
    uniform in ``snr_range``; ``x_p`` is the water-filling SVD precoder's output and the
    loss is Eq. (10) with the noise expectation in closed form (Eq. (11)).

    ``train_cen=False`` (default) keeps CEN's learned matrix at identity: trained on
    ``L_pcen`` it shrinks towards the LMMSE estimate of ``x_p`` and lowers the decoded
    block rate of the adaptive combiner (see :mod:`sem_sionna.links.scsc`).

    Output
    ------
    history : dict -- per-epoch ``loss`` (one epoch of ``steps`` steps).
    """
    steps = check_positive_int(steps, "steps")
    precoder = SVDPrecoder(pcen.num_tx_ant, power_allocation)
    if not pcen.built:
        pcen.build()
    seed_gen = keras.random.SeedGenerator(seed)
    ns = pcen.num_tx_ant
    points = tf.constant([1 + 1j, 1 - 1j, -1 + 1j, -1 - 1j], tf.complex64) / math.sqrt(2.0)

    def loss_fn(_):
        idx = keras.random.randint((batch_size, ns, num_symbols), 0, 4, seed=seed_gen)
        s = tf.gather(points, idx)
        no = tf.pow(10.0, -_uniform((batch_size,), *snr_range, seed_gen) / 10.0)
        h, h_hat = channel.generate(batch_size)
        x_p, _, u2, z = pcen_precode(pcen, precoder, s, h_hat, no, combiner)
        return pcen_loss(x_p, u2, h, z, no=no), {}

    variables = pcen.pen.trainable_weights + (pcen.cen.trainable_weights if train_cen else [])
    trainer = Trainer("pcen", loss_fn, variables, lr=lr,
                      checkpoint={"pcen": _Parts(pcen)}, ckpt_dir=ckpt_dir)
    return _history(trainer.fit(tf.data.Dataset.range(steps).batch(1), 1))


def proxy_targets(model: SCSC, images, draws: int, snr_range: Sequence[float] = (2.0, 12.0),
                  batch_size: int = 16, use_ppen: bool = False, seed: int = 0) -> dict:
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


def train_proxy(proxy: ProxyNetwork, targets: Mapping[str, np.ndarray], epochs: int,
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
    return _history(trainer.fit(_dataset(arrays, batch_size, seed), epochs))


def train_scsc(model: SCSC, images, epochs: int, batch_size: int = 16,
               snr_range: Sequence[float] = (2.0, 12.0), qualities: Sequence[int] | None = None,
               loss_weights: Sequence[float] = LOSS_WEIGHTS, lr: float = 5e-4,
               train_pcen: bool = True, seg_target: str = "teacher", masks=None,
               pcen_symbols: int = 32, ckpt_dir=None, seed: int = 0) -> dict:
    """End-to-end SCSC training (Alg. 2, stage 4): PPEN (and PEN) through the real chain.

    Per step: one ``Q`` drawn from ``qualities`` for the batch, SNRs uniform in
    ``snr_range`` per image; ``out = model(x_o, snr, Q)`` runs PPEN, the chain (forward)
    and the proxy (backward), SegNet on the chain output;
    ``L = lambda_1 L_pcen + lambda_2 L_seg + lambda_3 L_pre`` with
    ``L_seg = soft_iou_loss(logits, target)`` (target: SegNet's segmentation of the
    original image, Eq. (20); or the ground-truth ``masks`` with ``seg_target="mask"``),
    ``L_pre = MSE(x_o, x_hat)`` and ``L_pcen`` of PCEN on random QPSK streams over the
    model's channel. AdamW with ``beta_n = beta_0 (1 - n/K)^0.9`` (Sec. IV-A-4).
    Trainable: PPEN, and PEN's ``gamma_t, alpha_t`` with ``train_pcen``; the proxy and
    SegNet are frozen.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``l_seg``, ``l_pre``, ``l_pcen``.
    """
    if seg_target not in _SEG_TARGETS:
        raise ValueError(f"`seg_target` must be one of {list(_SEG_TARGETS)}, got {seg_target!r}")
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
    points = tf.constant([1 + 1j, 1 - 1j, -1 + 1j, -1 - 1j], tf.complex64) / math.sqrt(2.0)
    q_table = tf.constant(qualities, tf.float32)
    num_classes = model.segnet.num_classes
    steps = max(1, len(images) // min(batch_size, len(images))) * check_positive_int(
        epochs, "epochs")
    schedule = keras.optimizers.schedules.PolynomialDecay(lr, steps, 0.0, power=0.9)
    optimizer = keras.optimizers.AdamW(learning_rate=schedule)

    def loss_fn(batch):
        x_o = batch[0]
        b = tf.shape(x_o)[0]
        q = tf.gather(q_table, keras.random.randint((), 0, len(qualities), seed=seed_gen))
        snr = _uniform((b,), *snr_range, seed_gen)
        out = model(x_o, snr, tf.fill([b], q))
        if seg_target == "teacher":
            target = tf.argmax(model.segnet(x_o, training=False), -1, output_type=tf.int32)
        else:
            target = batch[1]
        l_seg = soft_iou_loss(out["logits"], target, num_classes)
        l_pre = tf.reduce_mean(tf.square(out["x_hat"] - x_o))
        idx = keras.random.randint((b, ns, pcen_symbols), 0, 4, seed=seed_gen)
        no = tf.pow(10.0, -snr / 10.0)
        h, h_hat = channel.generate(b)
        x_p, _, u2, z = pcen_precode(model.pcen, precoder, tf.gather(points, idx), h_hat, no,
                                     model.combiner)
        l_pcen = pcen_loss(x_p, u2, h, z, no=no)
        loss = scsc_loss(l_pcen, l_seg, l_pre, loss_weights)
        return loss, {"l_seg": l_seg, "l_pre": l_pre, "l_pcen": l_pcen}

    variables = list(model.ppen.trainable_weights)
    if train_pcen:
        variables += model.pcen.pen.trainable_weights
    arrays = (images,) if masks is None else (images, np.asarray(masks, np.int32))
    trainer = Trainer("scsc", loss_fn, variables, optimizer=optimizer,
                      checkpoint={"ppen": _Parts(model.ppen), "pcen": _Parts(model.pcen)},
                      ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_dataset(arrays, batch_size, seed), epochs))


def train_mimo_jscc(model: MIMOJSCC, images, epochs: int, batch_size: int = 16,
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

    def loss_fn(batch):
        x = batch[0]
        b = tf.shape(x)[0]
        c = tf.gather(choices, keras.random.randint((), 0, int(choices.shape[0]), seed=seed_gen))
        x_hat = model(x, _uniform((b,), *snr_range, seed_gen), num_latent=c)
        mse = tf.reduce_mean(tf.square(x_hat - x))
        return mse, {"mse": mse}

    trainer = Trainer(model.name, loss_fn, model.trainable_weights, lr=lr,
                      checkpoint={"model": _Parts(model)}, ckpt_dir=ckpt_dir)
    return _history(trainer.fit(_dataset((images,), batch_size, seed), epochs))


# ------------------------------------------------------------------------- experiment
#: Schemes of the experiment that run the digital chain: (pre-processor, PCEN, codec).
CHAIN_SCHEMES = {
    "digital": (None, False, "hevc"),
    "scsc": ("ppen", True, "hevc"),
    "scsc_wo_ppen": (None, True, "hevc"),
    "scsc_wo_pcen": ("ppen", False, "hevc"),
    "scsc_wo_qa": ("ppen_noqa", True, "hevc"),
    "jpeg": (None, False, "jpeg"),
    "scsc_jpeg": ("ppen", True, "jpeg"),
    "jpeg2000": (None, False, "jpeg2000"),
    "scsc_jpeg2000": ("ppen", True, "jpeg2000"),
}
JSCC_SCHEMES = ("deepjscc_mimo", "adjscc")
MAIN_SCHEMES = ("digital", "scsc", "proxynet", "deepjscc_mimo", "adjscc")
ABLATION_SCHEMES = ("digital", "scsc_wo_ppen", "scsc_wo_pcen", "scsc_wo_qa", "scsc")


def channel_config(model: str, csi: str, csi_error_var: float = 0.1) -> dict:
    """Config of the 2x2 :class:`~sem_sionna.phy.MIMOChannel` of a sweep point.

    ``csi="imperfect"``: ``h_hat = h + e``, ``e ~ CN(0, csi_error_var)`` (S3, Fig. 15);
    ``"perfect"``: ``h_hat = h``. ``model`` is ``"rayleigh"`` or ``"cdl-a"``.. ``"cdl-e"``.
    """
    if csi not in ("perfect", "imperfect"):
        raise ValueError(f"`csi` must be 'perfect' or 'imperfect', got {csi!r}")
    var = float(csi_error_var) if csi == "imperfect" else 0.0
    return MIMOChannel(2, 2, model, csi_error_var=var).get_config()


def _batched(fn, arrays, batch_size=32):
    n = len(arrays[0])
    return np.concatenate([np.asarray(fn(*[a[i:i + batch_size] for a in arrays]))
                           for i in range(0, n, batch_size)])


def bd_table(rows: Sequence[Mapping[str, Any]], anchor: str, tests: Sequence[str],
             snrs: Sequence[float], channel: str = "rayleigh",
             csi: str = "perfect") -> list[dict]:
    """BD-CBR (at equal mIoU) and BD-PSNR (at equal CBR) of ``tests`` against ``anchor``.

    Curves are the sweep rows of each scheme at one SNR over its CBR points
    (:func:`sem_sionna.metrics.bd_rate` / :func:`~sem_sionna.metrics.bd_psnr`, >= 4
    points each). A curve that cannot be compared (too few points, no overlap, a flat
    metric) gets empty values and the reason in ``note``.

    Output
    ------
    rows : list of dict -- ``scheme, channel, csi, snr_db, bd_cbr_pct, bd_psnr_db, note``;
        ``bd_cbr_pct`` < 0 means less bandwidth than the anchor for the same mIoU.
    """
    def curve(scheme, snr):
        sel = sorted((r for r in rows if r["scheme"] == scheme and r["channel"] == channel
                      and r["csi"] == csi and abs(float(r["snr_db"]) - snr) < 1e-9),
                     key=lambda r: float(r["cbr"]))
        return (np.array([float(r["cbr"]) for r in sel]),
                np.array([float(r["miou"]) for r in sel]),
                np.array([float(r["psnr"]) for r in sel]))

    table = []
    for snr in snrs:
        r_a, m_a, p_a = curve(anchor, float(snr))
        for scheme in (anchor, *tests):
            r_t, m_t, p_t = curve(scheme, float(snr))
            entry = {"scheme": scheme, "channel": channel, "csi": csi, "snr_db": float(snr),
                     "bd_cbr_pct": None, "bd_psnr_db": None, "note": ""}
            notes = []
            try:
                entry["bd_cbr_pct"] = metrics.bd_rate(r_a, 100.0 * m_a, r_t, 100.0 * m_t)
            except ValueError as err:
                # bd_rate names its quality axis PSNR; here it is mIoU in percent
                notes.append(f"BD-CBR: {str(err).replace('PSNR', 'mIoU [%]')}")
            try:
                entry["bd_psnr_db"] = metrics.bd_psnr(r_a, p_a, r_t, p_t)
            except ValueError as err:
                notes.append(f"BD-PSNR: {err}")
            entry["note"] = "; ".join(notes)
            table.append(entry)
    return table


def run_experiment(config: Mapping[str, Any], args) -> list[dict]:
    """Train every model (or load it), run the sweep and write the outputs of S3.

    Writes into ``args.out``: ``metrics.csv`` (:data:`COLUMNS`), ``run.json``,
    ``bd_rates.csv``, ``miou_vs_snr.png``, ``psnr_vs_snr.png``, ``ms_ssim_vs_snr.png``,
    ``psnr_vs_cbr.png``, ``miou_vs_cbr.png``, ``miou_vs_snr_channels.png`` (Rayleigh /
    CDL-A, perfect / imperfect CSI), ``miou_vs_snr_codecs.png`` (PPEN trained with HEVC,
    used with JPEG and JPEG2000), ``ablation.png`` and ``examples.png``; trained weights
    under ``ckpt/``.

    Parameters
    ----------
    config : mapping -- :data:`DEFAULT_CONFIG` entries to override (a scenario profile).
    args : argparse.Namespace -- from :func:`sem_sionna.sweep.parse_args`.

    Output
    ------
    rows : list of dict -- the sweep rows.
    """
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(f"unknown configuration keys {unknown}; valid keys are "
                         f"{sorted(DEFAULT_CONFIG)}")
    cfg = {**DEFAULT_CONFIG, **config}
    out, seed = Path(args.out), int(args.seed)
    utils.set_global_seed(seed)
    record = sweep.RunRecord(out, args.name, args, cfg)
    store = WeightStore(out / "ckpt", retrain=getattr(args, "retrain", False))
    qualities = [int(q) for q in cfg["qualities"]]
    q_main, q_gen = int(cfg["q_main"]), int(cfg["q_gen"])
    for name, q in (("q_main", q_main), ("q_gen", q_gen)):
        if q not in qualities:
            raise ValueError(f"`{name}`={q} must be one of `qualities` {qualities}")
    size, m, rate = int(cfg["size"]), int(cfg["num_bits_per_symbol"]), float(cfg["coderate"])
    snr_range = tuple(float(v) for v in cfg["snr_range"])
    num_classes = len(data.SCENE_CLASSES) + 1

    # ---- data and block sizes ---------------------------------------------------------
    with record.stage("data"):
        x_tr, m_tr, _ = data.scenes(int(cfg["n_train"]), size=size, seed=seed, split="train")
        x_te, m_te, _ = data.scenes(int(cfg["n_test"]), size=size, seed=seed, split="test")
        fallback = data.mean_image(x_tr)
        hevc = codecs.get("hevc")
        blocks = {}
        for q in qualities:
            sizes = [len(hevc.encode(x, q)) for x in x_tr[:int(cfg["n_budget"])]]
            budget = int(math.ceil(np.quantile(sizes, float(cfg["budget_quantile"]))))
            k = channel_uses_for_payload(budget, m, rate, 2)
            blocks[q] = {"budget_bytes": budget, "num_channel_uses": k,
                         "cbr": k / float(3 * size * size)}
        record.set("blocks", {str(q): v for q, v in blocks.items()})
        latent = {q: max(2, 2 * int(round(blocks[q]["cbr"] * 48.0))) for q in qualities}
        latent_choices = sorted(set(latent.values()))
        record.set("jscc_latent_channels", {str(q): c for q, c in latent.items()})
    utils.logger.info("blocks: %s", {q: (b["budget_bytes"], b["num_channel_uses"],
                                         round(b["cbr"], 4)) for q, b in blocks.items()})

    # ---- models -----------------------------------------------------------------------
    q_range = (float(min(SCSC_Q_VALUES + tuple(qualities))),
               float(max(SCSC_Q_VALUES + tuple(qualities))))
    segnet = SegNet(num_classes, tuple(cfg["seg_widths"]), tuple(cfg["seg_blocks"]),
                    name="segnet")
    pcen = PCEN(2, 2, num_layers=int(cfg["pcen_layers"]), name="pcen")
    proxy = ProxyNetwork(int(cfg["proxy_filters"]), int(cfg["proxy_latent"]), snr_range,
                         q_range, seed=seed, name="proxy")
    ppen = PPEN(int(cfg["ppen_filters"]), int(cfg["ppen_stages"]), int(cfg["ppen_dac"]),
                use_qa=True, q_range=q_range, name="ppen")
    ppen_noqa = PPEN(int(cfg["ppen_filters"]), int(cfg["ppen_stages"]), int(cfg["ppen_dac"]),
                     use_qa=False, q_range=q_range, name="ppen_noqa")
    train_channel = channel_config("rayleigh", "perfect", 0.0)
    chain_args = dict(num_channel_uses=[blocks[q]["num_channel_uses"] for q in qualities],
                      qualities=qualities, codec="hevc", num_bits_per_symbol=m, coderate=rate,
                      channel=train_channel, fallback=fallback, seed=seed)
    model = SCSC(ppen, proxy, segnet, pcen, **chain_args, name="scsc")
    model_noqa = SCSC(ppen_noqa, proxy, segnet, pcen, **chain_args, name="scsc_noqa")
    model_noqa.share_links(model)
    shape = (None, size, size, 3)
    model.build(shape)
    model_noqa.build(shape)
    jscc = {name: MIMOJSCC(MIMOChannel(2, 2, "rayleigh", seed=seed),
                           max(latent_choices), int(cfg["jscc_filters"]),
                           csi_aware=(name == "deepjscc_mimo"), snr_range=snr_range, name=name)
            for name in JSCC_SCHEMES}
    for net in jscc.values():
        net.build(shape)

    # ---- training ---------------------------------------------------------------------
    bs = int(cfg["batch_size"])
    common = {"size": size, "n_train": int(cfg["n_train"]), "seed": seed}
    seg_cfg = {**common, **{k: cfg[k] for k in ("seg_widths", "seg_blocks", "seg_epochs",
                                                 "seg_lr", "batch_size")}}
    pcen_cfg = {"seed": seed, **{k: cfg[k] for k in ("pcen_layers", "pcen_steps", "pcen_lr",
                                                     "snr_range")}}
    chain_cfg = {"blocks": {str(q): blocks[q]["num_channel_uses"] for q in qualities},
                 "coderate": rate, "num_bits_per_symbol": m, "budget_quantile":
                 cfg["budget_quantile"], "n_budget": cfg["n_budget"]}
    proxy_cfg = {**common, "pcen": pcen_cfg, "chain": chain_cfg,
                 **{k: cfg[k] for k in ("proxy_filters", "proxy_latent", "proxy_draws",
                                        "proxy_epochs", "proxy_lr", "proxy_decoded_only",
                                        "snr_range", "batch_size")}}
    scsc_cfg = {"proxy": proxy_cfg, "segnet": seg_cfg,
                **{k: cfg[k] for k in ("ppen_filters", "ppen_stages", "ppen_dac", "scsc_epochs",
                                       "scsc_lr", "loss_weights", "seg_target")}}
    noqa_cfg = {"scsc": scsc_cfg, "noqa_epochs": cfg["noqa_epochs"], "q_main": q_main}
    summaries = {}

    def stage(name, stage_cfg, parts, fn):
        with record.stage(f"train_{name}"):
            loaded, summaries[name] = store.load_or_train(name, stage_cfg, parts, fn)
        summaries[name] = {"loaded": loaded, **(summaries[name] or {})}

    stage("segnet", seg_cfg, {"segnet": _Parts(segnet)}, lambda work: train_segnet(
        segnet, x_tr, m_tr, int(cfg["seg_epochs"]), bs, float(cfg["seg_lr"]), work,
        utils.derive_seed(seed, "segnet")))
    stage("pcen", pcen_cfg, {"pcen": _Parts(pcen)}, lambda work: train_pcen(
        pcen, MIMOChannel.from_config({**train_channel, "seed": seed}), int(cfg["pcen_steps"]),
        snr_range=snr_range, lr=float(cfg["pcen_lr"]), ckpt_dir=work,
        seed=utils.derive_seed(seed, "pcen")))

    def fit_proxy(work):
        targets = proxy_targets(model, x_tr, int(cfg["proxy_draws"]), snr_range, 2 * bs,
                                seed=utils.derive_seed(seed, "proxy_targets"))
        hist = train_proxy(proxy, targets, int(cfg["proxy_epochs"]), bs,
                           float(cfg["proxy_lr"]), bool(cfg["proxy_decoded_only"]), ckpt_dir=work,
                           seed=utils.derive_seed(seed, "proxy"))
        return {**hist, "chain_decoded": targets["decoded"]}

    stage("proxy", proxy_cfg, {"proxy": _Parts(proxy)}, fit_proxy)
    stage("scsc", scsc_cfg, {"ppen": _Parts(ppen), "pcen": _Parts(pcen)},
          lambda work: train_scsc(model, x_tr, int(cfg["scsc_epochs"]), bs, snr_range,
                                  qualities, cfg["loss_weights"], float(cfg["scsc_lr"]),
                                  seg_target=cfg["seg_target"], masks=m_tr if
                                  cfg["seg_target"] == "mask" else None, ckpt_dir=work,
                                  seed=utils.derive_seed(seed, "scsc")))
    stage("scsc_noqa", noqa_cfg, {"ppen_noqa": _Parts(ppen_noqa)},
          lambda work: train_scsc(model_noqa, x_tr, int(cfg["noqa_epochs"]), bs, snr_range,
                                  [q_main], cfg["loss_weights"], float(cfg["scsc_lr"]),
                                  train_pcen=False, seg_target=cfg["seg_target"],
                                  masks=m_tr if cfg["seg_target"] == "mask" else None,
                                  ckpt_dir=work, seed=utils.derive_seed(seed, "scsc_noqa")))
    for name, net in jscc.items():
        jcfg = {**common, "latent_choices": latent_choices, "scheme": name,
                **{k: cfg[k] for k in ("jscc_filters", "jscc_epochs", "jscc_lr", "snr_range",
                                       "jscc_batch_size")}}
        stage(name, jcfg, {name: _Parts(net)}, lambda work, net=net, name=name: train_mimo_jscc(
            net, x_tr, int(cfg["jscc_epochs"]), int(cfg["jscc_batch_size"]), snr_range,
            latent_choices,
            float(cfg["jscc_lr"]), work, utils.derive_seed(seed, name)))
    record.set("training", summaries)
    clean = _batched(lambda x: tf.argmax(segnet(x, training=False), -1), [x_te])
    record.set("segnet_clean_test_miou", float(metrics.miou(clean, m_te, num_classes)))
    record.write()

    # ---- sweep ------------------------------------------------------------------------
    preprocessors = {"ppen": ppen, "ppen_noqa": ppen_noqa}
    cbr_of = {q: blocks[q]["cbr"] for q in qualities}
    c_main = latent[q_main]
    points: dict[tuple, dict] = {}

    def add(scheme, channel, csi, snrs, q=None, c=None):
        cbr = cbr_of[q] if c is None else mimo_jscc_cbr(c, 2)
        if scheme == "proxynet":
            # the proxy sends its latent over its own AWGN channel: (H/4)(W/4) c complex
            # symbols, CBR = c / 48, whatever the Q it imitates
            channel, cbr = "awgn", int(cfg["proxy_latent"]) / 48.0
        for snr in snrs:
            point = {"scheme": scheme, "channel": channel, "csi": csi, "snr_db": float(snr),
                     "cbr": float(cbr), "q": q, "num_latent": c}
            key = tuple(utils.format_value(point[k])
                        for k in ("scheme", "channel", "csi", "cbr", "snr_db"))
            points.setdefault(key, point)

    snrs, snr_cbr = cfg["snr_db"], cfg["snr_cbr"]
    for scheme in ("digital", "scsc", "proxynet", "scsc_wo_ppen", "scsc_wo_pcen",
                   "scsc_wo_qa"):
        add(scheme, "rayleigh", "perfect", snrs, q=q_main)
    for scheme in JSCC_SCHEMES:
        add(scheme, "rayleigh", "perfect", snrs, c=c_main)
    add("proxynet", "awgn", "perfect", snr_cbr, q=q_main)
    for q in qualities:
        for scheme in ("digital", "scsc"):
            add(scheme, "rayleigh", "perfect", snr_cbr, q=q)
    for c in latent_choices:
        for scheme in JSCC_SCHEMES:
            add(scheme, "rayleigh", "perfect", snr_cbr, c=c)
    for channel in cfg["channels"]:
        for csi in ("perfect", "imperfect"):
            if (channel, csi) != ("rayleigh", "perfect"):
                for scheme in ("digital", "scsc"):
                    add(scheme, channel, csi, cfg["snr_channels"], q=q_main)
    for codec in cfg["gen_codecs"]:
        for scheme in (codec, f"scsc_{codec}"):
            add(scheme, "rayleigh", "perfect", cfg["snr_channels"], q=q_gen)
    grid = [{**p, "key": sweep.point_key(p)} for p in points.values()]

    def reconstruct_state(gp):
        scheme = gp["scheme"]
        if scheme in CHAIN_SCHEMES:
            pre, use_pcen, codec = CHAIN_SCHEMES[scheme]
            # one link per (Q, channel, PCEN, codec), shared by the pre-processors
            link = model.link(gp["q"], channel_config(gp["channel"], gp["csi"],
                                                       cfg["csi_error_var"]), use_pcen, codec)
            x = x_te if pre is None else _batched(
                lambda im: preprocessors[pre](im, float(gp["q"])), [x_te])
            return {"link": link, "encoded": link.encode(x)}
        if scheme == "proxynet":
            return {"x": _batched(lambda im: ppen(im, float(gp["q"])), [x_te])}
        return {}

    def reconstruct(point, state, images):
        scheme, snr = point["scheme"], float(point["snr_db"])
        crn = utils.derive_seed(seed, "channel", point["channel"], point["csi"],
                                utils.format_value(snr))
        extra = {}
        if scheme in CHAIN_SCHEMES:
            link, encoded = state["link"], state["encoded"]
            utils.reseed(link, crn)
            bits_hat, crc_ok = link.transmit(encoded["bits"], snr)
            x_hat, info = link.decode(encoded, bits_hat, crc_ok)
            extra = {"decoded": float(np.mean(info["decoded"])),
                     "payload_bytes": float(np.mean(info["payload_bytes"]))}
        elif scheme == "proxynet":
            utils.reseed(proxy, crn)
            x_hat = _batched(lambda x: proxy(x, snr, float(point["q"])), [state["x"]])
        else:
            net = jscc[scheme]
            utils.reseed(net, crn)
            x_hat = _batched(lambda x: net(x, snr, num_latent=int(point["num_latent"])),
                             [images])
        return np.asarray(x_hat, np.float32), extra

    def evaluate(point, state):
        x_hat, extra = reconstruct(point, state, x_te)
        if not np.all(np.isfinite(x_hat)):
            raise utils.NumericalError(f"non-finite reconstruction of {point['scheme']}")
        pred = _batched(lambda x: tf.argmax(segnet(x, training=False), -1), [x_hat])
        return {**metrics.image_metrics(x_te, x_hat), **extra,
                "miou": float(metrics.miou(pred, m_te, num_classes)), "n_images": len(x_te)}

    with record.stage("sweep"):
        runner = sweep.SweepRunner(out, COLUMNS,
                                   key_columns=("scheme", "channel", "csi", "cbr", "snr_db"),
                                   resume=args.resume, shard=args.shard, seed=seed,
                                   record=record, desc="scsc_mimo")
        rows = runner.run(grid, evaluate, prepare=reconstruct_state,
                          group_by=("scheme", "channel", "csi", "cbr", "q", "num_latent"))

    # ---- figures and tables -------------------------------------------------------------
    with record.stage("report"):
        if args.shard is None:
            _report(rows, out, cfg, q_main, q_gen, c_main, record)
            _examples(out, cfg, q_main, c_main, x_te, m_te, segnet, reconstruct_state,
                      reconstruct, num_classes)
    record.finish()
    return rows


def _report(rows, out: Path, cfg, q_main, q_gen, c_main, record) -> None:
    def main_point(r):
        if r["scheme"] == "proxynet":
            return r["q"] == q_main
        return (r["channel"] == "rayleigh" and r["csi"] == "perfect"
                and r["scheme"] in MAIN_SCHEMES
                and (r["q"] == q_main or r["num_latent"] == c_main))

    for metric in ("miou", "psnr", "ms_ssim"):
        plot.metric_vs_snr(rows, metric, out / f"{metric}_vs_snr.png", panels=(),
                           where=main_point,
                           title=f"2x2 MIMO Rayleigh (ProxyNet: AWGN latent), Q={q_main}")
    snr_cbr = [float(s) for s in cfg["snr_cbr"]]
    cbr_rows = [r for r in rows if float(r["snr_db"]) in snr_cbr and (
        r["scheme"] == "proxynet" or (r["channel"] == "rayleigh" and r["csi"] == "perfect"
                                      and r["scheme"] in MAIN_SCHEMES))]
    for metric in ("psnr", "miou", "ms_ssim"):
        plot.metric_vs_cbr(cbr_rows, metric, out / f"{metric}_vs_cbr.png", panels=("snr_db",),
                           title="2x2 MIMO Rayleigh")
    plot.metric_vs_snr(rows, "miou", out / "miou_vs_snr_channels.png",
                       panels=("channel", "csi"),
                       where=lambda r: r["scheme"] in ("digital", "scsc") and r["q"] == q_main,
                       title=f"Rayleigh / CDL-A, CSI error var {cfg['csi_error_var']}, "
                             f"Q={q_main}")
    gen = [c for codec in cfg["gen_codecs"] for c in (codec, f"scsc_{codec}")]
    if gen:
        plot.metric_vs_snr(rows, "miou", out / "miou_vs_snr_codecs.png", panels=("channel",),
                           where=lambda r: r["scheme"] in gen,
                           title=f"PPEN (trained with HEVC) with other codecs, "
                                 f"block of Q={q_gen}")
    snrs = [float(s) for s in cfg["snr_db"]]
    abl = [r for r in rows if r["scheme"] in ABLATION_SCHEMES and r["channel"] == "rayleigh"
           and r["csi"] == "perfect" and r["q"] == q_main and float(r["snr_db"]) in snrs]
    means = [float(np.mean([r["miou"] for r in abl if r["scheme"] == s] or [np.nan]))
             for s in ABLATION_SCHEMES]
    plot.bar_chart(list(ABLATION_SCHEMES), means, out / "ablation.png",
                   ylabel=f"mIoU (mean over {cfg['snr_db'][0]:g}-{cfg['snr_db'][-1]:g} dB)",
                   title=f"Ablations, 2x2 MIMO Rayleigh, Q={q_main}")
    table = bd_table(rows, "digital", ("scsc", *JSCC_SCHEMES), snr_cbr)
    write_csv(out / "bd_rates.csv", list(table[0]) if table else
                    ["scheme", "channel", "csi", "snr_db", "bd_cbr_pct", "bd_psnr_db", "note"],
                    [{k: utils.format_value(v) for k, v in t.items()} for t in table])
    record.set("bd_rates", table)
    record.set("ablation_mean_miou", dict(zip(ABLATION_SCHEMES, means)))


def _examples(out, cfg, q_main, c_main, x_te, m_te, segnet, prepare, reconstruct,
              num_classes) -> None:
    n = min(int(cfg["num_examples"]), len(x_te))
    images, masks = x_te[:n], m_te[:n]
    snr = float(cfg["snr_example"])
    rows_img, labels = [], ["original"]
    cells = []
    for i in range(n):
        cells += [images[i], masks[i]]
    rows_img.append(cells)
    for scheme in ("digital", "scsc", "deepjscc_mimo"):
        point = {"scheme": scheme, "channel": "rayleigh", "csi": "perfect", "snr_db": snr,
                 "q": q_main, "num_latent": c_main}
        state = prepare(point)
        x_hat, _ = reconstruct(point, state, x_te)
        x_hat = x_hat[:n]
        pred = np.asarray(tf.argmax(segnet(x_hat, training=False), -1), np.int32)
        cells = []
        for i in range(n):
            cells += [x_hat[i], pred[i]]
        rows_img.append(cells)
        labels.append(scheme)
    cols = [c for i in range(n) for c in (f"image {i}", f"segmentation {i}")]
    plot.image_grid(rows_img, labels, cols, out / "examples.png",
                    title=f"Reconstructions and segmentations, Rayleigh 2x2, SNR {snr:g} dB, "
                          f"Q={q_main}", num_classes=num_classes)
