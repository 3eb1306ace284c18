"""Deformable 2D convolution (DCN v1, Dai et al., ICCV 2017).

The DAC block of SCSC's pre-processing network (Han et al., Sec. III-A, Eq. (7))
uses deformable convolution "[34]", i.e. the first version without modulation
masks:

    F(p0) = sum_{pn in grid} w(pn) * t(p0 + pn + dpn)

The offsets ``dpn`` are predicted from the input by an ordinary convolution with
``2 * kh * kw`` output channels whose kernel and bias start at zero, so an
untrained layer is exactly an ordinary convolution. Fractional positions are read
with bilinear interpolation, positions outside the image read zeros (the same
zero padding as :class:`keras.layers.Conv2D`). Sampling is one batched gather per
bilinear corner; the weighted patches are contracted with the kernel in one
matrix product.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int

__all__ = ["DeformableConv2D", "bilinear_sample"]


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"`{name}` must be an int or a pair of ints, got {value!r}")
        return (check_positive_int(value[0], name), check_positive_int(value[1], name))
    v = check_positive_int(value, name)
    return (v, v)


def bilinear_sample(images: tf.Tensor, py: tf.Tensor, px: tf.Tensor) -> tf.Tensor:
    """Read ``images`` at fractional positions with bilinear interpolation.

    Positions outside ``[0, H-1] x [0, W-1]`` read zeros (zero padding), corner by
    corner, so a position half a pixel outside the image gets half of the border
    value, as in DCN.

    Input
    -----
    images : [batch, H, W, C], tf.float32 -- feature maps.
    py, px : [batch, ...], tf.float32 -- row / column positions in pixels
        (0 = first row / column), any number of trailing axes.

    Output
    ------
    samples : [batch, ..., C], tf.float32 -- interpolated values.
    """
    shape = tf.shape(images)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(images, [-1, c])
    pos_rank = len(py.shape)
    base = tf.reshape(tf.range(b) * h * w, [-1] + [1] * (pos_rank - 1))
    y0 = tf.floor(py)
    x0 = tf.floor(px)
    wy1 = py - y0
    wx1 = px - x0
    hf = tf.cast(h, py.dtype)
    wf = tf.cast(w, px.dtype)
    out = None
    for dy, wy in ((0.0, 1.0 - wy1), (1.0, wy1)):
        for dx, wx in ((0.0, 1.0 - wx1), (1.0, wx1)):
            yy = y0 + dy
            xx = x0 + dx
            inside = (yy >= 0.0) & (yy <= hf - 1.0) & (xx >= 0.0) & (xx <= wf - 1.0)
            yi = tf.cast(tf.clip_by_value(yy, 0.0, hf - 1.0), tf.int32)
            xi = tf.cast(tf.clip_by_value(xx, 0.0, wf - 1.0), tf.int32)
            weight = wy * wx * tf.cast(inside, py.dtype)
            values = tf.gather(flat, base + yi * w + xi)
            term = values * weight[..., None]
            out = term if out is None else out + term
    return out


@keras.saving.register_keras_serializable(package="sem_sionna")
class DeformableConv2D(keras.layers.Layer):
    """Deformable convolution v1 with learned per-position sampling offsets.

    Parameters
    ----------
    filters : int -- number of output channels, positive.
    kernel_size : int or (int, int) -- kernel height and width.
    strides : int or (int, int), default 1 -- output stride.
    padding : "same" or "valid", default "same" -- as :class:`keras.layers.Conv2D`.
    dilation_rate : int or (int, int), default 1 -- spacing of the regular grid.
    use_bias : bool, default True -- add a bias to the output.
    kernel_initializer, bias_initializer : initializers of the main convolution.

    Input
    -----
    inputs : [batch, H, W, C], tf.float32 -- feature maps (C known when built).

    Output
    ------
    outputs : [batch, H_out, W_out, filters], tf.float32 -- same ``H_out, W_out`` as
        ``Conv2D(filters, kernel_size, strides, padding, dilation_rate=dilation_rate)``.

    Note
    ----
    ``kernel`` has the layout of ``Conv2D.kernel`` (``[kh, kw, C, filters]``), so
    with zero offsets (the initial state) the output equals that convolution. The
    offset convolution ``offset_conv`` returns, per output position, ``dy, dx``
    pairs for the grid points in row-major order (channel ``2n`` is the row offset
    of grid point ``n = ky * kw + kx``, channel ``2n + 1`` its column offset), in
    input pixels.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="same", dilation_rate=1,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.dilation_rate = _pair(dilation_rate, "dilation_rate")
        if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
            raise ValueError(f"`padding` must be 'same' or 'valid', got {padding!r}")
        self.padding = padding.lower()
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        kh, kw = self.kernel_size
        self.offset_conv = keras.layers.Conv2D(
            2 * kh * kw, self.kernel_size, strides=self.strides, padding=self.padding,
            dilation_rate=self.dilation_rate, kernel_initializer="zeros",
            bias_initializer="zeros", name="offset_conv")

    def build(self, inputs_shape):
        if len(inputs_shape) != 4 or inputs_shape[-1] is None:
            raise ValueError("`inputs` must have shape [batch, H, W, C] with known C, "
                             f"got {tuple(inputs_shape)}")
        channels = int(inputs_shape[-1])
        kh, kw = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(kh, kw, channels, self.filters),
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)
        self.offset_conv.build(inputs_shape)

    def _grid(self, h, w, ho, wo):
        """Regular sampling positions ``p0 + pn`` as [Ho, Wo, K] rows and columns."""
        kh, kw = self.kernel_size
        sh, sw = self.strides
        dh, dw = self.dilation_rate
        if self.padding == "same":
            # Conv2D "same": total padding (out-1)*s + (k-1)*d + 1 - in, floor half on top.
            pad_h = tf.maximum((ho - 1) * sh + (kh - 1) * dh + 1 - h, 0) // 2
            pad_w = tf.maximum((wo - 1) * sw + (kw - 1) * dw + 1 - w, 0) // 2
        else:
            pad_h = tf.constant(0, tf.int32)
            pad_w = tf.constant(0, tf.int32)
        rows = tf.cast(tf.range(ho) * sh - pad_h, tf.float32)
        cols = tf.cast(tf.range(wo) * sw - pad_w, tf.float32)
        ky, kx = tf.meshgrid(tf.range(kh, dtype=tf.float32) * dh,
                             tf.range(kw, dtype=tf.float32) * dw, indexing="ij")
        ky = tf.reshape(ky, [-1])
        kx = tf.reshape(kx, [-1])
        shape = tf.stack([ho, wo, kh * kw])
        py = tf.broadcast_to(rows[:, None, None] + ky[None, None, :], shape)
        px = tf.broadcast_to(cols[None, :, None] + kx[None, None, :], shape)
        return py, px

    def call(self, inputs):
        kh, kw = self.kernel_size
        k = kh * kw
        offsets = self.offset_conv(inputs)
        shape = tf.shape(offsets)
        b, ho, wo = shape[0], shape[1], shape[2]
        in_shape = tf.shape(inputs)
        py, px = self._grid(in_shape[1], in_shape[2], ho, wo)
        offsets = tf.reshape(offsets, [b, ho, wo, k, 2])
        py = py[None] + offsets[..., 0]
        px = px[None] + offsets[..., 1]
        patches = bilinear_sample(inputs, py, px)
        channels = self.kernel.shape[2]
        patches = tf.reshape(patches, [b, ho, wo, k * channels])
        kernel = tf.reshape(self.kernel, [k * channels, self.filters])
        outputs = tf.matmul(tf.reshape(patches, [-1, k * channels]), kernel)
        outputs = tf.reshape(outputs, [b, ho, wo, self.filters])
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, inputs_shape):
        return self.offset_conv.compute_output_shape(inputs_shape)[:-1] + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "dilation_rate": self.dilation_rate,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}
