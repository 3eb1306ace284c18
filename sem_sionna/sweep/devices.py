"""Run a scenario's sweep as one shard per local device, then merge.

``--devices 0,1`` on a scenario: the parent process trains (or loads) its models as
usual; at the sweep it starts one child per device running the same script with
``--shard i/n --resume`` and ``CUDA_VISIBLE_DEVICES=<device>``, waits for all, merges the
shard CSVs (:func:`~sem_sionna.sweep.merge`) and goes on with the merged rows (figures).
The children find the trained weights in the weight store, so they do not train again.
Each child's output goes to ``<out>/shard-<i>-of-<n>.log``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from sem_sionna.utils.log import logger

__all__ = ["launch_shards"]


def _strip_option(argv: Sequence[str], option: str, takes_value: bool = True) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == option:
            skip = takes_value
            continue
        if arg.startswith(option + "="):
            continue
        out.append(arg)
    return out


def launch_shards(script: str | os.PathLike, argv: Sequence[str], devices: Sequence[str],
                  out_dir: str | os.PathLike) -> Path:
    """Run ``script argv --shard i/n --resume`` once per device in parallel; merge.

    Returns the merged ``metrics.csv``. Raises ``RuntimeError`` naming the shard and its
    log when a child fails (finished shards stay on disk: rerun to resume).
    """
    from .merge import merge

    out_dir = Path(out_dir)
    argv = _strip_option(_strip_option(_strip_option(argv, "--devices"), "--shard"), "--out")
    argv = [a for a in argv if a not in ("--resume", "--retrain")]
    n = len(devices)
    procs = []
    for i, device in enumerate(devices):
        env = dict(os.environ, CUDA_VISIBLE_DEVICES=str(device))
        log_path = out_dir / f"shard-{i}-of-{n}.log"
        cmd = [sys.executable, str(script), *argv, "--out", str(out_dir), "--shard", f"{i}/{n}",
               "--resume"]
        logger.info(f"[devices] shard {i}/{n} on device {device}: {' '.join(cmd)}")
        log = open(log_path, "w")
        procs.append((i, log_path, log, subprocess.Popen(cmd, env=env, stdout=log,
                                                         stderr=subprocess.STDOUT)))
    failed = []
    for i, log_path, log, proc in procs:
        code = proc.wait()
        log.close()
        if code != 0:
            failed.append(f"shard {i}/{n} exited with {code} (see {log_path})")
    if failed:
        raise RuntimeError("; ".join(failed))
    return merge(out_dir)
