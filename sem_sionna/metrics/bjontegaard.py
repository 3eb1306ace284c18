"""Bjontegaard delta rate and delta PSNR between two rate-distortion curves.

G. Bjontegaard, "Calculation of average PSNR differences between RD-curves",
VCEG-M33, 2001: each curve is fitted by a cubic polynomial (PSNR as a function of
``log10(rate)`` for BD-PSNR, ``log10(rate)`` as a function of PSNR for BD-rate),
the fits are integrated over the interval where both curves have data, and the
difference of the integrals is divided by the interval length. The rate unit
cancels (bytes, bits per pixel, channel uses ...), as long as both curves use the same.

BD-rate inverts the curve (rate as a function of quality), so it is defined only for a
curve whose quality rises strictly with the rate; :func:`bd_rate` refuses any other
(a cubic through a curve that falls and rises again integrates to numbers such as
-99.7 % that describe the fit, not the curves). BD-PSNR fits quality as a function of
rate and accepts such curves.
"""
from __future__ import annotations

import numpy as np
from numpy.polynomial import Polynomial

__all__ = ["bd_rate", "bd_psnr"]

_MIN_POINTS = 4


def _curve(rate, psnr, which: str) -> tuple[np.ndarray, np.ndarray]:
    rate = np.asarray(rate, np.float64).ravel()
    psnr = np.asarray(psnr, np.float64).ravel()
    if rate.shape != psnr.shape:
        raise ValueError(f"`rate_{which}` and `psnr_{which}` must have the same length, got "
                         f"{rate.size} and {psnr.size}")
    if rate.size < _MIN_POINTS:
        raise ValueError(f"the {which} curve needs at least {_MIN_POINTS} points for a cubic "
                         f"fit, got {rate.size}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(psnr))):
        raise ValueError(f"the {which} curve has non-finite values: rate={rate.tolist()}, "
                         f"psnr={psnr.tolist()}")
    if np.any(rate <= 0):
        raise ValueError(f"`rate_{which}` must be positive, got {rate.tolist()}")
    if np.unique(rate).size < _MIN_POINTS or np.unique(psnr).size < _MIN_POINTS:
        raise ValueError(f"the {which} curve needs at least {_MIN_POINTS} distinct rates and "
                         f"PSNRs, got rate={rate.tolist()}, psnr={psnr.tolist()}")
    return np.log10(rate), psnr


def _mean_gap(x_a, y_a, x_t, y_t, what: str) -> float:
    """Mean of ``fit_t(x) - fit_a(x)`` over the overlap of the two ``x`` ranges."""
    lo, hi = max(x_a.min(), x_t.min()), min(x_a.max(), x_t.max())
    if not hi > lo:
        raise ValueError(f"the anchor and test curves do not overlap in {what}: anchor "
                         f"[{x_a.min():.4g}, {x_a.max():.4g}], test [{x_t.min():.4g}, "
                         f"{x_t.max():.4g}]")
    # Polynomial.fit works on a scaled domain, better conditioned than np.polyfit.
    int_a = Polynomial.fit(x_a, y_a, 3).integ()
    int_t = Polynomial.fit(x_t, y_t, 3).integ()
    return float(((int_t(hi) - int_t(lo)) - (int_a(hi) - int_a(lo))) / (hi - lo))


def _curves(rate_anchor, psnr_anchor, rate_test, psnr_test):
    """Both curves checked: ``(log10 rate, PSNR)`` of the anchor, then of the test."""
    return (*_curve(rate_anchor, psnr_anchor, "anchor"), *_curve(rate_test, psnr_test, "test"))


def _check_increasing(log_rate: np.ndarray, psnr: np.ndarray, which: str) -> None:
    order = np.argsort(log_rate, kind="stable")
    if np.any(np.diff(psnr[order]) <= 0):
        raise ValueError(
            f"the {which} curve's PSNR does not rise strictly with the rate (BD-rate needs "
            f"an invertible curve): rate={(10.0 ** log_rate[order]).tolist()}, "
            f"psnr={psnr[order].tolist()}")


def bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test) -> float:
    """Average rate difference of the test curve at equal PSNR (BD-rate).

    Parameters
    ----------
    rate_anchor, psnr_anchor : [>= 4], float -- anchor curve (rate > 0, PSNR in dB).
    rate_test, psnr_test : [>= 4], float -- test curve.

    Output
    ------
    bd_rate : float -- percent; negative means the test needs less rate for the same
        PSNR (e.g. -10.0 when it needs 0.9 times the anchor's rate everywhere).

    Raises ``ValueError`` when a curve's PSNR does not rise strictly with its rate.
    """
    lr_a, p_a, lr_t, p_t = _curves(rate_anchor, psnr_anchor, rate_test, psnr_test)
    _check_increasing(lr_a, p_a, "anchor")
    _check_increasing(lr_t, p_t, "test")
    gap = _mean_gap(p_a, lr_a, p_t, lr_t, "PSNR")
    return float((10.0 ** gap - 1.0) * 100.0)


def bd_psnr(rate_anchor, psnr_anchor, rate_test, psnr_test) -> float:
    """Average PSNR difference of the test curve at equal rate (BD-PSNR).

    Parameters as :func:`bd_rate`.

    Output
    ------
    bd_psnr : float -- dB; positive means the test has higher PSNR at the same rate.
    """
    lr_a, p_a, lr_t, p_t = _curves(rate_anchor, psnr_anchor, rate_test, psnr_test)
    return _mean_gap(lr_a, p_a, lr_t, p_t, "log-rate")
