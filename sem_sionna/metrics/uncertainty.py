"""Confidence intervals of per-image metrics and paired differences between schemes.

Every interval is a two-sided 95 % interval of a statistic of the rows of a sample, a
row being one image (or one image x channel draw, flattened by the caller):

- means use the Student t interval ``t_{0.975, n-1} s / sqrt(n)``;
- ratio statistics such as mIoU (``mean_c sum_i I[i, c] / sum_i U[i, c]``) use the
  percentile bootstrap over rows (``scipy.stats.bootstrap``), seeded;
- differences between two schemes evaluated on the same rows are *paired*: the
  per-row difference for means (t interval), the same resampled row indices for both
  schemes for any other statistic (bootstrap).

Statistics follow ``scipy.stats.bootstrap``'s vectorised convention:
``statistic(x, axis) -> value`` reduces the rows found along ``axis``; any other axes of
``x`` keep their order, and the resampling axis scipy inserts just before the row axis
stays in the output.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = ["CONFIDENCE", "Difference", "mean_ci95", "bootstrap_ci95", "ratio_ci95",
           "miou_ci95", "row_mean", "ratio_of_sums", "paired_difference", "paired_contrast"]

CONFIDENCE = 0.95

# Upper bound on the elements of one bootstrap batch (resamples x rows x other axes).
_BATCH_ELEMENTS = 2_000_000

Statistic = Callable[..., np.ndarray]


def _as_sample(values, name: str, min_ndim: int = 1) -> np.ndarray:
    """float64 array with rows on axis 0; NaN/inf rejected."""
    x = np.asarray(values)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"`{name}` must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.ndim < min_ndim:
        raise ValueError(f"`{name}` must have at least {min_ndim} dimension(s) (rows first), "
                         f"got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"`{name}` is empty (no rows)")
    if not np.all(np.isfinite(x)):
        bad = int(np.sum(~np.isfinite(x)))
        raise ValueError(f"`{name}` has {bad} NaN or infinite value(s)")
    return x


def _t_half_width(std: np.ndarray, n: int) -> np.ndarray:
    if n < 2:
        return np.full_like(std, np.nan)
    return stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * std / math.sqrt(n)


def _scalar(x):
    x = np.asarray(x, np.float64)
    return float(x) if x.ndim == 0 else x


def mean_ci95(values) -> tuple:
    """Mean over the rows and the half-width of its 95 % Student t interval.

    Parameters
    ----------
    values : [n] or [n, ...], float -- one row per image (or image x channel draw).

    Output
    ------
    (mean, half_width) : floats for ``[n]`` input, arrays of shape ``values.shape[1:]``
        otherwise. ``half_width = t_{0.975, n-1} * s / sqrt(n)`` with ``s`` the sample
        standard deviation (``ddof=1``); NaN when ``n < 2``, 0 when the values are constant.

    Raises ``ValueError`` for empty input and NaN or infinite values.
    """
    x = _as_sample(values, "values")
    n = x.shape[0]
    mean = x.mean(axis=0)
    std = x.std(axis=0, ddof=1) if n > 1 else np.zeros_like(mean)
    # A constant column must give exactly 0, not a rounding residue.
    std = np.where(np.all(x == x[:1], axis=0), 0.0, std)
    return _scalar(mean), _scalar(_t_half_width(std, n))


def row_mean(x, axis: int = 0) -> np.ndarray:
    """Mean over the rows (``axis``); a bootstrap statistic."""
    return np.mean(x, axis=axis)


def ratio_of_sums(x, axis: int = 0) -> np.ndarray:
    """``mean_c sum_i num[i, c] / sum_i den[i, c]`` over the classes with ``sum_i den > 0``.

    ``x`` is ``[n, 2, C]``: numerators (``x[:, 0]``) and denominators (``x[:, 1]``) per
    row and class (``C = 1`` for a single ratio such as bit errors / bits). With
    intersection and union counts this is mIoU as :func:`sem_sionna.metrics.miou`
    computes it: counts accumulated over the images, classes absent from both prediction
    and mask ignored. NaN when no class has a positive denominator. A vectorised
    bootstrap statistic: the rows lie on ``axis``, a resampling axis inserted just
    before the row axis is kept.
    """
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)  # [2, C, (B,) n]
    if x.ndim < 3 or x.shape[0] != 2:
        raise ValueError("`x` must be [n, 2, C] (numerators, denominators) with rows on "
                         f"`axis`, got shape {np.moveaxis(x, -1, axis).shape}")
    num = x[0].sum(axis=-1)
    den = x[1].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all classes absent: NaN
        return np.nanmean(ratio, axis=0)


def _batch(samples: Sequence[np.ndarray], n_resamples: int) -> int:
    per_resample = sum(s.size for s in samples)
    return int(max(1, min(n_resamples, _BATCH_ELEMENTS // max(per_resample, 1))))


def _bootstrap_interval(samples: Sequence[np.ndarray], statistic: Statistic,
                        n_resamples: int, seed: int,
                        max_undefined: float = 0.0) -> tuple[float, float]:
    """Percentile interval of ``statistic(*samples)`` from a paired bootstrap over rows.

    With ``max_undefined > 0`` the interval is taken over the resamples whose statistic
    is finite when they are at least ``1 - max_undefined`` of all, else ``(-inf, inf)``.
    """
    n = samples[0].shape[0]
    if n < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap(tuple(samples), statistic, n_resamples=n_resamples,
                              batch=_batch(samples, n_resamples), vectorized=True,
                              paired=True, axis=0, confidence_level=CONFIDENCE,
                              method="percentile", rng=np.random.default_rng(seed))
    if max_undefined <= 0.0:
        return float(res.confidence_interval.low), float(res.confidence_interval.high)
    dist = np.asarray(res.bootstrap_distribution, np.float64).ravel()
    finite = dist[np.isfinite(dist)]
    if finite.size < (1.0 - max_undefined) * dist.size:
        return -math.inf, math.inf
    tail = 50.0 * (1.0 - CONFIDENCE)
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def _check_resampling(n_resamples: int, seed) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 1:
        raise ValueError(f"`n_resamples` must be a positive integer, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an integer, got {seed!r}")


def bootstrap_ci95(samples, statistic: Statistic, *, n_resamples: int = 2000,
                   seed: int = 0, max_undefined: float = 0.0) -> tuple[float, float]:
    """Estimate and 95 % half-width of a statistic of row-aligned samples.

    Parameters
    ----------
    samples : array or sequence of arrays, each [n, ...] -- rows aligned across the
        samples (resampled together, with the same row indices).
    statistic : callable ``(*samples, axis) -> scalar`` -- vectorised as in
        ``scipy.stats.bootstrap`` (e.g. :func:`row_mean`, :func:`ratio_of_sums`).
    n_resamples : int -- bootstrap resamples.
    seed : int -- seed of the resampling generator; same seed, same interval.
    max_undefined : float in [0, 1) -- share of resamples whose statistic may be NaN
        (a statistic undefined on some resamples, e.g. a BD-rate whose curves stop
        overlapping): the interval is taken over the others, and is infinite when more
        are undefined. 0 (default): scipy's interval as it is (NaN if any is).

    Output
    ------
    (estimate, half_width) : floats -- the statistic of the full samples and half the
        width of the percentile interval (NaN when ``n < 2``).
    """
    _check_resampling(n_resamples, seed)
    if isinstance(max_undefined, bool) or not isinstance(max_undefined, (int, float)) \
            or not 0.0 <= max_undefined < 1.0:
        raise ValueError(f"`max_undefined` must be a number in [0, 1), got {max_undefined!r}")
    if isinstance(samples, np.ndarray) or not isinstance(samples, (list, tuple)):
        samples = (samples,)
    arrays = [_as_sample(s, f"samples[{i}]") for i, s in enumerate(samples)]
    n = arrays[0].shape[0]
    for i, a in enumerate(arrays[1:], 1):
        if a.shape[0] != n:
            raise ValueError(f"`samples[{i}]` has {a.shape[0]} rows, `samples[0]` has {n}: "
                             "rows must be aligned")
    estimate = float(statistic(*arrays, axis=0))
    low, high = _bootstrap_interval(arrays, statistic, n_resamples, seed, max_undefined)
    return estimate, (high - low) / 2


def _stack_ratio(numerators, denominators, names: tuple[str, str]) -> np.ndarray:
    num = _as_sample(numerators, names[0])
    den = _as_sample(denominators, names[1])
    if num.shape != den.shape:
        raise ValueError(f"`{names[0]}` and `{names[1]}` must have the same shape, got "
                         f"{num.shape} and {den.shape}")
    if num.ndim > 2:
        raise ValueError(f"`{names[0]}` must be [n] or [n, num_classes], got shape {num.shape}")
    if num.ndim == 1:
        num, den = num[:, None], den[:, None]
    if np.any(num < 0) or np.any(den < 0):
        raise ValueError(f"`{names[0]}` and `{names[1]}` must be non-negative")
    return np.stack([num, den], axis=1)


def ratio_ci95(numerators, denominators, *, n_resamples: int = 2000,
               seed: int = 0) -> tuple[float, float]:
    """Ratio of sums over rows with its bootstrap 95 % half-width.

    Parameters
    ----------
    numerators, denominators : [n] or [n, C], float >= 0 -- per-row counts (e.g. bit
        errors and bits; or intersections and unions per class).
    n_resamples, seed : as in :func:`bootstrap_ci95`.

    Output
    ------
    (estimate, half_width) : floats -- ``sum num / sum den`` for ``[n]``;
        ``mean_c sum_i num[i, c] / sum_i den[i, c]`` over classes with a positive
        denominator sum for ``[n, C]`` (see :func:`ratio_of_sums`).
    """
    x = _stack_ratio(numerators, denominators, ("numerators", "denominators"))
    return bootstrap_ci95(x, ratio_of_sums, n_resamples=n_resamples, seed=seed)


def miou_ci95(intersections, unions, *, n_resamples: int = 2000,
              seed: int = 0) -> tuple[float, float]:
    """mIoU from per-image counts with its bootstrap 95 % half-width (rows = images).

    Parameters
    ----------
    intersections, unions : [n_images, num_classes], int or float >= 0 -- per image and
        class ``TP_c`` and ``TP_c + FP_c + FN_c`` in pixels.

    Output
    ------
    (miou, half_width) : floats -- ``miou`` equals :func:`sem_sionna.metrics.miou` over
        the same images: counts summed over images, IoU averaged over the classes whose
        union is positive (classes absent from every image are ignored).
    """
    i = np.asarray(intersections)
    u = np.asarray(unions)
    if i.ndim != 2:
        raise ValueError(f"`intersections` must be [n_images, num_classes], got shape {i.shape}")
    x = _stack_ratio(i, u, ("intersections", "unions"))
    if np.any(x[:, 0] > x[:, 1]):
        raise ValueError("`intersections` must not exceed `unions`")
    return bootstrap_ci95(x, ratio_of_sums, n_resamples=n_resamples, seed=seed)


@dataclasses.dataclass(frozen=True)
class Difference:
    """A statistic's difference between two (or a contrast of several) paired samples.

    Attributes
    ----------
    mean : float -- the estimate, e.g. ``statistic(a) - statistic(b)``.
    ci95 : float -- half-width of the 95 % interval ``(high - low) / 2``.
    low, high : float -- the interval (NaN when it cannot be computed, ``n < 2``).
    n : int -- number of paired rows.
    """

    mean: float
    ci95: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """The 95 % interval excludes 0."""
        return bool(self.low > 0 or self.high < 0)

    @property
    def sign(self) -> int:
        """+1 significantly above 0, -1 significantly below, 0 inside the noise."""
        if self.low > 0:
            return 1
        if self.high < 0:
            return -1
        return 0

    def shifted(self, offset: float) -> "Difference":
        """The same difference minus ``offset`` (tests against a margin)."""
        return Difference(self.mean - offset, self.ci95, self.low - offset,
                          self.high - offset, self.n)

    def as_dict(self) -> dict:
        """JSON-ready: ``mean, ci95, low, high, n, sign`` (NaN as ``None``)."""
        def num(v):
            return float(v) if math.isfinite(v) else None
        return {"mean": num(self.mean), "ci95": num(self.ci95), "low": num(self.low),
                "high": num(self.high), "n": int(self.n), "sign": self.sign}


def paired_contrast(samples: Sequence, weights: Sequence[float], *,
                    statistic: Statistic | None = None, n_resamples: int = 2000,
                    seed: int = 0) -> Difference:
    """``sum_k w_k statistic(samples[k])`` with a paired 95 % interval.

    All samples share their rows (the same images in the same order, e.g. two schemes
    at one condition, or one scheme at two SNRs). ``statistic=None`` is the mean over
    rows: since the mean is linear, the interval is the t interval of the per-row
    contrast ``sum_k w_k x_k[i]`` (exact for normal rows). Any other statistic uses the
    paired percentile bootstrap: the same resampled row indices for every sample.

    Parameters
    ----------
    samples : sequence of arrays [n] (mean) or [n, ...] (e.g. [n, 2, C] counts for
        :func:`ratio_of_sums`).
    weights : sequence of float, one per sample (``(1, -1)`` is a difference).
    statistic : callable ``(x, axis) -> scalar`` or None.
    n_resamples, seed : bootstrap settings (unused for the mean).
    """
    if len(samples) != len(weights) or len(samples) == 0:
        raise ValueError(f"`samples` and `weights` must have the same positive length, got "
                         f"{len(samples)} and {len(weights)}")
    arrays = [_as_sample(s, f"samples[{k}]") for k, s in enumerate(samples)]
    w = [float(v) for v in weights]
    n = arrays[0].shape[0]
    for k, a in enumerate(arrays[1:], 1):
        if a.shape != arrays[0].shape:
            raise ValueError(f"paired samples must have the same shape: samples[0] "
                             f"{arrays[0].shape}, samples[{k}] {a.shape}")
    if statistic is None:
        if arrays[0].ndim != 1:
            raise ValueError("the mean difference needs [n] samples, got shape "
                             f"{arrays[0].shape}; pass a `statistic` for [n, ...] rows")
        d = sum(wk * a for wk, a in zip(w, arrays))
        mean, hw = mean_ci95(d)
        return Difference(mean, hw, mean - hw, mean + hw, n)
    _check_resampling(n_resamples, seed)

    def contrast(*xs, axis=0):
        return sum(wk * statistic(x, axis=axis) for wk, x in zip(w, xs))

    estimate = float(contrast(*arrays, axis=0))
    low, high = _bootstrap_interval(arrays, contrast, n_resamples, seed)
    return Difference(estimate, (high - low) / 2, low, high, n)


def paired_difference(a, b, *, statistic: Statistic | None = None, n_resamples: int = 2000,
                      seed: int = 0) -> Difference:
    """``statistic(a) - statistic(b)`` for row-aligned samples, with a paired 95 % interval.

    Parameters
    ----------
    a, b : [n] or [n, ...] -- the same rows (images / draws, same order) under two
        schemes; ``[n, 2, C]`` intersection/union stacks with ``statistic=ratio_of_sums``.
    statistic : callable ``(x, axis) -> scalar`` or None (mean over rows: paired t
        interval of ``a - b``); anything else: paired percentile bootstrap with the same
        resampled row indices for ``a`` and ``b``.
    n_resamples, seed : bootstrap settings.

    Output
    ------
    :class:`Difference`.
    """
    return paired_contrast([a, b], [1.0, -1.0], statistic=statistic,
                           n_resamples=n_resamples, seed=seed)
