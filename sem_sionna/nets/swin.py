"""Swin-style source mapper and demapper (S0, Kong & Zhang, Fig. 3a).

S0 uses a Swin Transformer (Liu et al. 2021) as the backbone of the source mapper and
demapper. Here each stage is a patch embedding (strided convolution) or patch merging,
then ``depth`` Transformer blocks applied inside non-overlapping ``window x window``
windows, every second block on windows shifted by half a window (cyclic roll). The
shifted windows are not masked at the image border (the roll wraps around), a
simplification of Swin's attention mask; the relative position bias is replaced by a
learned absolute position embedding per window position. The heads match
:class:`~sem_sionna.nets.split.SourceMapper`'s ``"conv"`` head: bits are read
channel-major from the last feature map, so each reliability level covers the image.

::

    x [b,H,W,3] -> conv s2 (embed) -> SwinStage -> conv s2 (merge) -> SwinStage
                -> conv 3x3 to M/(h w) channels -> sigmoid -> [b, M]
    bits [b, M] -> [b,h,w,M/(hw)] -> conv -> SwinStage -> subpixel x2 -> SwinStage
                -> subpixel x2 -> conv to 3 -> sigmoid -> x_hat
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.nets.blocks import SubpixelConv, TransformerBlock, _TracedBuild
from sem_sionna.nets.split import _flatten_channel_major, _unflatten_channel_major
from sem_sionna.utils.checks import check_positive_int, check_real

__all__ = ["SwinStage", "SwinSourceMapper", "SwinSourceDemapper"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class SwinStage(_TracedBuild):
    """``depth`` windowed Transformer blocks, alternately on shifted windows.

    Parameters
    ----------
    depth : int -- number of blocks.
    window : int -- window side in feature-map positions (must divide H and W).
    num_heads : int -- attention heads.

    Input / Output
    --------------
    x : [batch, H, W, C], tf.float32 -> same shape.
    """

    def __init__(self, depth: int = 2, window: int = 4, num_heads: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.depth = check_positive_int(depth, "depth")
        self.window = check_positive_int(window, "window")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.blocks = [TransformerBlock(self.num_heads) for _ in range(self.depth)]
        self.pos_embed = None

    def build(self, x_shape):
        h, w, c = x_shape[1:]
        if h % self.window or w % self.window:
            raise ValueError(f"`window`={self.window} must divide the feature map {h}x{w}")
        self.pos_embed = self.add_weight(
            name="pos_embed", shape=(self.window * self.window, c),
            initializer=keras.initializers.RandomNormal(stddev=0.02))
        super().build(x_shape)

    def _windows(self, x):
        h, w, c = x.shape[1:]
        ws = self.window
        x = tf.reshape(x, [-1, h // ws, ws, w // ws, ws, c])
        x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
        return tf.reshape(x, [-1, ws * ws, c])

    def _merge(self, t, h, w):
        ws, c = self.window, t.shape[-1]
        x = tf.reshape(t, [-1, h // ws, w // ws, ws, ws, c])
        x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
        return tf.reshape(x, [-1, h, w, c])

    def call(self, x):
        h, w = x.shape[1], x.shape[2]
        shift = self.window // 2
        for i, block in enumerate(self.blocks):
            shifted = i % 2 == 1 and shift > 0
            if shifted:
                x = tf.roll(x, shift=[-shift, -shift], axis=[1, 2])
            x = self._merge(block(self._windows(x) + self.pos_embed), h, w)
            if shifted:
                x = tf.roll(x, shift=[shift, shift], axis=[1, 2])
        return x

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "window": self.window,
                "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SwinSourceMapper(_TracedBuild):
    """Swin-style source mapper: image -> ``M`` bit probabilities (S0's paper backbone).

    Parameters
    ----------
    num_bits : int -- ``M``, a multiple of ``(H/4)(W/4)``.
    embed_dim : int, default 64 -- token width of the first stage (doubled at the second).
    depth : int, default 2 -- Transformer blocks per stage.
    window : int, default 4 -- window side.
    num_heads : int, default 4.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 in [0, 1]; H, W multiples of ``4 * window``.

    Output
    ------
    probs : [batch, M], tf.float32 -- P(bit = 1).
    """

    def __init__(self, num_bits: int, embed_dim: int = 64, depth: int = 2, window: int = 4,
                 num_heads: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = check_positive_int(num_bits, "num_bits")
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.depth = check_positive_int(depth, "depth")
        self.window = check_positive_int(window, "window")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.embed = keras.layers.Conv2D(self.embed_dim, 2, strides=2)
        self.stage1 = SwinStage(self.depth, self.window, self.num_heads)
        self.merge = keras.layers.Conv2D(2 * self.embed_dim, 2, strides=2)
        self.stage2 = SwinStage(self.depth, self.window, self.num_heads)
        self.head = None

    def build(self, images_shape):
        h, w = int(images_shape[1]) // 4, int(images_shape[2]) // 4
        if self.num_bits % (h * w):
            raise ValueError(f"`num_bits`={self.num_bits} must be a multiple of the "
                             f"{h}x{w} latent positions")
        self.head = keras.layers.Conv2D(self.num_bits // (h * w), 3, padding="same")
        super().build(images_shape)

    def call(self, images):
        check_real(images, "images")
        x = self.stage1(self.embed(2.0 * images - 1.0))
        x = self.stage2(self.merge(x))
        return tf.sigmoid(_flatten_channel_major(self.head(x)))

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits, "embed_dim": self.embed_dim,
                "depth": self.depth, "window": self.window, "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SwinSourceDemapper(_TracedBuild):
    """Swin-style source demapper: ``M`` bits -> image (mirror of :class:`SwinSourceMapper`).

    Parameters
    ----------
    num_bits : int -- ``M``.
    image_size : (int, int) -- output ``(H, W)``.
    embed_dim, depth, window, num_heads : as :class:`SwinSourceMapper`.

    Input
    -----
    bits : [batch, M], tf.float32 -- bits in {0, 1} (or probabilities).

    Output
    ------
    images : [batch, H, W, 3], tf.float32 in (0, 1).
    """

    def __init__(self, num_bits: int, image_size=(32, 32), embed_dim: int = 64,
                 depth: int = 2, window: int = 4, num_heads: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.num_bits = check_positive_int(num_bits, "num_bits")
        self.image_size = tuple(check_positive_int(v, "image_size") for v in image_size)
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.depth = check_positive_int(depth, "depth")
        self.window = check_positive_int(window, "window")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        h, w = self.image_size[0] // 4, self.image_size[1] // 4
        if self.num_bits % (h * w):
            raise ValueError(f"`num_bits`={self.num_bits} must be a multiple of the "
                             f"{h}x{w} latent positions")
        self._latent = (h, w, self.num_bits // (h * w))
        self.proj = keras.layers.Conv2D(2 * self.embed_dim, 3, padding="same")
        self.stage1 = SwinStage(self.depth, self.window, self.num_heads)
        self.up1 = SubpixelConv(self.embed_dim, 2)
        self.stage2 = SwinStage(self.depth, self.window, self.num_heads)
        self.up2 = SubpixelConv(self.embed_dim, 2)
        self.out = keras.layers.Conv2D(3, 3, padding="same")

    def call(self, bits):
        check_real(bits, "bits")
        h, w, _ = self._latent
        x = _unflatten_channel_major(2.0 * bits - 1.0, h, w)
        x = self.stage1(self.proj(x))
        x = self.stage2(self.up1(x))
        return tf.sigmoid(self.out(self.up2(x)))

    def get_config(self):
        return {**super().get_config(), "num_bits": self.num_bits,
                "image_size": list(self.image_size), "embed_dim": self.embed_dim,
                "depth": self.depth, "window": self.window, "num_heads": self.num_heads}
