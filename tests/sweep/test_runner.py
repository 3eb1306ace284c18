"""SweepRunner: encode once per group, resume, shards, failures, determinism."""
import json
import logging

import keras
import numpy as np
import pytest

from sem_sionna import sweep, utils

COLUMNS = ["scheme", "channel", "snr_db", "cbr", "psnr", "ms_ssim", "miou", "n_images",
           "fail_rate"]


def make_points():
    return sweep.grid(scheme=["jpeg+ldpc", "deepjscc"], channel=["awgn", "rayleigh"],
                      cbr=[1 / 24], snr_db=[0.0, 5.0, 10.0])


class Fake:
    """Deterministic fake link: the group state and the noise come from the seeded
    global generators (NumPy in prepare, keras.random in evaluate)."""

    def __init__(self, stop_after=None):
        self.prepare_calls = []
        self.evaluate_calls = []
        self.stop_after = stop_after

    def prepare(self, group):
        self.prepare_calls.append(group["key"])
        return {"offset": float(np.random.default_rng(np.random.randint(2**31)).random())}

    def evaluate(self, point, state):
        if self.stop_after is not None and len(self.evaluate_calls) == self.stop_after:
            raise KeyboardInterrupt
        self.evaluate_calls.append(point["key"])
        noise = float(keras.ops.convert_to_numpy(keras.random.normal(())))
        psnr = 20.0 + point["snr_db"] + state["offset"] + noise
        return {"psnr": np.float32(psnr), "ms_ssim": 0.9, "n_images": 4,
                "fail_rate": None if point["scheme"] == "deepjscc" else 0.25}


def run(out, points=None, fake=None, **kw):
    fake = fake or Fake()
    runner = sweep.SweepRunner(out, COLUMNS, seed=3, **kw)
    rows = runner.run(points or make_points(), fake.evaluate, prepare=fake.prepare)
    return rows, fake, runner


def test_grid_order_and_keys():
    points = sweep.grid(scheme=["a", "b"], snr_db=np.array([0.0, 5.0]), channel="awgn")
    assert [(p["scheme"], p["snr_db"]) for p in points] == [
        ("a", 0.0), ("a", 5.0), ("b", 0.0), ("b", 5.0)]
    assert points[1]["key"] == "scheme=a|snr_db=5|channel=awgn"
    assert type(points[0]["snr_db"]) is float
    with pytest.raises(ValueError, match="snr_db"):
        sweep.grid(snr_db=[])
    with pytest.raises(ValueError, match="scheme"):
        sweep.grid(scheme=["a", "a"])


def test_csv_columns_rows_and_prepare_once_per_group(tmp_path):
    rows, fake, runner = run(tmp_path)
    assert len(rows) == 12 and len(fake.evaluate_calls) == 12
    assert fake.prepare_calls == [
        "scheme=jpeg+ldpc|channel=awgn|cbr=0.0416667",
        "scheme=jpeg+ldpc|channel=rayleigh|cbr=0.0416667",
        "scheme=deepjscc|channel=awgn|cbr=0.0416667",
        "scheme=deepjscc|channel=rayleigh|cbr=0.0416667"]
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1].startswith("jpeg+ldpc,awgn,0,0.0416667,")
    assert lines[1].endswith(",0.9,,4,0.25")  # miou never given -> empty cell
    assert utils.read_csv(tmp_path / "metrics.csv") == rows
    assert rows[-1]["fail_rate"] is None and rows[0]["n_images"] == 4
    assert not list(tmp_path.glob("*.tmp"))


def test_results_do_not_depend_on_order(tmp_path):
    rows_all, _, _ = run(tmp_path / "all")
    subset = [p for p in make_points() if p["snr_db"] == 10.0][::-1]
    rows_sub, _, _ = run(tmp_path / "sub", points=subset)
    by_key = {(r["scheme"], r["channel"], r["snr_db"]): r for r in rows_all}
    for r in rows_sub:
        assert r == by_key[(r["scheme"], r["channel"], r["snr_db"])]
    other_seed = Fake()
    other = sweep.SweepRunner(tmp_path / "s", COLUMNS, seed=4).run(
        make_points(), other_seed.evaluate, prepare=other_seed.prepare)
    assert [r["psnr"] for r in other] != [r["psnr"] for r in rows_all]


def test_resume_after_interrupt_is_byte_identical(tmp_path):
    run(tmp_path / "ref")
    ref = (tmp_path / "ref" / "metrics.csv").read_bytes()

    first = Fake(stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "cut", fake=first)
    partial = utils.read_csv(tmp_path / "cut" / "metrics.csv")
    assert len(partial) == 5

    second = Fake()
    rows, _, _ = run(tmp_path / "cut", fake=second, resume=True)
    assert (tmp_path / "cut" / "metrics.csv").read_bytes() == ref
    assert not set(first.evaluate_calls) & set(second.evaluate_calls)
    assert len(second.evaluate_calls) == 7 and len(rows) == 12
    # the interrupted group is prepared again, finished groups are not
    assert second.prepare_calls == first.prepare_calls[-1:] + [
        "scheme=deepjscc|channel=awgn|cbr=0.0416667",
        "scheme=deepjscc|channel=rayleigh|cbr=0.0416667"]

    third = Fake()
    run(tmp_path / "cut", fake=third, resume=True)
    assert third.evaluate_calls == [] and third.prepare_calls == []
    assert (tmp_path / "cut" / "metrics.csv").read_bytes() == ref


