"""Two-stage training of Split DeepJSCC (S1, Tung et al.) and its learned interface (S0).

Stage 1, :func:`train_source_stage` -- source mapper ``f`` and demapper ``g`` over a binary
interface (S1 Fig. 2, S0 Fig. 3a)::

    x --f--> p --interface.noisy_probs--> p_hat --sample u_hat ~ Bern(p_hat)--> g --> x_hat

* ``estimator="vimco"`` (S1 eqs. (7)-(12)): ``J`` samples, multi-sample bound with
  ``log p(x|u_hat) = -distortion_scale * ||x - g(u_hat)||^2`` (S1 eq. (19)), gradient by
  :func:`sem_sionna.train.vimco.vimco_loss`; the default for a
  :class:`~sem_sionna.nets.interface.MultiLevelBSC`.
* ``estimator="ste"`` (S0 eqs. (12)-(15)): one sample with the straight-through estimator
  ``u_hat = p_hat + stop_gradient(sample - p_hat)``, loss ``MSE + L_reg``; the default for a
  :class:`~sem_sionna.nets.interface.LearnedBSCInterface` (whose ``mu`` is trained too).

Stage 2, :func:`train_channel_stage` -- channel mapper ``h`` and demapper ``q`` over AWGN
(or Rayleigh block fading)
through the *frozen* source demapper (S1 Fig. 3, S0 Fig. 3b)::

    u = round(f(x)) --h--> z --AWGN(no)--> y --q--> p_v --sample v--> g (frozen) --> x_hat

with the same two estimators (S1: VIMCO, eq. (15), one noise draw per sample; S0: STE).
``snr_db`` is a float (fixed training SNR, S1) or a ``(low, high)`` range drawn uniformly
per example (S0: 5-20 dB); SNR-adaptive mappers (``snr_adaptive=True`` or the importance
mappers of :mod:`sem_sionna.nets.importance`) receive it, the importance mappers also get
the interface's ``eps``.

:func:`train_deepjscc_stage` trains the analog DeepJSCC baseline the two seeds compare
with (encoder and decoder end to end, MSE over AWGN at one SNR).

The two-stage functions compile their step with ``tf.function`` (``jit_compile`` for
XLA), accept an optional ``tf.distribute.Strategy`` (build the models and call the
function inside ``strategy.scope()``), log one line per epoch with the ETA and return a
history dict of per-epoch means.
"""
from __future__ import annotations

import logging
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.data import as_dataset
from sem_sionna.links.analog import SISO_MODELS, SISOChannel
from sem_sionna.nets.importance import ImportanceChannelDemapper, ImportanceChannelMapper
from sem_sionna.phy.snr import no2snrdb, snrdb2no
from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.seeding import derive_seed
from sem_sionna.train.loop import Trainer, strategy_scope
from sem_sionna.train.vimco import vimco_loss

__all__ = ["train_source_stage", "train_channel_stage", "train_deepjscc_stage"]

logger = logging.getLogger(__name__)

_ESTIMATORS = ("vimco", "ste")


# ----------------------------------------------------------------------------- helpers
def _check_estimator(estimator):
    if estimator not in _ESTIMATORS:
        raise ValueError(f"`estimator` must be one of {list(_ESTIMATORS)}, got {estimator!r}")
    return estimator


def _as_dataset(data, batch_size, seed):
    """A batched ``tf.data.Dataset`` from a dataset, an array/tensor or a tuple of them."""
    if isinstance(data, tf.data.Dataset):
        return data
    arrays = data if isinstance(data, tuple) else (data,)
    if not all(isinstance(d, (np.ndarray, tf.Tensor)) for d in arrays):
        raise TypeError("`dataset` must be a tf.data.Dataset, an array/tensor of images or a "
                        f"tuple of arrays, got {type(data).__name__}")
    n = int(arrays[0].shape[0])
    bs = check_positive_int(batch_size, "batch_size")
    # equal batch shapes keep one compiled step (XLA recompiles for every new shape)
    return as_dataset(*arrays, batch_size=bs, shuffle=True, seed=0 if seed is None else seed,
                      drop_remainder=n >= bs)


