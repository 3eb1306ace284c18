"""Paper profiles on the CPU: every training stage's step time, FLOPs and peak memory.

The ``paper`` profiles are meant for a GPU. This script runs each scenario's
``--profile paper`` in a fresh subprocess with only the *data* cut down (fewer training
and test images, one CBR/SNR point in the sweep); the models, batch sizes and
schedules are the paper profile's. Every training stage goes through
:class:`sem_sionna.train.Trainer`, whose ``fit`` is replaced by a measurement:

1. the stage's compiled step runs on batches of ``b1 = max(1, B // 16)`` and
   ``b2 = 2 b1`` examples (``B``: the stage's default batch size), and on ``B``
   itself when the linear estimate from ``b1``/``b2`` stays under ``--direct-gib``
   and ``--direct-s`` per step; per batch size: the first call (trace) apart, the best
   of ``--steps`` timed steps, and the TensorFlow allocator's peak above the memory
   held before the step (``tf.config.experimental.get_memory_info``: activations,
   gradients and temporaries of one step);
2. the model state (weights and optimiser slots) is counted from the variables;
3. the stage then trains for one step, so the scenario goes on to its next stage,
   its sweep and its figures (the paper profile's code paths run end to end).

Per stage it prints the estimated device memory at ``B`` (state + step peak, measured
or extrapolated linearly in the batch size), whether it fits a 16 GB card, the CPU
time per step at ``B``, the FLOPs per step (TensorFlow's graph profiler, extrapolated
linearly to ``B``), the number of steps of the paper schedule (epochs x batches per
epoch at the paper's training-set size, early stopping ignored), and from these the
CPU hours of the schedule and a GPU estimate at ``--gpu-tflops`` sustained FP32
(compute-bound: ops without a FLOP count, such as LDPC decoding and HEVC coding on
CPU threads, are not in it).

    python bench/paper_profile.py [--scenarios split_vs_ldpc,...] [--steps 2]
                                  [--gpu-tflops 10] [--json FILE]
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
GIB = 1024.0 ** 3
CARD_GB = 16e9

# Per scenario: the paper's training-set size (for the steps of an epoch) and the cut-down
# profile the dry run uses (same models, batch sizes and schedules, less data).
PAPER_TRAIN_IMAGES = {"split_vs_ldpc": 50000,  # CIFAR-10 train
                      "scsc_mimo": 2975,       # Cityscapes train
                      "semantic_jscc": 4096,
                      "importance_mimo": 50000}
# Stages the paper profile runs once per value of a grid that the dry run cuts to fewer
# values: (grid key, stage-name prefixes); the totals count them that many times.
REPEATED = {"split_vs_ldpc": ("cbrs", ("train_split_jscc/channel",
                                        "train_learned_interface/channel", "train_deepjscc/")),
            "semantic_jscc": ("points", ("train/",)),
            "importance_mimo": ("betas", ("train_ciba",))}
# The dry run keeps models, batch sizes and schedules and cuts the data and the grids
# ({"field" or "group.field": value} on the paper profile's typed config).
DRY_RUN = {
    "split_vs_ldpc": {"dataset": "embedded", "n_train": 256, "n_val": 16, "n_test": 4,
                      "cbrs": (1 / 24,), "channels": ("awgn",), "codecs": ("bpg",),
                      "snr_db": (10.0,)},
    "scsc_mimo": {"n_train": 64, "n_val": 8, "n_test": 2, "chain.n_budget": 16,
                  "sweep.snr_db": (6.0,), "sweep.snr_cbr": (6.0,),
                  "sweep.snr_channels": (6.0,), "sweep.snr_example": 6.0,
                  "sweep.channels": ("rayleigh",), "sweep.gen_codecs": (),
                  "sweep.num_examples": 2},
    "semantic_jscc": {"n_train": 256, "n_val": 32, "n_test": 8, "gsw.num_images": 32,
                      "channels": ("awgn",), "example_snr_db": (10.0,)},
    "importance_mimo": dict(n_train=512, n_val=128, n_test=64, eval_batch_size=64,
                            betas=[1e-4, 1e-2], alphas=[0.0, 2.0], search_snr_db=[0.0],
                            thresholds=[0.0, 1.0], snr_db=[0.0]),
}


def get_field(config, path: str):
    """``config.a.b`` for ``path = "a.b"`` (nested frozen dataclasses)."""
    for part in path.split("."):
        config = getattr(config, part)
    return config


def replace_fields(config, changes: dict):
    """A copy of a frozen dataclass config with ``{"field" or "group.field": value}``
    replaced (``dataclasses.replace`` at every level); unknown fields raise."""
    nested: dict = {}
    flat = {}
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if not hasattr(config, head):
            raise ValueError(f"{type(config).__name__} has no field {head!r}")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[head] = value
    for head, sub in nested.items():
        flat[head] = replace_fields(getattr(config, head), sub)
    return dataclasses.replace(config, **flat)


# ----------------------------------------------------------------------- worker side
def _load_scenario(name: str):
    spec = importlib.util.spec_from_file_location(f"scenario_{name}",
                                                  ROOT / "scenarios" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leading_dim(batch) -> int:
    import tensorflow as tf
    return int(tf.nest.flatten(batch)[0].shape[0])


def _flops(step, batch) -> float | None:
    """FLOPs of one call of the compiled ``step`` (graph profiler), or None."""
    try:
        from tensorflow.python.profiler import model_analyzer, option_builder
        graph = step.get_concrete_function(batch).graph
        opts = option_builder.ProfileOptionBuilder(
            option_builder.ProfileOptionBuilder.float_operation()).with_empty_output().build()
        return float(model_analyzer.profile(graph, options=opts).total_float_ops)
    except Exception:  # noqa: BLE001 -- an op without shape information: no FLOP count
        return None


def _measure(trainer, batch, steps: int) -> dict:
    """Trace once, then time ``steps`` steps; the allocator's peak above the start."""
    import tensorflow as tf
    t0 = time.perf_counter()
    float(trainer.step(batch)["loss"])
    compile_s = time.perf_counter() - t0
    tf.config.experimental.reset_memory_stats("CPU:0")
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    best = math.inf
    for _ in range(steps):
        t0 = time.perf_counter()
        float(trainer.step(batch)["loss"])
        best = min(best, time.perf_counter() - t0)
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"] - before
    return {"b": _leading_dim(batch), "step_s": best, "compile_s": compile_s,
            "peak_bytes": max(int(peak), 0)}


