"""Importance-aware power allocation and subchannel matching over MIMO eigen-channels.

Analog features are sent over the ``k`` parallel channels that SVD precoding makes
of a MIMO channel (:class:`~sem_sionna.phy.SVDPrecoder`). A unit-power feature
``s_k`` sent with power ``p_k`` over a channel of gain ``g_k`` (SNR per unit power)
has, after the receiver's estimate, one of two errors (the *MSE models*,
:data:`MSE_MODELS`):

- ``"zf"`` (zero forcing, the default): the unbiased estimate ``r / sqrt(p_k)``,

  .. math::
      \\mathrm{MSE}_k = \\frac{1}{p_k g_k};

- ``"lmmse"``: the linear MMSE estimate (shrunk by ``p_k g_k / (1 + p_k g_k)``),

  .. math::
      \\mathrm{MSE}_k = \\frac{1}{1 + p_k g_k}.

Why ``"zf"`` is the default: the paper (Sec. 3.2, its equations are not in the
seed text) derives the power "in closed form" from one Lagrange condition,
substitutes it into the power constraint and states that "the channel coding
scheme yields a unique closed-form solution", with an MSE "inversely
proportional to both channel gain and importance score". The ZF objective
:math:`\\sum_k w_k / (p_k g_k)` gives exactly that: every channel active and
:math:`p_k = P \\sqrt{w_k/g_k} / \\sum_j \\sqrt{w_j/g_j}` (:func:`zf_wmmse_power`),
with :math:`\\mathrm{MSE}_k \\propto 1/\\sqrt{w_k g_k}`. The LMMSE objective has no
such unique formula: its solution is a water-filling with an active set and a level
found numerically (:func:`wmmse_power`).

The allocators (Cao et al., "importance-aware resource allocation for MIMO
semantic communication", Sec. 3.2 and App. B) are

- **EPA**: equal power, :func:`~sem_sionna.phy.equal_power`;
- **MMSE**: :math:`\\min_p \\sum_k \\mathrm{MSE}_k` s.t. :math:`\\sum_k p_k = P`,
  :func:`mmse_power` (LMMSE) or :func:`zf_wmmse_power` with unit weights (ZF);
- **WMMSE**: :math:`\\min_p \\sum_k w_k \\mathrm{MSE}_k`, with weights
  :math:`w_k = I_k^\\alpha` from the features' importance scores :math:`I_k`
  (:func:`importance_weights`), :func:`wmmse_power` (LMMSE) or
  :func:`zf_wmmse_power` (ZF).

The KKT conditions of the LMMSE (W)MMSE problem give, with the Lagrange multiplier
:math:`\\lambda` of the power constraint and :math:`\\nu = 1/\\sqrt{\\lambda}`,

.. math::
    p_k = \\left[\\nu \\sqrt{w_k / g_k} - 1/g_k\\right]^+ ,

and :math:`\\nu` is set by :math:`\\sum_k p_k = P`; it is found by bisection.

**Subchannel matching** (the "-M" schemes, :func:`subchannel_matching`) sorts the
features by descending importance and the channels by descending gain and pairs
them in that order, which minimises the weighted objective over the assignment.

All functions are batched TensorFlow (no Python loop over the batch) and compile
with XLA (``jit_compile=True``).
"""
from __future__ import annotations

import tensorflow as tf

from sem_sionna.phy.power import _as_float, equal_power
from sem_sionna.utils.checks import check_positive_int

__all__ = [
    "ALLOCATION_SCHEMES",
    "DEFAULT_MSE_MODEL",
    "MSE_MODELS",
    "allocate_features",
    "apply_assignment",
    "eigen_gains",
    "importance_weights",
    "invert_assignment",
    "mmse_power",
    "subchannel_matching",
    "weighted_mse",
    "wmmse_power",
    "zf_wmmse_power",
]

ALLOCATION_SCHEMES = ("EPA", "EPA-M", "MMSE", "MMSE-M", "WMMSE", "WMMSE-M")
"""Schemes of :func:`allocate_features`: power allocation, ``-M`` with subchannel matching."""

