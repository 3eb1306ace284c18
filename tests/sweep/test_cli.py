"""Command line of the scenario scripts, and merging shard files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sem_sionna import sweep


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = sweep.parse_args([], name="split_vs_ldpc")
    assert args.profile == "quick"
    assert args.out == Path("results") / "split_vs_ldpc"
    assert isinstance(args.out, Path) and (tmp_path / args.out).is_dir()
    assert args.seed == 0 and args.resume is False and args.retrain is False
    assert args.shard is None and args.devices is None
    assert args.name == "split_vs_ldpc" and args.argv == []


def test_all_options_and_extra(tmp_path):
    def extra(parser):
        parser.add_argument("--epochs", type=int, default=3)

    argv = ["--profile", "smoke", "--out", str(tmp_path / "o"), "--seed", "7",
            "--resume", "--retrain", "--shard", "1/3", "--devices", "0, 1", "--epochs",
            "5"]
    args = sweep.parse_args(argv, name="x", extra=extra)
    assert (args.profile, args.seed, args.resume, args.retrain) == ("smoke", 7, True, True)
    assert args.shard == (1, 3) and args.devices == ["0", "1"] and args.epochs == 5
    assert args.out == tmp_path / "o" and args.argv == argv


@pytest.mark.parametrize("argv, needle", [
    (["--profile", "huge"], "--profile"),
    (["--shard", "3/2"], "--shard"),
    (["--shard", "2/2"], "--shard"),
    (["--shard", "a/b"], "--shard"),
    (["--shard", "1"], "--shard"),
    (["--seed", "x"], "--seed"),
    (["--seed", "-1"], "--seed"),
    (["--devices", ","], "--devices"),
])
def test_bad_options_exit_2(tmp_path, capsys, argv, needle):
    with pytest.raises(SystemExit) as err:
        sweep.parse_args(argv + ["--out", str(tmp_path)], name="x")
    assert err.value.code == 2
    assert needle in capsys.readouterr().err.splitlines()[-1]


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SystemExit) as err:
        sweep.parse_args(["--out", str(blocker / "sub")], name="x")
    assert err.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert "--out" in last and str(blocker / "sub") in last


def test_bad_name_is_value_error():
    with pytest.raises(ValueError, match="name"):
        sweep.parse_args([], name="a/b")


def test_merge_errors(tmp_path):
    with pytest.raises(ValueError, match="no metrics.shard"):
        sweep.merge(tmp_path)
    (tmp_path / "metrics.shard-0-of-2.csv").write_text("scheme\n")
    with pytest.raises(ValueError, match="1/2 missing"):
        sweep.merge(tmp_path)
    with pytest.raises(FileNotFoundError):
        sweep.merge(tmp_path / "nope")


def test_merge_main_exit_codes(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        sweep.merge_main([str(tmp_path)])
    assert err.value.code == 1
    assert "no metrics.shard" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        sweep.merge_main([])
    assert err.value.code == 2


def test_module_entry_point(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "sem_sionna.sweep", "merge", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and "no metrics.shard" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sem_sionna.sweep", "split"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
