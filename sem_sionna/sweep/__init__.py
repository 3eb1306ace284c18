"""sem_sionna.sweep: the machinery every scenario script uses.

- :func:`parse_args` -- the common command line (``--profile --out --seed --resume
  --retrain --shard --devices``);
- :class:`RunRecord` -- ``run.json`` (config, versions, git commit, host, stage times,
  failures);
- :func:`grid` and :class:`SweepRunner` -- encode once per group, evaluate per point,
  ``metrics.csv`` rewritten atomically after each point, resume, shards;
- :func:`merge` / :func:`merge_main` -- combine shard CSVs (``sem-sionna-merge DIR``);
- :func:`read_csv` -- rows with numbers converted, for plots and tests;
- :class:`NumericalError` -- raised by links on non-finite results; the runner skips
  and records the point.
"""
from .cli import PROFILES, merge, merge_main, parse_args, parse_shard
from .errors import NumericalError
from .io import (atomic_write, atomic_write_json, atomic_write_text, format_value,
                 read_csv)
from .log import configure_logging, logger
from .record import RunRecord
from .runner import SweepRunner, grid, point_key
from .schemes import DigitalScheme, ImageSweep, LearnedScheme, reconstruct_examples
from .seeding import derive_seed, reseed, set_global_seed

__all__ = [
    "PROFILES",
    "parse_args",
    "parse_shard",
    "merge",
    "merge_main",
    "NumericalError",
    "RunRecord",
    "SweepRunner",
    "DigitalScheme",
    "ImageSweep",
    "LearnedScheme",
    "reconstruct_examples",
    "grid",
    "point_key",
    "read_csv",
    "format_value",
    "atomic_write",
    "atomic_write_text",
    "atomic_write_json",
    "derive_seed",
    "set_global_seed",
    "reseed",
    "configure_logging",
    "logger",
]
