"""Compact ERF-PSPNet-like semantic segmentation network (SCSC's downstream task).

SCSC evaluates segmentation with ERF-PSPNet (Yang et al., IV 2018): an ERFNet
encoder (downsampler blocks and factorised "non-bottleneck-1D" residual blocks
with dilations) followed by a PSPNet pyramid pooling decoder::

    x --> Down(w0) --> Down(w1) --> NB1D*n1 --> Down(w2) --> NB1D*n2 (dilated)
      --> [f, up(conv(pool_1(f))), up(conv(pool_2(f))), ...] --> conv3x3 --> conv1x1 --> up x8

The default widths are small for quick runs; ``widths=(16, 64, 128),
num_blocks=(5, 8)`` is ERFNet's encoder.
"""
from __future__ import annotations


import keras
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int

__all__ = ["SegNet", "NonBottleneck1D", "DownsamplerBlock", "adaptive_avg_pool"]


def _pool_matrix(size: tf.Tensor, bins: int) -> tf.Tensor:
    """[bins, size] averaging matrix of adaptive average pooling along one axis.

    Bin ``i`` averages indices ``floor(i*size/bins) .. ceil((i+1)*size/bins) - 1``
    (PyTorch's ``AdaptiveAvgPool`` segments).
    """
    idx = tf.range(size)[None, :]
    i = tf.range(bins)[:, None]
    start = (i * size) // bins
    end = ((i + 1) * size + bins - 1) // bins
    mask = tf.cast((idx >= start) & (idx < end), tf.float32)
    return mask / tf.reduce_sum(mask, axis=1, keepdims=True)


def adaptive_avg_pool(x: tf.Tensor, bins: int) -> tf.Tensor:
    """Adaptive average pooling of ``x [b, H, W, C]`` to ``[b, bins, bins, C]`` (XLA-friendly)."""
    shape = tf.shape(x)
    ph = _pool_matrix(shape[1], bins)
    pw = _pool_matrix(shape[2], bins)
    return tf.einsum("ih,bhwc,jw->bijc", ph, x, pw)


