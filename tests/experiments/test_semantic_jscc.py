"""S2 study (SD-JSCC): the smoke run against tests/expected/, CIs, claims, the GSW analysis,
determinism, the config checks."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scenario_scripts import TRAINED_RTOL, load_scenario

from sem_sionna.experiments.semantic_jscc import CLAIMS, CODEC_SCHEMES, COLUMNS, Config
from sem_sionna.experiments.semantic_jscc_gsw import MAP_COLUMNS
from sem_sionna.metrics import CLAIM_KEYS, PerImage
from sem_sionna.utils.io import read_csv

EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "semantic_jscc.csv"
# the smoke run is deterministic on one CPU (seeded training, reseeded channels); every
# row depends on trained weights, whose last bits differ across instruction sets
RTOL = TRAINED_RTOL
NUMERIC = ("snr_db", "snr_train_db", "cbr", "bpp", "psnr", "ms_ssim", "accuracy", "f1",
           "n_images", "fail_rate")

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
    for name in ("metrics.csv", "run.json", "claims.json", "CLAIMS.md", "per_image.npz",
                 "gsw_maps.csv", "tau_curve.csv", "accuracy_vs_snr.png", "accuracy_vs_bpp.png",
                 "psnr_vs_snr.png", "semantic_weights.png", "gsw_informative.png",
                 "tau_curve.png", "examples.png"):
        assert (smoke_dir / name).stat().st_size > 0, name
    rows = read_csv(smoke_dir / "metrics.csv")
    header = (smoke_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS)
    jscc = {"deep_jscc", "sd_jscc_wo_gsw", "sd_jscc"}
    assert {r["scheme"] for r in rows} == jscc | set(SMOKE.codecs)
    expected = sum(len(p.snr_db) * (3 + len(SMOKE.codecs) * p.codecs) for p in SMOKE.points)
    assert len(rows) == expected * len(SMOKE.channels)
    assert {r["bpp"] for r in rows} == {p.bpp for p in SMOKE.points}
    for r in rows:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["n_images"] == SMOKE.n_test
        assert np.isfinite(r["psnr"]) and 0.0 <= r["fail_rate"] <= 1.0
        for m in ("psnr", "ms_ssim", "accuracy", "fail_rate", "f1"):  # n >= 2: finite CIs
            assert np.isfinite(r[f"{m}_ci95"]) and r[f"{m}_ci95"] >= 0, (m, r)
        if r["scheme"] in jscc:  # the JSCC latent always rides rate-3/4 16-QAM
            assert (r["coderate"], r["num_bits_per_symbol"]) == (0.75, 4)
        else:  # the codecs' MCS comes from the validation choice, or none fits
            assert r["coderate"] is None or (r["coderate"], r["num_bits_per_symbol"]) in SMOKE.mcs
    # above the LDPC threshold the JSCC link is error free
    assert all(r["ber"] == 0 for r in rows if r["snr_db"] >= 15 and r["scheme"] in jscc)
    claims = json.loads((smoke_dir / "claims.json").read_text())
    assert isinstance(claims, list) and [c["id"] for c in claims] == [c.id for c in CLAIMS]
    for c in claims:
        assert set(CLAIM_KEYS) <= set(c)
        assert c["verdict"] in ("reproduced", "partly", "not reproduced")
    samples = PerImage.load(smoke_dir / "per_image.npz")
    assert set(samples.schemes()) == {r["scheme"] for r in rows}
    maps = read_csv(smoke_dir / "gsw_maps.csv")
    assert list(maps[0]) == list(MAP_COLUMNS)
    assert len(maps) == SMOKE.classifier.width * 2 ** (SMOKE.classifier.depth - 1)
    assert all(r["w_std_images"] > 0 for r in maps)  # FC head: W depends on the image
    taus = read_csv(smoke_dir / "tau_curve.csv")
    assert {r["split"] for r in taus} == {"validation", "test"}
    assert len(taus) == 2 * len(SMOKE.gsw.tau_spread)
    record = json.loads((smoke_dir / "run.json").read_text())
    assert record["status"] == "done" and record["profile"] == "smoke"
    assert record["config"]["jscc"]["channel"] == "awgn"  # q + N, as the paper
    assert record["tau"] in {r["tau"] for r in taus}
    w = np.array(record["semantic_weights"])
    assert np.isclose(w.sum(), w.size, rtol=1e-4)  # r = K: mean weight 1, as w/o GSW


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
                   for f in ("points", "channels", "codecs", "mcs", "example_snr_db"))
        assert set(cfg.codecs) <= set(CODEC_SCHEMES)
        assert cfg.classifier.head == "fc" and cfg.jscc.channel == "awgn"
    assert script.PROFILES["smoke"].latent_bits(0.25) == 256
    quick = script.PROFILES["quick"]
    # Fig. 6 at train = test = 20 dB over >= 3 rates; Fig. 4 at 5 dB with the codecs
    fig6 = {p.bpp for p in quick.points if p.snr_train_db == 20.0 and 20.0 in p.snr_db}
    assert {0.125, 0.25, 0.5} <= fig6
    assert any(p.codecs and p.snr_train_db == 5.0 for p in quick.points)
    assert quick.n_test >= 1024
    assert CODEC_SCHEMES["bpg+ldpc"] == "bpg"


@pytest.mark.parametrize("field, value", [
    ("image_size", 30), ("n_test", 0), ("n_val", 0), ("points", ()), ("tau_point", 9),
    ("channels", ("awgn", "mimo")), ("codecs", ("png+ldpc",)),
    ("classifier", {"width": 8}),
])
def test_config_rejects_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMOKE, **{field: value})


@pytest.mark.parametrize("field, value", [
    ("bpp", 0.3), ("snr_train_db", float("nan")), ("snr_db", ()),
])
def test_train_point_rejects_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMOKE.points[0], **{field: value})


@pytest.mark.parametrize("field, value", [
    ("reduce", "max"), ("tau_spread", (0.0, 1.0)), ("r", -1.0), ("layers", ()),
    ("num_images", 0),
])
def test_semantic_weighting_rejects_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMOKE.gsw, **{field: value})
