"""Grid runner: encode once per group, one CSV row per point, resume, shards.

A sweep is a list of points (dicts of axis values, see :func:`grid`). Points are
grouped (by default by scheme, channel and CBR); per group, ``prepare`` runs once (e.g.
encode the images with a codec, or compute a learned encoder's features), then
``evaluate`` runs per point (e.g. per SNR) and returns the metrics of that point.

::

    points = sweep.grid(scheme=["jpeg+ldpc", "deepjscc"], channel=["awgn"],
                        cbr=[1 / 24], snr_db=[0.0, 5.0, 10.0])
    runner = sweep.SweepRunner(args.out, columns=COLUMNS, resume=args.resume,
                               shard=args.shard, seed=args.seed, record=record)
    rows = runner.run(points, evaluate, prepare=prepare)

Files in ``out_dir``:

- ``metrics.csv`` (or ``metrics.shard-<i>-of-<n>.csv`` with ``shard=(i, n)``): header
  ``columns``, then one row per finished point in grid order. It is rewritten atomically
  after every point, so it always parses, even after ``kill -9``.
- ``per_image.npz`` (``per_image.shard-<i>-of-<n>.npz``): the per-image values of every
  finished point (:class:`~sem_sionna.metrics.PerImage`), written atomically when the
  sweep ends. While it runs, each point's values go to their own file in
  ``per_image.npz.parts/`` (written before the point's CSV row, so every row has its
  samples on disk; a point of the same cost whatever the number of points before it);
  a resumed run folds those files in and removes the folder.
  ``evaluate`` returns them as 1-D arrays (one value per image and channel draw, in the
  same order for every scheme at a condition, so that rows pair); the CSV gets their mean
  and, in a ``<metric>_ci95`` column, the 95 % half-width (t interval; ratio metrics such
  as ``miou`` from ``iou_intersection``/``iou_union`` counts ``[n, C]``: bootstrap over
  images). :func:`with_ci95` adds those columns.
- with a shard, ``metrics.shard-<i>-of-<n>.json``: the full grid's keys, the points
  that failed and whether the shard finished; :func:`~sem_sionna.sweep.merge` uses it to
  check that every shard is complete and to restore grid order.

Resume: with ``resume=True`` the rows of an existing CSV are kept and their points
(matched on ``key_columns``, formatted as written) are not evaluated again; rows of points
not in the grid are kept at the end with a warning. With ``resume=False`` an existing
CSV is overwritten: the run starts fresh.

Determinism: before ``prepare`` and before each ``evaluate``, the global generators are
seeded (:func:`~sem_sionna.utils.seeding.set_global_seed`, i.e.
``keras.utils.set_random_seed``) with a seed hashed from ``(seed, group key)`` or
``(seed, point key)``, so a point's result does not depend on which points ran before it.
Layers that own a ``keras.random.SeedGenerator`` keep their own state; pass them as
``reseed=`` to :meth:`SweepRunner.run` to reset it at the same moments.

Failures: a metric that is NaN/inf, or ``evaluate`` raising
:class:`~sem_sionna.utils.NumericalError`, skips the point (no row), logs a warning naming
the scheme and SNR and appends ``{"scheme", "point", "reason"}`` to
``record.failures``; the sweep goes on. Any other exception propagates, with the CSV
holding every point finished before it.
"""
from __future__ import annotations

import itertools
import math
import os
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from sem_sionna.utils.errors import NumericalError
from sem_sionna.utils.io import (atomic_write_json, format_value, parse_value, read_csv_raw,
                                 remove_stale_temp_files, to_scalar, write_csv)
from sem_sionna.utils.log import logger
from sem_sionna.utils.seeding import derive_seed, reseed as _reseed, set_global_seed

from sem_sionna.metrics.per_image import PerImage

from .files import csv_name, manifest_name, per_image_name

__all__ = ["grid", "point_key", "with_ci95", "SweepRunner"]

KEY = "key"


