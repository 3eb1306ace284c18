"""Peak memory of a scenario run and of one evaluation point vs batch size.

1. ``scenarios/split_vs_ldpc.py --profile smoke`` (or ``--profile quick``) in a
   subprocess, writing into a temporary directory: peak resident memory of the
   process tree, sampled with psutil from a thread of this process, and the kernel's
   high-water mark of the child (``ru_maxrss`` from ``os.wait4``), which no sample can
   miss. The child also runs ``tracemalloc`` (unless ``--no-tracemalloc``) and reports
   the peak of Python-side allocations (NumPy arrays included, TensorFlow's own buffers
   not).
2. One evaluation point (encode + per-SNR part at 10 dB over AWGN) of
   ``DigitalLink("hevc", 128, 4, 0.5)`` and of a ``DeepJSCC`` link (untrained nets at the
   quick profile's sizes: K=128, 32 filters) at 16, 64 and 256 images, plus one S1
   source-stage training step (VIMCO J=8, batch 32, the quick profile's largest step),
   each in a fresh process: RSS before the point (after imports and building), sampled
   peak during two points (the first one traces/compiles), ``ru_maxrss`` and the
   tracemalloc peak during the points.

Target: a quick-profile run stays under 4 GiB of resident memory.

    python bench/memory.py [--profile smoke|quick] [--batches 16,64,256] [--skip-scenario]
                            [--no-tracemalloc]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "scenarios", "split_vs_ldpc.py")
TARGET_GIB = 4.0
MIB = 2.0 ** 20


class PeakRSS:
    """Largest resident memory of a process (and its children) seen by a sampling thread."""

    def __init__(self, pid: int | None = None, interval: float = 0.01):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        """RSS of the process plus the USS of its children (a forked child, e.g. ``git``
        run by the scenario's record, shares its parent's pages: its RSS would count
        them twice)."""
        try:
            total = self.process.memory_info().rss
            children = self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            return 0
        for p in children:
            try:
                total += p.memory_full_info().uss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


# ----------------------------------------------------------------------------- children
def scenario_child(out_json: str, scenario_args: list[str]) -> None:
    """Run the scenario in this process, under tracemalloc unless ``out_json`` is "-";
    write the tracemalloc peaks to ``out_json``."""
    import runpy
    import tracemalloc

    if out_json != "-":
        tracemalloc.start()
    sys.argv = [SCENARIO, *scenario_args]
    try:
        runpy.run_path(SCENARIO, run_name="__main__")
    finally:
        if out_json != "-":
            _, py_peak = tracemalloc.get_traced_memory()
            with open(out_json, "w") as fh:
                json.dump({"py_peak": py_peak,
                           "tracemalloc_own": tracemalloc.get_tracemalloc_memory()}, fh)


def _images(batch):
    from sem_sionna.data import embedded_patches
    return embedded_patches(32, "test", n=batch, seed=0)


def point_child(kind: str, batch: int) -> None:
    """One evaluation point (or training step) of ``kind`` at ``batch``; prints a JSON line."""
    import tracemalloc

    import tensorflow as tf

    from sem_sionna import links, nets, train

    if kind == "digital":
        images = _images(batch)
        link = links.DigitalLink("hevc", 128, 4, 0.5, seed=1)

        def point():
            # a batch seen for the first time: no cached payloads or decoded images
            from sem_sionna.codecs import base
            with base._ENCODE_CACHE._lock:
                base._ENCODE_CACHE._items.clear()
                base._ENCODE_CACHE._size = 0
            link._decode_cache.clear()
            encoded = link.encode(images)
            link.decode(encoded, *link.transmit(encoded["bits"], 10.0))
    elif kind == "deepjscc":
        images = _images(batch)
        enc = nets.DeepJSCCEncoder(128, filters=32, head="dense")
        dec = nets.DeepJSCCDecoder(128, image_size=(32, 32), filters=32, head="dense")
        dec(enc(tf.zeros([1, 32, 32, 3])))
        link = links.DeepJSCC(enc, dec, seed=1)

        def point():
            link.reconstruct(link.encode(images), 10.0, "awgn")
    else:  # S1 source stage: one compiled Adam step, VIMCO J=8
        import keras
        images = tf.constant(_images(batch))
        from _models import NUM_BITS, source_pair
        f, g = source_pair()
        interface = nets.MultiLevelBSC(8, num_bits=NUM_BITS, seed=1)
        seed = keras.random.SeedGenerator(1)
        variables = f.trainable_variables + g.trainable_variables
        opt = keras.optimizers.Adam(1e-4)
        opt.build(variables)

        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                def sample_loss(u):
                    x_hat = tf.reshape(g(tf.reshape(u, [-1, NUM_BITS])), [8, -1, 32, 32, 3])
                    return tf.reduce_sum(tf.square(x[None] - x_hat), axis=[-3, -2, -1])
                loss, _, _ = train.vimco_loss(interface.noisy_probs(f(x)), sample_loss, 8,
                                              seed=seed)
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        def point():
            float(step(images))

    base = psutil.Process().memory_info().rss
    tracemalloc.start()
    with PeakRSS() as peak:
        t0 = time.perf_counter()
        point()                       # first point: tracing (and compilation)
        t1 = time.perf_counter()
        point()                       # steady state
        t2 = time.perf_counter()
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"kind": kind, "batch": batch, "base": base, "peak": peak.peak,
                      "maxrss": maxrss, "py_peak": py_peak, "first_s": t1 - t0,
                      "point_s": t2 - t1}))


# ----------------------------------------------------------------------------- parent
def run_monitored(cmd: list[str], log_path: str) -> dict:
    """Run ``cmd`` (output to ``log_path``), sample its tree; return rc, wall time, peaks."""
    with open(log_path, "w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        with PeakRSS(proc.pid) as peak:
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"rc": proc.returncode, "wall_s": time.perf_counter() - t0, "peak": peak.peak,
            "maxrss": usage.ru_maxrss * 1024}


def measure_point(kind: str, batch: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--point-child", kind, str(batch)]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        return {"kind": kind, "batch": batch, "error": res.stderr.strip().splitlines()[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke", choices=["smoke", "quick"],
                        help="scenario profile to run (quick takes ~15 min on 2 cores)")
    parser.add_argument("--batches", default="16,64,256", help="batch sizes of the points")
    parser.add_argument("--skip-scenario", action="store_true", help="only the point table")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="run the scenario without tracemalloc (it slows the run down and "
                             "its bookkeeping adds to the RSS)")
    parser.add_argument("--point-child", nargs=2, metavar=("KIND", "BATCH"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--scenario-child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.point_child:
        return point_child(args.point_child[0], int(args.point_child[1]))
    if args.scenario_child:
        return scenario_child(args.scenario_child[0], args.scenario_child[1:])
    batches = [int(b) for b in args.batches.split(",")]
    t_start = time.perf_counter()

    scen = None
    if not args.skip_scenario:
        with tempfile.TemporaryDirectory() as tmp:
            out_json = os.path.join(tmp, "tracemalloc.json")
            log_path = os.path.join(tmp, "run.log")
            cmd = [sys.executable, os.path.abspath(__file__), "--scenario-child",
                   "-" if args.no_tracemalloc else out_json,
                   "--profile", args.profile, "--out", os.path.join(tmp, "out")]
            scen = run_monitored(cmd, log_path=log_path)
            if os.path.exists(out_json):
                with open(out_json) as fh:
                    scen.update(json.load(fh))
            if scen["rc"] != 0:
                with open(log_path) as fh:
                    scen["tail"] = fh.read().strip().splitlines()[-3:]
        print(f"  scenario: done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    points = [measure_point(kind, b) for kind in ("digital", "deepjscc") for b in batches]
    points.append(measure_point("train-s1", 32))
    print(f"  points: done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    if scen is not None:
        status = "ok" if scen["rc"] == 0 else f"FAILED rc={scen['rc']}"
        peak = max(scen["peak"], scen["maxrss"])
        print(f"\nscenarios/split_vs_ldpc.py --profile {args.profile} ({status}, "
              f"{scen['wall_s']:.0f} s wall, psutil sampled every 10 ms)")
        head = (f"{'sampled peak RSS MiB':>21} {'ru_maxrss MiB':>14} {'python peak MiB':>16} "
                f"{'tracemalloc own MiB':>20} {'target':>10} {'peak/target':>12}")
        print(head)
        print("-" * len(head))
        py = f"{scen['py_peak'] / MIB:.1f}" if "py_peak" in scen else "-"
        own = f"{scen['tracemalloc_own'] / MIB:.1f}" if "tracemalloc_own" in scen else "-"
        print(f"{scen['peak'] / MIB:>21.1f} {scen['maxrss'] / MIB:>14.1f} {py:>16} {own:>20} "
              f"{TARGET_GIB:>6.1f} GiB {peak / (TARGET_GIB * 2 ** 30):>12.2f}")
        for line in scen.get("tail", []):
            print(f"  | {line}")
        if "tracemalloc_own" in scen:
            print("(RSS includes tracemalloc's own bookkeeping, 'tracemalloc own'; "
                  "--no-tracemalloc runs without it)")

    print("\nOne evaluation point vs batch size (fresh process each; base = RSS after imports "
          "and building; peak over two points, the first traces/compiles)")
    head = (f"{'what':<30} {'batch':>5} {'base MiB':>9} {'peak MiB':>9} {'delta MiB':>10} "
            f"{'ru_maxrss MiB':>14} {'python peak MiB':>16} {'first s':>8} {'point s':>8}")
    print(head)
    print("-" * len(head))
    names = {"digital": "DigitalLink hevc 128/16QAM/.5", "deepjscc": "DeepJSCC link K=128",
             "train-s1": "S1 source train step J=8"}
    for r in points:
        name = names[r["kind"]]
        if "error" in r:
            print(f"{name:<30} {r['batch']:>5} failed: {r['error']}")
            continue
        print(f"{name:<30} {r['batch']:>5} {r['base'] / MIB:>9.1f} {r['peak'] / MIB:>9.1f} "
              f"{(r['peak'] - r['base']) / MIB:>10.1f} {r['maxrss'] / MIB:>14.1f} "
              f"{r['py_peak'] / MIB:>16.1f} {r['first_s']:>8.2f} {r['point_s']:>8.2f}")
    worst = max([max(r["peak"], r["maxrss"]) for r in points if "error" not in r], default=0)
    if scen is not None:
        worst = max(worst, scen["peak"], scen["maxrss"])
    print(f"\nlargest peak measured: {worst / 2 ** 30:.2f} GiB (target for a quick-profile "
          f"run: < {TARGET_GIB:g} GiB)")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
