"""Metric curves from sweep rows: metric vs SNR / CBR per scheme, failure rates,
and a generic line plot."""
from __future__ import annotations

import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from sem_sionna.utils.io import read_csv
from .figure import (axis_label, legend, new_figure, resolve_path, save_figure,
                     series_style, short_label, style_axes)

__all__ = ["metric_vs", "metric_vs_snr", "metric_vs_cbr", "failure_rate_vs_snr",
           "line_plot"]

Rows = Sequence[Mapping[str, Any]] | str | os.PathLike
Where = Mapping[str, Any] | Callable[[Mapping[str, Any]], bool] | None


def _load_rows(rows: Rows) -> list[Mapping[str, Any]]:
    if isinstance(rows, (str, os.PathLike)):
        return read_csv(rows)
    if isinstance(rows, Mapping) or not all(isinstance(r, Mapping) for r in rows):
        raise TypeError("`rows` must be a list of dicts (sweep rows) or a CSV path")
    return list(rows)


def _matches(row: Mapping[str, Any], where: Where) -> bool:
    if where is None:
        return True
    if callable(where):
        return bool(where(row))
    for col, wanted in where.items():
        if isinstance(wanted, (list, tuple, set, frozenset)):
            if row.get(col) not in wanted:
                return False
        elif row.get(col) != wanted:
            return False
    return True


def _ordered(values: list[Any]) -> list[Any]:
    """Numbers sorted, anything else in order of first appearance."""
    unique = list(dict.fromkeys(values))
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in unique):
        return sorted(unique)
    return unique


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, ".4g")
    return str(value)


def _finite(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def metric_vs(rows: Rows, metric: str, x: str, path: str | os.PathLike,
              panels: Sequence[str] = (), series: str = "scheme",
              ylabel: str | None = None, xlabel: str | None = None,
              title: str | None = None, where: Where = None, logy: bool = False,
              ylim: tuple[float, float] | None = None) -> Path:
    """Plot ``metric`` against column ``x``: one subplot per combination of the
    ``panels`` columns, one line (with markers) per value of ``series``, with its 95 %
    confidence band (``metric +- <metric>_ci95``) wherever the rows carry that column.

    Parameters
    ----------
    rows : list of dict or path -- sweep rows (``SweepRunner.run``, ``read_csv``) or a
        ``metrics.csv`` path.
    metric, x : str -- y and x columns.
    path : str or os.PathLike -- output file (``.png``, ``.pdf``, ...); a directory (or
        a path without suffix) gets ``<metric>_vs_<x>.png`` inside it.
    panels : sequence of str -- columns splitting the subplots; columns absent from
        the rows are ignored.
    series : str -- column whose values are the lines (same colour in every panel).
    ylabel, xlabel, title : str or None -- defaults from the column names, with units.
    where : dict or callable or None -- row filter: ``{column: value or list}`` or
        ``row -> bool``.
    logy : bool -- logarithmic y axis (non-positive values are not drawn).
    ylim : (float, float) or None -- y-axis limits.

    Output
    ------
    path : pathlib.Path -- the file written.

    Rows whose metric is empty or not finite are left out (the line has a gap). Two
    rows with the same panel, series and ``x`` raise ``ValueError``: add the column
    that tells them apart to ``panels`` or filter with ``where``.
    """
    data = [r for r in _load_rows(rows) if _matches(r, where)]
    if data and not any(metric in r for r in data):
        raise ValueError(f"`metric` {metric!r} is not a column of the rows; columns: "
                         f"{sorted({k for r in data for k in r})}")
    panel_cols = [c for c in panels if any(c in r for r in data)]
    path = resolve_path(path, f"{metric}_vs_{x}.png")

    combos = _ordered([tuple(r.get(c) for c in panel_cols) for r in data]) or [()]
    names = _ordered([r.get(series) for r in data])
    styles = {name: series_style(i) for i, name in enumerate(names)}
    curves: dict[tuple, dict[Any, dict[float, float]]] = {}
    bands: dict[tuple, dict[Any, dict[float, float]]] = {}
    for r in data:
        xv, yv = r.get(x), r.get(metric)
        if not _finite(xv) or not _finite(yv) or (logy and yv <= 0):
            continue
        combo = tuple(r.get(c) for c in panel_cols)
        points = curves.setdefault(combo, {}).setdefault(r.get(series), {})
        if xv in points:
            raise ValueError(f"two rows with {series}={r.get(series)!r}, {x}={xv!r}"
                             + "".join(f", {c}={v!r}" for c, v in zip(panel_cols, combo))
                             + "; add the column that tells them apart to `panels` or "
                               "filter with `where`")
        points[xv] = yv
        half = r.get(f"{metric}_ci95")
        if _finite(half):
            bands.setdefault(combo, {}).setdefault(r.get(series), {})[xv] = half
    if not curves:
        warnings.warn(f"no finite values of {metric!r} to plot; {path} shows no data",
                      RuntimeWarning, stacklevel=2)

    fig, axes = new_figure(len(combos))
    handles: dict[Any, Any] = {}
    for ax, combo in zip(axes, combos):
        for name in names:
            points = curves.get(combo, {}).get(name)
            if not points:
                continue
            xs = sorted(points)
            (line,) = ax.plot(xs, [points[v] for v in xs], label=_fmt(name),
                              **styles[name])
            _band(ax, xs, points, bands.get(combo, {}).get(name, {}), line, logy)
            handles.setdefault(name, line)
        panel_title = ", ".join(f"{c}={_fmt(v)}" for c, v in zip(panel_cols, combo))
        style_axes(ax, xlabel or axis_label(x), ylabel or axis_label(metric),
                   panel_title or None, logy=logy)
        if ylim is not None:
            ax.set_ylim(*ylim)
        if combo not in curves:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center",
                    va="center", color="0.5")
    order = [n for n in names if n in handles]
    legend(fig, [handles[n] for n in order], [_fmt(n) for n in order], series)
    fig.suptitle(title or f"{short_label(metric)} vs {short_label(x)}")
    return save_figure(fig, path)


