"""scenarios/split_vs_ldpc.py end to end on the smoke profile, against tests/expected/."""
import json
import math
from pathlib import Path

import pytest
from scenario_scripts import load_scenario

from sem_sionna.utils.io import read_csv

EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "split_vs_ldpc.csv"
# metrics.csv holds 6 significant digits: one unit in the last written digit
RTOL = 1e-5
CONTRACT = ["scheme", "channel", "snr_db", "cbr", "psnr", "ms_ssim", "n_images"]
FIGURES = ["psnr_vs_snr.png", "ms_ssim_vs_snr.png", "decode_failure_vs_snr.png",
           "interface_ber.png", "learned_eps.png", "examples.png", "claim_margins.png"]
SCHEMES = {"split_jscc", "learned_interface", "learned_interface_wo_ia",
           "learned_interface_wo_ian", "deepjscc", "bpg+ldpc", "bpg@capacity"}
KEY = ("scheme", "channel", "cbr", "snr_db")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("split_vs_ldpc")
    load_scenario("split_vs_ldpc").main(["--profile", "smoke", "--out", str(out)])
    return out


def _by_key(rows):
    return {tuple(r[k] for k in KEY): r for r in rows}


def test_smoke_metrics_match_the_expected_file(smoke_run):
    got, want = _by_key(read_csv(smoke_run / "metrics.csv")), _by_key(read_csv(EXPECTED))
    assert got.keys() == want.keys()
    for key, row in want.items():
        assert got[key].keys() == row.keys(), key
        for col, value in row.items():
            if value is None or isinstance(value, float) and math.isnan(value):
                assert got[key][col] is None or math.isnan(got[key][col]), (key, col)
            elif isinstance(value, (int, float)):
                assert got[key][col] == pytest.approx(value, rel=RTOL), (key, col)
            else:
                assert got[key][col] == value, (key, col)


