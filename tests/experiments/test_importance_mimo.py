"""Tests for sem_sionna.experiments.importance_mimo and scenarios/importance_mimo.py."""
import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scenario_scripts import load_scenario

from sem_sionna.experiments.importance_mimo import (CIBAConfig, ClassifierConfig, Config,
                                                    VAEConfig)
from sem_sionna.phy.allocation import ALLOCATION_SCHEMES
from sem_sionna.utils.io import read_csv

EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "importance_mimo.csv"
KEY = ("scheme", "snr_db")
# metrics.csv holds 6 significant digits: 1e-5 relative is one unit of the last digit,
# so only a rounding flip of an otherwise identical (deterministic) value passes.
RTOL = 1e-5


@pytest.fixture(scope="module")
def script():
    return load_scenario("importance_mimo")


@pytest.fixture(scope="module")
def smoke_out(script, tmp_path_factory):
    out = tmp_path_factory.mktemp("importance_mimo") / "a"
    script.main(["--profile", "smoke", "--out", str(out)])
    return out


def _by_key(rows):
    return {tuple(r[k] for k in KEY): r for r in rows}


@pytest.mark.slow
def test_smoke_metrics_match_the_expected_file(smoke_out):
    rows, expected = read_csv(smoke_out / "metrics.csv"), read_csv(EXPECTED)
    assert list(rows[0]) == list(expected[0])
    got, want = _by_key(rows), _by_key(expected)
    assert got.keys() == want.keys()
    for key, row in want.items():
        for col, value in row.items():
            if isinstance(value, (int, float)):
                assert math.isclose(got[key][col], value, rel_tol=RTOL, abs_tol=1e-9), (key, col)
            else:
                assert got[key][col] == value, (key, col)


@pytest.mark.slow
def test_smoke_run_writes_outputs(smoke_out):
    for name in ("metrics.csv", "run.json", "accuracy_vs_snr.png", "psnr_vs_snr.png",
                 "ms_ssim_vs_snr.png", "beta_search.csv", "beta_search.png", "alpha_search.csv",
                 "alpha_search.png", "phif_plif.csv", "phif_plif.png", "phif_plif_examples.png"):
        assert (smoke_out / name).is_file(), name
    rows = read_csv(smoke_out / "metrics.csv")
    for col in ("scheme", "channel", "snr_db", "cbr", "psnr", "ms_ssim", "accuracy",
                "n_images"):
        assert col in rows[0]
    assert {r["scheme"] for r in rows} == {"EUB", *ALLOCATION_SCHEMES}
    assert all(np.isfinite(r["psnr"]) and 0 <= r["accuracy"] <= 1 for r in rows)


@pytest.mark.slow
def test_rerun_from_the_weight_store_gives_the_same_metrics(script, smoke_out):
    out_b = smoke_out.parent / "b"
    shutil.copytree(smoke_out / "ckpt", out_b / "ckpt")
    script.main(["--profile", "smoke", "--out", str(out_b)])
    assert (out_b / "metrics.csv").read_text() == (smoke_out / "metrics.csv").read_text()
    for name in ("beta_search.csv", "alpha_search.csv", "phif_plif.csv"):
        assert (out_b / name).read_text() == (smoke_out / name).read_text(), name


def test_profiles_are_configs(script):
    assert set(script.PROFILES) == {"smoke", "quick", "paper"}
    for config in script.PROFILES.values():
        assert isinstance(config, Config)
        assert all(isinstance(getattr(config, f), tuple)
                   for f in ("betas", "alphas", "search_snr_db", "thresholds", "snr_db"))


def _smoke(script, **changes):
    return dataclasses.replace(script.PROFILES["smoke"], **changes)


def test_config_converts_sequences_to_tuples(script):
    config = _smoke(script, snr_db=[0, 5], schemes=["EPA", "WMMSE-M"])
    assert config.snr_db == (0.0, 5.0) and config.schemes == ("EPA", "WMMSE-M")


@pytest.mark.parametrize("field, value", [
    ("n_train", 0), ("eval_batch_size", 1.5), ("num_tx_ant", 3), ("betas", ()),
    ("betas", (-1.0,)), ("alphas", (1.0, 1.0)), ("snr_db", (0.0, float("nan"))),
    ("schemes", ("WF",)), ("schemes", "EPA"), ("perturb_snr_db", "0"), ("image_size", 20),
    ("vae", {"latent_dim": 16}),
])
def test_config_rejects_bad_values(script, field, value):
    with pytest.raises((ValueError, TypeError), match=field.split("_")[0]):
        _smoke(script, **{field: value})


@pytest.mark.parametrize("cls, field, value", [
    (ClassifierConfig, "depth", 0), (VAEConfig, "kl_weight", -0.1), (VAEConfig, "lr", 0.0),
    (CIBAConfig, "epochs", -1),
])
def test_stage_configs_reject_bad_values(script, cls, field, value):
    smoke = script.PROFILES["smoke"]
    group = {ClassifierConfig: smoke.classifier, VAEConfig: smoke.vae, CIBAConfig: smoke.ciba}
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(group[cls], **{field: value})
