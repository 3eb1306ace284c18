"""Source and channel mappers of Split DeepJSCC (S1, Tung et al.).

::

    x --SourceMapper f--> p in (0,1)^M --round--> u --ChannelMapper h--> z in C^K
                                                                         | AWGN
    x_hat <--SourceDemapper g-- v <--round-- q in (0,1)^M <--ChannelDemapper-- y

Stage 1 trains ``f`` and ``g`` over a binary interface (:mod:`sem_sionna.nets.interface`);
stage 2 freezes them and trains ``h`` and ``q`` over the channel
(:mod:`sem_sionna.train.split`). During training the mappers' sigmoid outputs are the
parameters of independent Bernoulli bits (S1 eqs. (5), (14)); deployed, they are rounded.

Architectures (S1 Figs. 4-5 are drawn from CompressAI blocks; widths are configurable):

* source mapper: :class:`~sem_sionna.nets.blocks.AnalysisTransform` (residual blocks with
  stride, attention block) then a head to ``M`` sigmoid outputs;
* source demapper: the mirror image with :class:`~sem_sionna.nets.blocks.SynthesisTransform`;
* channel mapper / demapper: fully connected residual blocks with a concatenation skip
  (Fig. 5: "two arrows that merge into one represent the concatenation"), since bits and
  symbols carry no spatial layout; the mapper ends with the power normalisation of eq. (13).

Heads (``head`` argument): ``"dense"`` flattens ``latent_filters`` feature maps and maps
them to ``M`` with a dense layer (any ``M``; S1's ``M = 10000``); ``"conv"`` uses a 3x3
convolution to ``M / (h w)`` channels and flattens *channel-major* (bit index
``c * h * w + position``), so each contiguous group of bits -- one reliability level of a
:class:`~sem_sionna.nets.interface.MultiLevelBSC` -- covers the whole image; cheaper,
needs ``M`` divisible by ``h w`` (64 for 32x32 images and two down-samplings).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.nets.blocks import DenseResidualBlock, _SNRConditioned
from sem_sionna.nets.feature_attention import _snr_column
from sem_sionna.nets.transforms import (AnalysisTransform, PowerNormalization,
                                        SynthesisTransform, _check_image_shape,
                                        _check_vector_shape, complex_to_real,
                                        real_to_complex)
from sem_sionna.utils.checks import check_complex, check_positive_int, check_real

__all__ = ["SourceMapper", "SourceDemapper", "ChannelMapper", "ChannelDemapper"]

_HEADS = ("dense", "conv")


def _check_head(head):
    if head not in _HEADS:
        raise ValueError(f"`head` must be one of {list(_HEADS)}, got {head!r}")
    return head


def _check_image_size(image_size):
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`image_size` must be an int or (H, W), got {image_size!r}") from err
    if h <= 0 or w <= 0:
        raise ValueError(f"`image_size` must be positive, got {image_size!r}")
    return h, w


def _flatten_channel_major(x):
    """[b, h, w, c] -> [b, c*h*w], channel index slowest."""
    h, w, c = x.shape[1:]
    return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, h * w * c])


def _unflatten_channel_major(v, h, w):
    """Inverse of :func:`_flatten_channel_major`: [b, c*h*w] -> [b, h, w, c]."""
    return tf.transpose(tf.reshape(v, [-1, v.shape[-1] // (h * w), h, w]), [0, 2, 3, 1])


def _set_transform_args(layer, filters, head, latent_filters, use_gdn, snr_adaptive) -> None:
    """Checks and sets the arguments the encoder and decoder bodies share."""
    layer.filters = check_positive_int(filters, "filters")
    layer.head = _check_head(head)
    layer.latent_filters = check_positive_int(latent_filters, "latent_filters")
    layer.use_gdn = bool(use_gdn)
    layer.snr_adaptive = bool(snr_adaptive)


def _init_dense_trunk(layer, units, num_blocks, snr_adaptive, num_outputs: int) -> None:
    """Input Dense + PReLU, ``num_blocks`` :class:`DenseResidualBlock` and the output Dense
    of the channel mapper and demapper (S1 Fig. 5)."""
    layer.units = check_positive_int(units, "units")
    layer.num_blocks = check_positive_int(num_blocks, "num_blocks", minimum=0)
    layer.snr_adaptive = bool(snr_adaptive)
    layer.inp = keras.layers.Dense(layer.units)
    layer.inp_act = keras.layers.PReLU()
    layer.blocks = [DenseResidualBlock(layer.units) for _ in range(layer.num_blocks)]
    layer.out = keras.layers.Dense(num_outputs)


def _dense_trunk(layer, x, snr_db):
    """Forward pass of :func:`_init_dense_trunk`'s layers: ``[x, snr/10]`` (if SNR-adaptive)
    -> ``h0`` -> residual blocks -> ``out(concat(h0, h))``."""
    if layer.snr_adaptive:
        x = tf.concat([x, _snr_column(snr_db, x) / 10.0], -1)
    h0 = layer.inp_act(layer.inp(x))
    h = h0
    for block in layer.blocks:
        h = block(h)
    return layer.out(tf.concat([h0, h], -1))


class _SymbolsIn(_SNRConditioned):
    """Layers taking ``y`` ``[batch, num_symbols]`` complex symbols (and ``snr_db``)."""

    def build(self, y_shape, snr_db_shape=None):
        _check_vector_shape(y_shape, self.num_symbols, "y", "num_symbols")
        self._trace(y_shape, snr_db_shape, dtypes=("complex64", "float32"))
        self.built = True


class _ImageToVector(_SNRConditioned):
    """Shared encoder body: analysis transform + head to ``num_outputs`` reals."""

    def _init_encoder(self, num_outputs, filters, num_downsamples, head, latent_filters,
                      use_gdn, snr_adaptive):
        _set_transform_args(self, filters, head, latent_filters, use_gdn, snr_adaptive)
        self.num_downsamples = check_positive_int(num_downsamples, "num_downsamples")
        self._num_outputs = num_outputs
        self.backbone = AnalysisTransform(self.filters, self.num_downsamples, self.use_gdn,
                                          self.snr_adaptive)
        self.head_conv = None
        self.head_dense = None

    def _build_head(self, x_shape, what):
        _check_image_shape(x_shape, 2 ** self.num_downsamples, "images")
        if x_shape[1] is None or x_shape[2] is None:
            raise ValueError(f"H and W of `images` must be known, got shape {tuple(x_shape)}")
        hw = (x_shape[1] // 2 ** self.num_downsamples) * (x_shape[2] // 2 ** self.num_downsamples)
        if self.head == "conv":
            if self._num_outputs % hw:
                raise ValueError(
                    f"with head='conv', {what} ({self._num_outputs}) must be a multiple of the "
                    f"number of latent positions h*w={hw} for images of shape {tuple(x_shape)}; "
                    "use head='dense' for other sizes")
            self.head_conv = keras.layers.Conv2D(self._num_outputs // hw, 3, padding="same")
        else:
            self.head_conv = keras.layers.Conv2D(self.latent_filters, 3, padding="same")
            self.head_dense = keras.layers.Dense(self._num_outputs)

    def _encode(self, x, snr_db=None):
        y = self.backbone(x, snr_db) if self.snr_adaptive else self.backbone(x)
        y = self.head_conv(y)
        if self.head == "conv":
            return _flatten_channel_major(y)
        return self.head_dense(_flatten_channel_major(y))


class _VectorToImage(_SNRConditioned):
    """Shared decoder body: inverse head + synthesis transform."""

    def _init_decoder(self, num_inputs, image_size, filters, num_upsamples, head,
                      latent_filters, use_gdn, snr_adaptive):
        self.image_size = _check_image_size(image_size)
        _set_transform_args(self, filters, head, latent_filters, use_gdn, snr_adaptive)
        self.num_upsamples = check_positive_int(num_upsamples, "num_upsamples")
        f = 2 ** self.num_upsamples
        h, w = self.image_size
        if h % f or w % f:
            raise ValueError(f"`image_size` {self.image_size} must be a multiple of "
                             f"2**num_upsamples={f}")
        self._hw = (h // f, w // f)
        if self.head == "conv" and num_inputs % (self._hw[0] * self._hw[1]):
            raise ValueError(
                f"with head='conv', the input length ({num_inputs}) must be a multiple of the "
                f"number of latent positions h*w={self._hw[0] * self._hw[1]}; "
                "use head='dense' for other sizes")
        self._num_inputs = num_inputs
        self.head_dense = (keras.layers.Dense(self._hw[0] * self._hw[1] * self.latent_filters)
                           if self.head == "dense" else None)
        self.head_conv = keras.layers.Conv2D(self.filters, 3, padding="same")
        self.backbone = SynthesisTransform(self.filters, self.num_upsamples, 3, self.use_gdn,
                                           self.snr_adaptive)

    def _decode(self, v, snr_db=None):
        if self.head == "dense":
            v = self.head_dense(v)
        y = self.head_conv(_unflatten_channel_major(v, *self._hw))
        return self.backbone(y, snr_db) if self.snr_adaptive else self.backbone(y)


@keras.saving.register_keras_serializable(package="sem_sionna")
class SourceMapper(_ImageToVector):
    """Source mapper ``f_theta`` of Split DeepJSCC (S1 Fig. 4): image -> ``M`` bit probabilities.

    Parameters
    ----------
    num_bits : int -- ``M``, length of the binary codeword.
    filters : int, default 64 -- channels ``C`` of the backbone (S1 Fig. 4's ``C``).
    num_downsamples : int, default 2 -- stride-2 stages (32x32 -> 8x8).
    head : "dense" or "conv", default "dense" -- see the module docstring.
    latent_filters : int, default 16 -- feature maps flattened by the dense head.
    use_gdn : bool, default True -- GDN in the strided residual blocks.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1]; H, W multiples of 2**n.

    Output
    ------
    probs : [batch, M], tf.float32 -- P(bit = 1) in (0, 1) (sigmoid). Round for the
        deterministic codeword ``u`` (S1 eq. (5)).
    """

    def __init__(self, num_bits: int, filters: int = 64, num_downsamples: int = 2,
                 head: str = "dense", latent_filters: int = 16, use_gdn: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = check_positive_int(num_bits, "num_bits")
        self._init_encoder(self.num_bits, filters, num_downsamples, head, latent_filters,
                           use_gdn, False)

    def build(self, images_shape):
        self._build_head(images_shape, "num_bits")
        self._trace(images_shape)
        self.built = True

    def call(self, images):
        check_real(images, "images")
        return tf.sigmoid(self._encode(images))

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits, "filters": self.filters,
                "num_downsamples": self.num_downsamples, "head": self.head,
                "latent_filters": self.latent_filters, "use_gdn": self.use_gdn}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SourceDemapper(_VectorToImage):
    """Source demapper ``g_eta`` of Split DeepJSCC (S1 Fig. 4): ``M`` bits -> image.

    Bits are mapped to ``2 b - 1`` before the first layer.

    Parameters
    ----------
    num_bits : int -- ``M``.
    image_size : int or (H, W), default (32, 32) -- output image size.
    filters : int, default 64 -- channels ``C``.
    num_upsamples : int, default 2 -- x2 up-samplings.
    head : "dense" or "conv", default "dense" -- must match the :class:`SourceMapper`'s
        layout only in the sense that a "conv" head reads bits channel-major.
    latent_filters : int, default 16 -- feature maps produced by the dense head.
    use_gdn : bool, default True -- inverse GDN in the up-sampling blocks.

    Input
    -----
    bits : [batch, M], tf.float32 -- bits in {0, 1} (or soft values in [0, 1]).

    Output
    ------
    images : [batch, H, W, 3], tf.float32 -- reconstruction in (0, 1) (sigmoid).
    """

    def __init__(self, num_bits: int, image_size=(32, 32), filters: int = 64,
                 num_upsamples: int = 2, head: str = "dense", latent_filters: int = 16,
                 use_gdn: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = check_positive_int(num_bits, "num_bits")
        self._init_decoder(self.num_bits, image_size, filters, num_upsamples, head,
                           latent_filters, use_gdn, False)

    def build(self, bits_shape):
        _check_vector_shape(bits_shape, self.num_bits, "bits", "num_bits")
        self._trace(bits_shape)
        self.built = True

    def call(self, bits):
        check_real(bits, "bits")
        return self._decode(2.0 * bits - 1.0)

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits,
                "image_size": list(self.image_size), "filters": self.filters,
                "num_upsamples": self.num_upsamples, "head": self.head,
                "latent_filters": self.latent_filters, "use_gdn": self.use_gdn}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ChannelMapper(_SNRConditioned):
    """Channel mapper ``h_psi`` of Split DeepJSCC (S1 Fig. 5, eq. (13)): ``M`` bits -> ``K``
    complex symbols.

    ``2u - 1 [, snr_db/10] -> Dense(units) + PReLU = h0 -> num_blocks x DenseResidualBlock
    -> concat(h0, .) -> Dense(2K) -> pairs -> complex -> PowerNormalization``.

    Parameters
    ----------
    num_bits : int -- ``M``.
    num_symbols : int -- ``K``, complex channel uses per codeword.
    units : int, default 256 -- hidden width.
    num_blocks : int, default 2 -- residual blocks (>= 0).
    snr_adaptive : bool, default False -- take ``snr_db`` as a second input.
    power : float, default 1.0 -- average power per complex symbol.

    Input
    -----
    bits : [batch, M], tf.float32 -- bits in {0, 1}.
    snr_db : scalar or [batch], tf.float32, only when ``snr_adaptive`` -- SNR in dB.

    Output
    ------
    z : [batch, K], tf.complex64 -- symbols with ``mean |z_k|^2 = power`` per example.
    """

    def __init__(self, num_bits: int, num_symbols: int, units: int = 256, num_blocks: int = 2,
                 snr_adaptive: bool = False, power: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = check_positive_int(num_bits, "num_bits")
        self.num_symbols = check_positive_int(num_symbols, "num_symbols")
        self.power = float(power)
        _init_dense_trunk(self, units, num_blocks, snr_adaptive, 2 * self.num_symbols)
        self.norm = PowerNormalization(self.power)

    def build(self, bits_shape, snr_db_shape=None):
        _check_vector_shape(bits_shape, self.num_bits, "bits", "num_bits")
        self._trace(bits_shape, snr_db_shape)
        self.built = True

    def call(self, bits, snr_db=None):
        check_real(bits, "bits")
        return self.norm(real_to_complex(_dense_trunk(self, 2.0 * bits - 1.0, snr_db)))

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits,
                "num_symbols": self.num_symbols, "units": self.units,
                "num_blocks": self.num_blocks, "snr_adaptive": self.snr_adaptive,
                "power": self.power}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ChannelDemapper(_SymbolsIn):
    """Channel demapper ``q_phi`` of Split DeepJSCC (S1 Fig. 5, eq. (14)): ``K`` symbols -> ``M``
    bit probabilities.

    ``(Re y_0, Im y_0, ...) [, snr_db/10] -> Dense(units) + PReLU = h0 -> num_blocks x
    DenseResidualBlock -> concat(h0, .) -> Dense(M) -> sigmoid``. The output parameterises
    independent Bernoulli bits (trained with VIMCO or a straight-through estimator);
    round it for the deterministic decision ``v`` (S1 eq. (5)).

    Parameters
    ----------
    num_symbols : int -- ``K``.
    num_bits : int -- ``M``.
    units : int, default 256 -- hidden width.
    num_blocks : int, default 2 -- residual blocks (>= 0).
    snr_adaptive : bool, default False -- take ``snr_db`` as a second input.

    Input
    -----
    y : [batch, K], tf.complex64 -- equalised channel output, one entry per channel use.
    snr_db : scalar or [batch], tf.float32, only when ``snr_adaptive`` -- SNR in dB.

    Output
    ------
    probs : [batch, M], tf.float32 -- P(bit = 1) in (0, 1).
    """

    def __init__(self, num_symbols: int, num_bits: int, units: int = 256, num_blocks: int = 2,
                 snr_adaptive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_symbols = check_positive_int(num_symbols, "num_symbols")
        self.num_bits = check_positive_int(num_bits, "num_bits")
        _init_dense_trunk(self, units, num_blocks, snr_adaptive, self.num_bits)

    def call(self, y, snr_db=None):
        check_complex(y, "y")
        return tf.sigmoid(_dense_trunk(self, complex_to_real(y), snr_db))

    def get_config(self):
        return {**super().get_config(), "num_symbols": self.num_symbols,
                "num_bits": self.num_bits, "units": self.units,
                "num_blocks": self.num_blocks, "snr_adaptive": self.snr_adaptive}
