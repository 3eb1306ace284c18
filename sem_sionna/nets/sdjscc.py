"""SD-JSCC: binary deep JSCC codec and gradient-based semantic weights (Sun et al.).

Q. Sun, C. Guo, Y. Yang, J. Chen, R. Tang, C. Liu, "Deep joint source-channel
coding for wireless image transmission with semantic importance". The codec
maps an image to a binary latent, which a digital link carries::

    x --> SDJSCCEncoder --> e in (0,1)^{h x w x c} --> BinaryQuantizer --> q in {0,1}
      --> [digital link: 5G LDPC + 16-QAM + channel]  --> q_hat
      --> SDJSCCDecoder --> x' --> frozen task network T --> y = T(x')

and is trained with the semantic loss (eq. 13)

    L_SD = 1/B sum_b sum_k w'_k ||f'_k - f_k||^2

where ``f_k``/``f'_k`` are the task network's feature maps of ``x``/``x'`` and the
semantic weights come from the GSW module (eqs. 8-10)::

    w_k^c = 1/(M N) sum_{m,n} dy^c / df_k(m, n)      (mean gradient over the map)
    w_k   = 1/C sum_c w_k^c                          (mean over perception results)
    W'    = r * softmax(tau * W)                     (sum r, dispersion set by tau)

SD-JSCC w/o GSW (the ablation) sets every weight to 1; with ``r = K`` (the default)
the GSW weights average 1 too, so the two losses have the same scale.

Here ``||.||^2`` is averaged over the ``M x N`` positions (the paper sums; the
factor ``M N`` is absorbed in ``r``), and the weights of each task-network stage
are normalised separately so that feature maps of different resolutions can be
combined.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.nets.blocks import ResidualBlock
from sem_sionna.utils.checks import check_positive_int

__all__ = ["BinaryQuantizer", "SDJSCCEncoder", "SDJSCCDecoder",
           "gradient_importance", "semantic_weights", "uniform_weights", "semantic_loss",
           "semantic_map"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class BinaryQuantizer(keras.layers.Layer):
    """Binary quantiser ``Q(e) = 1[e > threshold]`` (eq. 14) with a straight-through gradient.

    The forward value is exactly 0 or 1; the backward pass treats ``Q`` as the
    identity (``dQ/de = 1``), so the encoder in front of it trains end to end.

    Parameters
    ----------
    threshold : float, default 0.5 -- decision threshold.

    Input
    -----
    e : [batch, ...], tf.float32 -- encoder outputs, typically in (0, 1).

    Output
    ------
    q : [batch, ...], tf.float32 -- bits in {0, 1}.
    """

    def __init__(self, threshold: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
            raise TypeError(f"`threshold` must be a float, got {threshold!r}")
        self.threshold = float(threshold)

    def call(self, e):
        e = tf.convert_to_tensor(e)
        if not e.dtype.is_floating:
            raise TypeError(f"`e` must be real floating point, got dtype {e.dtype.name}")
        hard = tf.cast(e > self.threshold, e.dtype)
        return e + tf.stop_gradient(hard - e)

    def compute_output_shape(self, e_shape):
        return e_shape

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def _check_images(shape, name: str, multiple: int):
    shape = tuple(shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise ValueError(f"`{name}` must have shape [b, H, W, 3], got {tuple(shape)}")
    for side in shape[1:3]:
        if side is not None and side % multiple:
            raise ValueError(f"`{name}` height and width must be multiples of {multiple}, "
                             f"got shape {tuple(shape)}")


@keras.saving.register_keras_serializable(package="sem_sionna")
class SDJSCCEncoder(keras.layers.Layer):
    """Convolutional JSCC encoder with residual blocks and a sigmoid output (before ``Q``).

    ``x - 0.5 -> conv5x5/2 -> ReLU -> [conv3x3/2 -> ReLU] * (num_downsamples - 1)
    -> ResidualBlock * num_res_blocks -> conv3x3 (latent_channels) -> sigmoid``
    (:class:`sem_sionna.nets.blocks.ResidualBlock`, CompressAI's).

    Parameters
    ----------
    latent_channels : int -- bits per latent position ``c``; an ``H x W`` image gives
        ``c H W / 4**num_downsamples`` bits.
    filters : int, default 64 -- hidden channels.
    num_res_blocks : int, default 1.
    num_downsamples : int, default 2 -- stride-2 convolutions (>= 1).

    Input
    -----
    images : [b, H, W, 3], tf.float32 -- in [0, 1]; ``H, W`` multiples of
        ``2**num_downsamples``.

    Output
    ------
    e : [b, H/2**d, W/2**d, latent_channels], tf.float32 -- in (0, 1).
    """

    def __init__(self, latent_channels: int, filters: int = 64, num_res_blocks: int = 1,
                 num_downsamples: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.latent_channels = check_positive_int(latent_channels, "latent_channels")
        self.filters = check_positive_int(filters, "filters")
        self.num_res_blocks = check_positive_int(num_res_blocks, "num_res_blocks", minimum=0)
        self.num_downsamples = check_positive_int(num_downsamples, "num_downsamples")
        self.down = [keras.layers.Conv2D(self.filters, 5 if i == 0 else 3, strides=2,
                                         padding="same", name=f"down_{i}")
                     for i in range(self.num_downsamples)]
        self.blocks = [ResidualBlock(self.filters, name=f"res_{i}")
                       for i in range(self.num_res_blocks)]
        self.out = keras.layers.Conv2D(self.latent_channels, 3, padding="same", name="out")

    def build(self, images_shape):
        _check_images(images_shape, "images", 2 ** self.num_downsamples)
        channels = 3
        for conv in self.down:
            conv.build((None, None, None, channels))
            channels = self.filters
        for block in self.blocks:
            block.build((None, None, None, self.filters))
        self.out.build((None, None, None, self.filters))

    def call(self, images):
        _check_images(images.shape, "images", 2 ** self.num_downsamples)
        f = images - 0.5
        for conv in self.down:
            f = tf.nn.relu(conv(f))
        for block in self.blocks:
            f = block(f)
        return tf.sigmoid(self.out(f))

    def compute_output_shape(self, images_shape):
        s = 2 ** self.num_downsamples
        hw = [None if d is None else d // s for d in images_shape[1:3]]
        return (images_shape[0], *hw, self.latent_channels)

    def get_config(self):
        return {**super().get_config(), "latent_channels": self.latent_channels,
                "filters": self.filters, "num_res_blocks": self.num_res_blocks,
                "num_downsamples": self.num_downsamples}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SDJSCCDecoder(keras.layers.Layer):
    """Convolutional JSCC decoder: bits in, image out (mirror of :class:`SDJSCCEncoder`).

    ``2 q - 1 -> conv3x3 -> ReLU -> ResidualBlock * num_res_blocks
    -> [transposed conv3x3/2 -> ReLU] * (num_upsamples - 1)
    -> transposed conv5x5/2 (3) -> sigmoid``.

    Parameters
    ----------
    filters : int, default 64 -- hidden channels.
    num_res_blocks : int, default 1.
    num_upsamples : int, default 2 -- stride-2 transposed convolutions (>= 1).

    Input
    -----
    q_hat : [b, h, w, c], tf.float32 -- received bits in {0, 1} (soft values in [0, 1]
        are accepted too).

    Output
    ------
    x_hat : [b, h 2**u, w 2**u, 3], tf.float32 -- images in (0, 1).
    """

    def __init__(self, filters: int = 64, num_res_blocks: int = 1, num_upsamples: int = 2,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.num_res_blocks = check_positive_int(num_res_blocks, "num_res_blocks", minimum=0)
        self.num_upsamples = check_positive_int(num_upsamples, "num_upsamples")
        self.inp = keras.layers.Conv2D(self.filters, 3, padding="same", name="in")
        self.blocks = [ResidualBlock(self.filters, name=f"res_{i}")
                       for i in range(self.num_res_blocks)]
        self.up = [keras.layers.Conv2DTranspose(
            3 if i == self.num_upsamples - 1 else self.filters,
            5 if i == self.num_upsamples - 1 else 3, strides=2, padding="same", name=f"up_{i}")
            for i in range(self.num_upsamples)]

    def build(self, q_hat_shape):
        if len(q_hat_shape) != 4 or q_hat_shape[-1] is None:
            raise ValueError(f"`q_hat` must have shape [b, h, w, c], got {tuple(q_hat_shape)}")
        self.inp.build((None, None, None, q_hat_shape[-1]))
        for block in self.blocks:
            block.build((None, None, None, self.filters))
        for conv in self.up:
            conv.build((None, None, None, self.filters))

    def call(self, q_hat):
        f = tf.nn.relu(self.inp(2.0 * q_hat - 1.0))
        for block in self.blocks:
            f = block(f)
        for i, conv in enumerate(self.up):
            f = conv(f)
            if i < self.num_upsamples - 1:
                f = tf.nn.relu(f)
        return tf.sigmoid(f)

    def compute_output_shape(self, q_hat_shape):
        s = 2 ** self.num_upsamples
        hw = [None if d is None else d * s for d in q_hat_shape[1:3]]
        return (q_hat_shape[0], *hw, 3)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "num_res_blocks": self.num_res_blocks, "num_upsamples": self.num_upsamples}


# -- GSW module ---------------------------------------------------------------------------

def _stage_indices(layers, num_stages: int) -> list[int]:
    if layers is None:
        return list(range(num_stages))
    layers = [layers] if isinstance(layers, (int, np.integer)) else list(layers)
    if not layers:
        raise ValueError("`layers` must name at least one feature stage")
    out = []
    for i in layers:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) \
                or not -num_stages <= int(i) < num_stages:
            raise ValueError(f"`layers` must hold stage indices in [0, {num_stages}), got "
                             f"{layers!r}")
        out.append(int(i) % num_stages)
    if len(set(out)) != len(out):
        raise ValueError(f"`layers` has repeated stages {layers!r}")
    return out


def gradient_importance(classifier, images, labels=None, layers=None, reduce: str = "mean",
                        batch_size: int = 64, per_image: bool = False) -> list[np.ndarray]:
    """Raw semantic importance ``W`` of every feature map (SD-JSCC eqs. 8-9).

    ``w_k^c`` is the gradient of perception result ``y^c`` (logit ``c``) with respect to
    feature map ``f_k``, averaged over the map's positions (eq. 8) and over the
    images; ``w_k`` combines the classes (eq. 9).

    Parameters
    ----------
    classifier : model with ``features(images)`` and ``classify(maps)`` -- e.g.
        :class:`~sem_sionna.nets.SceneClassifier`; run in inference mode. With a head
        that is linear in the spatial means of the maps (``head="gap"``) the gradients
        are the same for every image; a fully connected head (``head="fc"``) makes
        them depend on the image, as the paper's VGG-type task networks.
    images : [N, H, W, 3], float32 -- images in [0, 1] over which ``W`` is averaged.
    labels : [N] int or None -- None: every class ``c``; otherwise only each image's
        labelled class (Grad-CAM's class-specific gradient; ``reduce`` is ignored).
    layers : int, sequence of int or None -- feature stages to weight (default all).
    reduce : "mean" or "abs", default "mean" -- eq. 9, ``w_k = 1/C sum_c w_k^c``
        (the paper), or ``1/C sum_c |w_k^c|``: the magnitude of the contribution
        whatever its sign. Note that with logits as perception results the signed mean
        is the gradient of the mean logit, a direction the softmax ignores.
    batch_size : int, default 64.
    per_image : bool, default False -- return each image's ``W`` (eqs. 8-9 for that
        image alone) instead of the average over the images.

    Output
    ------
    w : list with one entry per classifier stage: ``[K_i]`` float32 (``[N, K_i]`` with
        ``per_image``; logits per feature unit) for the selected stages, None for the
        others.
    """
    if reduce not in ("mean", "abs"):
        raise ValueError(f"`reduce` must be 'mean' or 'abs', got {reduce!r}")
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"`images` must have shape [N, H, W, 3] with N >= 1, "
                         f"got {images.shape}")
    if labels is not None:
        labels = np.asarray(labels, np.int32)
        if labels.shape != images.shape[:1]:
            raise ValueError(f"`labels` must have shape [{images.shape[0]}], "
                             f"got {labels.shape}")
    batch_size = check_positive_int(batch_size, "batch_size")
    parts = None  # per stage: list of [b, C, K] (or [b, 1, K] with labels) per batch
    stages = None
    for start in range(0, images.shape[0], batch_size):
        x = tf.constant(images[start:start + batch_size])
        with tf.GradientTape(persistent=True) as tape:
            maps = classifier.features(x, training=False)
            for f in maps:
                tape.watch(f)
            logits = classifier.classify(maps, training=False)
            # images are independent in inference mode: the gradient of a sum over the
            # batch gives every image its own gradient
            if labels is not None:
                y = tf.constant(labels[start:start + batch_size])
                targets = [tf.reduce_sum(tf.gather(logits, y, axis=1, batch_dims=1))]
            else:
                targets = [tf.reduce_sum(logits[:, c]) for c in range(logits.shape[-1])]
        if stages is None:
            stages = _stage_indices(layers, len(maps))
            parts = [[] for _ in stages]
        for j, i in enumerate(stages):
            rows = [tf.reduce_mean(tape.gradient(t, maps[i]), axis=[1, 2])  # eq. 8
                    for t in targets]
            parts[j].append(np.asarray(tf.stack(rows, axis=1), np.float64))
        del tape
    out = [None] * len(maps)
    for i, p in zip(stages, parts):
        grads = np.concatenate(p, axis=0)  # w_k^c per image, [N, C, K]
        if per_image:
            if reduce == "abs" and labels is None:
                grads = np.abs(grads)
            out[i] = grads.mean(axis=1).astype(np.float32)  # eq. 9 per image, [N, K]
            continue
        per_class = grads.mean(axis=0)  # w_k^c over the images, [C, K]
        if reduce == "abs" and labels is None:
            per_class = np.abs(per_class)
        out[i] = per_class.mean(axis=0).astype(np.float32)  # eq. 9
    return out


def semantic_weights(importance, tau: float, r: float | None = None, gsw: bool = True) -> list:
    """``W' = r * softmax(tau * W)`` per stage (SD-JSCC eq. 10), or the ablation's ones.

    Parameters
    ----------
    importance : list of ``[K_i]`` arrays or None -- raw ``W`` from
        :func:`gradient_importance` (a single array is treated as one stage); None
        entries (stages left out) stay None.
    tau : float -- temperature (>= 0; 0 gives equal weights ``r / K_i``).
    r : float or None, default None -- sum of the weights of each stage (> 0); None:
        ``K_i``, the number of maps, so that the weights average 1 like the ablation's
        and ``tau -> 0`` is exactly SD-JSCC w/o GSW.
    gsw : bool, default True -- False: the ablation SD-JSCC w/o GSW, every weight 1
        (Sec. IV-C2: "the semantic weights of all feature maps ... are equal to 1").

    Output
    ------
    w : list of ``[K_i]`` float32 arrays (or None) -- positive, each summing to ``r``,
        ordered as ``W`` (a larger ``w_k`` gives a larger ``w'_k`` when ``tau > 0``).
    """
    tau = float(tau)
    if not tau >= 0.0:
        raise ValueError(f"`tau` must be >= 0, got {tau!r}")
    if r is not None:
        r = float(r)
        if not r > 0.0:
            raise ValueError(f"`r` must be > 0, got {r!r}")
    if isinstance(importance, np.ndarray) and importance.ndim == 1:
        importance = [importance]
    out = []
    for w in importance:
        if w is None:
            out.append(None)
            continue
        w = np.asarray(w, np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"every entry of `importance` must be a non-empty vector, "
                             f"got shape {w.shape}")
        if not gsw:
            out.append(np.ones(w.size, np.float32))
            continue
        z = tau * w
        z = np.exp(z - z.max())
        total = float(w.size) if r is None else r
        out.append((total * z / z.sum()).astype(np.float32))
    return out


def uniform_weights(like, value: float = 1.0) -> list:
    """Equal weights ``value`` (the paper: 1) for every non-None entry of ``like``:
    SD-JSCC w/o GSW.

    ``like`` is a list of ``[K_i]`` arrays (e.g. the GSW weights, so that the same
    stages are weighted) or of channel counts ``K_i``; None entries stay None.
    """
    value = float(value)
    if not value > 0.0:
        raise ValueError(f"`value` must be > 0, got {value!r}")
    out = []
    for k in like:
        if k is None:
            out.append(None)
            continue
        k = np.asarray(k).size if np.ndim(k) else check_positive_int(k, "like")
        out.append(np.full(k, value, np.float32))
    return out


def semantic_loss(maps, maps_hat, weights) -> tf.Tensor:
    """Semantic-weighted feature distance (SD-JSCC eq. 13).

    Input
    -----
    maps : list of ``[b, M_i, N_i, K_i]`` tensors -- task features of the sent images.
    maps_hat : list of tensors shaped as ``maps`` -- features of the received images.
    weights : list of ``[K_i]`` arrays/tensors -- e.g. from :func:`semantic_weights`.

    Output
    ------
    loss : [], tf.float32 -- ``1/B sum_b sum_i sum_k w_{i,k} mean_{m,n}
        (f'_{i,k} - f_{i,k})^2``.
    """
    if not (len(maps) == len(maps_hat) == len(weights)) or not maps:
        raise ValueError(f"`maps`, `maps_hat` and `weights` must be non-empty lists of the "
                         f"same length, got {len(maps)}, {len(maps_hat)}, {len(weights)}")
    total = 0.0
    for f, f_hat, w in zip(maps, maps_hat, weights):
        w = tf.convert_to_tensor(w, tf.float32)
        if f.shape[-1] is not None and w.shape[-1] != f.shape[-1]:
            raise ValueError(f"`weights` entry has {w.shape[-1]} weights for feature maps "
                             f"with {f.shape[-1]} channels")
        per_map = tf.reduce_mean(tf.square(f_hat - f), axis=[1, 2])  # [b, K]
        total += tf.reduce_mean(tf.reduce_sum(per_map * w, axis=-1))
    return total


def semantic_map(classifier, images, weights, stage: int = -1) -> np.ndarray:
    """Semantic-weighted activation ``sum_k w'_k f_k`` of one stage, resized to the image.

    A Grad-CAM-like picture of where the weighted features respond.

    Input
    -----
    images : [N, H, W, 3], float32 -- in [0, 1].
    weights : [K] array -- weights of the stage's ``K`` feature maps.

    Output
    ------
    maps : [N, H, W], float32 -- each scaled to [0, 1] (ReLU of the weighted sum).
    """
    images = tf.convert_to_tensor(np.asarray(images, np.float32))
    f = classifier.features(images, training=False)[stage]
    w = tf.convert_to_tensor(weights, tf.float32)
    m = tf.nn.relu(tf.reduce_sum(f * w, axis=-1, keepdims=True))
    m = tf.image.resize(m, tf.shape(images)[1:3], method="bilinear")[..., 0]
    m = m / (tf.reduce_max(m, axis=[1, 2], keepdims=True) + 1e-12)
    return np.asarray(m, np.float32)
