"""Cost of a DigitalLink SNR sweep: encode once per group vs encode at every point.

Both paths run through :class:`sem_sionna.sweep.SweepRunner` (CSV rewritten after each
point, seeding, logging) over the same images and SNR grid:

- encode once: ``prepare`` = :meth:`DigitalLink.encode` (codec rate control, once per
  group), ``evaluate`` = :meth:`~DigitalLink.transmit` + :meth:`~DigitalLink.decode` +
  PSNR/MS-SSIM;
- naive: ``evaluate`` = :meth:`DigitalLink.run` (encode + transmit + decode) + metrics.

Prints wall times for ``N`` SNR points, the ratio ``cost(N) / cost(1)`` and the target
``1 + 0.3 N`` (encode once should stay under it: the codec is the expensive part on a
CPU, the compiled transport chain is cheap), then the peak resident memory of one
point at several batch sizes, each measured in a fresh process (psutil sampling).
The XLA compilation of the transport chain happens before timing and is reported
separately.

    python bench/sweep_cost.py [--quick] [--images 16] [--codec hevc] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import psutil  # noqa: E402

NUM_CHANNEL_USES, NUM_BITS_PER_SYMBOL, CODERATE = 256, 4, 0.5
COLUMNS = ["scheme", "channel", "snr_db", "cbr", "psnr", "ms_ssim", "n_images", "success"]


def make_link(codec: str):
    from sem_sionna.links import DigitalLink
    return DigitalLink(codec, NUM_CHANNEL_USES, NUM_BITS_PER_SYMBOL, CODERATE, seed=1)


def warm_up(link, batch_size: int) -> float:
    """Compile the transport chain for this batch size; return the seconds it took."""
    t0 = time.perf_counter()
    link.transmit(np.zeros((batch_size, link.chain.payload_bits), np.float32), 10.0)
    return time.perf_counter() - t0


def snr_grid(n: int) -> list[float]:
    return [10.0] if n == 1 else [float(s) for s in np.linspace(0.0, 20.0, n)]


def sweep(link, images, snrs, encode_once: bool) -> float:
    """Wall time of one SweepRunner sweep over ``snrs``."""
    from sem_sionna import metrics, sweep as sw

    cbr = NUM_CHANNEL_USES / images[0].size

    def prepare(group):
        return link.encode(images)

    def evaluate(point, encoded):
        if encode_once:
            x_hat, info = link.decode(encoded, *link.transmit(encoded["bits"],
                                                              point["snr_db"]))
        else:
            x_hat, info = link.run(images, point["snr_db"])
        return {**metrics.image_metrics(images, x_hat), "n_images": len(images),
                "success": float(np.mean(info["decoded"]))}

    points = sw.grid(scheme=[link.codec.name + "+ldpc"], channel=["awgn"], cbr=[cbr],
                     snr_db=snrs)
    # the link keeps decoded payloads between calls; start every sweep without them
    link._decode_cache.clear()
    with tempfile.TemporaryDirectory() as out:
        runner = sw.SweepRunner(out, COLUMNS, seed=0, desc="bench")
        t0 = time.perf_counter()
        runner.run(points, evaluate, prepare=prepare if encode_once else None)
        return time.perf_counter() - t0


class PeakRSS:
    """Largest RSS of this process seen by a sampling thread while the block runs."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.process = psutil.Process()
        self.peak = 0

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def rss_child(batch_size: int, codec: str, size: int) -> None:
    """One encode-once point at ``batch_size`` images; prints a JSON line."""
    from sem_sionna import metrics
    from sem_sionna.data import embedded_patches

    images = embedded_patches(size=size, split="test", n=batch_size, seed=0)
    link = make_link(codec)
    compile_s = warm_up(link, batch_size)
    metrics.image_metrics(images, images)  # first-call set-up of the metric ops
    base = psutil.Process().memory_info().rss
    with PeakRSS() as peak:
        t0 = time.perf_counter()
        encoded = link.encode(images)
        x_hat, _ = link.decode(encoded, *link.transmit(encoded["bits"], 10.0))
        metrics.image_metrics(images, x_hat)
        point_s = time.perf_counter() - t0
    print(json.dumps({"batch": batch_size, "base_mib": base / 2**20,
                      "peak_mib": peak.peak / 2**20, "point_s": point_s,
                      "compile_s": compile_s}))


def measure_rss(batch_size: int, codec: str, size: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child", str(batch_size),
           "--codec", codec, "--size", str(size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="N in {1, 4}, one repeat, RSS at batch 8 and 32 only")
    parser.add_argument("--images", type=int, default=16, help="images per sweep")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--codec", default="hevc")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child, args.codec, args.size)
        return

    from sem_sionna.data import embedded_patches
    counts = [1, 4] if args.quick else [1, 4, 8]
    repeats = 1 if args.quick else args.repeats
    batches = [8, 32] if args.quick else [8, 32, 128]

    images = embedded_patches(size=args.size, split="test", n=args.images, seed=0)
    link = make_link(args.codec)
    compile_s = warm_up(link, len(images))
    print(f"DigitalLink({args.codec}, {NUM_CHANNEL_USES} channel uses, "
          f"{2 ** NUM_BITS_PER_SYMBOL}-QAM, rate {CODERATE}), {len(images)} images "
          f"{args.size}x{args.size}, AWGN, best of {repeats}; XLA compile "
          f"{compile_s:.2f} s (not timed below)")

    times = {}
    for path in ("encode once", "naive"):
        for n in counts:
            snrs = snr_grid(n)
            times[path, n] = min(sweep(link, images, snrs, path == "encode once")
                                 for _ in range(repeats))

    print(f"\n{'path':<12} {'N':>3} {'wall s':>8} {'s/point':>8} {'cost(N)/cost(1)':>16} "
          f"{'target 1+0.3N':>14}")
    for path in ("encode once", "naive"):
        for n in counts:
            ratio = times[path, n] / times[path, 1]
            print(f"{path:<12} {n:>3} {times[path, n]:>8.3f} {times[path, n] / n:>8.3f} "
                  f"{ratio:>16.2f} {1 + 0.3 * n:>14.1f}")
    n_max = counts[-1]
    print(f"\nspeed-up of encode once over naive at N={n_max}: "
          f"{times['naive', n_max] / times['encode once', n_max]:.2f}x")

    print("\npeak RSS of one encode-once point (fresh process each; baseline = after "
          "imports, XLA compile and one metric call)")
    print(f"{'batch':>6} {'baseline MiB':>13} {'peak MiB':>9} {'delta MiB':>10} "
          f"{'point s':>8} {'compile s':>10}")
    for b in batches:
        r = measure_rss(b, args.codec, args.size)
        print(f"{b:>6} {r['base_mib']:>13.1f} {r['peak_mib']:>9.1f} "
              f"{r['peak_mib'] - r['base_mib']:>10.1f} {r['point_s']:>8.3f} "
              f"{r['compile_s']:>10.2f}")


if __name__ == "__main__":
    main()
