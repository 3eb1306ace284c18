"""PerImage: selection, pairing, summaries and the .npz round trip."""
import numpy as np
import pytest

from sem_sionna.metrics import PerImage, mean_ci95, miou_ci95


def _filled(rng, n=20):
    s = PerImage()
    for scheme, offset in (("scsc", 1.0), ("digital", 0.0)):
        for snr in (0.0, 5.0, 10):
            for cbr in (1 / 24, 1 / 48):
                s.add({"scheme": scheme, "channel": "rayleigh", "snr_db": snr, "cbr": cbr,
                       "csi": "perfect"},
                      {"psnr": 20 + snr + offset + rng.normal(size=n),
                       "iou_intersection": rng.integers(0, 10, size=(n, 3)),
                       "iou_union": rng.integers(10, 20, size=(n, 3)),
                       "ber_per_level": rng.random((n, 4))})
    return s


def test_select_conditions_and_pair(rng):
    s = _filled(rng)
    assert len(s) == 12 and s.schemes() == ["scsc", "digital"]
    assert len(s.select("scsc", cbr=1 / 24)) == 3
    assert len(s.select(snr_db=(0.0, 10.0))) == 8
    conds = s.conditions("digital", snr_db=10.0)
    assert conds == [{"channel": "rayleigh", "snr_db": 10, "cbr": 1 / 24, "csi": "perfect"},
                     {"channel": "rayleigh", "snr_db": 10, "cbr": 1 / 48, "csi": "perfect"}]
    pairs = s.pair("scsc", "digital", "psnr", cbr=1 / 48)
    assert [c["snr_db"] for c, _, _ in pairs] == [0.0, 5.0, 10]
    cond, a, b = pairs[0]
    assert a.shape == b.shape == (20,)
    np.testing.assert_array_equal(a, s.get({**cond, "scheme": "scsc"})["psnr"])
    _, a, b = s.pair("scsc", "digital", "miou")[0]
    assert a.shape == (20, 2, 3)
    assert "miou" in s.metrics()
    with pytest.raises(ValueError, match="unknown metric 'psnrr'"):
        s.check_names(metrics=["psnrr"])


def test_summary_uses_t_for_means_and_bootstrap_for_miou(rng):
    s = _filled(rng)
    point = {"scheme": "scsc", "channel": "rayleigh", "snr_db": 5.0, "cbr": 1 / 24,
             "csi": "perfect"}
    values = s.get(point)
    out = s.summary(point, n_resamples=200)
    assert set(out) == {"psnr", "psnr_ci95", "miou", "miou_ci95", "n_images"}
    assert (out["psnr"], out["psnr_ci95"]) == mean_ci95(values["psnr"])
    assert (out["miou"], out["miou_ci95"]) == miou_ci95(
        values["iou_intersection"], values["iou_union"], n_resamples=200)
    assert out["n_images"] == 20


def test_add_rejects_bad_values(rng):
    s = PerImage()
    p = {"scheme": "a", "snr_db": 0.0}
    with pytest.raises(ValueError, match="same number of rows"):
        s.add(p, {"psnr": np.ones(3), "ms_ssim": np.ones(4)})
    with pytest.raises(ValueError, match="NaN"):
        s.add(p, {"psnr": [1.0, np.nan]})
    with pytest.raises(ValueError, match="scheme"):
        s.add({"snr_db": 0.0}, {"psnr": [1.0]})
    with pytest.raises(ValueError, match="needs both"):
        s.add(p, {"iou_intersection": np.ones((2, 3))})
    s.add(p, {"psnr": [1.0, 2.0]})
    with pytest.raises(ValueError, match="already"):
        s.add(p, {"psnr": [1.0, 2.0]})
    with pytest.raises(ValueError):
        s.get(p)["psnr"][0] = 5.0  # stored arrays are read-only


def test_save_load_round_trips_exactly(tmp_path, rng):
    s = _filled(rng)
    s.add({"scheme": "bpg+ldpc", "channel": "awgn", "snr_db": 1 / 3, "cbr": 1 / 24,
           "bpp": 0.1 + 0.2, "decoded": True}, {"psnr": rng.normal(size=20).astype(np.float32),
                                                "decoded": np.ones(20, bool)})
    path = tmp_path / "per_image.npz"
    s.save(path)
    s.save(path)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["per_image.npz"]
    t = PerImage.load(path)
    assert t == s
    assert list(t) == list(s)
    last = list(t)[-1]
    assert last["snr_db"] == 1 / 3 and last["bpp"] == 0.1 + 0.2 and last["decoded"] is True
    assert t.get(last)["psnr"].dtype == np.float32
    with np.load(path, allow_pickle=False) as data:
        assert "index" in data.files


def test_failed_save_leaves_no_temp_file(tmp_path, rng, monkeypatch):
    s = _filled(rng)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        s.save(tmp_path / "per_image.npz")
    assert list(tmp_path.iterdir()) == []
