"""Merging the shard files of a sweep into one ``metrics.csv`` and ``run.json``.

A sweep split over machines runs ``--shard 0/2`` and ``--shard 1/2`` into the same
``--out`` directory (or copies the shard files together) and is merged with
``sem-sionna-merge DIR`` (or ``python -m sem_sionna.sweep merge DIR``).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Sequence

from sem_sionna.utils.io import atomic_write_json, read_csv_raw, write_csv

from sem_sionna.metrics.per_image import PerImage

from .files import csv_name, manifest_name, per_image_name, record_name

__all__ = ["merge", "merge_main"]

_SHARD_FILE = re.compile(r"^metrics\.shard-(\d+)-of-(\d+)\.csv$")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read ({err})") from None


def merge(out_dir: str | Path) -> Path:
    """Merge the shard CSVs of a sweep into ``metrics.csv`` in grid order.

    The shards' per-image samples (``per_image.shard-i-of-n.npz``) are combined into
    ``per_image.npz``. Every ``metrics.shard-i-of-n.csv`` (``i = 0 .. n-1``) and its manifest
    ``metrics.shard-i-of-n.json`` must be present, the shards must have finished
    (``complete``) and hold every point they ran except those that failed; otherwise a
    ``ValueError`` says which shard is missing or incomplete. Rows are written in grid
    order, byte-identical to an unsharded run. When every shard wrote a
    ``run.shard-i-of-n.json``, they are combined into ``run.json`` (``stages`` summed
    over shards, ``failures`` concatenated, each shard's record under ``shards``).

    Parameters
    ----------
    out_dir : str or pathlib.Path -- directory holding the shard files.

    Output
    ------
    path : pathlib.Path -- the merged ``metrics.csv``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"{out_dir} is not a directory")
    found: dict[int, set[int]] = {}
    for path in out_dir.iterdir():
        match = _SHARD_FILE.match(path.name)
        if match:
            found.setdefault(int(match.group(2)), set()).add(int(match.group(1)))
    if not found:
        raise ValueError(f"no metrics.shard-i-of-n.csv files in {out_dir}")
    if len(found) > 1:
        raise ValueError(f"{out_dir} mixes shard counts {sorted(found)}; keep the files "
                         f"of one split")
    (n, indices), = found.items()
    missing = sorted(set(range(n)) - indices)
    if missing:
        raise ValueError(f"{out_dir}: shard(s) {', '.join(f'{i}/{n}' for i in missing)} "
                         f"missing (metrics.shard-i-of-{n}.csv); run them with --shard")
    columns = None
    key_columns = None
    grid = None
    rows_by_key: dict[tuple[str, ...], dict[str, str]] = {}
    for i in range(n):
        shard = (i, n)
        manifest_path = out_dir / manifest_name(shard)
        if not manifest_path.exists():
            raise ValueError(f"shard {i}/{n}: {manifest_path.name} missing; run the shard "
                             f"again with --resume")
        manifest = _read_json(manifest_path)
        header, rows = read_csv_raw(out_dir / csv_name(shard))
        if columns is None:
            columns, key_columns, grid = header, manifest["key_columns"], manifest["grid"]
        elif header != columns or manifest["key_columns"] != key_columns:
            raise ValueError(f"shard {i}/{n} has columns {header}, shard 0/{n} {columns}")
        elif manifest["grid"] != grid:
            raise ValueError(f"shard {i}/{n} was run on another grid than shard 0/{n}")
        expected = {tuple(k) for k in manifest["expected"]}
        failed = {tuple(k) for k in manifest["failed"]}
        done = {tuple(row[c] for c in key_columns): row for row in rows}
        left = expected - failed - set(done)
        if not manifest.get("complete") or left:
            raise ValueError(f"shard {i}/{n} is incomplete ({len(set(done) & expected)} of "
                             f"{len(expected)} points done); run it again with --shard "
                             f"{i}/{n} --resume")
        rows_by_key.update(done)
    ordered = [rows_by_key[tuple(k)] for k in grid if tuple(k) in rows_by_key]
    _merge_samples(out_dir, n)
    path = write_csv(out_dir / "metrics.csv", columns, ordered)
    _merge_records(out_dir, n)
    return path


def _merge_samples(out_dir: Path, n: int) -> None:
    """Combine the shards' ``per_image.shard-i-of-n.npz`` into ``per_image.npz``."""
    paths = [out_dir / per_image_name((i, n)) for i in range(n)]
    present = [p for p in paths if p.exists()]
    if not present:
        return
    if len(present) != n:
        missing = [p.name for p in paths if not p.exists()]
        raise ValueError(f"{out_dir}: per-image files {missing} missing; run those shards "
                         f"again with --resume")
    merged = None
    for path in present:
        shard = PerImage.load(path)
        if merged is None:
            merged = PerImage(shard.ratio_metrics)
        for point in shard:
            merged.add(point, shard.get(point))
    merged.save(out_dir / per_image_name())


def _merge_records(out_dir: Path, n: int) -> None:
    paths = [out_dir / record_name((i, n)) for i in range(n)]
    if not all(p.exists() for p in paths):
        return
    records = [_read_json(p) for p in paths]
    merged = dict(records[0])
    stages: dict[str, float] = {}
    for rec in records:
        for name, seconds in (rec.get("stages") or {}).items():
            stages[name] = round(stages.get(name, 0.0) + float(seconds or 0.0), 3)
    merged["stages"] = stages
    merged["failures"] = [f for rec in records for f in rec.get("failures") or []]
    merged["shards"] = {f"{i}/{n}": {k: rec.get(k) for k in
                                     ("argv", "host", "start_time", "end_time", "status",
                                      "wall_s", "stages", "failures", "notes")}
                        for i, rec in enumerate(records)}
    merged["notes"] = list(merged.get("notes") or []) + [
        f"merged from {n} shards; stages are summed over shards"]
    atomic_write_json(out_dir / "run.json", merged)


def merge_main(argv: Sequence[str] | None = None) -> int:
    """``sem-sionna-merge DIR``: merge the shard CSVs in DIR into DIR/metrics.csv.

    Returns 0 on success; an incomplete or missing shard prints one error line and
    exits with code 1, bad usage with code 2.
    """
    parser = argparse.ArgumentParser(
        prog="sem-sionna-merge",
        description="Merge metrics.shard-i-of-n.csv files into metrics.csv (grid order).")
    parser.add_argument("out_dir", type=Path, help="directory holding the shard files")
    args = parser.parse_args(argv)
    try:
        path = merge(args.out_dir)
    except (ValueError, OSError) as err:
        parser.exit(1, f"{parser.prog}: error: {err}\n")
    print(f"wrote {path}")
    return 0