def _linear(points: list[dict], key: str, b: int) -> float:
    """Value of ``key`` at batch ``b``, linear through the two smallest batches."""
    if len(points) == 1:
        return points[0][key]
    p, q = points[0], points[1]
    slope = (q[key] - p[key]) / (q["b"] - p["b"])
    return max(p[key] + slope * (b - p["b"]), 0.0)


def _measuring_fit(original, rows: list, scale: float, repeat, context: list,
                   opts: argparse.Namespace):
    import numpy as np
    import tensorflow as tf

    def fit(self, dataset, epochs, steps_per_epoch=None, *args, **kwargs):
        first = next(iter(dataset))
        batch_size = _leading_dim(first)
        # a stage fed by a step counter (PCEN) draws its own data: no batch axis to vary
        counter = (isinstance(dataset.element_spec, tf.TensorSpec)
                   and dataset.element_spec.dtype == tf.int64)
        card = int(dataset.cardinality())
        per_epoch = card if counter else int(round(card * scale))
        if steps_per_epoch is not None:
            per_epoch = min(per_epoch, steps_per_epoch) if per_epoch > 0 else steps_per_epoch
        state = sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size
                    for v in list(self.variables) + list(self.optimizer.variables))
        stage = f"{context[-1]}/{self.name}" if context else self.name
        row = {"stage": stage, "repeat": repeat(stage), "batch": batch_size, "epochs": int(epochs),
               "steps_per_epoch": per_epoch, "state_bytes": state,
               "direct": False, "counter": counter}
        print(f"[paper_profile] {stage}: batch {batch_size}, {epochs} epochs x "
              f"{per_epoch} steps", flush=True)
        sizes = [batch_size] if counter or batch_size == 1 else \
            sorted({max(1, batch_size // 16), min(batch_size, 2 * max(1, batch_size // 16))})

        def rebatch(b):
            return dataset if counter else dataset.unbatch().batch(b, drop_remainder=True)

        batches = {b: next(iter(rebatch(b))) for b in sizes}
        row["points"] = [_measure(self, batches[b], opts.steps) for b in sizes]
        if not counter and batch_size not in sizes:
            est_mem = state + _linear(row["points"], "peak_bytes", batch_size)
            est_s = _linear(row["points"], "step_s", batch_size)
            if est_mem <= opts.direct_gib * GIB and est_s <= opts.direct_s:
                batches[batch_size] = first
                row["points"].append(_measure(self, first, opts.steps))
                row["direct"] = True
        big = row["points"][-1]["b"]
        row["flops_at_b"] = [big, _flops(self.step, batches[big])]
        rows.append(row)
        # one real step on the smallest batch, so that the scenario goes on
        return original(self, rebatch(sizes[0]), 1, 1, *args, **kwargs)
    return fit


def worker(name: str, out_json: Path, opts: argparse.Namespace) -> None:
    import psutil
    import tensorflow as tf

    from sem_sionna import sweep
    from sem_sionna.train import loop

    tf.get_logger().setLevel("ERROR")
    module = _load_scenario(name)
    paper = module.PROFILES["paper"]
    dry = DRY_RUN[name]
    module.PROFILES["paper"] = replace_fields(paper, dry)
    scale = PAPER_TRAIN_IMAGES[name] / dry["n_train"]
    rows: list[dict] = []
    key, prefixes = REPEATED.get(name, (None, ()))
    factor = (len(get_field(paper, key)) / len(get_field(module.PROFILES["paper"], key))
              if key else 1.0)

    def repeat(stage: str) -> float:
        return factor if stage.startswith(prefixes) else 1.0

    context: list[str] = []            # the scenario's current RunRecord stage
    record_stage = sweep.RunRecord.stage

    def stage(self, stage_name):
        context.append(stage_name)
        return record_stage(self, stage_name)

    sweep.RunRecord.stage = stage
    loop.Trainer.fit = _measuring_fit(loop.Trainer.fit, rows, scale, repeat, context, opts)
    t0 = time.perf_counter()
    error = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            module.main(["--profile", "paper", "--out", tmp, "--seed", "0"])
        except Exception as e:  # noqa: BLE001 -- report which stage broke, keep the rows
            traceback.print_exc()
            error = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        run = Path(tmp, "run.json")
        stages = json.loads(run.read_text()).get("stages", {}) if run.exists() else {}
    out_json.write_text(json.dumps({
        "scenario": name, "rows": rows, "error": error, "wall_s": time.perf_counter() - t0,
        "stages_s": stages, "rss_peak_bytes": psutil.Process().memory_info().rss,
        "ru_maxrss_bytes": _ru_maxrss()}, indent=1))


def _ru_maxrss() -> int:
    import resource
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# ------------------------------------------------------------------------- report side
def estimate(row: dict, gpu_tflops: float) -> dict:
    """Memory, CPU time, FLOPs and hours of one stage at its default batch size."""
    b, pts = row["batch"], row["points"]
    at_b = [p for p in pts if p["b"] == b]
    peak = at_b[0]["peak_bytes"] if at_b else _linear(pts, "peak_bytes", b)
    step_s = at_b[0]["step_s"] if at_b else _linear(pts, "step_s", b)
    fb, flops = row["flops_at_b"]
    flops_b = None if flops is None else (flops if row["counter"] else flops * b / fb)
    steps = row["epochs"] * row["steps_per_epoch"] * row.get("repeat", 1.0)
    return {"mem_bytes": row["state_bytes"] + peak, "step_s": step_s, "flops": flops_b,
            "steps": int(round(steps)), "cpu_h": steps * step_s / 3600.0,
            "gpu_h": None if flops_b is None else steps * flops_b / (gpu_tflops * 1e12) / 3600}


def report(results: list[dict], gpu_tflops: float) -> None:
    print(f"\nPaper profiles, one training step per stage on this CPU; estimates at the "
          f"default batch size B (m: measured at B, x: extrapolated from B/16 and B/8); "
          f"GPU h at {gpu_tflops:g} TFLOP/s sustained FP32\n")
    head = (f"{'scenario':<16} {'stage':<40} {'B':>4} {'state MiB':>9} {'mem GiB@B':>10} "
            f"{'16 GB':>5} {'CPU s/step':>10} {'GFLOP/step':>10} {'steps':>8} {'CPU h':>8} "
            f"{'GPU h':>7}")
    print(head)
    print("-" * len(head))
    for res in results:
        total_cpu = total_gpu = 0.0
        worst = 0.0
        for row in res["rows"]:
            e = estimate(row, gpu_tflops)
            total_cpu += e["cpu_h"]
            total_gpu += e["gpu_h"] or 0.0
            worst = max(worst, e["mem_bytes"])
            how = "m" if row["direct"] or row["counter"] or row["batch"] == 1 else "x"
            gflop = "-" if e["flops"] is None else f"{e['flops'] / 1e9:.1f}"
            gpu_h = "-" if e["gpu_h"] is None else f"{e['gpu_h']:.2f}"
            print(f"{res['scenario']:<16} {row['stage'][:40]:<40} {row['batch']:>4} "
                  f"{row['state_bytes'] / 2**20:>9.1f} {e['mem_bytes'] / GIB:>8.2f} {how} "
                  f"{'yes' if e['mem_bytes'] < CARD_GB else 'NO':>5} {e['step_s']:>10.3f} "
                  f"{gflop:>10} {e['steps']:>8d} {e['cpu_h']:>8.1f} {gpu_h:>7}")
        print(f"{res['scenario']:<16} {'total (training)':<40} {'':>4} {'':>9} "
              f"{worst / GIB:>8.2f} max {'':>5} {'':>10} {'':>10} {'':>8} {total_cpu:>8.1f} "
              f"{total_gpu:>7.2f}")
        sweep_s = res["stages_s"].get("sweep")
        print(f"{'':<16} dry run {res['wall_s']:.0f} s, peak RSS "
              f"{res['ru_maxrss_bytes'] / GIB:.2f} GiB"
              + (f", cut-down sweep {sweep_s:.0f} s" if isinstance(sweep_s, (int, float)) else "")
              + (f"; FAILED: {res['error']}" if res["error"] else ""))
    print("\nmem = weights + optimiser slots + the allocator's peak during one step; "
          "steps = epochs x batches per epoch at the paper's training-set size x the "
          "number of times the paper profile trains the stage (per CBR, bpp or beta); "
          "GPU h counts FLOPs only (no LDPC/HEVC)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(DRY_RUN),
                        help=f"comma-separated subset of {', '.join(DRY_RUN)}")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per batch size")
    parser.add_argument("--direct-gib", type=float, default=8.0,
                        help="measure at B itself when the estimate is below this (GiB)")
    parser.add_argument("--direct-s", type=float, default=30.0,
                        help="... and one step at B is estimated below this (s)")
    parser.add_argument("--gpu-tflops", type=float, default=10.0,
                        help="sustained FP32 TFLOP/s assumed for the GPU estimate")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.worker is not None:
        worker(opts.worker, opts.worker_out, opts)
        return 0
    names = [s.strip() for s in opts.scenarios.split(",") if s.strip()]
    unknown = [s for s in names if s not in DRY_RUN]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(DRY_RUN)}")
    results, t_start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp, f"{name}.json")
            cmd = [sys.executable, __file__, "--worker", name, "--worker-out", str(out),
                   "--steps", str(opts.steps), "--direct-gib", str(opts.direct_gib),
                   "--direct-s", str(opts.direct_s)]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, check=False)
            if not out.exists():
                results.append({"scenario": name, "rows": [], "stages_s": {}, "wall_s":
                                time.perf_counter() - t0, "ru_maxrss_bytes": 0,
                                "error": f"worker exited with code {proc.returncode}"})
            else:
                results.append(json.loads(out.read_text()))
            print(f"  {name}: done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    report(results, opts.gpu_tflops)
    if opts.json is not None:
        opts.json.write_text(json.dumps(results, indent=1))
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
