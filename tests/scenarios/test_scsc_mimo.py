"""End-to-end smoke test of scenarios/scsc_mimo.py (S3, SCSC)."""
import json
import shutil

import pytest
from scenario_scripts import load_scenario

from sem_sionna.utils.io import read_csv


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("scsc_mimo")
    rows = load_scenario("scsc_mimo").main(["--profile", "smoke", "--out", str(out), "--seed", "3"])
    return out, rows


def test_smoke_writes_every_output(smoke):
    out, rows = smoke
    for name in ("metrics.csv", "run.json", "bd_rates.csv", "miou_vs_snr.png", "psnr_vs_cbr.png",
                 "miou_vs_cbr.png", "ablation.png", "examples.png", "miou_vs_snr_channels.png"):
        assert (out / name).stat().st_size > 0, name
    table = read_csv(out / "metrics.csv")
    assert len(table) == len(rows) > 0
    for col in ("scheme", "channel", "csi", "snr_db", "cbr", "psnr", "ms_ssim", "miou",
                "n_images"):
        assert col in table[0]
    schemes = {r["scheme"] for r in table}
    assert {"digital", "scsc", "proxynet", "deepjscc_mimo", "adjscc", "scsc_wo_ppen",
            "scsc_wo_pcen", "scsc_wo_qa"} <= schemes
    assert {r["csi"] for r in table} == {"perfect", "imperfect"}
    for r in table:
        assert 0.0 <= r["miou"] <= 1.0 and 0.0 < r["cbr"] < 1.0 and r["n_images"] == 8
        if r["scheme"] in ("digital", "scsc"):
            assert 0.0 <= r["decoded"] <= 1.0 and r["q"] in (34, 41)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "done" and record["failures"] == []
    assert set(record["blocks"]) == {"34", "41"}
    # CBR of a codec quality = its block length (channel uses per stream) / source reals
    block = record["blocks"]["41"]
    assert block["cbr"] == pytest.approx(block["num_channel_uses"] / (3 * 32 * 32))
    for r in table:
        if r["q"] == 41 and r["scheme"] != "proxynet":
            assert r["cbr"] == pytest.approx(block["cbr"], rel=1e-5)
        if r["scheme"] == "proxynet":  # its own latent over AWGN: 4 channels -> 1/12
            assert r["channel"] == "awgn" and r["cbr"] == pytest.approx(1 / 12, rel=1e-5)


def test_smoke_sweep_is_deterministic(smoke, tmp_path):
    """Same seed and the same trained weights (loaded from ckpt/) -> identical metrics.csv."""
    out, _ = smoke
    shutil.copytree(out / "ckpt", tmp_path / "ckpt")
    load_scenario("scsc_mimo").main(["--profile", "smoke", "--out", str(tmp_path), "--seed", "3"])
    record = json.loads((tmp_path / "run.json").read_text())
    assert all(stage["loaded"] for stage in record["training"].values())
    assert (tmp_path / "metrics.csv").read_text() == (out / "metrics.csv").read_text()