def _mse_scale(images):
    return float(np.prod(images.shape[1:]))


def _per_example_mse(images, x_hat):
    """``[batch]`` MSE per image (validation: the trainer's CI over examples)."""
    return tf.reduce_mean(tf.square(images - x_hat), axis=list(range(1, len(images.shape))))


def _trackables(*layers):
    """Checkpoint entries for the layers a stage trains (keyed by position)."""
    return {f"layer_{i}": layer for i, layer in enumerate(layers)}


def _sample_ste(p, seed):
    hard = tf.cast(keras.random.uniform(tf.shape(p), seed=seed) < p, p.dtype)
    return p + tf.stop_gradient(hard - p)


def _sse(x, x_hat):
    """Sum of squared errors per image: [..., H, W, C] -> [...]."""
    return tf.reduce_sum(tf.square(x - x_hat), axis=[-3, -2, -1])


def _decode_samples(demapper, v, images):
    """Source-demap J samples: v [J, b, M] -> x_hat [J, b, H, W, C]."""
    j, b = tf.shape(v)[0], tf.shape(v)[1]
    x_hat = demapper(tf.reshape(v, [-1, v.shape[-1]]))
    return tf.reshape(x_hat, tf.concat([[j, b], tf.shape(images)[1:]], 0))


# ----------------------------------------------------------------------------- stage 1
def train_source_stage(source_mapper: keras.layers.Layer, source_demapper: keras.layers.Layer,
                       interface: keras.layers.Layer, dataset, epochs: int = 1, lr: float = 1e-4,
                       num_samples: int = 8, estimator: str | None = None, batch_size: int = 32,
                       distortion_scale: float = 1.0, mse_weight: float = 1.0, optimizer=None,
                       steps_per_epoch: int | None = None, val_dataset=None,
                       lr_patience: int | None = None, lr_factor: float = 0.8,
                       early_stopping_patience: int | None = None, restore_best: bool = False,
                       jit_compile: bool = False,
                       strategy: tf.distribute.Strategy | None = None, seed: int | None = None,
                       log: Callable[[str], None] | None = None, ckpt_dir=None,
                       epoch_metrics: Callable[[], dict] | None = None) -> dict:
    """Train the source mapper and demapper over a binary interface (stage 1).

    Parameters
    ----------
    source_mapper : :class:`~sem_sionna.nets.split.SourceMapper` -- images -> [b, M] probs.
    source_demapper : :class:`~sem_sionna.nets.split.SourceDemapper` -- [b, M] bits -> images.
    interface : :class:`~sem_sionna.nets.interface.MultiLevelBSC` or
        :class:`~sem_sionna.nets.interface.LearnedBSCInterface` -- anything with
        ``noisy_probs(probs)``; its trainable weights (``mu``) are trained and its
        ``regularization_loss()`` (if any) is added to the loss.
    dataset : tf.data.Dataset of [b, H, W, 3] images in [0, 1], or an array of images
        (shuffled and batched with ``batch_size``).
    epochs : int -- passes over ``dataset`` (or ``steps_per_epoch`` batches).
    lr : float -- Adam learning rate (S1: 1e-5, S0: 1e-4) unless ``optimizer`` is given.
    num_samples : int -- VIMCO samples ``J`` (S1: 100); unused by ``"ste"``.
    estimator : "vimco", "ste" or None -- None picks "ste" when the interface has trainable
        weights, else "vimco".
    distortion_scale : float -- ``log p(x|u) = -distortion_scale * SSE`` (pixels in [0, 1])
        for VIMCO; sharper (larger) values concentrate the bound on the best sample.
    mse_weight : float -- STE loss ``mse_weight * MSE + L_reg`` with the MSE of pixels in
        [0, 1]. S0's reference code takes the MSE of pixels in 0..255 with ``lambda = 1``:
        ``MSE_255 = 255^2 MSE_[0,1]``, so ``mse_weight = 255**2`` is that loss exactly
        (the regulariser then no longer outweighs the distortion of every bit).
    val_dataset : optional dataset -- validation MSE per epoch with hard bits
        ``round(f(x))`` through ``interface(...)``; it is the monitored quantity for
        ``lr_patience`` (learning rate times ``lr_factor`` after that many epochs without
        improvement; S1: 2, 0.8) and ``early_stopping_patience`` (S1: 4); otherwise the
        training loss is monitored.
    restore_best : bool -- end with the weights of the best monitored epoch.
    jit_compile : bool -- compile the step with XLA.
    strategy : tf.distribute.Strategy or None -- models must have been created in its scope.
    seed : int or None -- seed of the samples' ``SeedGenerator`` and of the shuffling.
    ckpt_dir : path or None -- per-epoch checkpoints; a killed run resumes from the last one.
    log : callable or None -- receives one line per epoch (default: ``logging.info``).
    epoch_metrics : callable or None -- called after every epoch (with that epoch's
        weights, before any ``restore_best``); its ``{name: float}`` are logged in the
        history, e.g. S0's per-epoch rank correlation of eps with the bits' flip costs.
        A diagnostic only: it never drives the schedule or the weights kept.

    Output
    ------
    history : dict of lists, one value per epoch -- ``loss`` (VIMCO: multi-sample loss
        ``-L_hat``; STE: ``mse_weight * MSE``) plus the regulariser (``reg`` for STE),
        ``mse`` (per pixel, averaged over samples),
        ``psnr`` (dB, from ``mse``), ``lr``, ``epoch_time_s``, ``val_mse`` with a validation
        set, ``eps_mean`` / ``eps_std`` for a learned interface and the keys of
        ``epoch_metrics``.
    """
    if estimator is None:
        estimator = "ste" if interface.trainable_weights else "vimco"
    estimator = _check_estimator(estimator)
    j = check_positive_int(num_samples, "num_samples", minimum=2 if estimator == "vimco" else 1)
    scale = float(distortion_scale)
    if not scale > 0:
        raise ValueError(f"`distortion_scale` must be > 0, got {distortion_scale!r}")
    weight = float(mse_weight)
    if not weight > 0:
        raise ValueError(f"`mse_weight` must be > 0, got {mse_weight!r}")
    ds = _as_dataset(dataset, batch_size, seed)
    val = None if val_dataset is None else _as_dataset(val_dataset, batch_size, seed)
    with strategy_scope(strategy):
        sample_seed = keras.random.SeedGenerator(seed)
    has_reg = hasattr(interface, "regularization_loss")

    # build everything before collecting the trainable variables
    spec = ds.element_spec
    probe = tf.zeros([1] + list(spec.shape[1:]), tf.float32)
    with strategy_scope(strategy):
        p0 = source_mapper(probe)
        source_demapper(tf.round(p0))
        interface(tf.round(p0))
    variables = (source_mapper.trainable_variables + source_demapper.trainable_variables
                 + interface.trainable_variables)

    def step(images):
        images = tf.cast(images, tf.float32)
        p_hat = interface.noisy_probs(source_mapper(images))
        reg = interface.regularization_loss() if has_reg else tf.constant(0.0)
        npix = _mse_scale(images)
        if estimator == "vimco":
            def loss_fn(u):
                return scale * _sse(images[None], _decode_samples(source_demapper, u, images))

            surrogate, objective, losses = vimco_loss(p_hat, loss_fn, j, seed=sample_seed)
            mse = tf.reduce_mean(losses) / (scale * npix)
            return surrogate + reg, {"loss": objective + reg, "mse": mse}
        x_hat = source_demapper(_sample_ste(p_hat, sample_seed))
        mse = tf.reduce_mean(tf.square(images - x_hat))
        loss = weight * mse + reg
        return loss, {"loss": loss, "mse": mse, "reg": reg}

    def eval_step(images):
        images = tf.cast(images, tf.float32)
        x_hat = source_demapper(interface(tf.round(source_mapper(images))))
        return {"mse": _per_example_mse(images, x_hat)}

    trainer = Trainer("source stage", step, variables, optimizer, lr, jit_compile, strategy,
                      eval_step, _trackables(source_mapper, source_demapper, interface),
                      ckpt_dir, log)

    def extra():
        values = {}
        if interface.trainable_weights and hasattr(interface, "eps"):
            eps = interface.eps
            values = {"eps_mean": float(tf.reduce_mean(eps)),
                      "eps_std": float(tf.math.reduce_std(eps))}
        if epoch_metrics is not None:
            values.update({k: float(v) for k, v in epoch_metrics().items()})
        return values

    return trainer.fit(ds, epochs, steps_per_epoch, val, lr_patience, lr_factor,
                       early_stopping_patience, extra, restore_best)


