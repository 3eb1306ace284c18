"""tf.data helpers and the mean image used as a decoding fallback."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["as_dataset", "mean_image"]


def mean_image(images) -> np.ndarray:
    """Pixel-wise mean of a set of images.

    A receiver that fails to decode a digital payload (CRC or codec failure) shows
    the training-set mean image: the constant reconstruction with the smallest
    expected MSE over the training distribution.

    Input
    -----
    images : [N, H, W, C], float -- NumPy array or tensor, ``N >= 1``.

    Output
    ------
    mean : [H, W, C], float32 -- NumPy array.
    """
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim != 4 or arr.shape[0] < 1:
        raise ValueError(f"`images` must have shape [N, H, W, C] with N >= 1, got {arr.shape}")
    return arr.mean(axis=0, dtype=np.float64).astype(np.float32)


def as_dataset(*arrays, batch_size: int, shuffle: bool = False, seed: int = 0,
               repeat: bool = False, drop_remainder: bool = False) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data.Dataset`` over arrays that share their first axis.

    Parameters
    ----------
    *arrays : one or more arrays/tensors, ``[N, ...]`` -- e.g. ``images`` or
        ``(images, labels)``.
    batch_size : int -- examples per batch.
    shuffle : bool, default False -- shuffle over the whole set (buffer ``N``), in a new
        order every pass, reproducible from ``seed``.
    seed : int, default 0 -- shuffle seed.
    repeat : bool, default False -- repeat indefinitely (shuffling each pass).
    drop_remainder : bool, default False -- drop the last, smaller batch.

    Output
    ------
    dataset : tf.data.Dataset -- elements ``[batch_size, ...]``; a tuple when more than one
        array was given, a single tensor otherwise. Ends with ``prefetch(AUTOTUNE)``.
    """
    if not arrays:
        raise ValueError("as_dataset needs at least one array")
    if (isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1):
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    shapes = [tuple(a.shape) if hasattr(a, "shape") else np.shape(a) for a in arrays]
    lengths = [int(s[0]) if len(s) else None for s in shapes]
    if None in lengths:
        raise ValueError("every array must have a leading example axis; got a scalar")
    if len(set(lengths)) != 1:
        raise ValueError(f"arrays must share their first dimension, got lengths {lengths}")
    if lengths[0] == 0:
        raise ValueError("arrays are empty (first dimension 0)")
    elements = arrays[0] if len(arrays) == 1 else tuple(arrays)
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        ds = ds.shuffle(lengths[0], seed=int(seed), reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(int(batch_size), drop_remainder=bool(drop_remainder))
    return ds.prefetch(tf.data.AUTOTUNE)
