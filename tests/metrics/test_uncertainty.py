"""Confidence intervals and paired differences against closed forms and coverage."""
import math

import numpy as np
import pytest
from scipy import stats

from sem_sionna.metrics import (Difference, bootstrap_ci95, mean_ci95, miou, miou_ci95,
                                paired_difference, ratio_ci95, ratio_of_sums, row_mean)


def _binomial_band(p, trials):
    """Coverage counts outside this band have probability < ~1e-4 under Binomial(trials, p)."""
    return stats.binom.ppf(5e-5, trials, p), stats.binom.ppf(1 - 5e-5, trials, p)


def test_mean_ci95_is_the_t_interval(rng):
    x = rng.normal(3.0, 2.0, size=40)
    mean, hw = mean_ci95(x)
    assert mean == pytest.approx(x.mean())
    assert hw == pytest.approx(stats.t.ppf(0.975, 39) * x.std(ddof=1) / math.sqrt(40))


def test_mean_ci95_bernoulli_accuracy_matches_normal_approximation(rng):
    n, p = 400, 0.8
    correct = (rng.random(n) < p).astype(float)
    mean, hw = mean_ci95(correct)
    wald = 1.96 * math.sqrt(mean * (1 - mean) / n)
    # t vs z quantile and ddof=1 vs ddof=0 differ by O(1/n) relative.
    assert hw == pytest.approx(wald, rel=3.0 / n + 1e-3)


def test_mean_ci95_edge_cases():
    assert mean_ci95([2.5]) == (2.5, pytest.approx(math.nan, nan_ok=True))
    assert math.isnan(mean_ci95([2.5])[1])
    assert mean_ci95([0.1, 0.1, 0.1]) == (pytest.approx(0.1), 0.0)
    mean, hw = mean_ci95(np.ones((5, 3)))
    assert mean.shape == hw.shape == (3,) and np.all(hw == 0)
    with pytest.raises(ValueError, match="values"):
        mean_ci95([1.0, np.nan])
    with pytest.raises(ValueError, match="empty"):
        mean_ci95([])


def test_miou_ci95_matches_the_direct_estimate_and_task_miou(rng):
    num_classes, n = 4, 30
    mask = rng.integers(0, num_classes - 1, size=(n, 8, 8))  # class 3 never occurs
    pred = np.where(rng.random(mask.shape) < 0.7, mask, rng.integers(0, num_classes - 1,
                                                                     mask.shape))
    inter = np.zeros((n, num_classes))
    union = np.zeros((n, num_classes))
    for c in range(num_classes):
        inter[:, c] = ((pred == c) & (mask == c)).sum(axis=(1, 2))
        union[:, c] = ((pred == c) | (mask == c)).sum(axis=(1, 2))
    est, hw = miou_ci95(inter, union, n_resamples=400)
    assert est == pytest.approx(float(miou(pred, mask, num_classes)), abs=1e-6)
    assert est == pytest.approx(np.mean(inter.sum(0)[:3] / union.sum(0)[:3]))
    # The bootstrap spread is of the order of the t interval of per-image IoU means.
    per_image = inter[:, :3].sum(1) / union[:, :3].sum(1)
    assert 0.3 < hw / mean_ci95(per_image)[1] < 3.0


def test_ratio_ci95_single_ratio_and_seeding(rng):
    errors = rng.binomial(100, 0.1, size=50)
    bits = np.full(50, 100)
    est, hw = ratio_ci95(errors, bits, n_resamples=500, seed=3)
    assert est == pytest.approx(errors.sum() / bits.sum())
    assert hw == pytest.approx(1.96 * math.sqrt(est * (1 - est) / 5000), rel=0.25)
    assert ratio_ci95(errors, bits, n_resamples=500, seed=3) == (est, hw)
    with pytest.raises(ValueError, match="same shape"):
        ratio_ci95(errors, bits[:-1])


def test_bootstrap_ci95_of_the_mean_is_close_to_t(rng):
    x = rng.normal(size=200)
    est, hw = bootstrap_ci95(x, row_mean, n_resamples=1000)
    assert est == pytest.approx(x.mean())
    assert hw == pytest.approx(mean_ci95(x)[1], rel=0.15)


def test_paired_difference_default_is_the_paired_t_interval(rng):
    a = rng.normal(size=60)
    b = a - 0.5 + rng.normal(scale=0.2, size=60)
    d = paired_difference(a, b)
    mean, hw = mean_ci95(a - b)
    assert d == Difference(mean, hw, mean - hw, mean + hw, 60)
    assert d.significant and d.sign == 1
    assert paired_difference(b, a).sign == -1
    assert paired_difference(a, a + 1e-3 * rng.normal(size=60)).sign == 0


def test_paired_bootstrap_recovers_a_shift_and_covers_it():
    shift, n, trials, covered = 0.3, 40, 200, 0
    for seed in range(trials):
        r = np.random.default_rng(seed)
        common = r.normal(size=n)  # image difficulty shared by both schemes
        a = common + shift + r.normal(scale=0.5, size=n)
        b = common + r.normal(scale=0.5, size=n)
        d = paired_difference(a, b, statistic=row_mean, n_resamples=300, seed=seed)
        covered += d.low <= shift <= d.high
    lo, hi = _binomial_band(0.95, trials)
    # The percentile bootstrap undercovers slightly at small n: allow 2 points.
    assert lo - 0.02 * trials <= covered <= hi


def test_paired_t_covers_at_95_percent():
    shift, n, trials, covered = -0.2, 15, 400, 0
    for seed in range(trials):
        r = np.random.default_rng(1000 + seed)
        b = r.normal(size=n)
        a = b + shift + r.normal(scale=0.3, size=n)
        d = paired_difference(a, b)
        covered += d.low <= shift <= d.high
    lo, hi = _binomial_band(0.95, trials)
    assert lo <= covered <= hi


def test_paired_difference_of_miou_counts_uses_the_same_rows(rng):
    n, c = 30, 3
    union = rng.integers(50, 100, size=(n, c))
    inter_a = (union * rng.uniform(0.6, 0.8, size=(n, c))).astype(int)
    inter_b = (union * rng.uniform(0.4, 0.6, size=(n, c))).astype(int)
    a = np.stack([inter_a, union], axis=1)
    b = np.stack([inter_b, union], axis=1)
    d = paired_difference(a, b, statistic=ratio_of_sums, n_resamples=300)
    assert d.mean == pytest.approx(float(ratio_of_sums(a) - ratio_of_sums(b)))
    assert d.sign == 1 and d.low < d.mean < d.high
    same = paired_difference(a, a, statistic=ratio_of_sums, n_resamples=100)
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)


def test_difference_as_dict_is_json_ready():
    d = paired_difference([1.0], [0.0])
    assert d.as_dict() == {"mean": 1.0, "ci95": None, "low": None, "high": None, "n": 1,
                           "sign": 0}