MSE_MODELS = ("zf", "lmmse")
"""Receiver estimates (and the MSE the allocators minimise): see the module docstring."""

DEFAULT_MSE_MODEL = "zf"
"""The MSE model the paper's "unique closed-form solution" most likely means."""


def _check_mse_model(mse_model: str) -> str:
    if mse_model not in MSE_MODELS:
        raise ValueError(f"`mse_model` must be one of {list(MSE_MODELS)}, got {mse_model!r}")
    return mse_model

# Gains are clipped here so that 1/g and sqrt(w/g) stay normal float32 numbers
# (a noiseless channel, no = 0, gives g = inf).
_GAIN_MAX = 1e30


def eigen_gains(h_hat, num_streams: int) -> tf.Tensor:
    """Squared singular values of ``h_hat``, strongest first (the eigen-channel gains).

    They are the eigenvalues of ``h_hat^H h_hat`` (``tf.linalg.eigvalsh``, which
    compiles with XLA, unlike the complex SVD), in the stream order of
    :class:`~sem_sionna.phy.SVDPrecoder` and :class:`~sem_sionna.phy.SVDCombiner`.

    Parameters
    ----------
    h_hat : [..., num_rx_ant, num_tx_ant], tf.complex64 -- channel (estimate).
    num_streams : int -- number of eigen-channels kept, ``<= min(num_rx_ant, num_tx_ant)``.

    Output
    ------
    lam : [..., num_streams], tf.float32 -- ``sigma_k^2``, descending, ``>= 0``, linear.
    """
    num_streams = check_positive_int(num_streams, "num_streams")
    h_hat = tf.convert_to_tensor(h_hat)
    if not h_hat.dtype.is_complex:
        raise TypeError(f"`h_hat` must be complex (tf.complex64), got dtype {h_hat.dtype.name}")
    if h_hat.shape.rank is not None and h_hat.shape.rank < 2:
        raise ValueError(f"`h_hat` must have rank >= 2, got shape {tuple(h_hat.shape)}")
    nr, nt = h_hat.shape[-2], h_hat.shape[-1]
    if nr is not None and nt is not None and num_streams > min(nr, nt):
        raise ValueError(f"`num_streams` must be <= min(num_rx_ant, num_tx_ant) = {min(nr, nt)}, "
                         f"got num_streams={num_streams}")
    gram = tf.matmul(h_hat, h_hat, adjoint_a=True)
    gram = 0.5 * (gram + tf.linalg.adjoint(gram))
    lam = tf.math.real(tf.linalg.eigvalsh(gram))
    return tf.nn.relu(tf.reverse(lam, axis=[-1])[..., :num_streams])


