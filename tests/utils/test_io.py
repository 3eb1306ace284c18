"""Value formatting, atomic writes and CSV reading."""
import json
import math

import numpy as np
import pytest

from sem_sionna.utils import io


@pytest.mark.parametrize("value, text", [
    (None, ""), (3, "3"), (np.int64(3), "3"), (2.0, "2"), (-0.0, "0"), (1 / 24, "0.0416667"),
    (np.float32(0.5), "0.5"), (1.23456789e-7, "1.23457e-07"), (float("nan"), "nan"),
    (float("-inf"), "-inf"), (True, "True"), ("bpg+ldpc", "bpg+ldpc"),
    (np.array(2.5), "2.5"),
])
def test_format_value(value, text):
    assert io.format_value(value) == text


def test_format_parse_round_trip():
    for v in [0, 7, 0.125, -3.5, 1e-9, "awgn", None, True]:
        assert io.parse_value(io.format_value(v)) == v
    assert math.isnan(io.parse_value("nan"))


def test_to_scalar_rejects_arrays():
    with pytest.raises(TypeError, match="psnr"):
        io.to_scalar(np.zeros(3), "psnr")


def test_csv_round_trip_and_no_temp_left(tmp_path):
    path = tmp_path / "m.csv"
    io.write_csv(path, ["a", "b"], [{"a": "1", "b": "x,y"}, {"a": "2.5"}])
    assert path.read_bytes() == b'a,b\n1,"x,y"\n2.5,\n'
    assert io.read_csv(path) == [{"a": 1, "b": "x,y"}, {"a": 2.5, "b": None}]
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]


def test_atomic_write_failure_keeps_old_file(tmp_path):
    path = tmp_path / "f.txt"
    io.atomic_write_text(path, "old")

    def boom(f):
        f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        io.atomic_write(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_read_csv_rejects_ragged_rows(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\n1\n")
    with pytest.raises(ValueError, match="m.csv:2"):
        io.read_csv(path)


def test_json_is_strict(tmp_path):
    path = io.atomic_write_json(tmp_path / "r.json", {
        "a": np.float32(1.5), "b": np.arange(3), "c": float("nan"), 1: (np.int8(2),),
        "p": tmp_path})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1, 2], "c": None,
                                            "1": [2], "p": str(tmp_path)}
