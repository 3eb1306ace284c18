"""split_vs_ldpc's claim margins per epoch, on hand-made learning-curve rows and toy codes."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from scenario_scripts import load_scenario

from sem_sionna.experiments.split_vs_ldpc_report import (claim_margin_rows, eps_flip_margin,
                                                         flip_cost_agreement,
                                                         plot_claim_margins)

SMOKE = load_scenario("split_vs_ldpc").PROFILES["smoke"]  # one CBR (1/24): K = 128
SHAPE = (32, 32, 3)


def _curve(stage, psnrs, ci=0.1):
    return [{"stage": stage, "epoch": e + 1, "val_psnr": p, "val_psnr_ci95": ci}
            for e, p in enumerate(psnrs)]


def _ber_curve(stage, bers):
    return [{"stage": stage, "epoch": e + 1,
             **{f"ber_level_{i + 1}": b for i, b in enumerate(levels)}}
            for e, levels in enumerate(bers)]


def test_ablation_margin_is_the_psnr_difference_per_epoch():
    curves = (_curve("s0_channel_cbr128", [20.0, 21.0, 22.0])
              + _curve("s0_channel_wo_ia_cbr128", [20.5, 21.0, 21.0], ci=0.2)
              + _curve("s0_channel_wo_ian_rayleigh_cbr128", [10.0])  # no full model: skipped
              + _curve("s0_channel_rayleigh_cbr128", [15.0, 16.0])
              + _curve("s0_channel_wo_ian_rayleigh_cbr128", [14.0, 16.5]))
    rows = [r for r in claim_margin_rows(SMOKE, curves, SHAPE)
            if r["claim"] == "s0_fig7_ian_ablation"]
    by = {(r["comparison"], r["epoch"]): r for r in rows}
    assert set(by) == {("full - wo_ia (awgn, CBR 0.04167)", e) for e in (1, 2, 3)} | {
        ("full - wo_ian (rayleigh, CBR 0.04167)", e) for e in (1, 2)}
    awgn = [by[("full - wo_ia (awgn, CBR 0.04167)", e)]["margin"] for e in (1, 2, 3)]
    np.testing.assert_allclose(awgn, [-0.5, 0.0, 1.0])
    r = by[("full - wo_ian (rayleigh, CBR 0.04167)", 2)]
    assert r["margin"] == pytest.approx(-0.5)
    assert r["margin_high"] - r["margin"] == pytest.approx(np.hypot(0.1, 0.1))
    assert r["unit"] == "dB" and r["stage"] == "s0_channel_rayleigh"


def test_ber_level_margin_is_minus_the_rank_correlation(tmp_path):
    assert SMOKE.num_levels == 8
    falling = [0.3, 0.25, 0.27, 0.2, 0.1, 0.12, 0.05, 0.01]  # mostly falling: two swaps
    rho = stats.spearmanr(np.arange(8), falling).statistic
    curves = (_ber_curve("s1_channel_cbr128_warmup", [falling[::-1]])
              + _ber_curve("s1_channel_cbr128_main", [falling, falling]))
    rows = [r for r in claim_margin_rows(SMOKE, curves, SHAPE)
            if r["claim"] == "s1_fig9_ber_falls_with_level"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]  # warm-up then main, numbered on
    assert [r["stage"] for r in rows] == ["s1_channel_warmup", "s1_channel_main",
                                          "s1_channel_main"]
    assert -0.99 < rho < -0.9
    np.testing.assert_allclose([r["margin"] for r in rows], [rho, -rho, -rho])
    assert all(r["margin_low"] <= r["margin"] <= r["margin_high"] for r in rows)
    plot_claim_margins(rows, tmp_path)
    assert (tmp_path / "claim_margins.png").stat().st_size > 1000


def test_eps_flip_margin_is_minus_the_rank_correlation_of_the_source_stage():
    curves = [{"stage": "s0_source", "epoch": 1, "eps_flip_rho": -0.2,
               "eps_flip_rho_low": -0.3, "eps_flip_rho_high": -0.1},
              {"stage": "s0_source", "epoch": 2, "eps_flip_rho": None,  # not logged
               "eps_flip_exact_rho": 0.1, "eps_flip_exact_rho_low": 0.0,
               "eps_flip_exact_rho_high": 0.2},
              {"stage": "s1_source", "epoch": 1, "eps_flip_rho": 0.5,
               "eps_flip_rho_low": 0.4, "eps_flip_rho_high": 0.6}]
    rows = [r for r in claim_margin_rows(SMOKE, curves, SHAPE)
            if r["claim"] == "s0_eps_anticorrelated_with_flip_cost"]
    assert [(r["comparison"], r["epoch"]) for r in rows] == [
        ("-rho(flip cost, eps), Gauss-Newton flip cost", 1),
        ("-rho(flip cost, eps), exact flip cost", 2)]
    r = rows[0]
    assert (r["epoch"], r["margin"], r["margin_low"], r["margin_high"]) == (1, 0.2, 0.1, 0.3)
    assert r["unit"] == "rank correlation"
    assert (rows[1]["margin"], rows[1]["margin_low"], rows[1]["margin_high"]) == (
        -0.1, -0.2, -0.0)


class _Bits(keras.layers.Layer):
    """Source mapper of a toy code: the images' first ``m`` pixels, thresholded."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def call(self, x):
        return tf.cast(tf.reshape(x, [tf.shape(x)[0], -1])[:, :self.m] > 0.5, tf.float32)


