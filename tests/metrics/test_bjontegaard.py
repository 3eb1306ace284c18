"""Tests for sem_sionna.metrics.bjontegaard."""
import functools

import numpy as np
import pytest

from sem_sionna.metrics import bd_ci95, bd_psnr, bd_rate, rd_envelope

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


# -- piecewise cubic (PCHIP) fit ------------------------------------------------------
@pytest.mark.parametrize("scale", [0.9, 1.25])
def test_pchip_rate_scaling_is_exact(scale):
    expected = (scale - 1.0) * 100.0
    assert bd_rate(RATE, PSNR, scale * RATE, PSNR, method="pchip") == pytest.approx(expected)
    # two points suffice for the piecewise fit
    assert bd_rate(RATE[:2], PSNR[:2], scale * RATE[:2], PSNR[:2],
                   method="pchip") == pytest.approx(expected)


def test_pchip_psnr_shift_and_its_point_count():
    assert bd_psnr(RATE, PSNR, RATE, PSNR + 0.7, method="pchip") == pytest.approx(0.7)
    with pytest.raises(ValueError, match="at least 2"):
        bd_psnr(RATE[:1], PSNR[:1], RATE, PSNR, method="pchip")
    with pytest.raises(ValueError, match="`method`"):
        bd_rate(RATE, PSNR, RATE, PSNR, method="spline")


def test_pchip_passes_through_the_points():
    # a test curve equal to the anchor except one point 1 dB up: PCHIP integrates the bump
    # locally (between its neighbours), so BD-PSNR is positive and below 1 dB
    bumped = PSNR.copy()
    bumped[2] += 1.0
    gain = bd_psnr(RATE, PSNR, RATE, bumped, method="pchip")
    assert 0.0 < gain < 1.0


# -- operational curves ---------------------------------------------------------------
def test_rd_envelope_keeps_the_points_no_cheaper_point_matches():
    rate = np.array([0.20, 0.07, 0.10, 0.13, 0.165, 0.13])
    q = np.array([67.6, 49.7, 48.9, 57.5, 56.4, 50.0])
    r_env, q_env = rd_envelope(rate, q)
    np.testing.assert_allclose(r_env, [0.07, 0.13, 0.20])
    np.testing.assert_allclose(q_env, [49.7, 57.5, 67.6])
    # a rising curve is its own envelope; ties in quality keep the cheaper point
    np.testing.assert_allclose(rd_envelope(RATE, PSNR)[1], PSNR)
    assert rd_envelope([1.0, 2.0], [3.0, 3.0])[0].tolist() == [1.0]
    with pytest.raises(ValueError, match="same length"):
        rd_envelope([1.0, 2.0], [3.0])


def test_bd_cbr_of_non_monotone_curves_with_a_known_shift():
    # the anchor falls between its 2nd and 3rd point; the test is the same operating
    # points at 0.8 times the rate: on the operational curves BD-rate is exactly -20 %
    q = np.array([49.7, 48.9, 57.5, 56.4, 67.6])
    rate = np.array([0.069, 0.096, 0.129, 0.165, 0.210])
    with pytest.raises(ValueError, match="rise strictly"):
        bd_rate(rate, q, 0.8 * rate, q, method="pchip")
    env_a, env_t = rd_envelope(rate, q), rd_envelope(0.8 * rate, q)
    assert bd_rate(*env_a, *env_t, method="pchip") == pytest.approx(-20.0)


# -- bootstrap intervals --------------------------------------------------------------
def _per_image(rates, n=200, noise=1.0, seed=0, centred=False):
    """Per-image PSNRs of points on a known curve: PSNR = 10 log10(rate) + 40 + noise
    (``centred``: noise of mean 0 over the images, so the point means are exact)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rates:
        e = noise * rng.standard_normal(n)
        out.append(10 * np.log10(r) + 40 + (e - e.mean() if centred else e))
    return out


def test_bd_ci95_paired_rows_give_a_zero_width_interval_around_the_shift():
    # the same images at every point of both curves, the test at 0.8 times the rate:
    # every resample moves both curves alike, so BD-rate is -20 % on each
    samples = _per_image(RATE)
    bd = functools.partial(bd_rate, method="pchip")
    est, half = bd_ci95(bd, RATE, samples, 0.8 * RATE, samples, n_resamples=200)
    assert est == pytest.approx(-20.0, abs=1e-6)
    assert half == pytest.approx(0.0, abs=1e-6)


def test_bd_ci95_covers_the_truth_with_independent_noise():
    bd = functools.partial(bd_psnr, method="pchip")
    anchor, test = _per_image(RATE, seed=1), [s + 0.5 for s in _per_image(RATE, seed=2)]
    est, half = bd_ci95(bd, RATE, anchor, RATE, test, n_resamples=500, seed=3)
    # the point means move by about 1 / sqrt(200) dB, the paired difference more
    assert 0.05 < half < 0.5
    assert abs(est - 0.5) < 2 * half


def test_bd_ci95_is_infinite_when_the_curves_stop_overlapping_on_resamples():
    # two curves that overlap by 0.2 dB in quality, their point means moving by about
    # 0.35 dB over resamples: many resamples lose the overlap
    bd = functools.partial(bd_rate, method="pchip")
    anchor = _per_image(RATE[:2], noise=5.0, seed=4, centred=True)
    test = [s + 2.81 for s in _per_image(RATE[:2], noise=5.0, seed=5, centred=True)]
    est, half = bd_ci95(bd, RATE[:2], anchor, RATE[:2], test, envelope=True,
                        n_resamples=300)
    assert np.isfinite(est) and half == np.inf


def test_bd_ci95_validation():
    bd = functools.partial(bd_rate, method="pchip")
    with pytest.raises(ValueError, match="one sample per point"):
        bd_ci95(bd, RATE, _per_image(RATE[:3]), RATE, _per_image(RATE))
    with pytest.raises(ValueError, match="overlap"):
        bd_ci95(bd, RATE, _per_image(RATE), RATE, [s + 40 for s in _per_image(RATE)])
