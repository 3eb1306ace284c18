"""Per-image metric values keyed by sweep point, for confidence intervals and paired tests.

A *point* is a mapping of condition columns to scalars, always with ``scheme``
(typically also ``channel``, ``snr_db``, ``cbr`` and study columns such as ``bpp``,
``csi``, ``q``). Its *condition* is the point without ``scheme``. At each point the
values are ``{metric: [n] or [n, C] array}``; all metrics of one point have the same
number of rows ``n``, and row ``i`` is the same image (and channel draw) for every scheme
at the same condition, so schemes can be compared row by row (paired).

Ratio metrics are not averaged per image: ``miou`` is registered as the ratio of the
per-image ``iou_intersection`` and ``iou_union`` counts ``[n, num_classes]``, summed over
the images (as :func:`sem_sionna.metrics.miou` accumulates them over a batch).

File format (``save`` / ``load``): a ``np.savez_compressed`` archive holding

- ``index``: a 0-d unicode array, JSON ``{"format": "sem_sionna.PerImage", "version": 1,
  "ratio_metrics": {name: [numerator, denominator]}, "points": [{"point": {...},
  "metrics": [name, ...]}, ...]}``; JSON writes floats with ``repr`` so every key
  (``cbr = 1/24`` included) reads back bit-exactly, ints stay ints;
- ``a{i}_{j}``: the array of metric ``j`` of point ``i``, dtype and shape as added.

It loads with ``allow_pickle=False``.
"""
from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterator, Mapping
from typing import Union

import numpy as np

from sem_sionna.utils.io import atomic_write
from .uncertainty import Statistic, bootstrap_ci95, mean_ci95, ratio_of_sums

__all__ = ["PerImage", "DEFAULT_RATIO_METRICS", "Scalar"]

Scalar = Union[str, int, float, bool]

DEFAULT_RATIO_METRICS: dict[str, tuple[str, str]] = {"miou": ("iou_intersection", "iou_union")}

_FORMAT = "sem_sionna.PerImage"
_VERSION = 1


def _scalar(value, column: str) -> Scalar:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"point column `{column}` must be finite, got {value!r}")
        return value
    raise TypeError(f"point column `{column}` must be a str, int, float or bool, got "
                    f"{type(value).__name__} {value!r}")


def _normalize(point: Mapping, require_scheme: bool = True) -> dict[str, Scalar]:
    if not isinstance(point, Mapping):
        raise TypeError(f"a point must be a mapping of columns to values, got {point!r}")
    out = {}
    for column, value in point.items():
        if not isinstance(column, str) or not column:
            raise TypeError(f"point columns must be non-empty strings, got {column!r}")
        out[column] = _scalar(value, column)
    if require_scheme and not isinstance(out.get("scheme"), str):
        raise ValueError(f"a point needs a string `scheme`, got {dict(point)!r}")
    return out


def _key(point: Mapping[str, Scalar]) -> tuple:
    return tuple(sorted(point.items()))


def _equal(value: Scalar, wanted) -> bool:
    if isinstance(wanted, (tuple, list, set, frozenset)):
        return any(_equal(value, w) for w in wanted)
    numeric = (isinstance(value, numbers.Real) and not isinstance(value, bool)
               and isinstance(wanted, numbers.Real) and not isinstance(wanted, (bool, np.bool_)))
    if numeric:
        return math.isclose(float(value), float(wanted), rel_tol=1e-9, abs_tol=1e-12)
    return value == wanted


def matches(point: Mapping[str, Scalar], where: Mapping) -> bool:
    """``point`` has every column of ``where`` with an equal value (floats to 1e-9
    relative; a tuple/list/set in ``where`` means any of its values)."""
    return all(c in point and _equal(point[c], v) for c, v in where.items())


