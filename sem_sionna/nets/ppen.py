"""Pre-processing network (PPEN) of SCSC (Han et al., Sec. III-A, Figs. 2-3).

PPEN filters an image before a standard codec (BPG at quantisation parameter
``Q``) so that the decoded image keeps what a downstream task needs::

            +-- 1x1 conv - QA - ReLU - 1x1 conv - QA - ReLU - 1x1 conv --+
    x_o ----+                                                             (+)-- x_o + . --> clip[0,1] --> x
            +-- conv - QA - [down - QA]*S - DAC*D - [up + skip - QA]*S - conv --+

* upper branch: pixel-wise non-linear transform (1x1 convolutions + QA layers);
* lower branch: a coarse-to-fine encoder-decoder whose coarsest stage holds the
  distortion-aware compensation (DAC) blocks (Fig. 3: convolution, deformable
  convolution, strip pooling);
* QA (quantisation adaptive) layers scale intermediate features by a vector that a
  two-layer perceptron computes from ``Q``: ``f_o = f_i * v(Q)``.

Both branches end in zero-initialised convolutions and are added to the input,
so an untrained PPEN returns its input unchanged (the codec chain starts from
its standard operating point). ``use_qa=False`` builds the "SCSC w/o QA"
ablation (one PPEN per ``Q``).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.nets.deform import DeformableConv2D
from sem_sionna.utils.scalars import ScalarArgsLayer, to_float_tensor
from sem_sionna.utils.checks import check_positive_int, check_range

__all__ = ["SCSC_Q_VALUES", "QuantizationAdaptive", "StripPooling", "DACBlock", "PPEN"]

#: BPG quantisation parameters used by SCSC (Sec. IV-A-4).
SCSC_Q_VALUES = (28, 31, 34, 37, 41)


def _q_per_example(q: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """``q`` (scalar, ``[b]`` or ``[b, 1]``) as ``[b, 1]`` float32."""
    q = tf.cast(q, tf.float32)
    return tf.broadcast_to(tf.reshape(q, [-1, 1]), tf.stack([batch, 1]))


@keras.saving.register_keras_serializable(package="sem_sionna")
class QuantizationAdaptive(ScalarArgsLayer):
    """Quantisation adaptive (QA) layer: features scaled by an MLP of ``Q``.

    ``v = Dense(C)(ReLU(Dense(hidden_units)(q_n)))`` with ``q_n`` the codec
    quantisation parameter mapped linearly from ``q_range`` to ``[-1, 1]``; the
    output is ``f_i * v`` (Han et al., Sec. III-A-2). The second layer's bias
    starts at one and the first layer has no bias, so at the centre of ``q_range``
    the layer starts as the identity and other ``Q`` scale features differently.

    Parameters
    ----------
    hidden_units : int, default 32 -- width of the hidden layer.
    q_range : (float, float), default (28, 41) -- range of ``Q`` mapped to [-1, 1].

    Input
    -----
    features : [batch, H, W, C], tf.float32 -- feature maps.
    q : scalar, [batch] or [batch, 1], tf.float32 -- codec quantisation parameter.

    Output
    ------
    features : [batch, H, W, C], tf.float32 -- scaled feature maps.
    """

    _scalar_args = ("q",)

    def __init__(self, hidden_units=32, q_range=(28.0, 41.0), **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = check_positive_int(hidden_units, "hidden_units")
        self.q_range = check_range(q_range, "q_range")
        self.hidden = keras.layers.Dense(self.hidden_units, activation="relu",
                                         use_bias=False, name="hidden")
        self.scale = None

    def build(self, features_shape, q_shape=None):
        if features_shape[-1] is None:
            raise ValueError("last dimension of `features` must be known, "
                             f"got shape {tuple(features_shape)}")
        self.hidden.build((None, 1))
        self.scale = keras.layers.Dense(int(features_shape[-1]), bias_initializer="ones",
                                        name="scale")
        self.scale.build((None, self.hidden_units))

    def scale_vector(self, q: tf.Tensor, batch) -> tf.Tensor:
        """Scale vectors ``v(Q)`` as [batch, C]."""
        low, high = self.q_range
        q = _q_per_example(q, batch)
        q_n = 2.0 * (q - low) / (high - low) - 1.0
        return self.scale(self.hidden(q_n))

    def call(self, features, q):
        v = self.scale_vector(q, tf.shape(features)[0])
        return features * v[:, None, None, :]

    def compute_output_shape(self, features_shape, q_shape=None):
        return features_shape

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units,
                "q_range": self.q_range}


@keras.saving.register_keras_serializable(package="sem_sionna")
class StripPooling(keras.layers.Layer):
    """Strip pooling attention (Hou et al., CVPR 2020) with max pooling (SCSC Eq. (8)).

    Each row and each column is max-pooled into a strip, the strips pass a
    ``3x1`` / ``1x3`` convolution, are broadcast back and added; a ReLU, a ``1x1``
    convolution and a sigmoid give a gate that multiplies the input.

    Input
    -----
    inputs : [batch, H, W, C], tf.float32.

    Output
    ------
    outputs : [batch, H, W, C], tf.float32 -- ``inputs * gate``, gate in (0, 1).
    """

    def build(self, inputs_shape):
        channels = inputs_shape[-1]
        if channels is None:
            raise ValueError("last dimension of `inputs` must be known, "
                             f"got shape {tuple(inputs_shape)}")
        channels = int(channels)
        self.conv_rows = keras.layers.Conv2D(channels, (3, 1), padding="same", name="conv_rows")
        self.conv_cols = keras.layers.Conv2D(channels, (1, 3), padding="same", name="conv_cols")
        self.conv_gate = keras.layers.Conv2D(channels, 1, name="conv_gate")
        self.conv_rows.build((None, None, 1, channels))
        self.conv_cols.build((None, 1, None, channels))
        self.conv_gate.build((None, None, None, channels))

    def call(self, inputs):
        rows = self.conv_rows(tf.reduce_max(inputs, axis=2, keepdims=True))  # [b,H,1,C]
        cols = self.conv_cols(tf.reduce_max(inputs, axis=1, keepdims=True))  # [b,1,W,C]
        gate = tf.sigmoid(self.conv_gate(tf.nn.relu(rows + cols)))
        return inputs * gate

    def compute_output_shape(self, inputs_shape):
        return inputs_shape


@keras.saving.register_keras_serializable(package="sem_sionna")
class DACBlock(keras.layers.Layer):
    """Distortion-aware compensation block (SCSC Fig. 3).

    ``x + StripPooling(ReLU(DeformableConv2D(ReLU(Conv2D(x)))))``: an ordinary
    ``3x3`` convolution, a ``3x3`` deformable convolution (DCN v1) and strip
    pooling, with a residual connection.

    Parameters
    ----------
    filters : int -- channels of the block; equals the input channels.

    Input
    -----
    inputs : [batch, H, W, filters], tf.float32.

    Output
    ------
    outputs : [batch, H, W, filters], tf.float32.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.conv = keras.layers.Conv2D(self.filters, 3, padding="same", activation="relu",
                                        name="conv")
        self.deform = DeformableConv2D(self.filters, 3, name="deform")
        self.strip = StripPooling(name="strip")

    def build(self, inputs_shape):
        if inputs_shape[-1] != self.filters:
            raise ValueError(f"`inputs` must have {self.filters} channels (filters), "
                             f"got shape {tuple(inputs_shape)}")
        self.conv.build(inputs_shape)
        self.deform.build(inputs_shape)
        self.strip.build(inputs_shape)

    def call(self, inputs):
        return inputs + self.strip(tf.nn.relu(self.deform(self.conv(inputs))))

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="sem_sionna")
class PPEN(keras.layers.Layer):
    """Pre-processing enhancement network of SCSC (Han et al., Fig. 2).

    Parameters
    ----------
    num_filters : int, default 16 -- channels of the first stage; stage ``s`` of
        the lower branch has ``num_filters * 2**s`` channels. The paper's network
        has 12.68 M parameters; ``num_filters=64, num_stages=3`` with 1 or 2 DAC
        blocks has 9.8 M or 16.4 M. The default (0.17 M) is for quick runs.
    num_stages : int, default 2 -- stride-2 stages of the lower (DAC) branch (>= 0).
    num_dac_blocks : int, default 1 -- DAC blocks at the coarsest stage (>= 1).
    use_qa : bool, default True -- include the QA layers; ``False`` is the
        "w/o QA" ablation, which ignores ``q``.
    q_range : (float, float), default (28, 41) -- ``Q`` range normalised by QA layers.
    qa_hidden_units : int, default 32 -- hidden width of each QA perceptron.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1].
    q : scalar, [batch] or [batch, 1], tf.float32 -- codec quantisation parameter
        (BPG ``Q``, e.g. one of 28, 31, 34, 37, 41); may be omitted when
        ``use_qa=False``.

    Output
    ------
    images : [batch, H, W, 3], tf.float32 -- pre-processed images, clipped to [0, 1].
    """

    def __init__(self, num_filters=16, num_stages=2, num_dac_blocks=1, use_qa=True,
                 q_range=(28.0, 41.0), qa_hidden_units=32, **kwargs):
        super().__init__(**kwargs)
        self.num_filters = check_positive_int(num_filters, "num_filters")
        self.num_stages = check_positive_int(num_stages, "num_stages", minimum=0)
        self.num_dac_blocks = check_positive_int(num_dac_blocks, "num_dac_blocks")
        if not isinstance(use_qa, bool):
            raise TypeError(f"`use_qa` must be a bool, got {use_qa!r}")
        self.use_qa = use_qa
        self.q_range = check_range(q_range, "q_range")
        self.qa_hidden_units = check_positive_int(qa_hidden_units, "qa_hidden_units")

        def qa(name):
            if not self.use_qa:
                return None
            return QuantizationAdaptive(self.qa_hidden_units, self.q_range, name=name)

        c = self.num_filters
        conv = keras.layers.Conv2D
        # Upper branch: pixel-level transform.
        self.pixel_convs = [conv(c, 1, name="pixel_conv_0"), conv(c, 1, name="pixel_conv_1")]
        self.pixel_qas = [qa("pixel_qa_0"), qa("pixel_qa_1")]
        self.pixel_out = conv(3, 1, kernel_initializer="zeros", name="pixel_out")
        # Lower branch: encoder - DAC blocks - decoder.
        widths = [c * 2 ** s for s in range(self.num_stages + 1)]
        self._widths = widths
        self.head = conv(c, 3, padding="same", name="head")
        self.head_qa = qa("head_qa")
        self.down_convs = [conv(widths[s + 1], 3, strides=2, padding="same", name=f"down_{s}")
                           for s in range(self.num_stages)]
        self.down_qas = [qa(f"down_qa_{s}") for s in range(self.num_stages)]
        self.dac_blocks = [DACBlock(widths[-1], name=f"dac_{i}")
                           for i in range(self.num_dac_blocks)]
        self.up_convs = [conv(widths[s], 3, padding="same", name=f"up_{s}")
                         for s in range(self.num_stages)]
        self.up_qas = [qa(f"up_qa_{s}") for s in range(self.num_stages)]
        self.tail = conv(3, 3, padding="same", kernel_initializer="zeros", name="tail")

    def __call__(self, images, q=None, **kwargs):
        if q is not None:
            q = to_float_tensor(q, "q")
        return super().__call__(images, q, **kwargs)

    def build(self, images_shape, q_shape=None):
        if len(images_shape) != 4 or images_shape[-1] != 3:
            raise ValueError("`images` must have shape [batch, H, W, 3], "
                             f"got {tuple(images_shape)}")
        c = self.num_filters
        self.pixel_convs[0].build(images_shape)
        self.pixel_convs[1].build((None, None, None, c))
        self.pixel_out.build((None, None, None, c))
        self.head.build(images_shape)
        self.tail.build((None, None, None, c))
        for s in range(self.num_stages):
            self.down_convs[s].build((None, None, None, self._widths[s]))
            self.up_convs[s].build((None, None, None, self._widths[s + 1]))
        for block in self.dac_blocks:
            block.build((None, None, None, self._widths[-1]))
        qa_widths = ([c, c, c] + self._widths[1:] + self._widths[:-1])
        qas = self.pixel_qas + [self.head_qa] + self.down_qas + self.up_qas
        if self.use_qa:
            for layer, width in zip(qas, qa_widths):
                layer.build((None, None, None, width), (None,))

    def _qa(self, layer, features, q):
        return features if layer is None else layer(features, q)

    def call(self, images, q=None):
        if self.use_qa and q is None:
            raise ValueError("`q` (codec quantisation parameter) is required when use_qa=True")
        f = images
        for conv, qa in zip(self.pixel_convs, self.pixel_qas):
            f = tf.nn.relu(self._qa(qa, conv(f), q))
        upper = self.pixel_out(f)

        f = tf.nn.relu(self._qa(self.head_qa, self.head(images), q))
        skips = []
        for conv, qa in zip(self.down_convs, self.down_qas):
            skips.append(f)
            f = tf.nn.relu(self._qa(qa, conv(f), q))
        for block in self.dac_blocks:
            f = block(f)
        for s in reversed(range(self.num_stages)):
            skip = skips[s]
            size = tf.shape(skip)[1:3]
            f = tf.image.resize(f, size, method="bilinear")
            f = tf.nn.relu(self._qa(self.up_qas[s], self.up_convs[s](f) + skip, q))
        lower = self.tail(f)
        return tf.clip_by_value(images + upper + lower, 0.0, 1.0)

    def compute_output_shape(self, images_shape, q_shape=None):
        return images_shape

    def get_config(self):
        return {**super().get_config(), "num_filters": self.num_filters,
                "num_stages": self.num_stages, "num_dac_blocks": self.num_dac_blocks,
                "use_qa": self.use_qa, "q_range": self.q_range,
                "qa_hidden_units": self.qa_hidden_units}