class _Eps:
    def __init__(self, eps):
        self.eps = tf.constant(eps, tf.float32)


def test_eps_flip_margin_and_agreement_on_a_code_with_planted_importance():
    """Decoder x_hat = 0.5 + w (u - 0.5) on the first 8 pixels: bit m's flip cost grows
    with w_m^2. eps falling with w gives rho < 0 (claim holds), rising gives rho > 0; the
    Gauss-Newton and exact costs rank alike."""
    rng = np.random.default_rng(0)
    w = np.linspace(0.1, 1.0, 8).astype(np.float32)
    images = rng.uniform(0, 1, (64, 2, 2, 2)).astype(np.float32)
    mapper = _Bits(8)

    def demapper(u):
        return tf.reshape(0.5 + w * (u - 0.5), [-1, 2, 2, 2])

    falling = eps_flip_margin(mapper, demapper, _Eps(0.3 - 0.3 * w), images)
    rising = eps_flip_margin(mapper, demapper, _Eps(0.3 * w), images)
    assert falling["eps_flip_rho_high"] < 0 < rising["eps_flip_rho_low"]
    assert falling["eps_flip_rho_low"] <= falling["eps_flip_rho"] <= falling[
        "eps_flip_rho_high"]
    flat = eps_flip_margin(mapper, demapper, _Eps(np.full(8, 0.1)), images)
    assert all(np.isnan(v) for v in flat.values())  # equal eps: no rank correlation
    exact = eps_flip_margin(mapper, demapper, _Eps(0.3 - 0.3 * w), images, method="exact")
    assert set(exact) == {"eps_flip_exact_rho", "eps_flip_exact_rho_low",
                          "eps_flip_exact_rho_high"}
    assert exact["eps_flip_exact_rho"] == pytest.approx(falling["eps_flip_rho"])
    with pytest.raises(ValueError, match="method"):
        eps_flip_margin(mapper, demapper, _Eps(0.3 * w), images, method="taylor")
    from sem_sionna.metrics import flip_cost, gauss_newton_flip_cost
    bits = mapper(images).numpy()
    exact = flip_cost(lambda u: demapper(tf.convert_to_tensor(u)).numpy(), bits, images)
    rows = [{"flip_cost": float(c), "flip_cost_gn": float(g)} for c, g in zip(
        exact, gauss_newton_flip_cost(demapper, bits, images))]
    agreement = flip_cost_agreement(rows)
    assert agreement["spearman"] > 0.9 and agreement["n_bits"] == 8
    assert agreement["scale"] == pytest.approx(1.0, rel=1e-5)  # affine decoder: exact
