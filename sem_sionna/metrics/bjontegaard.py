"""Bjontegaard delta rate and delta PSNR between two rate-distortion curves.

G. Bjontegaard, "Calculation of average PSNR differences between RD-curves",
VCEG-M33, 2001: each curve is fitted (PSNR as a function of ``log10(rate)`` for
BD-PSNR, ``log10(rate)`` as a function of PSNR for BD-rate), the fits are integrated
over the interval where both curves have data, and the difference of the integrals is
divided by the interval length. The rate unit cancels (bytes, bits per pixel, channel
uses ...), as long as both curves use the same. Two fits:

- ``method="cubic"``: one cubic polynomial through the points (VCEG-M33; >= 4 points);
- ``method="pchip"``: the piecewise cubic Hermite interpolant through the points
  (``scipy.interpolate.PchipInterpolator``; >= 2 points), the variant of the JVET /
  AOM common test conditions: it passes through every point, stays within the data
  between points and does not overshoot where a cubic through noisy points would.

BD-rate inverts the curve (rate as a function of quality), so it is defined only for a
curve whose quality rises strictly with the rate; :func:`bd_rate` refuses any other
(a cubic through a curve that falls and rises again integrates to numbers such as
-99.7 % that describe the fit, not the curves). :func:`rd_envelope` gives the
operational curve of a set of operating points (the points no cheaper point matches),
which always rises strictly. BD-PSNR fits quality as a function of rate and accepts
any curve with distinct rates.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from numpy.polynomial import Polynomial
from scipy.interpolate import PchipInterpolator

from .uncertainty import Statistic, bootstrap_ci95, row_mean

__all__ = ["BD_METHODS", "bd_rate", "bd_psnr", "rd_envelope", "bd_ci95"]

#: Fits of :func:`bd_rate` / :func:`bd_psnr` and the fewest points each needs.
BD_METHODS = {"cubic": 4, "pchip": 2}


def _check_method(method: str) -> int:
    if method not in BD_METHODS:
        raise ValueError(f"`method` must be one of {sorted(BD_METHODS)}, got {method!r}")
    return BD_METHODS[method]


def _curve(rate, psnr, which: str, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    rate = np.asarray(rate, np.float64).ravel()
    psnr = np.asarray(psnr, np.float64).ravel()
    if rate.shape != psnr.shape:
        raise ValueError(f"`rate_{which}` and `psnr_{which}` must have the same length, got "
                         f"{rate.size} and {psnr.size}")
    if rate.size < min_points:
        raise ValueError(f"the {which} curve needs at least {min_points} points for the "
                         f"fit, got {rate.size}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(psnr))):
        raise ValueError(f"the {which} curve has non-finite values: rate={rate.tolist()}, "
                         f"psnr={psnr.tolist()}")
    if np.any(rate <= 0):
        raise ValueError(f"`rate_{which}` must be positive, got {rate.tolist()}")
    if np.unique(rate).size < rate.size or np.unique(psnr).size < min_points:
        raise ValueError(f"the {which} curve needs distinct rates and at least {min_points} "
                         f"distinct PSNRs, got rate={rate.tolist()}, psnr={psnr.tolist()}")
    return np.log10(rate), psnr


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Integral over ``[lo, hi]`` of the ``method`` fit of ``y(x)``."""
    if method == "cubic":
        # Polynomial.fit works on a scaled domain, better conditioned than np.polyfit.
        anti = Polynomial.fit(x, y, 3).integ()
        return float(anti(hi) - anti(lo))
    order = np.argsort(x, kind="stable")
    return float(PchipInterpolator(x[order], y[order], extrapolate=False).integrate(lo, hi))


def _mean_gap(x_a, y_a, x_t, y_t, what: str, method: str) -> float:
    """Mean of ``fit_t(x) - fit_a(x)`` over the overlap of the two ``x`` ranges."""
    lo, hi = max(x_a.min(), x_t.min()), min(x_a.max(), x_t.max())
    if not hi > lo:
        raise ValueError(f"the anchor and test curves do not overlap in {what}: anchor "
                         f"[{x_a.min():.4g}, {x_a.max():.4g}], test [{x_t.min():.4g}, "
                         f"{x_t.max():.4g}]")
    return (_integral(x_t, y_t, lo, hi, method) - _integral(x_a, y_a, lo, hi, method)) \
        / (hi - lo)


