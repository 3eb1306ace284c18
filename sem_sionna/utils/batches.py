"""The one batched-inference helper: run a function over slices of arrays, concatenate."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from sem_sionna.utils.checks import check_positive_int

__all__ = ["map_batches"]


def map_batches(fn: Callable[..., Any], *arrays: Any, batch_size: int = 64) -> Any:
    """Apply ``fn`` to consecutive slices of ``arrays`` and concatenate the results.

    Parameters
    ----------
    fn : callable ``(*slices) -> array or tuple/list/dict of arrays`` -- e.g. a Keras
        model in inference mode; tensors are converted with ``np.asarray``.
    *arrays : array-like, same first dimension ``n`` -- the inputs.
    batch_size : int, default 64 -- rows per call (the last slice may be shorter).

    Output
    ------
    Same structure as ``fn``'s output, each leaf an ``np.ndarray`` with ``n`` rows
    (empty ``[0]`` arrays when ``n == 0``).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if not arrays:
        raise TypeError("map_batches needs at least one input array")
    arrays = [np.asarray(a) for a in arrays]
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError(f"`arrays` must share their first dimension, got "
                         f"{[a.shape for a in arrays]}")
    outs = [fn(*(a[i:i + batch_size] for a in arrays)) for i in range(0, n, batch_size)]
    if not outs:
        return np.zeros((0,), np.float32)
    first = outs[0]
    if isinstance(first, dict):
        return {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(np.concatenate([np.asarray(o[j]) for o in outs])
                           for j in range(len(first)))
    return np.concatenate([np.asarray(o) for o in outs])
