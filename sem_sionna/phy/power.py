"""Power allocation over parallel (eigen-)channels.

Every allocator maps the per-stream gains ``g_k = sigma_k^2 / no`` of ``k``
parallel Gaussian channels to non-negative powers ``p_k`` with
``sum_k p_k = total_power``. They are batched TensorFlow functions with no
Python loop over the batch, differentiable, and compile with XLA
(``jit_compile=True``), so that :class:`~sem_sionna.phy.SVDPrecoder` and
:class:`~sem_sionna.phy.SVDCombiner` can use them inside a trained model.

Allocators are looked up by name with :func:`get_power_allocation`; a new one
(e.g. MMSE or importance-weighted MMSE) is a function
``f(gains, total_power=1.0, **kwargs) -> p`` added to
:data:`POWER_ALLOCATIONS`.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

__all__ = [
    "POWER_ALLOCATIONS",
    "equal_power",
    "get_power_allocation",
    "water_filling",
]


def _as_float(x, name: str) -> tf.Tensor:
    """``x`` as a floating tensor (integers cast to float32) of rank >= 1 ([..., k])."""
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    if x.shape.rank is not None and x.shape.rank < 1:
        raise ValueError(f"`{name}` must have rank >= 1 ([..., k]), got shape {tuple(x.shape)}")
    return x


def equal_power(gains, total_power=1.0) -> tf.Tensor:
    """Equal power allocation (EPA): ``p_k = total_power / k`` on every stream.

    Parameters
    ----------
    gains : [..., k], tf.float32 -- per-stream gains ``sigma_k^2 / no``, linear; only
        their shape is used.
    total_power : float or tensor broadcastable to ``[..., 1]`` -- power to share, linear.

    Output
    ------
    p : [..., k], tf.float32 -- powers, linear, summing to ``total_power``.
    """
    gains = _as_float(gains, "gains")
    k = tf.cast(tf.shape(gains)[-1], gains.dtype)
    total_power = tf.cast(total_power, gains.dtype)
    return tf.ones_like(gains) * (total_power / k)


def water_filling(gains, total_power=1.0) -> tf.Tensor:
    r"""Water-filling over ``k`` parallel Gaussian channels (capacity-achieving).

    Solves :math:`\max_p \sum_k \log_2(1 + p_k g_k)` s.t. :math:`\sum_k p_k = P,
    p_k \ge 0` in closed form: with the floors :math:`a_k = 1/g_k` sorted
    ascending, the water level using the :math:`m` best channels is
    :math:`\mu_m = (P + \sum_{i \le m} a_{(i)}) / m`; the number of active
    channels is the largest :math:`m` with :math:`\mu_m > a_{(m)}` and
    :math:`p_k = \max(\mu - a_k, 0)` (Cover & Thomas, Sec. 9.4). One sort per
    row, no iteration, so it batches and compiles with XLA.

    Parameters
    ----------
    gains : [..., k], tf.float32 -- per-stream gains ``sigma_k^2 / no``, linear, ``>= 0``.
        Streams with gain ``<= 0`` (or NaN) get zero power; ``inf`` gains (``no = 0``)
        are allowed and share the power equally.
    total_power : float or tensor broadcastable to ``[..., 1]`` -- power to share, linear.

    Output
    ------
    p : [..., k], tf.float32 -- powers, linear, ``>= 0``, summing to ``total_power``
        (all zero in a row whose gains are all zero).
    """
    gains = _as_float(gains, "gains")
    dtype = gains.dtype
    total_power = tf.cast(total_power, dtype)
    valid = gains > 0.0
    safe_gains = tf.where(valid, gains, tf.ones_like(gains))
    floors = tf.where(valid, 1.0 / safe_gains, tf.zeros_like(gains))

    # Unused streams sort last (key +inf) and add nothing to the cumulative sum.
    key = tf.where(valid, floors, tf.fill(tf.shape(floors), tf.constant(float("inf"), dtype)))
    sorted_key = tf.sort(key, axis=-1, direction="ASCENDING")
    sorted_valid = sorted_key < float("inf")
    sorted_floors = tf.where(sorted_valid, sorted_key, tf.zeros_like(sorted_key))

    m = tf.cast(tf.range(1, tf.shape(gains)[-1] + 1), dtype)
    levels = (total_power + tf.cumsum(sorted_floors, axis=-1)) / m
    # The active set is a prefix of the sorted floors: mu_m > a_(m) holds for
    # m = 1..m* and fails after (the water level cannot rise above a floor it skipped).
    active = tf.logical_and(sorted_valid, levels > sorted_floors)
    num_active = tf.reduce_sum(tf.cast(active, tf.int32), axis=-1, keepdims=True)
    num_active = tf.maximum(num_active, 1)
    pick = tf.equal(tf.range(1, tf.shape(gains)[-1] + 1), num_active)
    level = tf.reduce_sum(tf.where(pick, levels, tf.zeros_like(levels)), axis=-1, keepdims=True)
    return tf.where(valid, tf.nn.relu(level - floors), tf.zeros_like(gains))


POWER_ALLOCATIONS: dict[str, Callable[..., tf.Tensor]] = {
    "equal": equal_power,
    "waterfilling": water_filling,
}
"""Power allocators by name, as accepted by ``power_allocation`` of the SVD layers."""


def get_power_allocation(name: str) -> Callable[..., tf.Tensor]:
    """Return the allocator registered as ``name`` in :data:`POWER_ALLOCATIONS`.

    Raises ``ValueError`` listing the valid names for an unknown ``name``.
    """
    if not isinstance(name, str) or name not in POWER_ALLOCATIONS:
        raise ValueError(f"`power_allocation` must be one of {sorted(POWER_ALLOCATIONS)}, "
                         f"got {name!r}")
    return POWER_ALLOCATIONS[name]