class PerImage:
    """Per-image values of every metric at every sweep point.

    Parameters
    ----------
    ratio_metrics : mapping ``{name: (numerator, denominator)}``, default
        ``{"miou": ("iou_intersection", "iou_union")}`` -- metrics computed as ratios of
        per-image counts summed over rows (bootstrap intervals) instead of per-image means.

    Example
    -------
    >>> s = PerImage()
    >>> s.add({"scheme": "scsc", "channel": "rayleigh", "snr_db": 10.0, "cbr": 1 / 24},
    ...       {"psnr": psnr_per_image, "iou_intersection": i, "iou_union": u})
    >>> s.summary({"scheme": "scsc", "channel": "rayleigh", "snr_db": 10.0, "cbr": 1 / 24})
    {'psnr': ..., 'psnr_ci95': ..., 'miou': ..., 'miou_ci95': ..., 'n_images': ...}
    """

    def __init__(self, ratio_metrics: Mapping[str, tuple[str, str]] | None = None):
        ratio_metrics = DEFAULT_RATIO_METRICS if ratio_metrics is None else ratio_metrics
        self._ratio: dict[str, tuple[str, str]] = {}
        for name, parts in ratio_metrics.items():
            if not isinstance(name, str) or len(parts) != 2 \
                    or not all(isinstance(p, str) for p in parts):
                raise ValueError("`ratio_metrics` must map names to (numerator, denominator) "
                                 f"metric names, got {name!r}: {parts!r}")
            self._ratio[name] = (parts[0], parts[1])
        self._points: dict[tuple, dict[str, Scalar]] = {}
        self._values: dict[tuple, dict[str, np.ndarray]] = {}

    # -- filling -------------------------------------------------------------------
    @property
    def ratio_metrics(self) -> dict[str, tuple[str, str]]:
        return dict(self._ratio)

    def add(self, point: Mapping, values: Mapping[str, object], *, replace: bool = False) -> None:
        """Store ``values`` ``{metric: [n] or [n, C]}`` at ``point``.

        Raises ``ValueError`` when the point exists (unless ``replace``), when the metrics
        have different numbers of rows, or when a value is empty, scalar, NaN or infinite.
        """
        point = _normalize(point)
        key = _key(point)
        if key in self._points and not replace:
            raise ValueError(f"point {point} already holds values; pass replace=True")
        if not isinstance(values, Mapping) or not values:
            raise ValueError(f"`values` must be a non-empty mapping {{metric: array}}, got "
                             f"{values!r}")
        arrays: dict[str, np.ndarray] = {}
        n = None
        for metric, value in values.items():
            if not isinstance(metric, str) or not metric:
                raise TypeError(f"metric names must be non-empty strings, got {metric!r}")
            x = np.array(value)  # a private copy
            if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
                raise ValueError(f"`{metric}` at {point} must be numeric, got dtype {x.dtype}")
            if x.ndim == 0 or x.shape[0] == 0:
                raise ValueError(f"`{metric}` at {point} must be [n] or [n, ...] with n >= 1, "
                                 f"got shape {x.shape}")
            if not np.all(np.isfinite(x)):
                raise ValueError(f"`{metric}` at {point} has NaN or infinite values")
            if n is None:
                n = x.shape[0]
            elif x.shape[0] != n:
                raise ValueError(f"all metrics of a point need the same number of rows: "
                                 f"`{metric}` has {x.shape[0]}, others {n} at {point}")
            x.flags.writeable = False
            arrays[metric] = x
        for name, (num, den) in self._ratio.items():
            if (num in arrays) != (den in arrays):
                raise ValueError(f"ratio metric `{name}` needs both `{num}` and `{den}` at "
                                 f"{point}, got only one")
            if num in arrays and arrays[num].shape != arrays[den].shape:
                raise ValueError(f"`{num}` and `{den}` must have the same shape at {point}, got "
                                 f"{arrays[num].shape} and {arrays[den].shape}")
        self._points[key] = point
        self._values[key] = arrays

    # -- reading -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._points)

    def __iter__(self) -> Iterator[dict[str, Scalar]]:
        return (dict(p) for p in self._points.values())

    def __contains__(self, point) -> bool:
        try:
            return _key(_normalize(point)) in self._points
        except (TypeError, ValueError):
            return False

    def __eq__(self, other) -> bool:
        if not isinstance(other, PerImage):
            return NotImplemented
        if self._ratio != other._ratio or self._points.keys() != other._points.keys():
            return False
        for key, values in self._values.items():
            theirs = other._values[key]
            if values.keys() != theirs.keys() or any(
                    v.dtype != theirs[m].dtype or v.shape != theirs[m].shape
                    or not np.array_equal(v, theirs[m]) for m, v in values.items()):
                return False
        return True

    def get(self, point: Mapping) -> dict[str, np.ndarray]:
        """The values at ``point`` (read-only arrays); ``KeyError`` when absent."""
        key = _key(_normalize(point))
        if key not in self._values:
            raise KeyError(f"no values at point {dict(point)}")
        return dict(self._values[key])

    def points(self, **where) -> list[dict[str, Scalar]]:
        """Points matching ``where`` (see :func:`matches`), in insertion order."""
        return [dict(p) for p in self._points.values() if matches(p, where)]

    def select(self, scheme: str | None = None, **where) -> list[tuple[dict, dict]]:
        """``[(point, values)]`` of ``scheme`` (every scheme when None) matching ``where``."""
        if scheme is not None:
            where = {**where, "scheme": scheme}
        return [(dict(p), dict(self._values[k])) for k, p in self._points.items()
                if matches(p, where)]

    def conditions(self, scheme: str | None = None, **where) -> list[dict[str, Scalar]]:
        """Distinct conditions (points without ``scheme``) matching, in insertion order."""
        seen: dict[tuple, dict] = {}
        for point, _ in self.select(scheme, **where):
            cond = {c: v for c, v in point.items() if c != "scheme"}
            seen.setdefault(_key(cond), cond)
        return list(seen.values())

    def schemes(self) -> list[str]:
        """Scheme names in insertion order."""
        return list(dict.fromkeys(p["scheme"] for p in self._points.values()))

    def columns(self) -> list[str]:
        """Every point column (``scheme`` included) used by some point."""
        return list(dict.fromkeys(c for p in self._points.values() for c in p))

    def metrics(self) -> list[str]:
        """Stored metric names plus the ratio metrics whose counts are stored somewhere."""
        stored = list(dict.fromkeys(m for v in self._values.values() for m in v))
        ratios = [r for r, (num, _) in self._ratio.items() if num in stored and r not in stored]
        return stored + ratios

    def check_names(self, *, schemes=(), metrics=(), columns=()) -> None:
        """``ValueError`` naming any scheme, metric or column absent from every point."""
        for what, names, known in (("scheme", schemes, self.schemes()),
                                   ("metric", metrics, self.metrics()),
                                   ("column", columns, self.columns())):
            for name in names:
                if name not in known:
                    raise ValueError(f"unknown {what} {name!r}; the samples hold "
                                     f"{sorted(map(str, known))}")

    def statistic(self, metric: str) -> Statistic | None:
        """The statistic of :meth:`sample` arrays: ``ratio_of_sums`` for ratio metrics,
        None (mean over rows) otherwise."""
        return ratio_of_sums if metric in self._ratio else None

    def sample(self, point: Mapping, metric: str) -> np.ndarray | None:
        """Rows of ``metric`` at ``point``: ``[n]`` (or ``[n, ...]``) as stored, or for a
        ratio metric the counts stacked ``[n, 2, C]`` (numerator, denominator); None when
        the point lacks the metric."""
        values = self._values.get(_key(_normalize(point)))
        if values is None:
            return None
        if metric in self._ratio and self._ratio[metric][0] in values:
            num, den = (values[m] for m in self._ratio[metric])
            if num.ndim == 1:
                num, den = num[:, None], den[:, None]
            return np.stack([num, den], axis=1)
        return values.get(metric)

    def pair(self, a_scheme: str, b_scheme: str, metric: str,
             **where) -> list[tuple[dict, np.ndarray, np.ndarray]]:
        """``[(condition, a, b)]`` at every condition matching ``where`` where both schemes
        have ``metric`` (arrays as :meth:`sample` returns them, rows aligned).

        Raises ``ValueError`` when the two schemes have different row counts at a
        condition (their rows cannot pair).
        """
        out = []
        for cond in self.conditions(a_scheme, **where):
            a = self.sample({**cond, "scheme": a_scheme}, metric)
            b = self.sample({**cond, "scheme": b_scheme}, metric)
            if a is None or b is None:
                continue
            if a.shape != b.shape:
                raise ValueError(f"`{metric}` rows of {a_scheme!r} {a.shape} and {b_scheme!r} "
                                 f"{b.shape} do not pair at {cond}")
            out.append((cond, a, b))
        return out

    def summary(self, point: Mapping, *, n_resamples: int = 2000,
                seed: int = 0) -> dict[str, float | int]:
        """``{metric: mean, metric_ci95: half-width, ..., "n_images": n}`` at ``point``.

        ``[n]`` metrics get the mean and its t interval; ratio metrics the ratio of sums and
        its bootstrap interval (their count arrays are not listed themselves); other
        ``[n, C]`` arrays (e.g. per-level values) are left out.
        """
        values = self.get(point)
        parts = {m for pair in self._ratio.values() for m in pair}
        out: dict[str, float | int] = {}
        for metric, x in values.items():
            if metric in parts or x.ndim != 1 or metric in self._ratio:
                continue
            out[metric], out[f"{metric}_ci95"] = mean_ci95(x)
        for name in self._ratio:
            x = self.sample(point, name)
            if x is not None:
                out[name], out[f"{name}_ci95"] = bootstrap_ci95(
                    x, ratio_of_sums, n_resamples=n_resamples, seed=seed)
        out["n_images"] = int(next(iter(values.values())).shape[0])
        return out

    # -- files ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write a compressed ``.npz`` atomically (temp file + ``os.replace``); see the
        module docstring for the layout."""
        index = {"format": _FORMAT, "version": _VERSION,
                 "ratio_metrics": {k: list(v) for k, v in self._ratio.items()}, "points": []}
        arrays: dict[str, np.ndarray] = {}
        for i, (key, point) in enumerate(self._points.items()):
            values = self._values[key]
            index["points"].append({"point": point, "metrics": list(values)})
            for j, x in enumerate(values.values()):
                arrays[f"a{i}_{j}"] = x
        arrays["index"] = np.array(json.dumps(index, allow_nan=False))
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays), binary=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PerImage":
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            if "index" not in data.files:
                raise ValueError(f"{os.fspath(path)!r} is not a PerImage file (no index)")
            index = json.loads(str(data["index"][()]))
            if index.get("format") != _FORMAT or index.get("version") != _VERSION:
                raise ValueError(f"{os.fspath(path)!r}: unsupported format "
                                 f"{index.get('format')!r} version {index.get('version')!r}")
            out = cls({k: tuple(v) for k, v in index["ratio_metrics"].items()})
            for i, entry in enumerate(index["points"]):
                out.add(entry["point"], {m: data[f"a{i}_{j}"]
                                         for j, m in enumerate(entry["metrics"])})
        return out
