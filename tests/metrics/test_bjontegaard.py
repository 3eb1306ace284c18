"""Tests for sem_sionna.metrics.bjontegaard."""
import numpy as np
import pytest

from sem_sionna.metrics import bd_psnr, bd_rate

RATE = np.array([100.0, 200.0, 400.0, 800.0, 1600.0])
PSNR = np.array([28.0, 31.5, 34.2, 36.4, 38.0])


def test_identical_curves_give_zero():
    assert bd_rate(RATE, PSNR, RATE, PSNR) == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(RATE, PSNR, RATE, PSNR) == pytest.approx(0.0, abs=1e-9)


def test_rates_scaled_by_0_9_give_minus_10_percent():
    assert bd_rate(RATE, PSNR, 0.9 * RATE, PSNR) == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate(RATE, PSNR, 1.2 * RATE, PSNR) == pytest.approx(20.0, abs=1e-6)


def test_psnr_shift_gives_bd_psnr():
    assert bd_psnr(RATE, PSNR, RATE, PSNR + 1.0) == pytest.approx(1.0, abs=1e-9)
    assert bd_psnr(RATE, PSNR, RATE, PSNR - 0.5) == pytest.approx(-0.5, abs=1e-9)


def test_linear_curve_closed_form():
    # PSNR = 10 log10(rate): scaling rates by 0.9 shifts the curve by -10 log10(0.9) dB.
    psnr = 10 * np.log10(RATE) + 5
    assert bd_psnr(RATE, psnr, 0.9 * RATE, psnr) == pytest.approx(-10 * np.log10(0.9), abs=1e-9)
    # At equal PSNR the test needs 10^(-0.1) of the rate when shifted by +1 dB.
    assert bd_rate(RATE, psnr, RATE, psnr + 1) == pytest.approx((10 ** -0.1 - 1) * 100, abs=1e-6)


def test_order_of_points_does_not_matter():
    perm = [3, 0, 4, 1, 2]
    assert bd_rate(RATE, PSNR, 0.9 * RATE[perm], PSNR[perm]) == pytest.approx(-10.0, abs=1e-6)


def test_validation():
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(RATE[:3], PSNR[:3], RATE, PSNR)
    with pytest.raises(ValueError, match="same length"):
        bd_psnr(RATE, PSNR[:4], RATE, PSNR)
    with pytest.raises(ValueError, match="positive"):
        bd_rate(-RATE, PSNR, RATE, PSNR)
    with pytest.raises(ValueError, match="overlap"):
        bd_psnr(RATE, PSNR, RATE * 100, PSNR)
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(RATE, PSNR, RATE, PSNR + 20)


def test_bd_rate_refuses_a_curve_that_is_not_increasing():
    # a dip in the middle: the cubic of log-rate over PSNR is not an inverse of the curve
    dipped = np.array([28.0, 31.5, 30.0, 36.4, 38.0])
    with pytest.raises(ValueError, match="test curve's PSNR does not rise strictly"):
        bd_rate(RATE, PSNR, RATE, dipped)
    with pytest.raises(ValueError, match="anchor curve's PSNR does not rise strictly"):
        bd_rate(RATE, dipped, RATE, PSNR)
    # BD-PSNR fits PSNR over rate and stays defined
    assert np.isfinite(bd_psnr(RATE, PSNR, RATE, dipped))
