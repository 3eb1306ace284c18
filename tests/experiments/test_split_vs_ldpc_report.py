"""split_vs_ldpc's claim margins per epoch, on hand-made learning-curve rows."""
import numpy as np
import pytest
from scipy import stats
from scenario_scripts import load_scenario

from sem_sionna.experiments.split_vs_ldpc_report import claim_margin_rows, plot_claim_margins

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
