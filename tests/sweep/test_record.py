"""run.json: configuration, versions, commit, host, stage times, resume history."""
import json

import numpy as np
import pytest

from sem_sionna import sweep, utils


def load(path):
    return json.loads(path.read_text())


@pytest.fixture
def args(tmp_path):
    return sweep.parse_args(["--profile", "smoke", "--out", str(tmp_path), "--seed", "5"],
                            name="demo")


def test_written_at_creation_with_standard_fields(tmp_path, args):
    cfg = {"snr_db": np.array([0.0, 5.0]), "k": np.int64(3), "bad": float("nan")}
    record = sweep.RunRecord(args.out, "demo", args, cfg)
    data = load(tmp_path / "run.json")
    assert data["name"] == "demo" and data["profile"] == "smoke" and data["seed"] == 5
    assert data["argv"] == ["--profile", "smoke", "--out", str(tmp_path), "--seed", "5"]
    assert data["config"] == {"snr_db": [0.0, 5.0], "k": 3, "bad": None}
    assert set(data["versions"]) >= {"python", "tensorflow", "keras", "sionna", "numpy",
                                     "av", "Pillow"}
    assert data["versions"]["numpy"] == np.__version__
    assert data["git_commit"] is None or len(data["git_commit"]) == 40
    assert data["host"]["cpu_count"] >= 1 and isinstance(data["host"]["gpus"], list)
    assert data["status"] == "running" and data["stages"] == {}
    assert record.path == tmp_path / "run.json"


def test_stages_set_and_valid_json_after_each_write(tmp_path, args, caplog):
    record = sweep.RunRecord(args.out, "demo", args, {})
    with caplog.at_level("INFO", logger="sem_sionna"):
        with record.stage("train"):
            assert "train" not in load(tmp_path / "run.json")["stages"]
    assert any("[stage] train ... done in" in r.getMessage() for r in caplog.records)
    assert load(tmp_path / "run.json")["stages"]["train"] >= 0.0
    record.set("history", {"loss": [np.float32(1.0), np.float32(0.5)]})
    record.add_failure("bpg", {"snr_db": 0.0}, "NaN")
    record.note("smoke run")
    record.write()
    data = load(tmp_path / "run.json")
    assert data["history"] == {"loss": [1.0, 0.5]}
    assert data["failures"] == [{"scheme": "bpg", "point": {"snr_db": 0.0},
                                 "reason": "NaN"}]
    assert data["notes"] == ["smoke run"]
    with pytest.raises(ValueError, match="stages"):
        record.set("stages", {})
    record.finish()
    data = load(tmp_path / "run.json")
    assert data["status"] == "done" and data["end_time"]
    assert not list(tmp_path.glob("*.tmp"))


def test_stage_records_time_when_it_raises(tmp_path, args):
    record = sweep.RunRecord(args.out, "demo", args, {})
    with pytest.raises(RuntimeError):
        with record.stage("eval"):
            raise RuntimeError("boom")
    data = load(tmp_path / "run.json")
    assert "eval" in data["stages"] and "boom" in data["notes"][-1]


def test_resume_keeps_previous_stages(tmp_path, args):
    first = sweep.RunRecord(args.out, "demo", args, {})
    with first.stage("train"):
        pass
    resumed = sweep.parse_args(["--out", str(tmp_path), "--resume"], name="demo")
    sweep.RunRecord(resumed.out, "demo", resumed, {})
    data = load(tmp_path / "run.json")
    assert data["stages"] == {}
    assert list(data["previous_runs"][0]["stages"]) == ["train"]
    fresh = sweep.parse_args(["--out", str(tmp_path)], name="demo")
    sweep.RunRecord(fresh.out, "demo", fresh, {})
    assert load(tmp_path / "run.json")["previous_runs"] == []


def test_shard_record_file_and_merge(tmp_path):
    for i in range(2):
        args = sweep.parse_args(["--out", str(tmp_path), "--shard", f"{i}/2"], name="d")
        record = sweep.RunRecord(args.out, "d", args, {})
        assert record.path.name == f"run.shard-{i}-of-2.json"
        with record.stage("sweep"):
            sweep.SweepRunner(tmp_path, ["scheme", "snr_db", "psnr"],
                              key_columns=("scheme", "snr_db"), shard=args.shard,
                              record=record).run(
                sweep.grid(scheme=["a"], snr_db=[0.0, 1.0, 2.0]),
                lambda p, s: {"psnr": p["snr_db"] + 1.0})
    sweep.merge(tmp_path)
    data = load(tmp_path / "run.json")
    assert set(data["shards"]) == {"0/2", "1/2"} and "sweep" in data["stages"]
    assert [r["psnr"] for r in utils.read_csv(tmp_path / "metrics.csv")] == [1, 2, 3]
