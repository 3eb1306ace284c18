"""Plumbing shared by the image chains that run through real codecs (NumPy side).

:class:`CodecChain` is the Keras face of a chain whose :meth:`run` works on NumPy
arrays (codec, framing) around compiled TensorFlow parts: ``call(images, snr_db,
return_info)`` goes through ``tf.numpy_function``, the fallback image and the codec
are resolved once, and the info dict has fixed keys and dtypes (``info_spec``).
:func:`resolve_channel` gives every digital chain the same channel argument:
``"awgn"``, ``"rayleigh"`` (a SISO ``MIMOChannel(1, 1)``) or a ``MIMOChannel``.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna import codecs
from sem_sionna.phy import MIMOChannel
from sem_sionna.utils.checks import check_positive_int

__all__ = ["CHANNELS", "CodecChain", "resolve_channel", "channel_config", "check_num_streams"]

CHANNELS = ("awgn", "rayleigh")


def resolve_channel(channel, seed: int | None = None):
    """``channel`` argument -> ``(channel, mimo)``; ``mimo`` is None for AWGN.

    Accepts ``"awgn"``, ``"rayleigh"``, a ``MIMOChannel`` or its serialised config.
    """
    if isinstance(channel, dict):
        channel = keras.saving.deserialize_keras_object(channel)
    if isinstance(channel, str):
        if channel not in CHANNELS:
            raise ValueError(f"`channel` must be one of {CHANNELS} or a MIMOChannel, "
                             f"got {channel!r}")
        return channel, (None if channel == "awgn" else MIMOChannel(1, 1, "rayleigh", seed=seed))
    if isinstance(channel, MIMOChannel):
        return channel, channel
    raise TypeError("`channel` must be 'awgn', 'rayleigh' or a MIMOChannel, got "
                    f"{type(channel).__name__}")


def channel_config(channel):
    """JSON-able form of a ``channel`` argument (for ``get_config``)."""
    return channel if isinstance(channel, str) else keras.saving.serialize_keras_object(channel)


def check_num_streams(num_streams, mimo) -> int:
    """``num_streams`` or its default ``min(nt, nr)`` (1 without MIMO), validated."""
    max_streams = 1 if mimo is None else min(mimo.num_tx_ant, mimo.num_rx_ant)
    if num_streams is None:
        return max_streams
    num_streams = check_positive_int(num_streams, "num_streams")
    if num_streams > max_streams:
        raise ValueError(f"`num_streams` must be <= {max_streams} for this channel, "
                         f"got {num_streams}")
    return num_streams


class CodecChain(keras.layers.Layer):
    """Base of :class:`DigitalLink`, :class:`DigitalOracle` and :class:`CapacityBound`.

    Subclasses implement ``run(images, snr_db) -> (x_hat, info)`` on NumPy arrays and
    list the per-image info entries returned by ``call(..., return_info=True)`` in
    ``info_spec`` as ``(key, tf.DType)``.
    """

    info_spec: tuple[tuple[str, tf.DType], ...] = ()

    def __init__(self, codec, fallback=None, **kwargs):
        super().__init__(**kwargs)
        self.codec = codecs.get(codec) if isinstance(codec, str) else codec
        if not isinstance(self.codec, codecs.ImageCodec):
            raise TypeError(f"`codec` must be a codec name or ImageCodec, got {codec!r}")
        self.fallback = None if fallback is None else np.asarray(fallback, np.float32)

    def _fallback(self, shape) -> np.ndarray:
        """The documented reconstruction after a failure: ``fallback`` or mid-grey."""
        if self.fallback is None:
            return np.full(shape, 0.5, np.float32)
        if self.fallback.shape != tuple(shape):
            raise ValueError(f"`fallback` has shape {self.fallback.shape}, images have {shape}")
        return self.fallback

    def run(self, images, snr_db):
        raise NotImplementedError

    # -- sweep protocol (sem_sionna.sweep.protocol) ----------------------------------
    def encode(self, images):
        """Once per image batch; chains without a reusable source part keep the images."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"`images` must have shape [batch, H, W, 3], got {images.shape}")
        return images

    def reconstruct(self, state, snr_db, channel=None):
        """Per SNR: ``(x_hat, info)`` as NumPy (here :meth:`run` on the kept images)."""
        self._check_channel(channel)
        return self.run(state, snr_db)

    @property
    def channel_name(self) -> str:
        """``"awgn"``, ``"rayleigh"`` or the ``MIMOChannel``'s model (e.g. ``"cdl-a"``)."""
        channel = getattr(self, "channel", "awgn")
        return channel if isinstance(channel, str) else channel.model

    def _check_channel(self, channel) -> None:
        if channel is not None and channel != self.channel_name:
            raise ValueError(f"`channel` {channel!r} does not match this chain's channel "
                             f"{self.channel_name!r}; build one chain per channel")

    def _info_arrays(self, info: dict, images) -> list:
        """Per-image info arrays in ``info_spec`` order (override to derive entries)."""
        return [info[key] for key, _ in self.info_spec]

    def __call__(self, images, snr_db, **kwargs):
        if not keras.ops.is_tensor(snr_db):
            snr_db = tf.constant(snr_db, tf.float32)
        return super().__call__(images, snr_db, **kwargs)

    def call(self, images, snr_db, return_info: bool = False):
        dtypes = [dtype for _, dtype in self.info_spec]

        def numpy_run(images, snr_db):
            x_hat, info = self.run(images, snr_db)
            arrays = self._info_arrays(info, images)
            return [x_hat.astype(np.float32)] + [np.asarray(a).astype(d.as_numpy_dtype)
                                                 for a, d in zip(arrays, dtypes)]

        outputs = tf.numpy_function(numpy_run, [images, tf.cast(snr_db, tf.float32)],
                                    [tf.float32] + dtypes, stateful=True)
        x_hat = tf.ensure_shape(outputs[0], images.shape)
        if not return_info:
            return x_hat
        batch = images.shape[:1]
        return x_hat, {key: tf.ensure_shape(v, batch)
                       for (key, _), v in zip(self.info_spec, outputs[1:])}

    def build(self, images_shape, snr_db_shape=None):
        # no weights: the compiled parts build themselves on first use
        self.built = True

    def compute_output_shape(self, images_shape, snr_db_shape=None):
        return images_shape

    def get_config(self):
        return {**super().get_config(), "codec": self.codec.name,
                "fallback": None if self.fallback is None else self.fallback.tolist()}
