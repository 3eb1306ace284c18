"""S2 study (SD-JSCC): the smoke run against tests/expected/, determinism, the config checks."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scenario_scripts import load_scenario

from sem_sionna.experiments.semantic_jscc import CODEC_SCHEMES, COLUMNS, Config
from sem_sionna.utils.io import read_csv

EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "semantic_jscc.csv"
# metrics.csv holds 6 significant digits and the smoke run is deterministic (seeded
# training, reseeded channels): one unit in the last written digit is the tolerance
RTOL = 1e-5
NUMERIC = ("snr_db", "cbr", "bpp", "psnr", "ms_ssim", "accuracy", "n_images", "fail_rate",
           "ber")

script = load_scenario("semantic_jscc")
SMOKE = script.PROFILES["smoke"]


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("semantic_jscc")
    script.main(["--profile", "smoke", "--out", str(out)])
    return out


@pytest.mark.slow
def test_smoke_metrics_match_expected(smoke_dir):
    rows, expected = read_csv(smoke_dir / "metrics.csv"), read_csv(EXPECTED)
    assert len(rows) == len(expected)
    for row, ref in zip(rows, expected):
        assert (row["scheme"], row["channel"]) == (ref["scheme"], ref["channel"])
        for col in NUMERIC:
            np.testing.assert_allclose(row[col], ref[col], rtol=RTOL, atol=1e-9,
                                       err_msg=f"{col} of {ref}")


@pytest.mark.slow
def test_smoke_outputs(smoke_dir):
    for name in ("metrics.csv", "run.json", "accuracy_vs_snr.png", "psnr_vs_snr.png",
                 "semantic_weights.png", "examples.png"):
        assert (smoke_dir / name).stat().st_size > 0, name
    rows = read_csv(smoke_dir / "metrics.csv")
    header = (smoke_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS)
    schemes = {r["scheme"] for r in rows}
    assert schemes == {"deep_jscc", "sd_jscc_wo_gsw", "sd_jscc", *SMOKE.codecs}
    assert len(rows) == (len(schemes) * len(SMOKE.snr_db) * len(SMOKE.channels)
                         * len(SMOKE.bpp))
    assert {r["bpp"] for r in rows} == set(SMOKE.bpp)
    assert (smoke_dir / "accuracy_vs_cbr.png").exists()
    for r in rows:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["n_images"] == SMOKE.n_test
        assert np.isfinite(r["psnr"]) and 0.0 <= r["fail_rate"] <= 1.0
    # above the LDPC threshold the link is error free
    assert all(r["ber"] == 0 for r in rows if r["snr_db"] >= 15)
    record = json.loads((smoke_dir / "run.json").read_text())
    assert record["status"] == "done" and record["profile"] == "smoke"
    assert record["config"]["jscc"]["filters"] == SMOKE.jscc.filters
    sem = [w for w in record["semantic_weights"] if w is not None]
    assert sem and all(np.isclose(sum(w), SMOKE.gsw.r, rtol=1e-4) for w in sem)


@pytest.mark.slow
def test_smoke_rerun_loads_weights_and_repeats_metrics(smoke_dir):
    first = (smoke_dir / "metrics.csv").read_text()
    script.main(["--profile", "smoke", "--out", str(smoke_dir)])
    assert (smoke_dir / "metrics.csv").read_text() == first


@pytest.mark.slow
def test_smoke_same_seed_retrained_gives_identical_csv(smoke_dir, tmp_path):
    script.main(["--profile", "smoke", "--out", str(tmp_path)])
    assert (tmp_path / "metrics.csv").read_text() == (smoke_dir / "metrics.csv").read_text()


# -- configuration ------------------------------------------------------------------------

def test_profiles_are_configs_with_tuples():
    assert set(script.PROFILES) == {"smoke", "quick", "paper"}
    for cfg in script.PROFILES.values():
        assert isinstance(cfg, Config)
        assert all(isinstance(getattr(cfg, f), tuple)
                   for f in ("bpp", "channels", "snr_db", "codecs", "example_snr_db"))
        assert set(cfg.codecs) <= set(CODEC_SCHEMES)
    assert script.PROFILES["smoke"].latent_bits(0.25) == 256


@pytest.mark.parametrize("field, value", [
    ("image_size", 30), ("n_test", 0), ("bpp", (0.3,)), ("bpp", ()),
    ("channels", ("awgn", "mimo")), ("codecs", ("png+ldpc",)), ("snr_db", ()),
    ("classifier", {"width": 8}), ("snr_train_db", float("nan")),
])
def test_config_rejects_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMOKE, **{field: value})


@pytest.mark.parametrize("field, value", [
    ("reduce", "max"), ("tau", 0.0), ("r", -1.0), ("layers", ()), ("num_images", 0),
])
def test_semantic_weighting_rejects_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMOKE.gsw, **{field: value})