def importance_weights(importance, alpha: float = 2.0) -> tf.Tensor:
    """WMMSE weights ``w_k = I_k^alpha`` (``alpha = 0``: all ones, i.e. MMSE).

    Parameters
    ----------
    importance : [..., k], tf.float32 -- importance scores ``I_k >= 0`` (bits per
        feature, :func:`sem_sionna.nets.importance_score`); negative values count as 0.
    alpha : float, default 2.0 -- exponent, ``>= 0``.

    Output
    ------
    w : [..., k], tf.float32 -- weights, ``>= 0``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"`alpha` must be a number >= 0, got {alpha!r}")
    importance = _as_float(importance, "importance")
    if alpha == 0:
        return tf.ones_like(importance)
    return tf.pow(tf.nn.relu(importance), tf.cast(alpha, importance.dtype))


def weighted_mse(power, gains, weights=None, mse_model: str = "lmmse") -> tf.Tensor:
    """Objective of (W)MMSE: ``sum_k w_k / (1 + p_k g_k)`` (LMMSE) or
    ``sum_k w_k / (p_k g_k)`` (ZF) over the last axis.

    Parameters
    ----------
    power : [..., k], tf.float32 -- powers ``p_k``, linear.
    gains : [..., k], tf.float32 -- gains ``g_k`` (SNR per unit power), linear.
    weights : [..., k], tf.float32 or None -- ``w_k`` (None: all ones).
    mse_model : str, default "lmmse" -- one of :data:`MSE_MODELS`.

    Output
    ------
    mse : [...], tf.float32 -- weighted sum of the per-channel errors (ZF: ``inf``
        where a channel with ``w_k > 0`` gets no power).
    """
    _check_mse_model(mse_model)
    power = _as_float(power, "power")
    gains = tf.cast(_as_float(gains, "gains"), power.dtype)
    snr = power * tf.minimum(gains, _GAIN_MAX)
    mse = 1.0 / snr if mse_model == "zf" else 1.0 / (1.0 + snr)
    if weights is not None:
        w = tf.cast(tf.broadcast_to(weights, tf.shape(mse)), power.dtype)
        mse = tf.where(w > 0, mse * w, tf.zeros_like(mse))
    return tf.reduce_sum(mse, axis=-1)


def zf_wmmse_power(gains, weights, total_power=1.0) -> tf.Tensor:
    r"""Weighted MSE power allocation of the ZF model: :math:`\min_p \sum_k w_k / (p_k g_k)`.

    Under :math:`\sum_k p_k = P` the Lagrange condition
    :math:`w_k / (g_k p_k^2) = \lambda` gives the unique solution, every channel
    with :math:`w_k g_k > 0` active,

    .. math::
        p_k = P \frac{\sqrt{w_k / g_k}}{\sum_j \sqrt{w_j / g_j}},
        \qquad \mathrm{MSE}_k = \frac{1}{p_k g_k}
        = \frac{\sum_j \sqrt{w_j / g_j}}{P \sqrt{w_k g_k}}.

    With unit weights it is the ZF MMSE allocation (more power to weaker channels,
    ``p_k ~ 1/sqrt(g_k)``).

    Parameters
    ----------
    gains : [..., k], tf.float32 -- gains ``g_k`` (SNR per unit power), linear, ``>= 0``.
    weights : broadcastable to ``gains``, tf.float32 -- weights ``w_k >= 0``.
    total_power : float or tensor broadcastable to ``[..., 1]`` -- ``P``, linear, ``>= 0``.

    Output
    ------
    p : [..., k], tf.float32 -- powers, linear, ``>= 0``, summing to ``P``. Channels with
        ``g_k <= 0`` or ``w_k <= 0`` get 0; a row without such a channel gets all zeros.
    """
    gains = _as_float(gains, "gains")
    out_dtype, dtype = gains.dtype, tf.float64
    gains = tf.cast(gains, dtype)
    weights = tf.broadcast_to(tf.cast(_as_float(weights, "weights"), dtype), tf.shape(gains))
    total_power = tf.broadcast_to(tf.cast(total_power, dtype), tf.shape(gains[..., :1]))
    valid = (gains > 0) & (weights > 0) & tf.math.is_finite(weights)
    g = tf.where(valid, tf.minimum(gains, _GAIN_MAX), tf.ones_like(gains))
    w = tf.where(valid, tf.minimum(weights, _GAIN_MAX), tf.ones_like(weights))
    slope = tf.where(valid, tf.sqrt(w / g), tf.zeros_like(g))
    den = tf.reduce_sum(slope, -1, keepdims=True)
    ok = den > 0
    p = tf.where(ok, total_power * slope / tf.where(ok, den, tf.ones_like(den)),
                 tf.zeros_like(slope))
    return tf.cast(p, out_dtype)


def wmmse_power(gains, weights, total_power=1.0, num_iter: int = 50) -> tf.Tensor:
    r"""Weighted-MMSE power allocation: :math:`\min_p \sum_k w_k / (1 + p_k g_k)`.

    Solves the problem under :math:`\sum_k p_k = P, p_k \ge 0` through its KKT
    conditions: :math:`p_k(\nu) = [\nu\sqrt{w_k/g_k} - 1/g_k]^+` is increasing in
    :math:`\nu = 1/\sqrt{\lambda}`, channel ``k`` being active for
    :math:`\nu > t_k = 1/\sqrt{w_k g_k}`. A bisection on :math:`\log\nu` between
    :math:`\min_k t_k` (no power used) and :math:`\min_k t_k (P g_k + 1)` (one
    channel alone takes ``P``) finds the active set; :math:`\nu` is then computed
    in closed form on that set,
    :math:`\nu = (P + \sum_{k \in A} 1/g_k) / \sum_{k \in A} \sqrt{w_k/g_k}`, so the
    powers sum to ``P`` to float precision and are differentiable with respect to
    ``gains``, ``weights`` and ``total_power`` (for a fixed active set).

    Parameters
    ----------
    gains : [..., k], tf.float32 -- gains ``g_k`` of the parallel channels (SNR of a
        unit-power symbol, e.g. ``sigma_k^2 / no``), linear, ``>= 0``.
    weights : broadcastable to ``gains``, tf.float32 -- weights ``w_k >= 0``.
    total_power : float or tensor broadcastable to ``[..., 1]`` -- ``P``, linear, ``>= 0``.
    num_iter : int, default 50 -- bisection steps (each halves the log-interval).

    Output
    ------
    p : [..., k], tf.float32 -- powers, linear, ``>= 0``, summing to ``P``. Channels
        with ``g_k <= 0`` or ``w_k <= 0`` get 0; a row where every channel has
        ``g_k w_k = 0`` (or ``P = 0``) gets all zeros.
    """
    gains = _as_float(gains, "gains")
    out_dtype = gains.dtype
    # float64 inside: nu * sqrt(w/g) - 1/g cancels near the activation thresholds
    dtype = tf.float64
    gains = tf.cast(gains, dtype)
    weights = tf.cast(_as_float(weights, "weights"), dtype)
    weights = tf.broadcast_to(weights, tf.shape(gains))
    num_iter = check_positive_int(num_iter, "num_iter")
    total_power = tf.cast(total_power, dtype)
    total_power = tf.broadcast_to(total_power, tf.shape(gains[..., :1]))

    valid = (gains > 0) & (weights > 0) & tf.math.is_finite(weights)
    g = tf.where(valid, tf.minimum(gains, _GAIN_MAX), tf.ones_like(gains))
    w = tf.where(valid, tf.minimum(weights, _GAIN_MAX), tf.ones_like(weights))
    inv_g = tf.where(valid, 1.0 / g, tf.zeros_like(g))
    slope = tf.where(valid, tf.sqrt(w / g), tf.zeros_like(g))  # sqrt(w_k / g_k)
    big = tf.constant(float("inf"), dtype)
    thresh = tf.where(valid, tf.math.rsqrt(w * g), big * tf.ones_like(g))  # t_k
    upper = tf.where(valid, thresh * (total_power * g + 1.0), big * tf.ones_like(g))
    any_valid = tf.reduce_any(valid, axis=-1, keepdims=True)
    one = tf.ones_like(total_power)
    log_lo = tf.where(any_valid, tf.math.log(tf.reduce_min(thresh, -1, keepdims=True)), 0 * one)
    log_hi = tf.where(any_valid, tf.math.log(tf.reduce_min(upper, -1, keepdims=True)), one)

    def power_at(nu):
        return tf.nn.relu(nu * slope - inv_g)

    def body(i, lo, hi):
        mid = 0.5 * (lo + hi)
        too_much = tf.reduce_sum(power_at(tf.exp(mid)), -1, keepdims=True) > total_power
        return i + 1, tf.where(too_much, lo, mid), tf.where(too_much, mid, hi)

    _, log_lo, log_hi = tf.while_loop(lambda i, lo, hi: i < num_iter, body,
                                      (tf.constant(0), log_lo, log_hi))
    nu = tf.exp(0.5 * (log_lo + log_hi))
    # Closed form of nu on the active set (sum p = P exactly, gradients through it).
    active = valid & (nu * slope > inv_g)
    num = total_power + tf.reduce_sum(tf.where(active, inv_g, tf.zeros_like(g)), -1, keepdims=True)
    den = tf.reduce_sum(tf.where(active, slope, tf.zeros_like(g)), -1, keepdims=True)
    ok = (den > 0) & (total_power > 0)
    nu = tf.where(ok, num / tf.where(ok, den, one), tf.zeros_like(den))
    p = tf.where(active & ok, tf.nn.relu(nu * slope - inv_g), tf.zeros_like(g))
    return tf.cast(p, out_dtype)


def mmse_power(gains, total_power=1.0, num_iter: int = 50) -> tf.Tensor:
    """MMSE power allocation: :func:`wmmse_power` with all weights 1.

    Parameters
    ----------
    gains : [..., k], tf.float32 -- gains ``g_k`` (SNR per unit power), linear, ``>= 0``.
    total_power : float or tensor broadcastable to ``[..., 1]`` -- ``P``, linear.
    num_iter : int, default 50 -- bisection steps.

    Output
    ------
    p : [..., k], tf.float32 -- powers minimising ``sum_k 1 / (1 + p_k g_k)``, summing to ``P``.
    """
    gains = _as_float(gains, "gains")
    return wmmse_power(gains, tf.ones_like(gains), total_power, num_iter)


def subchannel_matching(importance, gains) -> tf.Tensor:
    """Pair the most important features with the strongest channels.

    Features sorted by descending importance are put on channels sorted by
    descending gain (ties keep the original order). For weights and gains the
    rearrangement inequality makes this assignment minimise
    ``sum_k w_k / (1 + p g_k)`` for any common power, and it is the matching of the
    paper's "-M" schemes.

    Parameters
    ----------
    importance : [..., k], tf.float32 -- importance of the ``k`` features.
    gains : [..., k], tf.float32 -- gains of the ``k`` channels (slots).

    Output
    ------
    assignment : [..., k], tf.int32 -- ``assignment[..., j]`` is the index of the
        feature sent on channel ``j`` (a permutation of ``0 .. k-1`` per row).
    """
    importance = _as_float(importance, "importance")
    gains = tf.cast(_as_float(gains, "gains"), importance.dtype)
    if (importance.shape.rank is not None and gains.shape.rank is not None
            and importance.shape[-1] is not None and gains.shape[-1] is not None
            and importance.shape[-1] != gains.shape[-1]):
        raise ValueError(f"`importance` and `gains` must have the same last dimension "
                         f"(one feature per channel), got shapes {tuple(importance.shape)} "
                         f"and {tuple(gains.shape)}")
    gains = tf.broadcast_to(gains, tf.shape(importance))
    importance = tf.broadcast_to(importance, tf.shape(gains))
    batch_dims = importance.shape.rank - 1
    features_by_rank = tf.argsort(importance, axis=-1, direction="DESCENDING", stable=True)
    channels_by_rank = tf.argsort(gains, axis=-1, direction="DESCENDING", stable=True)
    rank_of_channel = tf.argsort(channels_by_rank, axis=-1, stable=True)
    return tf.gather(features_by_rank, rank_of_channel, batch_dims=batch_dims)


def apply_assignment(features, assignment) -> tf.Tensor:
    """Features in channel order: ``out[..., j] = features[..., assignment[..., j]]``.

    Parameters
    ----------
    features : [..., k], any dtype -- per-feature values.
    assignment : [..., k], tf.int32 -- from :func:`subchannel_matching`.

    Output
    ------
    out : [..., k] -- the values each channel carries.
    """
    features = tf.convert_to_tensor(features)
    assignment = tf.convert_to_tensor(assignment)
    return tf.gather(features, assignment, batch_dims=assignment.shape.rank - 1)


def invert_assignment(values, assignment) -> tf.Tensor:
    """Inverse of :func:`apply_assignment`: channel-ordered values back in feature order.

    Parameters
    ----------
    values : [..., k], any dtype -- one value per channel.
    assignment : [..., k], tf.int32 -- the assignment used at the transmitter.

    Output
    ------
    out : [..., k] -- ``out[..., assignment[..., j]] = values[..., j]``.
    """
    values = tf.convert_to_tensor(values)
    assignment = tf.convert_to_tensor(assignment)
    inverse = tf.argsort(assignment, axis=-1, stable=True)
    return tf.gather(values, inverse, batch_dims=assignment.shape.rank - 1)


def allocate_features(scheme: str, importance, gains, total_power=1.0, alpha: float = 2.0,
                      num_iter: int = 50, mse_model: str = DEFAULT_MSE_MODEL
                      ) -> tuple[tf.Tensor, tf.Tensor]:
    """Map ``k = T * ns`` features onto ``T`` channel uses of ``ns`` eigen-channels.

    Slot ``j`` of the flattened ``[T, ns]`` grid is channel use ``j // ns``,
    eigen-channel ``j % ns``. Without matching, feature ``j`` goes to slot ``j``;
    with matching (``-M``) features are paired with slots by
    :func:`subchannel_matching` over all ``T * ns`` slots. Power is then allocated
    per channel use, ``sum`` over its ``ns`` eigen-channels equal to
    ``total_power``: EPA (:func:`~sem_sionna.phy.equal_power`), MMSE (unit weights)
    or WMMSE (the weights :func:`importance_weights` ``(importance, alpha)`` of the
    features on the slots), minimising the error of ``mse_model``:
    :func:`zf_wmmse_power` (ZF) or :func:`wmmse_power` / :func:`mmse_power` (LMMSE).

    Parameters
    ----------
    scheme : str -- one of :data:`ALLOCATION_SCHEMES`.
    importance : [batch, k], tf.float32 -- importance scores of the features (bits).
    gains : [batch, T, ns], tf.float32 -- gain (SNR per unit power) of each slot, linear.
    total_power : float -- power per channel use, linear.
    alpha : float, default 2.0 -- WMMSE weight exponent.
    num_iter : int, default 50 -- bisection steps of the LMMSE (W)MMSE.
    mse_model : str, default :data:`DEFAULT_MSE_MODEL` -- one of :data:`MSE_MODELS`.

    Output
    ------
    assignment : [batch, k], tf.int32 -- feature index carried by each slot
        (:func:`apply_assignment` / :func:`invert_assignment`).
    p : [batch, T, ns], tf.float32 -- power of each slot, linear.
    """
    if scheme not in ALLOCATION_SCHEMES:
        raise ValueError(f"`scheme` must be one of {list(ALLOCATION_SCHEMES)}, got {scheme!r}")
    _check_mse_model(mse_model)
    importance = _as_float(importance, "importance")
    gains = tf.cast(_as_float(gains, "gains"), importance.dtype)
    if gains.shape.rank != 3 or importance.shape.rank != 2:
        raise ValueError(f"`importance` must be [batch, k] and `gains` [batch, T, ns], got "
                         f"shapes {tuple(importance.shape)} and {tuple(gains.shape)}")
    t, ns = gains.shape[1], gains.shape[2]
    if None not in (t, ns, importance.shape[1]) and t * ns != importance.shape[1]:
        raise ValueError(f"`importance` must have k = T * ns = {t * ns} features for gains of "
                         f"shape {tuple(gains.shape)}, got shape {tuple(importance.shape)}")
    flat_gains = tf.reshape(gains, tf.shape(importance))
    base, _, matched = scheme.partition("-")
    if matched:
        assignment = subchannel_matching(importance, flat_gains)
    else:
        assignment = tf.broadcast_to(tf.range(tf.shape(importance)[-1]), tf.shape(importance))
    if base == "EPA":
        p = equal_power(gains, total_power)
    else:
        if base == "MMSE":
            w = tf.ones_like(gains)
        else:
            w = tf.reshape(apply_assignment(importance_weights(importance, alpha), assignment),
                           tf.shape(gains))
        if mse_model == "zf":
            p = zf_wmmse_power(gains, w, total_power)
        else:
            p = wmmse_power(gains, w, total_power, num_iter)
    return assignment, p
