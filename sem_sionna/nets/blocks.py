"""Small reusable network blocks in the style of CompressAI, as Keras 3 layers.

The learned mappers of Split DeepJSCC (S1, Tung et al., Figs. 4-5: "cascaded layers of
residual blocks and attention blocks ... described in the CompressAI library") and the
importance-aware mappers of S0 (Kong & Zhang) are composed from these blocks:

* :class:`GDN` -- generalized divisive normalization (Balle et al.), optionally inverse;
* :class:`ResidualBlock`, :class:`ResidualBlockWithStride`, :class:`ResidualBlockUpsample`
  -- CompressAI's residual blocks (Cheng et al. 2020), LeakyReLU + (I)GDN;
* :class:`ResidualUnit`, :class:`AttentionBlock` -- Cheng et al.'s simplified attention;
* :class:`SubpixelConv` -- 3x3 convolution followed by ``depth_to_space`` (Shi et al.);
* :class:`SEBlock` -- squeeze-and-excitation (Hu et al.);
* :class:`DenseResidualBlock`, :class:`TransformerBlock` -- for bit / symbol vectors.

ADJSCC's attention feature module is :class:`~sem_sionna.nets.SNRFeatureAttention`
(:mod:`sem_sionna.nets.feature_attention`).

The image backbones and the symbol helpers built from them are in
:mod:`sem_sionna.nets.transforms`.

Images are channels-last ``[batch, H, W, C]``. Layers that contain sub-layers build them
in ``build`` by tracing ``call`` on symbolic inputs, so a ``.keras`` file reloads its weights.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.scalars import to_float_tensor

__all__ = [
    "GDN",
    "ResidualUnit",
    "ResidualBlock",
    "ResidualBlockWithStride",
    "ResidualBlockUpsample",
    "AttentionBlock",
    "SubpixelConv",
    "SEBlock",
    "DenseResidualBlock",
    "TransformerBlock",
]


class _TracedBuild(keras.layers.Layer):
    """Base for composite layers: ``build`` traces ``call`` symbolically.

    Keras only builds the sub-layers of a layer on its first real call; a reloaded
    ``.keras`` model calls ``build(input_shape)`` instead, so composite layers must
    create every sub-layer's weights there. Tracing ``call`` on ``KerasTensor`` inputs
    does exactly that without running any computation. Positional scalar arguments
    (e.g. ``snr_db`` as a Python float) are converted to tensors before Keras sees them.
    """

    def __call__(self, *args, **kwargs):
        args = [args[0]] + [a if a is None else to_float_tensor(a, f"arg{i}")
                            for i, a in enumerate(args[1:], start=1)]
        for key in ("snr_db", "eps"):
            if kwargs.get(key) is not None:
                kwargs[key] = to_float_tensor(kwargs[key], key)
        return super().__call__(*args, **kwargs)

    def _trace(self, *shapes, dtypes=None):
        dtypes = dtypes or ("float32",) * len(shapes)
        specs = [None if s is None else keras.KerasTensor(tuple(s), dtype=d)
                 for s, d in zip(shapes, dtypes)]
        keras.layers.Layer.compute_output_spec(self, *specs)

    def build(self, input_shape):
        self._trace(input_shape)
        self.built = True

    def _init_rank(self, filters, rank):
        """Set ``filters`` and ``rank`` (1: sequences, 2: images); return the conv class."""
        self.filters = check_positive_int(filters, "filters")
        if rank not in (1, 2):
            raise ValueError(f"`rank` must be 1 or 2, got {rank!r}")
        self.rank = int(rank)
        return keras.layers.Conv2D if self.rank == 2 else keras.layers.Conv1D


class _SNRConditioned(_TracedBuild):
    """``snr_db`` is a required second argument iff ``self.snr_adaptive``."""

    def __call__(self, x, snr_db=None, **kwargs):
        if self.snr_adaptive:
            if snr_db is None:
                raise ValueError(f"`snr_db` is required when {type(self).__name__} has "
                                 "`snr_adaptive=True`")
            return super().__call__(x, snr_db, **kwargs)
        return super().__call__(x, **kwargs)


def _check_nonneg_float(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}")
    return float(value)


def _conv(filters, kernel_size=3, strides=1, name=None):
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", name=name)


@tf.custom_gradient
def _lower_bound(x, bound):
    """``max(x, bound)`` whose gradient also flows below the bound when it points up
    (CompressAI ``LowerBound``), so parameters parked at the bound can leave it."""
    y = tf.maximum(x, bound)

    def grad(dy):
        pass_through = tf.logical_or(x >= bound, dy < 0)
        return tf.where(pass_through, dy, tf.zeros_like(dy)), None

    return y, grad


@keras.saving.register_keras_serializable(package="sem_sionna")
class GDN(keras.layers.Layer):
    """Generalized divisive normalization (Balle et al. 2016), channels last.

    ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)`` (or ``x_i * sqrt(...)`` when
    ``inverse``). ``beta >= beta_min`` and ``gamma >= 0`` are enforced by a lower bound
    whose gradient passes when it points back into the feasible set (CompressAI's
    ``LowerBound``), initialised to ``beta = 1``, ``gamma = 0.1 I`` as in CompressAI.

    Parameters
    ----------
    inverse : bool, default False -- inverse GDN (used in synthesis transforms).
    beta_min : float, default 1e-6 -- lower bound on ``beta`` (keeps the root positive).

    Input
    -----
    x : [batch, ..., C], tf.float32 -- features.

    Output
    ------
    y : [batch, ..., C], tf.float32 -- normalised features.
    """

    def __init__(self, inverse: bool = False, beta_min: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.inverse = bool(inverse)
        self.beta_min = _check_nonneg_float(beta_min, "beta_min")
        if self.beta_min <= 0:
            raise ValueError(f"`beta_min` must be > 0, got {beta_min!r}")

    def build(self, input_shape):
        c = input_shape[-1]
        if c is None:
            raise ValueError("last dimension of the GDN input must be known, "
                             f"got shape {tuple(input_shape)}")
        self.beta = self.add_weight(name="beta", shape=(c,),
                                    initializer=keras.initializers.Ones())
        self.gamma = self.add_weight(
            name="gamma", shape=(c, c),
            initializer=keras.initializers.Constant(0.1 * np.eye(c, dtype=np.float32)))
        self.built = True

    def call(self, x):
        beta = _lower_bound(tf.convert_to_tensor(self.beta), tf.constant(self.beta_min))
        gamma = _lower_bound(tf.convert_to_tensor(self.gamma), tf.constant(0.0))
        norm = tf.tensordot(tf.square(x), gamma, axes=[[-1], [1]]) + beta
        return x * tf.sqrt(norm) if self.inverse else x * tf.math.rsqrt(norm)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "inverse": self.inverse, "beta_min": self.beta_min}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ResidualUnit(_TracedBuild):
    """Bottleneck residual unit of Cheng et al.'s attention block.

    ``y = relu(x + conv1x1(relu(conv3x3(relu(conv1x1(x))))))``, the bottleneck having
    ``filters // 2`` channels (CompressAI ``AttentionBlock.ResidualUnit``). Works on
    images ``[b, H, W, C]`` (2-D convolutions) or sequences ``[b, T, C]`` (1-D).

    Parameters
    ----------
    filters : int -- channels ``C`` of input and output.
    rank : int, 1 or 2, default 2 -- 1-D (sequence) or 2-D (image) convolutions.

    Input
    -----
    x : [batch, H, W, C] or [batch, T, C], tf.float32.

    Output
    ------
    y : same shape, tf.float32.
    """

    def __init__(self, filters: int, rank: int = 2, **kwargs):
        super().__init__(**kwargs)
        conv = self._init_rank(filters, rank)
        half = max(self.filters // 2, 1)
        self.conv_a = conv(half, 1, padding="same")
        self.conv_b = conv(half, 3, padding="same")
        self.conv_c = conv(self.filters, 1, padding="same")

    def call(self, x):
        y = tf.nn.relu(self.conv_a(x))
        y = tf.nn.relu(self.conv_b(y))
        return tf.nn.relu(x + self.conv_c(y))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "rank": self.rank}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ResidualBlock(_TracedBuild):
    """CompressAI ``ResidualBlock``: two 3x3 convolutions with LeakyReLU, identity skip.

    ``y = x' + lrelu(conv(lrelu(conv(x))))``, ``x'`` the input or a 1x1 projection when
    the channel count changes.

    Parameters
    ----------
    filters : int -- output channels.

    Input
    -----
    x : [batch, H, W, C_in], tf.float32.

    Output
    ------
    y : [batch, H, W, filters], tf.float32.
    """

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.conv1 = _conv(self.filters)
        self.conv2 = _conv(self.filters)
        self.skip = None

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            self.skip = _conv(self.filters, 1)
        super().build(input_shape)

    def call(self, x):
        y = tf.nn.leaky_relu(self.conv1(x), 0.01)
        y = tf.nn.leaky_relu(self.conv2(y), 0.01)
        return y + (self.skip(x) if self.skip is not None else x)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


class _ResamplingResidual(_TracedBuild):
    """Body of the resampling residual blocks: ``first`` (resamples), LeakyReLU, 3x3
    ``conv``, (I)GDN or LeakyReLU, plus a resampling ``skip``. Subclasses name the
    factor (``_factor``), pick GDN or IGDN (``_inverse``) and the resampling layer."""

    _factor: str
    _inverse: bool

    def __init__(self, filters: int, factor: int, use_gdn: bool, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        setattr(self, self._factor, check_positive_int(factor, self._factor))
        self.use_gdn = bool(use_gdn)
        self.first = self._resample(self.filters, factor, 3)
        self.conv = _conv(self.filters)
        self.norm = GDN(inverse=self._inverse) if self.use_gdn else None
        self.skip = self._resample(self.filters, factor, 1)

    @staticmethod
    def _resample(filters, factor, kernel_size):
        raise NotImplementedError

    def call(self, x):
        y = tf.nn.leaky_relu(self.first(x), 0.01)
        y = self.conv(y)
        y = self.norm(y) if self.norm is not None else tf.nn.leaky_relu(y, 0.01)
        return y + self.skip(x)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                self._factor: getattr(self, self._factor), "use_gdn": self.use_gdn}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ResidualBlockWithStride(_ResamplingResidual):
    """CompressAI ``ResidualBlockWithStride``: strided 3x3 conv, LeakyReLU, 3x3 conv, GDN.

    The skip is a strided 1x1 convolution. With ``use_gdn=False`` the GDN is replaced by
    a LeakyReLU (cheaper; documented deviation for CPU-sized models).

    Parameters
    ----------
    filters : int -- output channels.
    stride : int, default 2 -- spatial down-sampling factor.
    use_gdn : bool, default True -- GDN after the second convolution.

    Input
    -----
    x : [batch, H, W, C_in], tf.float32.

    Output
    ------
    y : [batch, H/stride, W/stride, filters], tf.float32.
    """

    _factor = "stride"
    _inverse = False

    def __init__(self, filters: int, stride: int = 2, use_gdn: bool = True, **kwargs):
        super().__init__(filters, stride, use_gdn, **kwargs)

    @staticmethod
    def _resample(filters, factor, kernel_size):
        return _conv(filters, kernel_size, factor)


@keras.saving.register_keras_serializable(package="sem_sionna")
class SubpixelConv(_TracedBuild):
    """3x3 convolution to ``filters * r^2`` channels followed by ``depth_to_space(r)``.

    Parameters
    ----------
    filters : int -- output channels.
    upscale : int, default 2 -- spatial up-sampling factor ``r``.

    Input
    -----
    x : [batch, H, W, C_in], tf.float32.

    Output
    ------
    y : [batch, H*r, W*r, filters], tf.float32.
    """

    def __init__(self, filters: int, upscale: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.upscale = check_positive_int(upscale, "upscale")
        self.conv = _conv(self.filters * self.upscale ** 2)

    def call(self, x):
        return tf.nn.depth_to_space(self.conv(x), self.upscale)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "upscale": self.upscale}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ResidualBlockUpsample(_ResamplingResidual):
    """CompressAI ``ResidualBlockUpsample``: sub-pixel conv, LeakyReLU, 3x3 conv, IGDN.

    The skip is a sub-pixel convolution. ``use_gdn=False`` replaces IGDN by LeakyReLU.

    Parameters
    ----------
    filters : int -- output channels.
    upsample : int, default 2 -- spatial up-sampling factor.
    use_gdn : bool, default True -- inverse GDN after the second convolution.

    Input
    -----
    x : [batch, H, W, C_in], tf.float32.

    Output
    ------
    y : [batch, H*upsample, W*upsample, filters], tf.float32.
    """

    _factor = "upsample"
    _inverse = True

    def __init__(self, filters: int, upsample: int = 2, use_gdn: bool = True, **kwargs):
        super().__init__(filters, upsample, use_gdn, **kwargs)

    @staticmethod
    def _resample(filters, factor, kernel_size):
        return SubpixelConv(filters, factor)


@keras.saving.register_keras_serializable(package="sem_sionna")
class AttentionBlock(_TracedBuild):
    """Simplified attention of Cheng et al. (CVPR 2020), CompressAI ``AttentionBlock``.

    ``y = x + a(x) * sigmoid(b(x))`` where ``a`` is three :class:`ResidualUnit` and
    ``b`` three residual units followed by a 1x1 convolution.

    Parameters, input and output are those of :class:`ResidualUnit` (``filters``, ``rank``;
    ``x`` of shape ``[batch, H, W, C]`` or ``[batch, T, C]`` in, the same shape out).
    """

    def __init__(self, filters: int, rank: int = 2, **kwargs):
        super().__init__(**kwargs)
        conv = self._init_rank(filters, rank)
        self.branch_a = [ResidualUnit(self.filters, self.rank) for _ in range(3)]
        self.branch_b = [ResidualUnit(self.filters, self.rank) for _ in range(3)]
        self.mask_conv = conv(self.filters, 1, padding="same")

    def call(self, x):
        a = x
        for unit in self.branch_a:
            a = unit(a)
        b = x
        for unit in self.branch_b:
            b = unit(b)
        return x + a * tf.sigmoid(self.mask_conv(b))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "rank": self.rank}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SEBlock(_TracedBuild):
    """Squeeze-and-excitation (Hu et al. 2018) over the last (channel) axis.

    ``y = x * sigmoid(W2 relu(W1 mean(x)))``, the mean over every axis but batch and
    channels, so it works on images ``[b, H, W, C]`` and sequences ``[b, T, C]``.

    Parameters
    ----------
    reduction : int, default 16 -- bottleneck ratio (hidden units ``max(C // reduction, 1)``).

    Input
    -----
    x : [batch, ..., C], tf.float32, rank >= 3.

    Output
    ------
    y : same shape, tf.float32 -- channel-reweighted features.
    """

    def __init__(self, reduction: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = check_positive_int(reduction, "reduction")
        self.fc1 = None
        self.fc2 = None

    def build(self, input_shape):
        if len(input_shape) < 3 or input_shape[-1] is None:
            raise ValueError("SEBlock input must have rank >= 3 and a known channel "
                             f"dimension, got shape {tuple(input_shape)}")
        c = int(input_shape[-1])
        self.fc1 = keras.layers.Dense(max(c // self.reduction, 1), activation="relu")
        self.fc2 = keras.layers.Dense(c, activation="sigmoid")
        super().build(input_shape)

    def call(self, x):
        axes = list(range(1, len(x.shape) - 1))
        s = tf.reduce_mean(x, axis=axes)
        s = self.fc2(self.fc1(s))
        for _ in axes:
            s = tf.expand_dims(s, 1)
        return x * s

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="sem_sionna")
class DenseResidualBlock(_TracedBuild):
    """Fully connected residual block ``y = prelu(x + W2 prelu(W1 x))``.

    The vector analogue of :class:`ResidualBlock`, used where bits or symbols have no
    spatial layout (channel mapper/demapper of S1 Fig. 5).

    Parameters
    ----------
    units : int -- width of input and output.

    Input
    -----
    x : [batch, ..., units], tf.float32.

    Output
    ------
    y : [batch, ..., units], tf.float32.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.dense1 = keras.layers.Dense(self.units)
        self.act1 = keras.layers.PReLU()
        self.dense2 = keras.layers.Dense(self.units)
        self.act2 = keras.layers.PReLU()

    def build(self, input_shape):
        if input_shape[-1] != self.units:
            raise ValueError(f"last dimension of the input must equal `units`={self.units}, "
                             f"got shape {tuple(input_shape)}")
        super().build(input_shape)

    def call(self, x):
        return self.act2(x + self.dense2(self.act1(self.dense1(x))))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="sem_sionna")
class TransformerBlock(_TracedBuild):
    """Pre-norm Transformer encoder block (ViT, Dosovitskiy et al.) on token sequences.

    ``x = x + MHA(LN(x))``; ``x = x + MLP(LN(x))``, MLP ``dim -> mlp_ratio*dim -> dim``
    with GELU.

    Parameters
    ----------
    num_heads : int, default 4 -- attention heads.
    mlp_ratio : float, default 4.0 -- hidden width of the MLP relative to the token width.

    Input
    -----
    x : [batch, T, dim], tf.float32 -- token sequence.

    Output
    ------
    y : [batch, T, dim], tf.float32.
    """

    def __init__(self, num_heads: int = 4, mlp_ratio: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.mlp_ratio = _check_nonneg_float(mlp_ratio, "mlp_ratio")
        if self.mlp_ratio <= 0:
            raise ValueError(f"`mlp_ratio` must be > 0, got {mlp_ratio!r}")
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.attn = None
        self.mlp1 = None
        self.mlp2 = None

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError("TransformerBlock input must be [batch, tokens, dim] with a "
                             f"known dim, got shape {tuple(input_shape)}")
        dim = int(input_shape[-1])
        self.attn = keras.layers.MultiHeadAttention(
            self.num_heads, key_dim=max(dim // self.num_heads, 1))
        self.mlp1 = keras.layers.Dense(int(round(dim * self.mlp_ratio)), activation="gelu")
        self.mlp2 = keras.layers.Dense(dim)
        super().build(input_shape)

    def call(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h)
        return x + self.mlp2(self.mlp1(self.norm2(x)))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio}