def _band(ax, xs, points, halves, line, logy: bool) -> None:
    """Shade ``y +- half`` (the 95 % CI) around a line where the half-width is known."""
    xs = [v for v in xs if v in halves]
    if not xs:
        return
    low = np.array([points[v] - halves[v] for v in xs])
    high = np.array([points[v] + halves[v] for v in xs])
    if logy:
        low = np.maximum(low, np.array([points[v] for v in xs]) * 1e-3)
    ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.18, linewidth=0)


def metric_vs_snr(rows: Rows, metric: str, path: str | os.PathLike,
                  panels: Sequence[str] = ("channel", "cbr"), series: str = "scheme",
                  ylabel: str | None = None, title: str | None = None,
                  where: Where = None, logy: bool = False) -> Path:
    """``metric`` vs ``snr_db``, one panel per channel/CBR, one line per scheme
    (see :func:`metric_vs`). A directory ``path`` gets ``<metric>_vs_snr.png``."""
    path = resolve_path(path, f"{metric}_vs_snr.png")
    return metric_vs(rows, metric, "snr_db", path, panels=panels, series=series,
                     ylabel=ylabel, title=title or f"{short_label(metric)} vs SNR",
                     where=where, logy=logy)


def metric_vs_cbr(rows: Rows, metric: str, path: str | os.PathLike,
                  panels: Sequence[str] = ("channel", "snr_db"), series: str = "scheme",
                  ylabel: str | None = None, title: str | None = None,
                  where: Where = None, logy: bool = False) -> Path:
    """``metric`` vs ``cbr``, one panel per channel/SNR, one line per scheme
    (see :func:`metric_vs`). A directory ``path`` gets ``<metric>_vs_cbr.png``."""
    path = resolve_path(path, f"{metric}_vs_cbr.png")
    return metric_vs(rows, metric, "cbr", path, panels=panels, series=series,
                     ylabel=ylabel, title=title or f"{short_label(metric)} vs CBR",
                     where=where, logy=logy)


def failure_rate_vs_snr(rows: Rows, path: str | os.PathLike, column: str = "fail_rate",
                        panels: Sequence[str] = ("channel", "cbr"),
                        series: str = "scheme", title: str | None = None,
                        where: Where = None) -> Path:
    """Decode failure rate (column ``column``, in [0, 1]) vs SNR per scheme; rows
    without the column (e.g. analog schemes) are left out. A directory ``path`` gets
    ``<column>_vs_snr.png``."""
    path = resolve_path(path, f"{column}_vs_snr.png")
    return metric_vs(rows, column, "snr_db", path, panels=panels, series=series,
                     ylabel="decode failure rate",
                     title=title or "Decode failure rate vs SNR", where=where,
                     ylim=(-0.03, 1.03))


def line_plot(x: Sequence[float], ys: Mapping[str, Sequence[float]],
              path: str | os.PathLike, xlabel: str, ylabel: str, title: str,
              logy: bool = False,
              ci95: Mapping[str, Sequence[float]] | None = None) -> Path:
    """Generic line plot: one line per entry of ``ys`` over the common ``x``, with a
    shaded 95 % confidence band for the entries of ``ci95``.

    Parameters
    ----------
    x : sequence of float -- x values, length ``n``.
    ys : dict ``{label: sequence of n floats}`` -- NaN/inf (and non-positive values with
        ``logy``) are gaps.
    path : str or os.PathLike -- output file (a directory gets ``line_plot.png``).
    xlabel, ylabel, title : str -- labels, with units.
    logy : bool -- logarithmic y axis.
    ci95 : dict ``{label: sequence of n half-widths}`` or None -- confidence bands.

    Output
    ------
    path : pathlib.Path -- the file written.
    """
    xs = np.asarray(x, dtype=float)
    if xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"`x` must be a non-empty 1-D sequence, got shape {xs.shape}")
    if not isinstance(ys, Mapping) or not ys:
        raise TypeError("`ys` must be a non-empty dict {label: y values}")
    arrays = {}
    for label, y in ys.items():
        arr = np.asarray(y, dtype=float)
        if arr.shape != xs.shape:
            raise ValueError(f"`ys[{label!r}]` has shape {arr.shape}, `x` has {xs.shape}")
        arr = np.where(np.isfinite(arr) & ((arr > 0) if logy else True), arr, np.nan)
        arrays[label] = arr
    path = resolve_path(path, "line_plot.png")
    fig, (ax,) = new_figure(1, panel_size=(5.5, 3.8))
    for i, (label, arr) in enumerate(arrays.items()):
        (line,) = ax.plot(xs, arr, label=str(label), **series_style(i))
        if ci95 is not None and label in ci95:
            half = np.asarray(ci95[label], dtype=float)
            if half.shape != xs.shape:
                raise ValueError(f"`ci95[{label!r}]` has shape {half.shape}, `x` has "
                                 f"{xs.shape}")
            keep = np.isfinite(arr) & np.isfinite(half)
            _band(ax, list(xs[keep]), dict(zip(xs[keep], arr[keep])),
                  dict(zip(xs[keep], half[keep])), line, logy)
    style_axes(ax, xlabel, ylabel, logy=logy)
    fig.suptitle(title)
    ax.legend(fontsize="small")
    return save_figure(fig, path)
