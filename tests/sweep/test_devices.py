"""--devices: one shard per device in child processes, merged = a single run."""
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np
    from sem_sionna import sweep

    def evaluate(point, state):
        return {"psnr": 10.0 + point["snr_db"] + np.random.normal(), "n_images": 1}

    args = sweep.parse_args(None, name="devices_test")
    runner = sweep.SweepRunner(args.out, ["scheme", "channel", "cbr", "snr_db", "psnr",
                                          "n_images"], resume=args.resume, shard=args.shard,
                               seed=args.seed, devices=args.devices, argv=args.argv,
                               script=__file__)
    rows = runner.run(sweep.grid(scheme=["a", "b"], channel=["awgn"], cbr=[0.5],
                                 snr_db=[0.0, 5.0, 10.0]), evaluate)
    print("ROWS", len(rows))
""")


def run(script, *argv):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, str(script), *argv], env=env, capture_output=True,
                          text=True, timeout=120)


def test_devices_run_shards_and_merge_like_a_single_run(tmp_path):
    script = tmp_path / "scenario.py"
    script.write_text(SCRIPT)
    single = run(script, "--out", str(tmp_path / "single"), "--seed", "3")
    assert single.returncode == 0, single.stderr[-2000:]
    multi = run(script, "--out", str(tmp_path / "multi"), "--seed", "3", "--devices", "0,1")
    assert multi.returncode == 0, multi.stderr[-2000:]
    assert "ROWS 6" in multi.stdout
    assert ((tmp_path / "multi" / "metrics.csv").read_bytes()
            == (tmp_path / "single" / "metrics.csv").read_bytes())
    for i in range(2):
        assert (tmp_path / "multi" / f"shard-{i}-of-2.log").exists()