# ----------------------------------------------------------------------------- stage 2
def train_channel_stage(channel_mapper: keras.layers.Layer, channel_demapper: keras.layers.Layer,
                        source_demapper: keras.layers.Layer, dataset, snr_db,
                        source_mapper: keras.layers.Layer | None = None,
                        interface: keras.layers.Layer | None = None, epochs: int = 1,
                        lr: float = 1e-4, num_samples: int = 8, estimator: str = "vimco",
                        batch_size: int = 32, distortion_scale: float = 1.0, optimizer=None,
                        steps_per_epoch: int | None = None, val_dataset=None,
                        lr_patience: int | None = None, lr_factor: float = 0.8,
                        early_stopping_patience: int | None = None, restore_best: bool = False,
                        jit_compile: bool = False,
                        strategy: tf.distribute.Strategy | None = None, seed: int | None = None,
                        log: Callable[[str], None] | None = None, ckpt_dir=None,
                        num_levels: int | None = None, channel: str = "awgn") -> dict:
    """Train the channel mapper and demapper with the source code frozen (stage 2).

    Only the channel mapper's and demapper's weights change; the source demapper (and
    mapper) are used as fixed functions and the distortion is measured at the output of
    the source demapper (S1 Sec. III-B, S0 Sec. II-C).

    Parameters
    ----------
    channel_mapper : :class:`~sem_sionna.nets.split.ChannelMapper` or
        :class:`~sem_sionna.nets.importance.ImportanceChannelMapper`.
    channel_demapper : :class:`~sem_sionna.nets.split.ChannelDemapper` or
        :class:`~sem_sionna.nets.importance.ImportanceChannelDemapper`.
    source_demapper : trained :class:`~sem_sionna.nets.split.SourceDemapper` (frozen).
    dataset : images (then ``source_mapper`` is required and ``u = round(f(x))``), or
        ``(bits, images)`` pairs with precomputed source bits; a tf.data.Dataset (batched)
        or arrays (batched with ``batch_size``).
    snr_db : float or (low, high) -- training SNR in dB, fixed or uniform per example.
    source_mapper : trained :class:`~sem_sionna.nets.split.SourceMapper` or None.
    interface : the stage-1 interface or None -- its ``eps`` feeds importance mappers.
    estimator : "vimco" (S1, default) or "ste" (S0).
    num_levels : int or None -- also log the BER of each of ``num_levels`` contiguous bit
        groups (``ber_level_1`` .. ``ber_level_N``, S1's reliability levels) per epoch.
    channel : "awgn" (default) or "rayleigh" -- the training channel,
        :class:`~sem_sionna.links.analog.SISOChannel` as in the links: over Rayleigh block
        fading the mapper gets the average SNR and the demapper the equalised block and
        its effective SNR (S0 trains its Rayleigh models this way).
    other parameters : as in :func:`train_source_stage`.

    Output
    ------
    history : dict of lists per epoch -- ``loss``, ``mse``, ``psnr``, ``ber`` (fraction of
        sampled bits ``v`` differing from ``u``), ``ber_level_i`` with ``num_levels``,
        ``lr``, ``epoch_time_s``, ``val_mse``.
    """
    estimator = _check_estimator(estimator)
    if channel not in SISO_MODELS:
        raise ValueError(f"`channel` must be one of {list(SISO_MODELS)}, got {channel!r}")
    levels = None if num_levels is None else check_positive_int(num_levels, "num_levels")
    j = check_positive_int(num_samples, "num_samples", minimum=2 if estimator == "vimco" else 1)
    scale = float(distortion_scale)
    if not scale > 0:
        raise ValueError(f"`distortion_scale` must be > 0, got {distortion_scale!r}")
    if isinstance(snr_db, (tuple, list)):
        if len(snr_db) != 2 or not snr_db[0] <= snr_db[1]:
            raise ValueError(f"`snr_db` must be a float or a (low, high) pair, got {snr_db!r}")
        snr_range = (float(snr_db[0]), float(snr_db[1]))
    else:
        snr_range = (float(snr_db), float(snr_db))
    importance = isinstance(channel_mapper, ImportanceChannelMapper)
    if importance != isinstance(channel_demapper, ImportanceChannelDemapper):
        raise TypeError("`channel_mapper` and `channel_demapper` must both be importance-aware "
                        "or both plain")
    if importance and interface is None:
        raise ValueError("importance-aware mappers need the stage-1 `interface` (for its eps)")
    ds = _as_dataset(dataset, batch_size, seed)
    val = None if val_dataset is None else _as_dataset(val_dataset, batch_size, seed)
    paired = isinstance(ds.element_spec, tuple)
    if not paired and source_mapper is None:
        raise ValueError("`source_mapper` is required when `dataset` yields images only")
    num_bits = channel_mapper.num_bits
    if importance:
        eps_const = (interface.eps_for(num_bits) if hasattr(interface, "eps_for")
                     else interface.eps)
    with strategy_scope(strategy):
        sample_seed = keras.random.SeedGenerator(seed)
        snr_seed = keras.random.SeedGenerator(None if seed is None
                                              else derive_seed(seed, "channel_stage", "snr"))
        medium = SISOChannel(channel, seed=None if seed is None
                             else derive_seed(seed, "channel_stage", "awgn"))
    adaptive_tx = importance or getattr(channel_mapper, "snr_adaptive", False)
    adaptive_rx = importance or getattr(channel_demapper, "snr_adaptive", False)

    def split_batch(batch):
        if paired:
            bits, images = batch
            return tf.cast(bits, tf.float32), tf.cast(images, tf.float32)
        images = tf.cast(batch, tf.float32)
        return tf.stop_gradient(tf.round(source_mapper(images))), images

    def transmit(u, snr, reps):
        """Map, replicate ``reps`` times, add noise, demap: -> probs [reps * b, M]."""
        eps = None
        if importance:
            eps = tf.stop_gradient(tf.convert_to_tensor(eps_const))
            z = channel_mapper(u, eps, snr)
        else:
            z = channel_mapper(u, snr) if adaptive_tx else channel_mapper(u)
        z = tf.tile(z, [reps, 1])
        snr_r = tf.tile(snr, [reps])
        y, no_eff = medium(z, snrdb2no(snr_r))
        if channel != "awgn":  # the receiver's SNR after equalisation
            snr_r = no2snrdb(tf.maximum(no_eff, 1e-12))
        if importance:
            return channel_demapper(y, eps, snr_r)
        return channel_demapper(y, snr_r) if adaptive_rx else channel_demapper(y)

    def draw_snr(u):
        return keras.random.uniform(tf.shape(u)[:1], snr_range[0], snr_range[1] + 1e-9,
                                    seed=snr_seed)

    # build the channel pair before collecting variables
    spec = ds.element_spec
    with strategy_scope(strategy):
        if paired:
            u0 = tf.zeros([1, num_bits])
        else:
            u0 = tf.round(source_mapper(tf.zeros([1] + list(spec.shape[1:]))))
        transmit(u0, tf.fill([1], snr_range[0]), 1)
    variables = channel_mapper.trainable_variables + channel_demapper.trainable_variables

    def level_bers(v, u):
        if levels is None:
            return {}
        err = tf.abs(tf.stop_gradient(v) - u)
        err = tf.reshape(err, [-1, levels, num_bits // levels])
        per = tf.reduce_mean(err, axis=[0, 2])
        return {f"ber_level_{i + 1}": per[i] for i in range(levels)}

    def step(batch):
        u, images = split_batch(batch)
        snr = draw_snr(u)
        npix = _mse_scale(images)
        if estimator == "vimco":
            probs = tf.reshape(transmit(u, snr, j), [j, -1, num_bits])      # [J, b, M]
            sampled = {}

            def loss_fn(v):
                sampled["v"] = v
                return scale * _sse(images[None], _decode_samples(source_demapper, v, images))

            surrogate, objective, losses = vimco_loss(probs, loss_fn, j, seed=sample_seed)
            ber = tf.reduce_mean(tf.abs(sampled["v"] - u[None]))
            mse = tf.reduce_mean(losses) / (scale * npix)
            return surrogate, {"loss": objective, "mse": mse, "ber": ber,
                               **level_bers(sampled["v"][0], u)}
        v = _sample_ste(transmit(u, snr, 1), sample_seed)
        x_hat = source_demapper(v)
        mse = tf.reduce_mean(tf.square(images - x_hat))
        ber = tf.reduce_mean(tf.abs(tf.stop_gradient(v) - u))
        return mse, {"loss": mse, "mse": mse, "ber": ber, **level_bers(v, u)}

    def eval_step(batch):
        u, images = split_batch(batch)
        v = tf.round(transmit(u, draw_snr(u), 1))
        x_hat = source_demapper(v)
        return {"mse": _per_example_mse(images, x_hat)}

    trainer = Trainer("channel stage", step, variables, optimizer, lr, jit_compile, strategy,
                      eval_step, _trackables(channel_mapper, channel_demapper), ckpt_dir, log)
    return trainer.fit(ds, epochs, steps_per_epoch, val, lr_patience, lr_factor,
                       early_stopping_patience, restore_best=restore_best)


# ----------------------------------------------------------------------------- DeepJSCC
def train_deepjscc_stage(encoder: keras.layers.Layer, decoder: keras.layers.Layer, dataset,
                         snr_db: float, epochs: int = 1, lr: float = 1e-4, batch_size: int = 32,
                         steps_per_epoch: int | None = None, seed: int | None = None,
                         name: str = "deepjscc", log: Callable[[str], None] | None = None,
                         ckpt_dir=None, val_dataset=None, lr_patience: int | None = None,
                         lr_factor: float = 0.8,
                         early_stopping_patience: int | None = None,
                         restore_best: bool = False) -> dict:
    """Train an analog DeepJSCC encoder and decoder end to end: MSE over AWGN at one SNR.

    The baseline of S1 and S0 (Bourtsoulatze et al.)::

        x --encoder--> z --AWGN(no)--> z_hat --decoder--> x_hat

    Parameters
    ----------
    encoder, decoder : :class:`~sem_sionna.nets.deepjscc.DeepJSCCEncoder` /
        :class:`~sem_sionna.nets.deepjscc.DeepJSCCDecoder`, built (called once).
    dataset : tf.data.Dataset of [b, H, W, 3] images in [0, 1], or an array of images
        (shuffled and batched with ``batch_size``).
    snr_db : float -- training SNR, dB.
    name : str -- stage name in the log lines.
    val_dataset, lr_patience, lr_factor, early_stopping_patience : the validation schedule
        of :func:`train_source_stage` (validation MSE at ``snr_db``).
    other parameters : as in :func:`train_source_stage`.

    Output
    ------
    history : dict of lists per epoch -- ``loss`` and ``mse`` (per pixel), ``psnr``, ``lr``,
        ``epoch_time_s``.
    """
    ds = _as_dataset(dataset, batch_size, seed)
    channel = SISOChannel("awgn", seed=seed)
    no = float(snrdb2no(float(snr_db)))

    val = None if val_dataset is None else _as_dataset(val_dataset, batch_size, seed)

    def reconstruct(images):
        images = tf.cast(images, tf.float32)
        z_hat, _ = channel(encoder(images), no)
        return images, decoder(z_hat)

    def step(images):
        mse = tf.reduce_mean(tf.square(tf.subtract(*reconstruct(images))))
        return mse, {"mse": mse}

    def eval_step(images):
        return {"mse": _per_example_mse(*reconstruct(images))}

    trainer = Trainer(name, step, encoder.trainable_variables + decoder.trainable_variables,
                      lr=lr, eval_fn=eval_step,
                      checkpoint={"encoder": encoder, "decoder": decoder}, ckpt_dir=ckpt_dir,
                      log=log)
    return trainer.fit(ds, epochs, steps_per_epoch, val, lr_patience, lr_factor,
                       early_stopping_patience, restore_best=restore_best)