def test_without_resume_starts_fresh(tmp_path):
    run(tmp_path)
    fake = Fake()
    run(tmp_path, points=make_points()[:2], fake=fake)
    assert len(fake.evaluate_calls) == 2
    assert len(utils.read_csv(tmp_path / "metrics.csv")) == 2


def test_resume_with_other_columns_is_rejected(tmp_path):
    run(tmp_path)
    runner = sweep.SweepRunner(tmp_path, COLUMNS[:-1], resume=True)
    with pytest.raises(ValueError, match="without --resume"):
        runner.run(make_points(), Fake().evaluate)


def test_shards_merge_to_single_run(tmp_path):
    run(tmp_path / "single")
    out = tmp_path / "sharded"
    rows0, fake0, _ = run(out, shard=(0, 2))
    with pytest.raises(ValueError, match="1/2 missing"):
        sweep.merge(out)
    rows1, fake1, _ = run(out, shard=(1, 2))
    assert len(rows0) == len(rows1) == 6
    assert not set(fake0.evaluate_calls) & set(fake1.evaluate_calls)
    path = sweep.merge(out)
    assert path == out / "metrics.csv"
    assert path.read_bytes() == (tmp_path / "single" / "metrics.csv").read_bytes()


def test_merge_rejects_incomplete_shard(tmp_path):
    run(tmp_path, shard=(0, 2))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, shard=(1, 2), fake=Fake(stop_after=2))
    with pytest.raises(ValueError, match="shard 1/2 is incomplete"):
        sweep.merge(tmp_path)
    run(tmp_path, shard=(1, 2), resume=True)
    assert len(utils.read_csv(sweep.merge(tmp_path))) == 12


def test_nan_metric_skips_point_and_records_failure(tmp_path, caplog):
    args = sweep.parse_args(["--out", str(tmp_path), "--seed", "3"], name="t")
    record = sweep.RunRecord(tmp_path, "t", args, {})

    def evaluate(point, state):
        if point["scheme"] == "deepjscc" and point["snr_db"] == 5.0:
            return {"psnr": float("nan")}
        if point["scheme"] == "jpeg+ldpc" and point["snr_db"] == 0.0:
            raise utils.NumericalError("NaN received symbols")
        return {"psnr": 30.0}

    runner = sweep.SweepRunner(tmp_path, COLUMNS, record=record)
    with caplog.at_level(logging.WARNING, logger="sem_sionna"):
        rows = runner.run(make_points(), evaluate)
    assert len(rows) == 8
    assert not [r for r in rows if r["scheme"] == "deepjscc" and r["snr_db"] == 5]
    failures = json.loads((tmp_path / "run.json").read_text())["failures"]
    assert len(failures) == 4
    assert {f["scheme"] for f in failures} == {"deepjscc", "jpeg+ldpc"}
    assert any("NaN received symbols" in f["reason"] for f in failures)
    assert any("psnr" in f["reason"] for f in failures)
    assert failures[0]["point"]["snr_db"] == 0.0
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("deepjscc" in m and "SNR 5 dB" in m for m in warned)


def test_unknown_metric_key_raises_naming_it(tmp_path):
    runner = sweep.SweepRunner(tmp_path, COLUMNS)
    with pytest.raises(ValueError, match="psnr_db"):
        runner.run(make_points(), lambda p, s: {"psnr_db": 1.0})
    assert (tmp_path / "metrics.csv").read_text() == ",".join(COLUMNS) + "\n"


def test_other_exceptions_propagate_with_csv_intact(tmp_path):
    calls = []

    def evaluate(point, state):
        if len(calls) == 3:
            raise RuntimeError("decoder crashed")
        calls.append(point)
        return {"psnr": 1.0}

    with pytest.raises(RuntimeError, match="decoder crashed"):
        sweep.SweepRunner(tmp_path, COLUMNS).run(make_points(), evaluate)
    assert len(utils.read_csv(tmp_path / "metrics.csv")) == 3


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="key_columns"):
        sweep.SweepRunner(tmp_path, ["scheme", "psnr"])
    with pytest.raises(ValueError, match="shard"):
        sweep.SweepRunner(tmp_path, COLUMNS, shard=(2, 2))
    runner = sweep.SweepRunner(tmp_path, COLUMNS)
    with pytest.raises(ValueError, match="cbr"):
        runner.run(sweep.grid(scheme=["a"], channel=["awgn"], snr_db=[0.0]),
                   lambda p, s: {})
    with pytest.raises(ValueError, match="quality"):
        runner.run(sweep.grid(scheme=["a"], channel=["awgn"], cbr=[0.1], snr_db=[0.0],
                              quality=[1]), lambda p, s: {})
    with pytest.raises(ValueError, match="snr_db"):
        runner.run(make_points(), lambda p, s: {"snr_db": 99.0})
    with pytest.raises(TypeError, match="dict"):
        runner.run(make_points(), lambda p, s: 1.0)


