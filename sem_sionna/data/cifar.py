"""CIFAR-10 read from the Keras dataset cache, never downloaded.

``keras.datasets.cifar10.load_data()`` unpacks the "CIFAR-10 python version" into
``$KERAS_HOME/datasets/cifar-10-batches-py`` (``KERAS_HOME`` defaults to
``~/.keras``). This module reads those pickled batches directly
(``data_batch_1`` .. ``data_batch_5`` for train, ``test_batch`` for test): each
holds ``b"data"``, uint8 ``[10000, 3072]`` with the red, green and blue 32x32
planes in row-major order, and ``b"labels"``, a list of class ids.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

__all__ = ["cifar10", "cifar10_dir", "CIFAR10_CLASSES"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")

_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_PER_BATCH = 10000


def cifar10_dir() -> Path:
    """Where Keras caches the extracted CIFAR-10 batches."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "cifar-10-batches-py"


def _read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(file, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        data = np.asarray(batch[b"data"], np.uint8)
        labels = np.asarray(batch[b"labels"], np.int32)
        data = data.reshape(-1, 3, 32, 32)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError,
            IndexError, AttributeError) as err:
        raise ValueError(f"corrupt CIFAR-10 batch file {str(file)!r}: {err!r}") from err
    if data.shape[0] != labels.shape[0]:
        raise ValueError(f"corrupt CIFAR-10 batch file {str(file)!r}: {data.shape[0]} images "
                         f"but {labels.shape[0]} labels")
    return data, labels


def cifar10(split: str = "train", n: int | None = None,
            path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images and labels from the local Keras cache.

    Parameters
    ----------
    split : "train" | "test", default "train" -- 50000 or 10000 images.
    n : int or None -- return only the first ``n`` images (reads only the batches needed).
    path : str, PathLike or None -- folder holding the batches; None uses
        :func:`cifar10_dir`.

    Output
    ------
    images : [N, 32, 32, 3], float32 -- RGB in [0, 1].
    labels : [N], int32 -- class ids in [0, 10), names in :data:`CIFAR10_CLASSES`.

    Raises ``FileNotFoundError`` (naming the folder) when the cache is missing; run
    ``keras.datasets.cifar10.load_data()`` once with network access to fill it.
    """
    if split not in _FILES:
        raise ValueError(f"`split` must be one of {sorted(_FILES)}, got {split!r}")
    if n is not None and (isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer))
                          or n < 1):
        raise ValueError(f"`n` must be a positive integer or None, got {n!r}")
    folder = cifar10_dir() if path is None else Path(path).expanduser()
    names = _FILES[split]
    if n is not None:
        names = names[:-(-n // _PER_BATCH)]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 not found in {str(folder)!r} (missing {', '.join(missing)}); it is read "
            "from the Keras cache and never downloaded here: run "
            "keras.datasets.cifar10.load_data() once with network access")
    parts = [_read_batch(folder / name) for name in names]
    data = np.concatenate([p[0] for p in parts])[:n]
    labels = np.concatenate([p[1] for p in parts])[:n]
    if n is not None and data.shape[0] < n:
        raise ValueError(f"`n`={n} exceeds the {data.shape[0]} {split} images in {str(folder)!r}")
    images = data.transpose(0, 2, 3, 1).astype(np.float32) / 255.0
    return images, labels