def _curves(rate_anchor, psnr_anchor, rate_test, psnr_test, method: str):
    """Both curves checked: ``(log10 rate, PSNR)`` of the anchor, then of the test."""
    n = _check_method(method)
    return (*_curve(rate_anchor, psnr_anchor, "anchor", n),
            *_curve(rate_test, psnr_test, "test", n))


def _check_increasing(log_rate: np.ndarray, psnr: np.ndarray, which: str) -> None:
    order = np.argsort(log_rate, kind="stable")
    if np.any(np.diff(psnr[order]) <= 0):
        raise ValueError(
            f"the {which} curve's PSNR does not rise strictly with the rate (BD-rate needs "
            f"an invertible curve): rate={(10.0 ** log_rate[order]).tolist()}, "
            f"psnr={psnr[order].tolist()}")


def bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test, *, method: str = "cubic") -> float:
    """Average rate difference of the test curve at equal PSNR (BD-rate).

    Parameters
    ----------
    rate_anchor, psnr_anchor : [>= 4] (``"pchip"``: [>= 2]), float -- anchor curve
        (rate > 0, PSNR in dB or any quality that rises with the rate).
    rate_test, psnr_test : float -- test curve, as the anchor.
    method : ``"cubic"`` (VCEG-M33) or ``"pchip"`` -- the fit (module docstring).

    Output
    ------
    bd_rate : float -- percent; negative means the test needs less rate for the same
        PSNR (e.g. -10.0 when it needs 0.9 times the anchor's rate everywhere).

    Raises ``ValueError`` when a curve's PSNR does not rise strictly with its rate (pass
    it through :func:`rd_envelope` first to compare operational curves).
    """
    lr_a, p_a, lr_t, p_t = _curves(rate_anchor, psnr_anchor, rate_test, psnr_test, method)
    _check_increasing(lr_a, p_a, "anchor")
    _check_increasing(lr_t, p_t, "test")
    gap = _mean_gap(p_a, lr_a, p_t, lr_t, "PSNR", method)
    return float((10.0 ** gap - 1.0) * 100.0)


def bd_psnr(rate_anchor, psnr_anchor, rate_test, psnr_test, *, method: str = "cubic") -> float:
    """Average PSNR difference of the test curve at equal rate (BD-PSNR).

    Parameters as :func:`bd_rate`; the PSNRs need not rise with the rate.

    Output
    ------
    bd_psnr : float -- dB; positive means the test has higher PSNR at the same rate.
    """
    lr_a, p_a, lr_t, p_t = _curves(rate_anchor, psnr_anchor, rate_test, psnr_test, method)
    return _mean_gap(lr_a, p_a, lr_t, p_t, "log-rate", method)


def rd_envelope(rate, quality) -> tuple[np.ndarray, np.ndarray]:
    """The operational curve of a set of operating points: those of higher quality than
    every point of lower or equal rate, in rising rate.

    A link that may spend a rate ``r`` can run at any cheaper operating point, so the
    best quality it reaches at ``r`` is the best over the points of rate ``<= r``; the
    points kept are where that best changes. The result rises strictly in both rate and
    quality (an input for :func:`bd_rate`).

    Parameters
    ----------
    rate, quality : [n], float -- operating points (finite, same length, n >= 1).

    Output
    ------
    (rate, quality) : [m], float64, m <= n -- the kept points, rate ascending.
    """
    rate = np.asarray(rate, np.float64).ravel()
    quality = np.asarray(quality, np.float64).ravel()
    if rate.shape != quality.shape or rate.size == 0:
        raise ValueError(f"`rate` and `quality` must be non-empty and of the same length, "
                         f"got {rate.size} and {quality.size}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(quality))):
        raise ValueError(f"`rate` and `quality` must be finite, got rate={rate.tolist()}, "
                         f"quality={quality.tolist()}")
    order = np.lexsort((-quality, rate))  # by rate, the best first among equal rates
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], quality[order][:-1]]))
    keep = order[quality[order] > best_before]
    return rate[keep], quality[keep]


