"""Argument checks shared by every floor of ``sem_sionna``.

The ``check_*`` helpers raise ``ValueError``/``TypeError`` naming the argument, what
was expected and what was received. Checks on tensor *values* (e.g. ``no >= 0``) run
whenever the value is known at trace time (Python/NumPy scalars, eager tensors,
constants); a value only known inside a compiled graph cannot raise a Python exception
and is not checked.
"""
from __future__ import annotations

import numbers

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "check_positive_int",
    "check_range",
    "check_num_bits_per_symbol",
    "check_complex",
    "check_real",
    "check_rank",
    "check_last_dim",
    "check_noise_variance",
    "check_probability",
    "check_spatial_multiple",
    "layer_or_config",
]


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as ``int`` or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, float)):
        raise TypeError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    if float(value) != int(value) or int(value) < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_range(value, name: str) -> tuple[float, float]:
    """Return ``value`` as a ``(low, high)`` float pair with ``low < high``, or raise."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`{name}` must be a pair (low, high), got {value!r}") from err
    if not high > low:
        raise ValueError(f"`{name}` must satisfy low < high, got {value!r}")
    return (low, high)


def check_num_bits_per_symbol(value) -> int:
    """QAM order check: positive and even (2 = QPSK, 4 = 16-QAM, ...)."""
    m = check_positive_int(value, "num_bits_per_symbol")
    if m % 2:
        raise ValueError(
            f"`num_bits_per_symbol` must be a positive even integer for QAM, got {value!r}")
    return m


def _static(x):
    try:
        return tf.get_static_value(x)
    except (TypeError, ValueError):
        return None


def check_complex(x, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` has a complex dtype."""
    dtype = tf.as_dtype(x.dtype)
    if not dtype.is_complex:
        raise TypeError(f"`{name}` must be complex (tf.complex64), got dtype {dtype.name}")


def check_real(x, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` has a real floating dtype."""
    dtype = tf.as_dtype(x.dtype)
    if not dtype.is_floating:
        raise TypeError(f"`{name}` must be real floating point (tf.float32), got dtype {dtype.name}")


def check_rank(x, name: str, min_rank: int, exact: bool = False) -> None:
    """Raise ``ValueError`` if the static rank of ``x`` is too small (or not exact)."""
    rank = x.shape.rank if hasattr(x.shape, "rank") else len(x.shape)
    if rank is None:
        return
    if (exact and rank != min_rank) or rank < min_rank:
        want = f"exactly {min_rank}" if exact else f"at least {min_rank}"
        raise ValueError(f"`{name}` must have rank {want}, got shape {tuple(x.shape)}")


def check_last_dim(x, expected: int, name: str, multiple: bool = False) -> None:
    """Raise ``ValueError`` if the last dimension is not ``expected`` (or a multiple of it)."""
    last = x.shape[-1] if len(x.shape) else None
    if last is None:
        return
    bad = (last % expected != 0) if multiple else (last != expected)
    if bad:
        what = f"a multiple of {expected}" if multiple else f"{expected}"
        raise ValueError(f"last dimension of `{name}` must be {what}, got shape {tuple(x.shape)}")


def check_spatial_multiple(images, multiple: int, name: str = "images") -> None:
    """Raise ``ValueError`` if the (static) height or width of ``[b, H, W, C]`` images is
    not a multiple of ``multiple`` (e.g. 4 for two stride-2 stages)."""
    height, width = images.shape[1:3] if len(images.shape) == 4 else (None, None)
    if height is not None and (height % multiple or (width or 0) % multiple):
        raise ValueError(f"`{name}` height and width must be multiples of {multiple}, "
                         f"got shape {tuple(images.shape)}")


def layer_or_config(value, cls: type, name: str):
    """``value`` if it is a ``cls``, or the ``cls`` deserialised from its Keras config
    (a ``dict``, as ``get_config`` stores sub-layers); ``TypeError`` naming ``name``
    otherwise."""
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if not isinstance(value, cls):
        raise TypeError(f"`{name}` must be a {cls.__name__}, got {type(value).__name__}")
    return value


def check_noise_variance(no, name: str = "no") -> None:
    """Raise ``ValueError`` if a statically known ``no`` is negative, NaN or inf."""
    value = _static(no)
    if value is None:
        return
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"`{name}` (noise variance) must be finite, got {value!r}")
    if np.any(value < 0):
        raise ValueError(f"`{name}` (noise variance) must be >= 0, got {value!r}")


def check_probability(p, name: str, high: float = 1.0) -> None:
    """Raise ``ValueError`` if a statically known probability is outside ``[0, high]``."""
    value = _static(p)
    if value is None:
        return
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value)) or np.any(value < 0) or np.any(value > high):
        raise ValueError(f"`{name}` must lie in [0, {high}], got {value!r}")


