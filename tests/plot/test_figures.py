"""Every figure function writes a readable, non-empty image atomically."""
import warnings

import numpy as np
import pytest
from PIL import Image

from sem_sionna import plot, sweep


@pytest.fixture
def rows():
    points = sweep.grid(scheme=["bpg+ldpc", "deepjscc"], channel=["awgn", "rayleigh"],
                        cbr=[1 / 24, 1 / 12], snr_db=[0.0, 5.0, 10.0])
    out = []
    for p in points:
        digital = p["scheme"] == "bpg+ldpc"
        out.append({"scheme": p["scheme"], "channel": p["channel"], "cbr": p["cbr"],
                    "snr_db": p["snr_db"], "psnr": 20.0 + p["snr_db"],
                    "fail_rate": max(0.0, 1 - p["snr_db"] / 10) if digital else None})
    return out


def size(path):
    assert path.stat().st_size > 2000
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


def test_metric_vs_snr_one_panel_per_condition(tmp_path, rows):
    four = size(plot.metric_vs_snr(rows, "psnr", tmp_path / "four.png"))
    one = size(plot.metric_vs_snr(rows, "psnr", tmp_path / "one.png",
                                  where={"channel": "awgn", "cbr": [1 / 24]}))
    assert four[0] > 2 * one[0] and four[1] > one[1]
    assert not list(tmp_path.glob("*.tmp"))


def test_directory_path_gets_default_name(tmp_path, rows):
    assert plot.metric_vs_snr(rows, "psnr", tmp_path) == tmp_path / "psnr_vs_snr.png"
    assert plot.metric_vs_cbr(rows, "psnr", tmp_path) == tmp_path / "psnr_vs_cbr.png"
    assert plot.failure_rate_vs_snr(rows, tmp_path) == tmp_path / "fail_rate_vs_snr.png"
    for name in ["psnr_vs_snr.png", "psnr_vs_cbr.png", "fail_rate_vs_snr.png"]:
        size(tmp_path / name)


def test_reads_csv_path(tmp_path):
    runner = sweep.SweepRunner(tmp_path, ["scheme", "channel", "cbr", "snr_db", "psnr"])
    runner.run(sweep.grid(scheme=["a", "b"], channel=["awgn"], cbr=[0.5],
                          snr_db=[0.0, 10.0]),
               lambda p, s: {"psnr": 10.0 + p["snr_db"]})
    size(plot.metric_vs_snr(tmp_path / "metrics.csv", "psnr", tmp_path / "f.png"))


def test_bad_inputs(tmp_path, rows):
    with pytest.raises(ValueError, match="ms_ssim"):
        plot.metric_vs_snr(rows, "ms_ssim", tmp_path / "x.png")
    with pytest.raises(ValueError, match="panels"):
        plot.metric_vs_snr(rows, "psnr", tmp_path / "x.png", panels=("channel",))
    with pytest.raises(ValueError, match="ys"):
        plot.line_plot([0, 1], {"a": [1, 2, 3]}, tmp_path / "x.png", "x", "y", "t")
    with pytest.raises(ValueError, match="values"):
        plot.bar_chart(["a", "b"], [1.0], tmp_path / "x.png", "mIoU", "t")
    with pytest.raises(ValueError, match="row_labels"):
        plot.image_grid([[np.zeros((4, 4, 3))]], ["a", "b"], ["c"], tmp_path / "x.png")


def test_all_nan_metric_warns_and_still_writes(tmp_path, rows):
    for r in rows:
        r["psnr"] = float("nan")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        size(plot.metric_vs_snr(rows, "psnr", tmp_path / "nan.png"))
    assert any("no finite values" in str(w.message) for w in caught)


def test_other_figures(tmp_path):
    rng = np.random.default_rng(0)
    size(plot.bar_chart(["a", "b", "c"], [0.4, float("nan"), 0.7], tmp_path / "b.png",
                        "mIoU", "mIoU at 10 dB"))
    size(plot.line_plot(np.arange(5), {"train": np.exp(-np.arange(5)),
                                       "val": [1, 0.5, 0, 0.1, np.nan]},
                        tmp_path / "l.png", "epoch", "loss", "training", logy=True))
    w, h = size(plot.image_grid(
        [[rng.random((8, 8, 3)), rng.random((8, 8, 1)), None],
         [rng.integers(0, 5, (8, 8)), rng.random((8, 8)), rng.random((8, 8, 3))]],
        ["original", "received"], ["0 dB", "5 dB", "10 dB"], tmp_path / "g.png",
        title="examples"))
    assert w > h


def test_confidence_bands_are_drawn_from_the_ci95_column(tmp_path, rows):
    plain = plot.metric_vs_snr(rows, "psnr", tmp_path / "plain.png")
    banded = plot.metric_vs_snr([dict(r, psnr_ci95=2.0) for r in rows], "psnr",
                                tmp_path / "banded.png")
    a = np.asarray(Image.open(plain).convert("RGB"), float)
    b = np.asarray(Image.open(banded).convert("RGB"), float)
    assert a.shape == b.shape
    changed = np.any(np.abs(a - b) > 8, axis=-1)
    # the bands (+-2 dB around every line) shade a visible area of each panel
    assert changed.mean() > 0.01
    lines = plot.line_plot([0, 1, 2], {"a": [1, 2, 3]}, tmp_path / "l.png", "x", "y", "t",
                           ci95={"a": [0.5, 0.5, 0.5]})
    size(lines)
    with pytest.raises(ValueError, match="ci95"):
        plot.line_plot([0, 1, 2], {"a": [1, 2, 3]}, tmp_path / "l.png", "x", "y", "t",
                       ci95={"a": [0.5]})
