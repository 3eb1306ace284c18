"""Command line of the scenario scripts and merging of sharded sweeps.

Every scenario script starts with::

    args = sweep.parse_args(argv, name="split_vs_ldpc")

and gets ``--profile {smoke,quick,paper}``, ``--out DIR``, ``--seed N``, ``--resume``,
``--retrain``, ``--shard i/n`` and ``--devices``. A sweep split over machines runs
``--shard 0/2`` and ``--shard 1/2`` into the same ``--out`` directory (or copies the
shard files together) and is merged with ``sem-sionna-merge DIR`` (or
``python -m sem_sionna.sweep merge DIR``).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from sem_sionna.utils.log import configure_logging

__all__ = ["PROFILES", "parse_args", "parse_shard"]

#: Allowed values of ``--profile``.
PROFILES = ("smoke", "quick", "paper")

def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"i/n"`` into ``(i, n)`` with ``0 <= i < n``; ``ArgumentTypeError``
    otherwise (argparse turns it into a usage error, exit code 2)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise argparse.ArgumentTypeError(f"expected i/n with integers 0 <= i < n, e.g. "
                                         f"0/2, got {text!r}")
    i, n = int(match.group(1)), int(match.group(2))
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"expected i/n with 0 <= i < n, got {text!r}")
    return i, n


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**32, got {value}")
    return value


def _devices(text: str) -> list[str]:
    devices = [d.strip() for d in str(text).split(",") if d.strip()]
    if not devices:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list such as "
                                         f"0,1, got {text!r}")
    return devices


def parse_args(argv: Sequence[str] | None, name: str, description: str = "",
               extra: Callable[[argparse.ArgumentParser], Any] | None = None
               ) -> argparse.Namespace:
    """Parse a scenario's command line.

    Parameters
    ----------
    argv : list of str or None -- arguments without the program name; ``None`` reads
        ``sys.argv[1:]``.
    name : str -- scenario name: program name and default output ``results/<name>/``.
    description : str -- help text.
    extra : callable ``(parser) -> None`` or None -- adds scenario-specific options.

    Output
    ------
    args : argparse.Namespace -- ``profile`` (str, default ``"quick"``), ``out``
        (pathlib.Path, created and checked writable; default ``results/<name>`` under
        the working directory), ``seed`` (int, default 0), ``resume`` and ``retrain``
        (bool), ``shard`` (``(i, n)`` or None), ``devices`` (list of str or None; stored
        only), ``name`` and ``argv`` (the parsed list), plus ``extra``'s options.

    Bad options are argparse errors: a usage line and one error line on stderr, then
    ``SystemExit(2)``. Also sets up INFO logging to stderr for the ``sem_sionna`` logger.
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"`name` must be a non-empty file name, got {name!r}")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=name, description=description or None)
    parser.add_argument("--profile", choices=PROFILES, default="quick",
                        help="problem size: smoke (tests, < 2 min on 2 CPU cores), quick "
                             "(default, < 15 min on 2 CPU cores), paper (the papers' "
                             "settings, for a GPU)")
    parser.add_argument("--out", type=Path, default=Path("results") / name,
                        help="output directory (default: results/%(prog)s)")
    parser.add_argument("--seed", type=_seed, default=0,
                        help="run seed; every sweep point derives its own (default: 0)")
    parser.add_argument("--resume", action="store_true",
                        help="keep finished rows of DIR/metrics.csv and run only the "
                             "missing points (default: start fresh, overwriting)")
    parser.add_argument("--retrain", action="store_true",
                        help="train again even when a checkpoint exists")
    parser.add_argument("--shard", type=parse_shard, default=None, metavar="i/n",
                        help="run only grid points with index %% n == i, into "
                             "metrics.shard-i-of-n.csv; merge with sem-sionna-merge DIR")
    parser.add_argument("--devices", type=_devices, default=None, metavar="LIST",
                        help="comma-separated local GPU indices for running shards")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as err:
        parser.error(f"argument --out: cannot write to {str(out)!r}: "
                     f"{err.strerror or err}")
    args.out = out
    args.name = name
    args.argv = argv
    configure_logging()
    return args
