"""Shared plumbing of the ``sem_sionna.plot`` figures: canvas, labels, styles, saving.

Figures are drawn on ``matplotlib.figure.Figure`` objects rendered by the Agg canvas,
without ``pyplot``: no GUI backend is needed or switched, and no global figure list
grows during a sweep. Files are saved atomically (temp file + ``os.replace``).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sem_sionna.utils.io import atomic_write

__all__ = ["AXIS_LABELS", "axis_label", "short_label", "new_figure", "series_style", "style_axes",
           "save_figure", "resolve_path", "legend"]

#: Axis labels, with units, of the CSV columns the scenarios write.
AXIS_LABELS = {
    "snr_db": "SNR [dB]",
    "psnr": "PSNR [dB]",
    "ms_ssim": "MS-SSIM",
    "miou": "mIoU",
    "accuracy": "accuracy",
    "cbr": "CBR (channel uses / source value)",
    "fail_rate": "decode failure rate",
    "ber": "BER",
    "bler": "BLER",
    "payload_bytes": "payload [bytes]",
    "rate_bpp": "rate [bits / pixel]",
}

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p")
_LINESTYLES = ("-", "--", "-.", ":")


def axis_label(column: str) -> str:
    """Label with unit for a CSV column (the column name when unknown)."""
    return AXIS_LABELS.get(column, column)


def short_label(column: str) -> str:
    """Label without the unit, for titles: ``"PSNR"`` for ``psnr``."""
    return axis_label(column).split(" [")[0].split(" (")[0]


def new_figure(n_panels: int = 1, max_cols: int = 3, panel_size=(4.4, 3.4)):
    """Return ``(fig, axes)``: a constrained-layout figure with ``n_panels`` subplots
    (``axes`` a flat list; unused grid cells are hidden)."""
    if n_panels < 1:
        raise ValueError(f"`n_panels` must be >= 1, got {n_panels}")
    ncols = min(n_panels, max_cols)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.6),
                 layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def series_style(index: int) -> dict[str, Any]:
    """Colour, marker and line style of the ``index``-th series (same in every panel)."""
    return {"color": f"C{index % 10}", "marker": _MARKERS[index % len(_MARKERS)],
            "linestyle": _LINESTYLES[(index // 10) % len(_LINESTYLES)]}


def style_axes(ax, xlabel: str, ylabel: str, title: str | None = None,
               logy: bool = False) -> None:
    """Label the axes, add a grid and an optional title / log y-axis."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize="medium")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.4)
    if logy:
        ax.grid(True, which="minor", alpha=0.15)


def resolve_path(path: str | os.PathLike, default_name: str) -> Path:
    """``path`` itself, or ``path/default_name`` when ``path`` is a directory or has
    no file suffix (so ``plot.metric_vs_snr(rows, "psnr", args.out)`` works)."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        path = path / default_name
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the suffix, e.g. ``.png``)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    # "tight": a long title or a figure legend wider than its panels is not clipped
    return atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi,
                                                    bbox_inches="tight"), binary=True)


def legend(fig: Figure, handles: Sequence, labels: Sequence[str], title: str | None):
    """One legend for the whole figure, below the panels."""
    if handles:
        fig.legend(handles, labels, loc="outside lower center", title=title,
                   ncols=min(len(labels), 4), fontsize="small")
