"""A sweep killed with SIGKILL at random moments and resumed ends byte-identical."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from sem_sionna import utils
from sem_sionna.metrics import PerImage

SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from sem_sionna import sweep, utils

    def prepare(group):
        return np.random.random()

    def evaluate(point, offset):
        time.sleep(0.05)
        return {"psnr": 20.0 + point["snr_db"] + offset + np.random.normal(size=2)}

    runner = sweep.SweepRunner(sys.argv[1], ["scheme", "channel", "cbr", "snr_db", "psnr",
                                             "n_images"], resume=True, seed=11)
    runner.run(sweep.grid(scheme=["a", "b", "c"], channel=["awgn"], cbr=[0.5],
                          snr_db=list(range(30))), evaluate, prepare=prepare)
""")


def start(script, out):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, str(script), str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_and_resume_is_byte_identical(tmp_path):
    script = tmp_path / "sweep_script.py"
    script.write_text(SCRIPT)
    ref_dir, out = tmp_path / "ref", tmp_path / "killed"
    assert start(script, ref_dir).wait(timeout=60) == 0
    ref_bytes = (ref_dir / "metrics.csv").read_bytes()
    ref_rows = utils.read_csv(ref_dir / "metrics.csv")
    assert len(ref_rows) == 90

    rng = np.random.default_rng(0)
    kills = 0
    for _ in range(8):
        proc = start(script, out)
        time.sleep(rng.uniform(0.2, 0.7))
        if proc.poll() is not None:  # finished before the kill
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        if (out / "metrics.csv").exists():
            rows = utils.read_csv(out / "metrics.csv")  # always parses
            assert all(r in ref_rows for r in rows)
    assert kills >= 5
    assert start(script, out).wait(timeout=60) == 0
    assert (out / "metrics.csv").read_bytes() == ref_bytes
    assert not list(out.glob("*.tmp"))
    # every point's per-image samples, once, in one file; the per-point parts are gone
    ref, got = (PerImage.load(d / "per_image.npz") for d in (ref_dir, out))
    assert len(got) == len(ref) == 90
    for point in ref:
        np.testing.assert_array_equal(got.get(point)["psnr"], ref.get(point)["psnr"])
    assert not (out / "per_image.npz.parts").exists()