def test_smoke_writes_every_output(smoke_run):
    header = (smoke_run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert set(CONTRACT) <= set(header)
    rows = read_csv(smoke_run / "metrics.csv")
    schemes = {r["scheme"] for r in rows}
    assert schemes == SCHEMES
    assert all(r["n_images"] == 8 for r in rows)
    for r in rows:  # CI columns finite (n = 8 >= 2)
        assert math.isfinite(r["psnr_ci95"]) and math.isfinite(r["ms_ssim_ci95"]), r
    digital = [r for r in rows if r["scheme"] == "bpg+ldpc" and r["coderate"] is not None
               and not (isinstance(r["coderate"], float) and math.isnan(r["coderate"]))]
    assert digital and all(r["num_bits_per_symbol"] in (4, 6) for r in digital)
    for name in FIGURES:
        assert (smoke_run / name).stat().st_size > 1000, name
    run = json.loads((smoke_run / "run.json").read_text())
    assert run["seed"] == 0 and "train_split_jscc" in run["stages"]
    assert run["status"] == "done"
    assert run["config"]["stage1"] == {"epochs": 1, "steps": 2}
    params = run["parameters"]
    assert (params["learned_interface"]["0.041666666666666664"]
            > params["learned_interface_wo_ia"]["0.041666666666666664"]
            > params["learned_interface_wo_ian"]["0.041666666666666664"])
    ber = read_csv(smoke_run / "interface_ber.csv")
    assert len(ber) == 8 * 2 and {"level", "eps", "snr_db", "cbr", "ber", "ber_ci95"} <= set(
        ber[0])
    eps = read_csv(smoke_run / "learned_eps.csv")
    assert len(eps) == 256 and {"bit", "eps", "flip_cost", "flip_cost_gn"} <= set(eps[0])
    agreement = run["flip_cost_gauss_newton"]
    assert agreement["n_bits"] == 256 and -1 <= agreement["spearman"] <= 1
    assert {r["split"] for r in read_csv(smoke_run / "generalisation.csv")} == {
        "validation", "test"}
    # the smoke profile trains no S0 Rayleigh models (test_split_vs_ldpc_train does)
    assert not any("rayleigh" in name for name in list(params) + list(run["training"]))
    margins = read_csv(smoke_run / "claim_margins.csv")
    assert {r["claim"] for r in margins} == {"s0_fig7_ian_ablation",
                                             "s1_fig9_ber_falls_with_level",
                                             "s0_eps_anticorrelated_with_flip_cost"}
    eps_margins = [r for r in margins if r["claim"] == "s0_eps_anticorrelated_with_flip_cost"]
    assert [(r["stage"], r["epoch"]) for r in eps_margins] == [("s0_source", 1)]
    assert "eps_flip_rho" in run["training"]["s0_source"]
    assert {r["comparison"] for r in margins if r["claim"] == "s0_fig7_ian_ablation"} == {
        f"full - {v} (awgn, CBR 0.04167)" for v in ("wo_ia", "wo_ian")}  # no Rayleigh stages
    assert all(r["margin_low"] <= r["margin"] <= r["margin_high"] for r in margins)


def test_claims_and_per_image_samples(smoke_run):
    import numpy as np
    from sem_sionna.experiments.split_vs_ldpc import CLAIMS
    from sem_sionna.metrics import CLAIM_KEYS
    claims = json.loads((smoke_run / "claims.json").read_text())
    assert isinstance(claims, list) and [c["id"] for c in claims] == [c.id for c in CLAIMS]
    for c in claims:
        assert set(CLAIM_KEYS) <= set(c)
        assert c["verdict"] in ("reproduced", "partly", "not reproduced")
    with np.load(smoke_run / "per_image.npz", allow_pickle=True) as npz:
        assert len(npz.files) > 0


def test_digital_chain_cliff_is_visible(smoke_run):
    rows = {(r["scheme"], r["channel"], r["snr_db"]): r
            for r in read_csv(smoke_run / "metrics.csv")}
    low, high = rows[("bpg+ldpc", "awgn", 0)], rows[("bpg+ldpc", "awgn", 20)]
    assert low["fail_rate"] == 1.0 and high["fail_rate"] == 0.0
    assert high["psnr"] > low["psnr"] + 5


def test_same_seed_is_identical_and_rerun_reuses_weights(smoke_run, tmp_path):
    """From scratch with the same seed -> identical CSV; a rerun loads the stored weights
    and, with --resume, evaluates no point again."""
    scenario = load_scenario("split_vs_ldpc")
    out = tmp_path / "again"
    scenario.main(["--profile", "smoke", "--out", str(out)])
    assert (out / "metrics.csv").read_bytes() == (smoke_run / "metrics.csv").read_bytes()
    scenario.main(["--profile", "smoke", "--out", str(out), "--resume"])
    assert (out / "metrics.csv").read_bytes() == (smoke_run / "metrics.csv").read_bytes()
    run = json.loads((out / "run.json").read_text())
    assert run["stages"]["train_split_jscc"] < 10  # loaded, not trained
    assert run["stages"]["sweep"] < 5  # every point was already done


def test_other_seed_gives_other_learned_numbers(smoke_run, tmp_path):
    """--seed reaches the training: the learned schemes' PSNR changes with it."""
    out = tmp_path / "seed1"
    load_scenario("split_vs_ldpc").main(["--profile", "smoke", "--out", str(out),
                                         "--seed", "1"])
    rows = {seed: {(r["scheme"], r["channel"], r["snr_db"]): r["psnr"]
                   for r in read_csv(d / "metrics.csv")}
            for seed, d in ((0, smoke_run), (1, out))}
    learned = [k for k in rows[0] if k[0] == "deepjscc"]
    assert learned and all(rows[0][k] != rows[1][k] for k in learned)


def test_bad_cli_arguments_exit_2(tmp_path, capsys):
    scenario = load_scenario("split_vs_ldpc")
    with pytest.raises(SystemExit) as info:
        scenario.main(["--profile", "huge", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "--profile" in capsys.readouterr().err