@keras.saving.register_keras_serializable(package="sem_sionna")
class DownsamplerBlock(keras.layers.Layer):
    """ERFNet downsampler: ``concat(conv3x3/2 (filters - C), maxpool/2)``, BN, ReLU.

    Parameters
    ----------
    filters : int -- output channels, larger than the input channels.

    Input
    -----
    inputs : [b, H, W, C], tf.float32.
    training : bool -- batch-norm mode.

    Output
    ------
    outputs : [b, ceil(H/2), ceil(W/2), filters], tf.float32.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.pool = keras.layers.MaxPooling2D(2, padding="same", name="pool")
        self.bn = keras.layers.BatchNormalization(epsilon=1e-3, name="bn")
        self.conv = None

    def build(self, inputs_shape):
        channels = inputs_shape[-1]
        if channels is None or channels >= self.filters:
            raise ValueError(f"`filters` ({self.filters}) must exceed the input channels, "
                             f"got input shape {tuple(inputs_shape)}")
        self.conv = keras.layers.Conv2D(self.filters - int(channels), 3, strides=2,
                                        padding="same", name="conv")
        self.conv.build(inputs_shape)
        self.bn.build((None, None, None, self.filters))

    def call(self, inputs, training=None):
        out = tf.concat([self.conv(inputs), self.pool(inputs)], axis=-1)
        return tf.nn.relu(self.bn(out, training=training))

    def compute_output_shape(self, inputs_shape):
        half = [None if d is None else (d + 1) // 2 for d in inputs_shape[1:3]]
        return (inputs_shape[0], *half, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="sem_sionna")
class NonBottleneck1D(keras.layers.Layer):
    """ERFNet residual block with factorised (3x1, 1x3) convolutions.

    ``relu(x + BN(conv1x3_d(relu(conv3x1_d(relu(BN(conv1x3(relu(conv3x1(x))))))))))``.

    Parameters
    ----------
    filters : int -- channels (= input channels).
    dilation_rate : int, default 1 -- dilation of the second factorised pair.
    dropout : float, default 0.0 -- dropout rate before the residual sum.

    Input
    -----
    inputs : [b, H, W, filters], tf.float32.
    training : bool -- batch-norm and dropout mode.

    Output
    ------
    outputs : [b, H, W, filters], tf.float32.
    """

    def __init__(self, filters, dilation_rate=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.dilation_rate = check_positive_int(dilation_rate, "dilation_rate")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must lie in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        d = self.dilation_rate
        conv = keras.layers.Conv2D
        self.conv3x1_1 = conv(self.filters, (3, 1), padding="same", name="conv3x1_1")
        self.conv1x3_1 = conv(self.filters, (1, 3), padding="same", name="conv1x3_1")
        self.bn1 = keras.layers.BatchNormalization(epsilon=1e-3, name="bn1")
        self.conv3x1_2 = conv(self.filters, (3, 1), padding="same", dilation_rate=(d, 1),
                              name="conv3x1_2")
        self.conv1x3_2 = conv(self.filters, (1, 3), padding="same", dilation_rate=(1, d),
                              name="conv1x3_2")
        self.bn2 = keras.layers.BatchNormalization(epsilon=1e-3, name="bn2")
        self.drop = keras.layers.Dropout(self.dropout, name="drop")

    def build(self, inputs_shape):
        if inputs_shape[-1] != self.filters:
            raise ValueError(f"`inputs` must have {self.filters} channels (filters), "
                             f"got shape {tuple(inputs_shape)}")
        shape = (None, None, None, self.filters)
        for layer in (self.conv3x1_1, self.conv1x3_1, self.bn1, self.conv3x1_2,
                      self.conv1x3_2, self.bn2):
            layer.build(shape)

    def call(self, inputs, training=None):
        f = tf.nn.relu(self.conv3x1_1(inputs))
        f = tf.nn.relu(self.bn1(self.conv1x3_1(f), training=training))
        f = tf.nn.relu(self.conv3x1_2(f))
        f = self.bn2(self.conv1x3_2(f), training=training)
        f = self.drop(f, training=training)
        return tf.nn.relu(inputs + f)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "dilation_rate": self.dilation_rate, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SegNet(keras.layers.Layer):
    """ERF-PSPNet-like segmentation network: ERFNet encoder + pyramid pooling.

    Parameters
    ----------
    num_classes : int -- number of classes ``C`` (>= 2).
    widths : (int, int, int), default (8, 16, 32) -- channels after each of the
        three downsamplers (strictly increasing, the first > 3).
    num_blocks : (int, int), default (1, 2) -- non-bottleneck-1D blocks after the
        second and third downsamplers; the third stage's dilations cycle through
        2, 4, 8, 16.
    bins : sequence of int, default (1, 2, 4) -- pyramid pooling grid sizes
        (PSPNet uses 1, 2, 3, 6).
    dropout : float, default 0.0 -- dropout in the residual blocks.

    Input
    -----
    images : [b, H, W, 3], tf.float32 -- images in [0, 1].
    training : bool -- batch-norm and dropout mode.

    Output
    ------
    logits : [b, H, W, num_classes], tf.float32 -- per-pixel class logits.
    """

    def __init__(self, num_classes, widths=(8, 16, 32), num_blocks=(1, 2), bins=(1, 2, 4),
                 dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        if len(widths) != 3:
            raise ValueError(f"`widths` must have 3 entries, got {widths!r}")
        self.widths = tuple(check_positive_int(w, "widths") for w in widths)
        if not (3 < self.widths[0] < self.widths[1] < self.widths[2]):
            raise ValueError("`widths` must be strictly increasing with widths[0] > 3, "
                             f"got {widths!r}")
        if len(num_blocks) != 2:
            raise ValueError(f"`num_blocks` must have 2 entries, got {num_blocks!r}")
        self.num_blocks = tuple(check_positive_int(n, "num_blocks", minimum=0)
                                for n in num_blocks)
        if len(bins) < 1:
            raise ValueError(f"`bins` must be a non-empty sequence of ints, got {bins!r}")
        self.bins = tuple(check_positive_int(b, "bins") for b in bins)
        self.dropout = float(dropout)
        w0, w1, w2 = self.widths
        self.down = [DownsamplerBlock(w, name=f"down_{i}") for i, w in enumerate(self.widths)]
        self.blocks1 = [NonBottleneck1D(w1, 1, self.dropout, name=f"nb1d_1_{i}")
                        for i in range(self.num_blocks[0])]
        dil = (2, 4, 8, 16)
        self.blocks2 = [NonBottleneck1D(w2, dil[i % 4], self.dropout, name=f"nb1d_2_{i}")
                        for i in range(self.num_blocks[1])]
        branch = max(w2 // len(self.bins), 1)
        self._branch = branch
        self.psp_convs = [keras.layers.Conv2D(branch, 1, use_bias=False, name=f"psp_conv_{b}")
                          for b in self.bins]
        self.psp_bns = [keras.layers.BatchNormalization(epsilon=1e-3, name=f"psp_bn_{b}")
                        for b in self.bins]
        self.fuse = keras.layers.Conv2D(w2, 3, padding="same", use_bias=False, name="fuse")
        self.fuse_bn = keras.layers.BatchNormalization(epsilon=1e-3, name="fuse_bn")
        self.classifier = keras.layers.Conv2D(self.num_classes, 1, name="classifier")

    def build(self, images_shape):
        if len(images_shape) != 4 or images_shape[-1] != 3:
            raise ValueError(f"`images` must have shape [b, H, W, 3], got {images_shape}")
        w0, w1, w2 = self.widths
        channels = 3
        for layer, w in zip(self.down, self.widths):
            layer.build((None, None, None, channels))
            channels = w
        for block in self.blocks1:
            block.build((None, None, None, w1))
        for block in self.blocks2:
            block.build((None, None, None, w2))
        for conv, bn in zip(self.psp_convs, self.psp_bns):
            conv.build((None, None, None, w2))
            bn.build((None, None, None, self._branch))
        self.fuse.build((None, None, None, w2 + self._branch * len(self.bins)))
        self.fuse_bn.build((None, None, None, w2))
        self.classifier.build((None, None, None, w2))

    def call(self, images, training=None):
        f = self.down[0](images, training=training)
        f = self.down[1](f, training=training)
        for block in self.blocks1:
            f = block(f, training=training)
        f = self.down[2](f, training=training)
        for block in self.blocks2:
            f = block(f, training=training)
        size = tf.shape(f)[1:3]
        pyramid = [f]
        for b, conv, bn in zip(self.bins, self.psp_convs, self.psp_bns):
            p = tf.nn.relu(bn(conv(adaptive_avg_pool(f, b)), training=training))
            pyramid.append(tf.image.resize(p, size, method="bilinear"))
        f = tf.nn.relu(self.fuse_bn(self.fuse(tf.concat(pyramid, axis=-1)), training=training))
        logits = self.classifier(f)
        return tf.image.resize(logits, tf.shape(images)[1:3], method="bilinear")

    def compute_output_shape(self, images_shape):
        return (*images_shape[:3], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "widths": self.widths, "num_blocks": self.num_blocks, "bins": self.bins,
                "dropout": self.dropout}