def point_key(point: Mapping[str, Any], columns: Iterable[str] | None = None) -> str:
    """Stable string key of a point, e.g. ``"scheme=jpeg|channel=awgn|snr_db=10"``.

    Values are formatted as in the CSV (:func:`~sem_sionna.utils.io.format_value`);
    ``columns`` selects and orders the fields (default: all but ``"key"``).
    """
    if columns is None:
        columns = [c for c in point if c != KEY]
    return "|".join(f"{c}={format_value(point[c])}" for c in columns)


def with_ci95(columns: Sequence[str], metrics: Sequence[str]) -> list[str]:
    """``columns`` with ``<m>_ci95`` inserted right after every ``m`` in ``metrics``."""
    out = []
    for col in columns:
        out.append(col)
        if col in metrics and f"{col}_ci95" not in columns:
            out.append(f"{col}_ci95")
    missing = [m for m in metrics if m not in columns]
    if missing:
        raise ValueError(f"`metrics` {missing} are not in `columns` {list(columns)}")
    return out


def _is_per_image(value: Any) -> bool:
    return isinstance(value, (np.ndarray, list, tuple)) or (
        hasattr(value, "shape") and len(getattr(value, "shape", ())) > 0)


def grid(**axes: Any) -> list[dict[str, Any]]:
    """Cartesian product of the axes, in the order given (last axis fastest).

    Parameters
    ----------
    **axes : sequence or scalar -- values of each axis, e.g.
        ``scheme=["jpeg", "deepjscc"], channel=["awgn"], cbr=[1/24], snr_db=[0, 5]``.
        A scalar (or a string) is a one-value axis. NumPy values become Python ones.

    Output
    ------
    points : list of dict -- ``{axis: value, ..., "key": point_key}`` per point.
    """
    if not axes:
        raise ValueError("grid() needs at least one axis, e.g. snr_db=[0, 5, 10]")
    values = []
    for name, vals in axes.items():
        if name == KEY:
            raise ValueError(f"`{KEY}` is reserved for the point key and cannot be an axis")
        if isinstance(vals, (str, bytes)) or np.ndim(vals) == 0:
            vals = [vals]
        vals = [to_scalar(v, name) for v in vals]
        if not vals:
            raise ValueError(f"axis `{name}` is empty; give at least one value")
        formatted = [format_value(v) for v in vals]
        if len(set(formatted)) != len(formatted):
            raise ValueError(f"axis `{name}` has repeated values {vals!r}")
        values.append(vals)
    names = list(axes)
    points = []
    for combo in itertools.product(*values):
        point = dict(zip(names, combo))
        point[KEY] = point_key(point)
        points.append(point)
    return points


def _describe(point: Mapping[str, Any], columns: Sequence[str]) -> str:
    return ", ".join(f"{c}={point[c]}" for c in columns if c in point)


