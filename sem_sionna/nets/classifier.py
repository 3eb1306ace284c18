"""Small convolutional image classifier: the downstream task network of SD-JSCC.

SD-JSCC (Sun et al., "Deep joint source-channel coding for wireless image
transmission with semantic importance") pre-trains the downstream AI task's
network, freezes it, and uses both its perception results (logits) and its
intermediate feature maps: the gradients of the logits with respect to the
feature maps give the semantic weights, and the weighted feature distance
between sent and received images is the semantic loss. This module provides a
compact VGG-style network with a :meth:`SceneClassifier.features` method that
exposes those feature maps (pre-trained by :func:`sem_sionna.train.train_classifier`)::

    images --> [conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> ReLU] --> f_1 --> maxpool/2
           --> [ ... width * 2 ... ]                             --> f_2 --> maxpool/2
           --> ...                                               --> f_depth
           --> head="gap": global average pool --> dropout --> dense --> logits
               head="fc":  flatten --> dense (fc_units) -> ReLU --> dropout --> dense --> logits

With ``head="gap"`` the logits are linear in the spatial means of the last maps, so the
gradient of a logit with respect to a last-stage map is the same for every image (a
constant per channel): gradient-based semantic weights of that stage carry no
information about the image. ``head="fc"`` (VGG's fully connected layers on the
flattened maps, as the SD-JSCC task networks) makes them depend on the image through
the hidden ReLU and on where in the map each activation lies.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int

__all__ = ["SceneClassifier", "predict_labels"]

_MIN_SIDE = 16


@keras.saving.register_keras_serializable(package="sem_sionna")
class SceneClassifier(keras.Model):
    """VGG-style classifier with accessible intermediate feature maps.

    Stage ``i`` (``i = 0 .. depth-1``) has ``width * 2**i`` channels and two
    3x3 convolutions with batch norm and ReLU; every stage but the last is
    followed by 2x2 max pooling. The logits come from global average pooling,
    dropout and a dense layer (``head="gap"``), or from the flattened last maps through
    a hidden dense layer with ReLU, dropout and a dense layer (``head="fc"``; the input
    size must then be fixed at build time).

    Parameters
    ----------
    num_classes : int -- number of classes ``C`` (>= 2).
    width : int, default 32 -- channels of the first stage.
    depth : int, default 3 -- number of stages (>= 1).
    dropout : float, default 0.0 -- dropout rate before the dense layer, in [0, 1).
    head : "gap" or "fc", default "gap" -- classification head (module docstring).
    fc_units : int, default 128 -- hidden units of the ``"fc"`` head.

    Input
    -----
    images : [b, H, W, 3], tf.float32 -- images in [0, 1], ``H, W >= 16``.
    training : bool -- batch-norm and dropout mode.

    Output
    ------
    logits : [b, num_classes], tf.float32 -- unnormalised class scores.

    Example
    -------
    >>> clf = SceneClassifier(6)
    >>> logits = clf(images)                      # [b, 6]
    >>> f1, f2, f3 = clf.features(images)         # [b, H, W, 32], [b, H/2, W/2, 64], ...
    """

    def __init__(self, num_classes, width=32, depth=3, dropout=0.0, head="gap", fc_units=128,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        self.width = check_positive_int(width, "width")
        self.depth = check_positive_int(depth, "depth")
        if isinstance(dropout, bool) or not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must lie in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        if head not in ("gap", "fc"):
            raise ValueError(f"`head` must be 'gap' or 'fc', got {head!r}")
        self.head_type = head
        self.fc_units = check_positive_int(fc_units, "fc_units")
        self.convs = []
        self.bns = []
        for i in range(self.depth):
            for j in range(2):
                self.convs.append(keras.layers.Conv2D(self.stage_channels[i], 3, padding="same",
                                                      use_bias=False, name=f"conv_{i}_{j}"))
                self.bns.append(keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{i}_{j}"))
        self.pool = keras.layers.MaxPooling2D(2, padding="same", name="pool")
        self.drop = keras.layers.Dropout(self.dropout, name="drop")
        self.head = keras.layers.Dense(self.num_classes, name="head")
        self.hidden = (keras.layers.Dense(self.fc_units, name="fc_hidden")
                       if self.head_type == "fc" else None)

    @property
    def stage_channels(self) -> tuple[int, ...]:
        """Channels ``K_i`` of each feature map returned by :meth:`features`."""
        return tuple(self.width * 2 ** i for i in range(self.depth))

    def build(self, images_shape):
        images_shape = tuple(images_shape)
        if len(images_shape) != 4 or images_shape[-1] != 3:
            raise ValueError(f"`images` must have shape [b, H, W, 3], got {images_shape}")
        channels = 3
        for k, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            conv.build((None, None, None, channels))
            channels = self.stage_channels[k // 2]
            bn.build((None, None, None, channels))
        if self.hidden is None:
            self.head.build((None, channels))
        else:
            side = [s for s in images_shape[1:3]]
            if any(s is None for s in side):
                raise ValueError(f"`head`='fc' needs a fixed image size, got {images_shape}")
            for _ in range(self.depth - 1):
                side = [-(-s // 2) for s in side]
            self.hidden.build((None, side[0] * side[1] * channels))
            self.head.build((None, self.fc_units))
        self.built = True

    def _check_images(self, images):
        shape = images.shape
        if shape.rank != 4 or shape[-1] != 3:
            raise ValueError(f"`images` must have shape [b, H, W, 3], got {tuple(shape)}")
        for side in shape[1:3]:
            if side is not None and side < _MIN_SIDE:
                raise ValueError(f"`images` must be at least {_MIN_SIDE}x{_MIN_SIDE} pixels, "
                                 f"got shape {tuple(shape)}")

    def _stages(self, images, training):
        images = tf.convert_to_tensor(images, tf.float32)
        self._check_images(images)
        # centre the input so that the first convolution sees zero-mean data
        f = images - 0.5
        maps = []
        for i in range(self.depth):
            if i > 0:
                f = self.pool(f)
            for j in range(2):
                k = 2 * i + j
                f = tf.nn.relu(self.bns[k](self.convs[k](f), training=training))
            maps.append(f)
        return maps

    def features(self, images, training=None) -> list:
        """Intermediate feature maps, one per stage.

        Input
        -----
        images : [b, H, W, 3], tf.float32 -- images in [0, 1].
        training : bool or None -- batch-norm mode (None: inference).

        Output
        ------
        maps : list of ``depth`` tensors ``[b, ceil(H/2**i), ceil(W/2**i), width*2**i]``,
            tf.float32 -- post-ReLU outputs of each stage, before pooling.
        """
        return self._stages(images, training)

    def classify(self, maps, training=None):
        """Logits ``[b, num_classes]`` from the feature maps of :meth:`features`."""
        if self.hidden is None:
            pooled = tf.reduce_mean(maps[-1], axis=[1, 2])
            return self.head(self.drop(pooled, training=training))
        f = maps[-1]
        flat = tf.reshape(f, [tf.shape(f)[0], f.shape[1] * f.shape[2] * f.shape[3]])
        hidden = tf.nn.relu(self.hidden(flat))
        return self.head(self.drop(hidden, training=training))

    def call(self, images, training=None):
        return self.classify(self._stages(images, training), training=training)

    def compute_output_shape(self, images_shape):
        return (images_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "width": self.width,
                "depth": self.depth, "dropout": self.dropout, "head": self.head_type,
                "fc_units": self.fc_units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def predict_labels(classifier: SceneClassifier, images, batch_size: int = 64) -> np.ndarray:
    """Predicted classes ``[N]`` int32 of ``images [N, H, W, 3]`` (inference mode, batched)."""
    images = np.asarray(images, np.float32)
    out = []
    for i in range(0, images.shape[0], batch_size):
        logits = classifier(tf.constant(images[i:i + batch_size]), training=False)
        out.append(np.argmax(np.asarray(logits), axis=-1))
    return np.concatenate(out).astype(np.int32) if out else np.zeros((0,), np.int32)