def test_reseed_resets_layer_seed_generators(tmp_path):
    noise = keras.layers.GaussianNoise(1.0, seed=5)
    x = np.zeros((1, 4), np.float32)

    def evaluate(point, state):
        return {"psnr": float(noise(x, training=True)[0, 0])}

    points = make_points()
    runner = sweep.SweepRunner(tmp_path / "a", COLUMNS)
    full = runner.run(points, evaluate, reseed=noise)
    last = sweep.SweepRunner(tmp_path / "b", COLUMNS).run(points[-1:], evaluate,
                                                          reseed=noise)
    assert last[0] == full[-1]
    assert len({r["psnr"] for r in full}) == len(full)


def test_sharded_per_image_samples_merge_into_one_file(tmp_path):
    from sem_sionna.metrics import PerImage

    points = sweep.grid(scheme=["a", "b"], channel=["awgn"], cbr=[0.5], snr_db=[0.0, 5.0])
    columns = sweep.with_ci95(["scheme", "channel", "cbr", "snr_db", "psnr"], ["psnr"])

    def evaluate(p, s):
        return {"psnr": np.arange(4.0) + p["snr_db"] + (p["scheme"] == "b")}

    for i in range(2):
        sweep.SweepRunner(tmp_path, columns, shard=(i, 2)).run(points, evaluate)
    sweep.merge(tmp_path)
    merged = PerImage.load(tmp_path / "per_image.npz")
    assert len(merged) == 4
    np.testing.assert_array_equal(
        merged.get({"scheme": "b", "channel": "awgn", "cbr": 0.5, "snr_db": 5.0})["psnr"],
        np.arange(4.0) + 6.0)
    rows = utils.read_csv(tmp_path / "metrics.csv")
    assert all(r["psnr_ci95"] > 0 for r in rows)


def test_ratio_metrics_of_a_runner_come_from_per_image_counts(tmp_path):
    """A runner's own ratio metric (macro F1 from per-image counts): the CSV holds the
    ratio of sums and a bootstrap half-width, the file keeps the counts; counts of a
    ratio the runner does not know are refused."""
    from sem_sionna.metrics import PerImage, f1_counts, macro_f1

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 64)
    pred = np.where(rng.random(64) < 0.6, labels, rng.integers(0, 4, 64))
    points = sweep.grid(scheme=["a"], channel=["awgn"], cbr=[0.5], snr_db=[0.0])
    columns = ["scheme", "channel", "cbr", "snr_db", "f1", "f1_ci95", "n_images"]

    def evaluate(p, s):
        num, den = f1_counts(pred, labels, 4)
        return {"f1_numerator": num, "f1_denominator": den}

    ratio = {"f1": ("f1_numerator", "f1_denominator")}
    sweep.SweepRunner(tmp_path, columns, ratio_metrics=ratio).run(points, evaluate)
    (row,) = utils.read_csv(tmp_path / "metrics.csv")
    assert row["f1"] == pytest.approx(macro_f1(pred, labels, 4), abs=1e-6)
    assert 0 < row["f1_ci95"] < 0.3 and row["n_images"] == 64
    assert PerImage.load(tmp_path / "per_image.npz").ratio_metrics == ratio
    with pytest.raises(ValueError, match="f1_numerator"):
        sweep.SweepRunner(tmp_path / "b", columns).run(points, evaluate)


def test_per_point_sample_files_survive_a_crash_and_fold_in_on_resume(tmp_path):
    from sem_sionna.metrics import PerImage

    points = sweep.grid(scheme=["a"], channel=["awgn"], cbr=[0.5], snr_db=[0.0, 5.0, 10.0])
    columns = sweep.with_ci95(["scheme", "channel", "cbr", "snr_db", "psnr"], ["psnr"])

    def evaluate(p, s):
        if p["snr_db"] == 10.0 and not evaluate.resumed:
            raise RuntimeError("crash")  # not a NumericalError: the sweep stops here
        return {"psnr": np.arange(3.0) + p["snr_db"]}

    evaluate.resumed = False
    with pytest.raises(RuntimeError, match="crash"):
        sweep.SweepRunner(tmp_path, columns).run(points, evaluate)
    # the two finished rows have their samples on disk, one file per point
    assert len(utils.read_csv(tmp_path / "metrics.csv")) == 2
    parts = sorted((tmp_path / "per_image.npz.parts").glob("*.npz"))
    assert len(parts) == 2
    assert [PerImage.load(p).points()[0]["snr_db"] for p in parts] == [0.0, 5.0]
    evaluate.resumed = True
    sweep.SweepRunner(tmp_path, columns, resume=True).run(points, evaluate)
    samples = PerImage.load(tmp_path / "per_image.npz")
    assert len(samples) == 3
    for snr in (0.0, 5.0, 10.0):
        np.testing.assert_array_equal(
            samples.get({"scheme": "a", "channel": "awgn", "cbr": 0.5, "snr_db": snr})["psnr"],
            np.arange(3.0) + snr)
    assert not (tmp_path / "per_image.npz.parts").exists()