class SweepRunner:
    """Runs a grid of points and keeps ``metrics.csv`` up to date after every point.

    Parameters
    ----------
    out_dir : str or os.PathLike -- output directory (created).
    columns : sequence of str -- CSV columns in order; the contract asks for at least
        ``scheme, channel, snr_db, cbr, psnr, ms_ssim``, the task metric and
        ``n_images``. Every grid axis must be a column; metrics ``evaluate`` returns must
        be columns (an unknown key raises ``ValueError``); a column neither in the point
        nor in the metrics stays empty.
    key_columns : sequence of str -- columns identifying a point (resume, merge);
        every point must have them and they must be unique over the grid.
    resume : bool -- keep the finished rows of an existing CSV and skip their points;
        ``False`` starts a fresh CSV (an existing one is overwritten).
    shard : (int, int) or None -- ``(i, n)``: run only the points whose grid index is
        ``i`` modulo ``n``, into ``metrics.shard-i-of-n.csv``.
    seed : int -- run seed from which every point's seed is derived.
    record : RunRecord or None -- receives failures (and is written after them).
    desc : str -- progress bar and log prefix.
    devices : list of str or None -- with ``shard=None``: run the sweep as one shard per
        device in child processes of ``script argv`` (see :mod:`.devices`) and merge.
    argv, script : the scenario's arguments and path, for ``devices``.
    ratio_metrics : mapping ``{name: (numerator, denominator)}`` or None -- metrics that
        are ratios of per-image count arrays (bootstrap CIs), as for
        :class:`~sem_sionna.metrics.PerImage` (default: mIoU from ``iou_intersection`` /
        ``iou_union``).
    """

    def __init__(self, out_dir: str | os.PathLike, columns: Sequence[str],
                 key_columns: Sequence[str] = ("scheme", "channel", "cbr", "snr_db"),
                 resume: bool = False, shard: tuple[int, int] | None = None,
                 seed: int = 0, record: Any = None, desc: str = "sweep",
                 devices: Sequence[str] | None = None, argv: Sequence[str] | None = None,
                 script: str | os.PathLike | None = None,
                 ratio_metrics: Mapping[str, tuple[str, str]] | None = None):
        if isinstance(columns, str) or not all(isinstance(c, str) and c for c in columns):
            raise TypeError(f"`columns` must be a sequence of non-empty strings, "
                            f"got {columns!r}")
        self.columns = list(columns)
        if not self.columns:
            raise ValueError("`columns` must not be empty")
        dup = sorted({c for c in self.columns if self.columns.count(c) > 1})
        if dup:
            raise ValueError(f"`columns` has repeated names {dup}")
        if KEY in self.columns:
            raise ValueError(f"`columns` must not contain the reserved name `{KEY}`")
        if isinstance(key_columns, str):
            raise TypeError(f"`key_columns` must be a sequence of column names, "
                            f"got the string {key_columns!r}")
        self.key_columns = list(key_columns)
        if not self.key_columns:
            raise ValueError("`key_columns` must not be empty")
        missing = [c for c in self.key_columns if c not in self.columns]
        if missing:
            raise ValueError(f"`key_columns` {missing} are not in `columns` {self.columns}")
        if shard is not None:
            if (not isinstance(shard, (tuple, list)) or len(shard) != 2
                    or not all(isinstance(v, (int, np.integer)) for v in shard)
                    or not 0 <= shard[0] < shard[1]):
                raise ValueError(f"`shard` must be a pair (i, n) with 0 <= i < n, "
                                 f"got {shard!r}")
            shard = (int(shard[0]), int(shard[1]))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"`seed` must be an integer, got {seed!r}")
        self.out_dir = Path(out_dir)
        self.resume = bool(resume)
        self.shard = shard
        self.seed = int(seed)
        self.record = record
        self.desc = str(desc)
        self.devices = list(devices) if devices else None
        self.argv = list(argv or [])
        self.script = script
        self.path = self.out_dir / csv_name(shard)
        self.per_image_path = self.out_dir / per_image_name(shard)
        self.parts_dir = self.per_image_path.with_name(self.per_image_path.name + ".parts")
        self._next_part: int | None = None  # file number of the next part (_journal)
        self.ratio_metrics = ratio_metrics
        self.samples = PerImage(ratio_metrics)
        self.manifest_path = self.out_dir / manifest_name(shard) if shard else None
        self.failures: list[dict[str, Any]] = []

    # -- helpers -------------------------------------------------------------------------
    def _row_key(self, row: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(row[c] for c in self.key_columns)

    def _check_points(self, points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if isinstance(points, Mapping) or not all(isinstance(p, Mapping) for p in points):
            raise TypeError("`points` must be a sequence of dicts, e.g. from sweep.grid()")
        checked = []
        seen: dict[tuple[str, ...], int] = {}
        for index, p in enumerate(points):
            point = {k: to_scalar(v, k) for k, v in p.items()}
            axes = [k for k in point if k != KEY]
            missing = [c for c in self.key_columns if c not in point]
            if missing:
                raise ValueError(f"point {index} ({point_key(point, axes)}) lacks the key "
                                 f"column(s) {missing}; add them as grid axes or change "
                                 f"`key_columns`")
            unknown = [c for c in axes if c not in self.columns]
            if unknown:
                raise ValueError(f"point axes {unknown} are not CSV columns; add them to "
                                 f"`columns`")
            point.setdefault(KEY, point_key(point, axes))
            key = tuple(format_value(point[c]) for c in self.key_columns)
            if key in seen:
                raise ValueError(f"points {seen[key]} and {index} have the same key "
                                 f"columns {dict(zip(self.key_columns, key))}; add the "
                                 f"axis that tells them apart to `key_columns`")
            seen[key] = index
            checked.append(point)
        return checked

    def _seed(self, tag: str, key: str, reseed_objs: Any) -> None:
        derived = derive_seed(self.seed, tag, key)
        set_global_seed(derived)
        if reseed_objs:
            _reseed(reseed_objs, derived)

    def _per_image(self, point: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict:
        """Store the array-valued metrics of ``point``; return the scalars, with the
        arrays' means and ``_ci95`` half-widths for the columns that ask for them."""
        arrays = {k: np.asarray(v, np.float64 if np.asarray(v).dtype != bool else bool)
                  for k, v in metrics.items() if _is_per_image(v)}
        scalars = {k: v for k, v in metrics.items() if k not in arrays}
        if not arrays:
            return scalars
        for name, x in arrays.items():
            if x.dtype != bool and not np.all(np.isfinite(x)):
                raise NumericalError(f"non-finite per-image {name}")
        parts = {m for pair in self.samples.ratio_metrics.values() for m in pair}
        unknown = sorted(k for k in arrays if k not in self.columns and k not in parts)
        if unknown:
            raise ValueError(f"`evaluate` returned per-image metrics {unknown} that are not "
                             f"CSV columns {self.columns}; add them to `columns`")
        where = {k: v for k, v in point.items() if k != KEY}
        self.samples.add(where, arrays, replace=True)
        self._journal(where, arrays)
        summary = self.samples.summary(where, seed=derive_seed(self.seed, "ci", point[KEY]))
        summary = {k: v for k, v in summary.items() if k in self.columns}
        return {**summary, **scalars}

    def _format_row(self, point: Mapping[str, Any], metrics: Any) -> dict[str, str]:
        if not isinstance(metrics, Mapping):
            raise TypeError(f"`evaluate` must return a dict of metrics, got "
                            f"{type(metrics).__name__}")
        metrics = self._per_image(point, metrics)
        unknown = sorted(k for k in metrics if k not in self.columns)
        if unknown:
            raise ValueError(f"`evaluate` returned metrics {unknown} that are not CSV "
                             f"columns {self.columns}; add them to `columns`")
        row = {}
        for col in self.columns:
            if col in metrics:
                value = to_scalar(metrics[col], col)
                if isinstance(value, float) and not math.isfinite(value):
                    raise NumericalError(f"non-finite {col}={value}")
                text = format_value(value)
                if col in point and text != format_value(point[col]):
                    raise ValueError(f"`evaluate` returned {col}={value!r} for a point "
                                     f"with {col}={point[col]!r}")
                row[col] = text
            elif col in point:
                row[col] = format_value(point[col])
            else:
                row[col] = ""
        return row

    def _fail(self, point: Mapping[str, Any], reason: str) -> None:
        scheme = point.get("scheme")
        where = (f"SNR {format_value(point['snr_db'])} dB" if "snr_db" in point
                 else point[KEY])
        logger.warning("[%s] %s at %s failed: %s; point skipped (%s)", self.desc,
                       scheme if scheme is not None else "point", where, reason, point[KEY])
        failure = {"scheme": scheme,
                   "point": {k: v for k, v in point.items() if k != KEY},
                   "reason": reason}
        self.failures.append(failure)
        if self.record is not None:
            self.record.add_failure(**failure)
            self.record.write()

    # -- files ---------------------------------------------------------------------------
    def _load_existing(self) -> OrderedDict:
        finished: OrderedDict = OrderedDict()
        if not (self.resume and self.path.exists()):
            return finished
        header, rows = read_csv_raw(self.path)
        if header != self.columns:
            raise ValueError(f"{self.path} has columns {header}, this sweep writes "
                             f"{self.columns}; run without --resume to start fresh")
        for row in rows:
            finished[self._row_key(row)] = row
        logger.info("[%s] resume: %d finished row(s) in %s", self.desc, len(rows),
                    self.path)
        return finished

    def _journal(self, point: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Write one point's samples to its own file in ``parts_dir`` (before its row)."""
        part = PerImage(self.samples.ratio_metrics)
        part.add(point, arrays)
        if self._next_part is None:  # after the parts a killed run left, if any
            self.parts_dir.mkdir(exist_ok=True)
            self._next_part = len(list(self.parts_dir.glob("*.npz")))
        part.save(self.parts_dir / f"{self._next_part:06d}.npz")
        self._next_part += 1

    def _load_samples(self) -> PerImage:
        """The samples of a resumed run: ``per_image.npz`` and then its parts, if any."""
        samples = PerImage(self.ratio_metrics)
        if not self.resume:
            return samples
        if self.per_image_path.exists():
            samples = PerImage.load(self.per_image_path)
        for path in sorted(self.parts_dir.glob("*.npz")) if self.parts_dir.is_dir() else ():
            part = PerImage.load(path)
            for point in part:
                samples.add(point, part.get(point), replace=True)
        return samples

    def _write_samples(self, finished: Mapping) -> None:
        """Keep the samples of finished points only, write them (if any) into one file
        and drop the per-point parts."""
        keep = PerImage(self.samples.ratio_metrics)
        for point in self.samples:
            key = tuple(format_value(point[c]) for c in self.key_columns)
            if key in finished:
                keep.add(point, self.samples.get(point))
        self.samples = keep
        if len(keep) or self.per_image_path.exists():
            keep.save(self.per_image_path)
        if self.parts_dir.is_dir():
            shutil.rmtree(self.parts_dir)
        self._next_part = None

    def _write_csv(self, finished: Mapping, order: Sequence[tuple[str, ...]]) -> None:
        # the point's samples are already in parts_dir (_journal): a kill in between
        # leaves a point in the samples only, which a resumed run evaluates again (the
        # CSV decides what is finished)
        in_grid = [finished[k] for k in order if k in finished]
        order_set = set(order)
        foreign = [row for k, row in finished.items() if k not in order_set]
        write_csv(self.path, self.columns, in_grid + foreign)

    def _write_manifest(self, grid_keys, expected, failed, complete) -> None:
        if self.manifest_path is None:
            return
        atomic_write_json(self.manifest_path, {
            "shard": list(self.shard), "key_columns": self.key_columns,
            "columns": self.columns, "grid": [list(k) for k in grid_keys],
            "expected": [list(k) for k in expected],
            "failed": [list(k) for k in failed], "complete": complete})

    # -- the sweep -----------------------------------------------------------------------
    def run(self, points: Sequence[Mapping[str, Any]],
            evaluate: Callable[[dict, Any], Mapping[str, Any]],
            prepare: Callable[[dict], Any] | None = None,
            group_by: Sequence[str] = ("scheme", "channel", "cbr"),
            reseed: Any = None) -> list[dict[str, Any]]:
        """Evaluate the points not finished yet; return all rows in grid order.

        Parameters
        ----------
        points : sequence of dict -- the full grid (:func:`grid`), also when sharded.
        evaluate : callable ``(point, state) -> dict`` -- metrics of one point,
            ``{column: number or None}``; tensors and NumPy scalars are accepted.
        prepare : callable ``(group_point) -> state`` or None -- called once per group
            that has points left; ``group_point`` holds the ``group_by`` values and
            ``"key"``. ``state`` is ``None`` without it.
        group_by : sequence of str -- axes that define a group (axes absent from the
            points are ignored). Groups run in order of first appearance in the grid.
        reseed : keras layer(s) or None -- their ``SeedGenerator`` states are reset
            (:func:`~sem_sionna.utils.seeding.reseed`) whenever the runner seeds.

        Output
        ------
        rows : list of dict -- this run's CSV (this shard's, when sharded), numbers
            converted as by :func:`~sem_sionna.utils.read_csv`.
        """
        if not callable(evaluate):
            raise TypeError(f"`evaluate` must be callable, got {evaluate!r}")
        if prepare is not None and not callable(prepare):
            raise TypeError(f"`prepare` must be callable or None, got {prepare!r}")
        if isinstance(group_by, str):
            raise TypeError(f"`group_by` must be a sequence of axis names, got the "
                            f"string {group_by!r}")
        all_points = self._check_points(points)
        if self.devices and self.shard is None:
            from .devices import launch_shards
            from sem_sionna.utils.io import read_csv
            if self.script is None:
                raise ValueError("`devices` needs `script` (the scenario file to relaunch)")
            return read_csv(launch_shards(self.script, self.argv, self.devices, self.out_dir))
        grid_keys = [tuple(format_value(p[c]) for c in self.key_columns)
                     for p in all_points]
        if self.shard is None:
            selected = list(range(len(all_points)))
        else:
            i, n = self.shard
            selected = [j for j in range(len(all_points)) if j % n == i]
        order = [grid_keys[j] for j in selected]

        self.out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(self.path)
        if self.manifest_path is not None:
            remove_stale_temp_files(self.manifest_path)
        remove_stale_temp_files(self.per_image_path)
        finished = self._load_existing()
        self.samples = self._load_samples()
        if not self.resume and self.path.exists():
            logger.info("[%s] starting fresh: overwriting %s", self.desc, self.path)
        order_set = set(order)
        foreign = [k for k in finished if k not in order_set]
        if foreign:
            logger.warning("[%s] %s holds %d row(s) of points not in this grid; kept at "
                           "the end", self.desc, self.path, len(foreign))
        self._write_samples(finished)  # one file again, parts of a killed run folded in
        self._write_csv(finished, order)

        failed: list[tuple[str, ...]] = []
        self._write_manifest(grid_keys, order, failed, complete=False)

        groups: OrderedDict = OrderedDict()
        for j in selected:
            if grid_keys[j] in finished:
                continue
            point = all_points[j]
            cols = [c for c in group_by if c in point]
            gkey = point_key(point, cols)
            groups.setdefault(gkey, (cols, []))[1].append((j, point))
        n_left = sum(len(members) for _, members in groups.values())
        logger.info("[%s] %d point(s) to run, %d already done, %d group(s) -> %s",
                    self.desc, n_left, len(order) - n_left, len(groups), self.path)

        bar = tqdm(total=n_left, desc=self.desc, unit="pt", dynamic_ncols=True)
        try:
            for gkey, (cols, members) in groups.items():
                self._run_group(gkey, cols, members, grid_keys, finished, order,
                                failed, evaluate, prepare, reseed, bar)
        finally:
            bar.close()
        self._write_samples(finished)
        self._write_manifest(grid_keys, order, failed, complete=True)
        if self.record is not None:
            self.record.write()
        rows = [finished[k] for k in order if k in finished]
        rows += [row for k, row in finished.items() if k not in order_set]
        return [{k: parse_value(v) for k, v in row.items()} for row in rows]

    def _run_group(self, gkey, cols, members, grid_keys, finished, order, failed,
                   evaluate, prepare, reseed, bar) -> None:
        first = members[0][1]
        group_point = {c: first[c] for c in cols}
        group_point[KEY] = gkey
        label = _describe(group_point, cols) or "all points"
        logger.info("[%s] group %s: %d point(s)", self.desc, label, len(members))
        t0 = time.perf_counter()
        state = None
        n_failed = 0
        if prepare is not None:
            self._seed("prepare", gkey, reseed)
            try:
                state = prepare(dict(group_point))
            except NumericalError as err:
                for j, point in members:
                    self._fail(point, f"prepare: {err}")
                    failed.append(grid_keys[j])
                    bar.update(1)
                self._write_manifest(grid_keys, order, failed, complete=False)
                return
        for j, point in members:
            self._seed("evaluate", point[KEY], reseed)
            try:
                row = self._format_row(point, evaluate(dict(point), state))
            except NumericalError as err:
                self._fail(point, str(err) or type(err).__name__)
                failed.append(grid_keys[j])
                n_failed += 1
                self._write_manifest(grid_keys, order, failed, complete=False)
            else:
                finished[grid_keys[j]] = row
                self._write_csv(finished, order)
            bar.update(1)
        logger.info("[%s] group %s done in %.1f s%s", self.desc, label,
                    time.perf_counter() - t0,
                    f" ({n_failed} failed)" if n_failed else "")