def _bd_of(bd: Callable[..., float], r_a, q_a, r_t, q_t, envelope: bool) -> float:
    """``bd`` of the two curves, or of their operational curves with ``envelope``."""
    if envelope:
        (r_a, q_a), (r_t, q_t) = rd_envelope(r_a, q_a), rd_envelope(r_t, q_t)
    return bd(r_a, q_a, r_t, q_t)


def _bd_or_nan(bd: Callable[..., float], r_a, q_a, r_t, q_t, envelope: bool) -> float:
    try:
        return _bd_of(bd, r_a, q_a, r_t, q_t, envelope)
    except ValueError:
        return float("nan")


def bd_ci95(bd: Callable[..., float], rate_anchor, samples_anchor: Sequence, rate_test,
            samples_test: Sequence, *, statistic: Statistic = row_mean,
            envelope: bool = False, n_resamples: int = 1000, seed: int = 0,
            max_undefined: float = 0.025) -> tuple[float, float]:
    """A BD value of two curves measured on the same images, with its paired bootstrap
    95 % half-width.

    Every point of both curves is a sample of the same rows (images); a resample draws
    the rows once for all points, recomputes each point's quality with ``statistic``
    and the BD value of the resampled curves (:func:`sem_sionna.metrics.bootstrap_ci95`).

    Parameters
    ----------
    bd : callable ``(rate_a, q_a, rate_t, q_t) -> float`` -- :func:`bd_rate` or
        :func:`bd_psnr`, e.g. with ``functools.partial(bd_rate, method="pchip")``.
    rate_anchor, rate_test : [P_a], [P_t], float -- the points' rates.
    samples_anchor, samples_test : P_a, P_t arrays, each [n, ...] -- the points' rows,
        aligned across all points (the same n images in the same order).
    statistic : ``(x, axis) -> quality`` -- a vectorised bootstrap statistic of one
        point's rows (default the mean; e.g. ``ratio_of_sums`` for mIoU counts).
    envelope : bool -- compare the operational curves (:func:`rd_envelope`) of each
        (resampled) set of points.
    n_resamples, seed : as :func:`~sem_sionna.metrics.bootstrap_ci95`.
    max_undefined : float -- share of resamples on which the BD value may be undefined
        (curves that stop overlapping); more gives an infinite half-width.

    Output
    ------
    (estimate, half_width) : floats -- the BD value of the full samples and half the
        width of its 95 % percentile interval.

    Raises ``ValueError`` (``bd``'s) when the BD value of the full samples is undefined.
    """
    r_a = np.asarray(rate_anchor, np.float64).ravel()
    r_t = np.asarray(rate_test, np.float64).ravel()
    samples = [*samples_anchor, *samples_test]
    if len(samples_anchor) != r_a.size or len(samples_test) != r_t.size:
        raise ValueError(f"one sample per point: `rate_anchor` has {r_a.size} points and "
                         f"`samples_anchor` {len(samples_anchor)}, `rate_test` {r_t.size} "
                         f"and `samples_test` {len(samples_test)}")
    n_a = r_a.size
    full = [float(statistic(np.asarray(x, np.float64), axis=0)) for x in samples]
    _bd_of(bd, r_a, full[:n_a], r_t, full[n_a:], envelope)  # raises when undefined

    def curves_bd(*xs, axis):
        q = np.stack([np.asarray(statistic(x, axis=axis), np.float64) for x in xs])
        flat = q.reshape(len(xs), -1)
        out = [_bd_or_nan(bd, r_a, flat[:n_a, b], r_t, flat[n_a:, b], envelope)
               for b in range(flat.shape[1])]
        return np.asarray(out).reshape(q.shape[1:])

    return bootstrap_ci95(list(samples), curves_bd, n_resamples=n_resamples, seed=seed,
                          max_undefined=max_undefined)
