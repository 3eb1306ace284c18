"""Grids of example images: originals and reconstructions, or segmentation masks."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .figure import new_figure, resolve_path, save_figure

__all__ = ["image_grid"]


def _as_image(img: Any, where: str) -> np.ndarray:
    if hasattr(img, "numpy") and callable(img.numpy):
        img = img.numpy()
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"{where}: expected an image [H, W, 3] or a mask [H, W], got "
                         f"shape {arr.shape}")
    return arr


def image_grid(rows_of_images: Sequence[Sequence[Any]], row_labels: Sequence[str],
               col_labels: Sequence[str], path: str | os.PathLike,
               title: str | None = None, cmap: str = "tab20",
               num_classes: int | None = None) -> Path:
    """Draw images in a grid with row and column labels.

    Parameters
    ----------
    rows_of_images : ``R`` rows of ``C`` images (nested lists or an array
        ``[R, C, H, W, 3]``); each one float ``[H, W, 3]`` in [0, 1] (clipped), float
        ``[H, W]`` grey levels, an integer mask ``[H, W]`` (class indices, drawn with
        ``cmap``), or None for an empty cell.
    row_labels : sequence of str -- ``R`` labels, e.g. scheme names.
    col_labels : sequence of str -- ``C`` labels, e.g. SNRs or image ids.
    path : str or os.PathLike -- output file (a directory gets ``image_grid.png``).
    title : str or None -- figure title.
    cmap : str -- colormap of integer masks.
    num_classes : int or None -- colours span classes ``0 .. num_classes-1`` in every
        cell (default: the largest class index in the grid + 1).

    Output
    ------
    path : pathlib.Path -- the file written.
    """
    grid = [list(row) for row in rows_of_images]
    if not grid or not grid[0]:
        raise ValueError("`rows_of_images` must hold at least one image")
    n_cols = len(grid[0])
    if any(len(row) != n_cols for row in grid):
        raise ValueError(f"every row of `rows_of_images` needs {n_cols} images, got "
                         f"{[len(row) for row in grid]}")
    if len(row_labels) != len(grid):
        raise ValueError(f"`row_labels` has {len(row_labels)} entries for "
                         f"{len(grid)} rows")
    if len(col_labels) != n_cols:
        raise ValueError(f"`col_labels` has {len(col_labels)} entries for {n_cols} columns")
    cells = [[None if img is None else _as_image(img, f"image [{r}][{c}]")
              for c, img in enumerate(row)] for r, row in enumerate(grid)]
    masks = [a for row in cells for a in row
             if a is not None and np.issubdtype(a.dtype, np.integer)]
    if num_classes is None and masks:
        num_classes = int(max(int(m.max()) for m in masks)) + 1

    path = resolve_path(path, "image_grid.png")
    fig, axes = new_figure(len(cells) * n_cols, max_cols=n_cols,
                           panel_size=(1.9, 1.9))
    for r, row in enumerate(cells):
        for c, arr in enumerate(row):
            ax = axes[r * n_cols + c]
            ax.set_xticks([])
            ax.set_yticks([])
            if arr is not None:
                if np.issubdtype(arr.dtype, np.integer):
                    ax.imshow(arr, cmap=cmap, vmin=0, vmax=max(num_classes - 1, 1),
                              interpolation="nearest")
                elif arr.ndim == 2:
                    ax.imshow(np.clip(arr, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0,
                              interpolation="nearest")
                else:
                    ax.imshow(np.clip(arr.astype(np.float32), 0.0, 1.0),
                              interpolation="nearest")
            else:
                ax.set_frame_on(False)
            if r == 0:
                ax.set_title(str(col_labels[c]), fontsize="small")
            if c == 0:
                ax.set_ylabel(str(row_labels[r]), fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
