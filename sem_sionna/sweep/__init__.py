"""sem_sionna.sweep: the machinery every scenario script uses.

- :func:`parse_args` -- the common command line (``--profile --out --seed --resume
  --retrain --shard --devices``);
- :class:`RunRecord` -- ``run.json`` (config, versions, git commit, host, stage times,
  failures);
- :func:`grid` and :class:`SweepRunner` -- encode once per group, evaluate per point,
  ``metrics.csv`` rewritten atomically after each point, resume, shards;
- :func:`merge` / :func:`merge_main` -- combine shard CSVs (``sem-sionna-merge DIR``);

Files, logging, errors and seeds come from :mod:`sem_sionna.utils`.
"""
from .cli import PROFILES, parse_args, parse_shard
from .merge import merge, merge_main
from .record import RunRecord
from .runner import SweepRunner, grid, point_key, with_ci95
from .protocol import SweepLink
from .schemes import ImageSweep, reconstruct_examples

__all__ = [
    "PROFILES",
    "parse_args",
    "parse_shard",
    "merge",
    "merge_main",
    "RunRecord",
    "SweepRunner",
    "ImageSweep",
    "SweepLink",
    "reconstruct_examples",
    "grid",
    "point_key",
    "with_ci95",
]
