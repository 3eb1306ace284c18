"""The one scalar-argument mechanism of ``sem_sionna`` layers.

Keras 3 only accepts tensors as positional arguments of ``Layer.__call__``, while
Sionna blocks accept Python floats for ``no``/``pb``. :class:`ScalarArgsLayer`
converts such scalars with :func:`to_float_tensor` before Keras sees them.
"""
from __future__ import annotations

import numbers

import keras
import numpy as np
import tensorflow as tf

__all__ = ["ScalarArgsLayer", "to_float_tensor", "is_tensor"]

_TENSOR_TYPES = (tf.Tensor, tf.Variable, keras.KerasTensor)


def is_tensor(value) -> bool:
    """True for TensorFlow/Keras tensors and variables (symbolic ones included)."""
    return isinstance(value, _TENSOR_TYPES) or keras.ops.is_tensor(value)


def to_float_tensor(value, name: str = "value", dtype=tf.float32):
    """Return ``value`` as a tensor; Python/NumPy scalars and arrays become ``dtype``."""
    if is_tensor(value):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a number or tensor, got bool {value!r}")
    if isinstance(value, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        try:
            return tf.constant(np.asarray(value, dtype=dtype.as_numpy_dtype))
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be numeric, got {value!r}") from err
    raise TypeError(f"`{name}` must be a number or a tensor, got {type(value).__name__}")


class ScalarArgsLayer(keras.layers.Layer):
    """Keras layer whose positional arguments after the first may be scalars.

    Sionna blocks are called as ``awgn(x, no)`` with ``no`` a Python float. Keras 3
    rejects non-tensor positional arguments, so they are converted to
    ``tf.float32`` tensors here, before ``Layer.__call__``. Subclasses list the
    names of those arguments in ``_scalar_args`` (used in error messages).
    """

    _scalar_args: tuple[str, ...] = ()

    def __call__(self, *args, **kwargs):
        args = list(args)
        for i in range(1, len(args)):
            name = self._scalar_args[i - 1] if i - 1 < len(self._scalar_args) else f"arg{i}"
            args[i] = to_float_tensor(args[i], name)
        for name in self._scalar_args:
            if name in kwargs:
                kwargs[name] = to_float_tensor(kwargs[name], name)
        return super().__call__(*args, **kwargs)


