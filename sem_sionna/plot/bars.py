"""Bar chart of one value per label (e.g. mIoU per scheme at one SNR)."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .figure import new_figure, resolve_path, save_figure, style_axes

__all__ = ["bar_chart"]


def bar_chart(labels: Sequence[str], values: Sequence[float], path: str | os.PathLike,
              ylabel: str, title: str, errors: Sequence[float] | None = None) -> Path:
    """One bar per label, its value printed above it.

    Parameters
    ----------
    labels : sequence of str -- bar names, length ``n``.
    values : sequence of float -- bar heights, length ``n``; NaN draws no bar.
    path : str or os.PathLike -- output file (a directory gets ``bar_chart.png``).
    ylabel, title : str -- y label with unit, figure title.
    errors : sequence of float or None -- optional error bar half-widths, length ``n``.

    Output
    ------
    path : pathlib.Path -- the file written.
    """
    labels = [str(label) for label in labels]
    vals = np.asarray(values, dtype=float)
    if vals.shape != (len(labels),) or not labels:
        raise ValueError(f"`values` must have one entry per label ({len(labels)} labels), "
                         f"got shape {vals.shape}")
    errs = None
    if errors is not None:
        errs = np.asarray(errors, dtype=float)
        if errs.shape != vals.shape:
            raise ValueError(f"`errors` must have shape {vals.shape}, got {errs.shape}")
    path = resolve_path(path, "bar_chart.png")
    fig, (ax,) = new_figure(1, panel_size=(max(4.0, 0.9 * len(labels) + 1.5), 3.6))
    pos = np.arange(len(labels))
    bars = ax.bar(pos, np.nan_to_num(vals, nan=0.0), yerr=errs, capsize=3,
                  color=[f"C{i % 10}" for i in range(len(labels))])
    for bar, v in zip(bars, vals):
        if math.isfinite(v):
            ax.annotate(format(v, ".3g"), (bar.get_x() + bar.get_width() / 2, v),
                        ha="center", va="bottom", fontsize="small",
                        xytext=(0, 2), textcoords="offset points")
        else:
            bar.set_visible(False)
            ax.annotate("n/a", (bar.get_x() + bar.get_width() / 2, 0.0), ha="center",
                        va="bottom", fontsize="small", color="0.4",
                        xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(pos, labels, rotation=30 if len(labels) > 4 else 0,
                  ha="right" if len(labels) > 4 else "center")
    style_axes(ax, "", ylabel)
    ax.grid(False, axis="x")
    fig.suptitle(title)
    return save_figure(fig, path)
