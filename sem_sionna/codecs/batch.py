"""Batch encoding to a byte budget and batch decoding with a fallback image.

The codecs run on the CPU, image by image; these helpers spread a batch over a
thread pool (libx265, libav, libjpeg, libwebp and OpenJPEG release the GIL while
they work), so that a sweep keeps the CPU cores busy while an accelerator runs
the rest of the chain.
"""
from __future__ import annotations

import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

from .base import DecodeError, ImageCodec, check_image
from .registry import get

__all__ = ["encode_batch_to_budget", "decode_batch"]


def _num_workers(num_workers: Any, batch_size: int) -> int:
    if num_workers is None:
        return max(1, min(batch_size, os.cpu_count() or 1))
    if (isinstance(num_workers, (bool, np.bool_)) or not isinstance(num_workers, numbers.Integral)
            or num_workers < 1):
        raise ValueError(f"`num_workers` must be a positive integer or None, got {num_workers!r}")
    return int(num_workers)


def _map(func: Callable, items: Sequence, num_workers: int) -> list:
    if num_workers == 1 or len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        return list(pool.map(func, items))


def encode_batch_to_budget(codec: str | ImageCodec, images: Any, max_bytes: Any,
                           num_workers: int | None = None) -> list[tuple[bytes, int | None]]:
    """Encode every image of a batch at its best quality within a byte budget.

    Parameters
    ----------
    codec : str or ImageCodec -- a codec or its name (:func:`codecs.get`).
    num_workers : int or None, default None -- threads; None uses one per CPU
        core (at most one per image).

    Input
    -----
    images : [batch, H, W, 3], float32 -- RGB in [0, 1].
    max_bytes : int, or [batch] ints -- byte budget, shared or per image.

    Output
    ------
    list of (payload, quality), length batch -- as
        :meth:`ImageCodec.encode_to_budget`: ``(b"", None)`` where nothing fits.
    """
    codec = get(codec)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"`images` must have shape [batch, H, W, 3], got {images.shape}")
    batch_size = images.shape[0]
    budgets = np.asarray(max_bytes)
    if budgets.ndim == 0:
        budgets = [max_bytes] * batch_size
    elif budgets.shape != (batch_size,):
        raise ValueError(f"`max_bytes` must be a scalar or have shape [{batch_size}], "
                         f"got shape {budgets.shape}")
    else:
        budgets = budgets.tolist()
    workers = _num_workers(num_workers, batch_size)
    return _map(lambda i: codec.encode_to_budget(images[i], budgets[i]),
                range(batch_size), workers)


def decode_batch(codec: str | ImageCodec, payloads: Sequence[bytes | None], shape: Sequence[int],
                 fallback: Any, num_workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode a batch of payloads; failures become the fallback image.

    A payload fails when it is empty (or None: nothing was sent), when the codec
    raises :class:`DecodeError`, or when it decodes to a size other than
    ``shape``. Failures are reported in ``ok``, never raised.

    Parameters
    ----------
    codec : str or ImageCodec -- a codec or its name (:func:`codecs.get`).
    num_workers : int or None, default None -- threads; None uses one per CPU
        core (at most one per payload).

    Input
    -----
    payloads : list of bytes (or None), length batch.
    shape : (H, W) or (H, W, 3) -- expected size of every image.
    fallback : [H, W, 3], float32 -- in [0, 1]; e.g. a training-set mean image.

    Output
    ------
    images : [batch, H, W, 3], np.float32 -- decoded images or ``fallback``.
    ok : [batch], np.bool_ -- True where the payload was decoded.
    """
    codec = get(codec)
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        shape = shape + (3,)
    if len(shape) != 3 or shape[-1] != 3 or min(shape) < 1:
        raise ValueError(f"`shape` must be (H, W) or (H, W, 3), got {shape}")
    fallback = check_image(fallback, "fallback")
    if fallback.shape != shape:
        raise ValueError(f"`fallback` must have shape {shape}, got {fallback.shape}")
    payloads = list(payloads)

    def decode_one(payload):
        if payload is None or len(payload) == 0:
            return fallback, False
        try:
            image = codec.decode(payload)
        except DecodeError:
            return fallback, False
        if image.shape != shape:
            return fallback, False
        return image, True

    results = _map(decode_one, payloads, _num_workers(num_workers, len(payloads)))
    images = np.empty((len(payloads),) + shape, np.float32)
    ok = np.zeros(len(payloads), bool)
    for i, (image, success) in enumerate(results):
        images[i], ok[i] = image, success
    return images, ok
