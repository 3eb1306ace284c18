"""Image sets: embedded photo patches, procedural scenes, folders and cached CIFAR-10.

Images are float32 in [0, 1], shape ``[N, H, W, 3]`` NumPy arrays; masks int32
``[N, H, W]``; labels int32 ``[N]``. :func:`as_dataset` turns arrays into a
batched ``tf.data.Dataset``.
"""
from __future__ import annotations

from .cifar import CIFAR10_CLASSES, cifar10, cifar10_dir
from .embedded import TEST_PHOTOS, TRAIN_PHOTOS, embedded_patches, embedded_photos
from .folder import IMAGE_EXTENSIONS, image_folder
from .pipeline import as_dataset, mean_image
from .scenes import SCENE_CLASSES, SCENE_HUES, scenes

__all__ = [
    "load",
    "DATASETS",
    "embedded_patches",
    "embedded_photos",
    "TRAIN_PHOTOS",
    "TEST_PHOTOS",
    "scenes",
    "SCENE_CLASSES",
    "SCENE_HUES",
    "image_folder",
    "IMAGE_EXTENSIONS",
    "cifar10",
    "cifar10_dir",
    "CIFAR10_CLASSES",
    "mean_image",
    "as_dataset",
]

DATASETS = ("embedded", "scenes", "folder", "cifar10")
"""Names accepted by :func:`load`."""

_SCENES_DEFAULT_N = {"train": 1024, "test": 256}


def load(name: str, split: str = "train", n: int | None = None, size: int | None = 32,
         seed: int = 0, **kw):
    """Load a named image set.

    Parameters
    ----------
    name : str -- one of :data:`DATASETS`:

        - ``"embedded"``: :func:`embedded_patches` ``(size, split, n, seed)``; returns ``images``.
        - ``"scenes"``: :func:`scenes` ``(n, size, seed, split=split, **kw)`` (``kw``:
          ``num_classes``, ``max_objects``); ``n`` defaults to 1024 (train) / 256 (test);
          returns ``(images, masks, labels)``.
        - ``"folder"``: :func:`image_folder` ``(kw["path"], size, kw.get("masks_dir"),
          limit=n)``; ``split`` and ``seed`` are not used (point ``path`` at the split's
          folder); returns ``images`` or ``(images, masks)``.
        - ``"cifar10"``: :func:`cifar10` ``(split, n, kw.get("path"))``; ``size`` must be 32
          or None; returns ``(images, labels)``.
    split : "train" | "test", default "train".
    n : int or None -- number of images; None uses the set's default (all for folder/CIFAR).
    size : int or None, default 32 -- image side in pixels.
    seed : int, default 0 -- for the generated sets.
    **kw -- passed on as listed above.

    Output
    ------
    As listed for each name: images ``[N, size, size, 3]`` float32 in [0, 1], masks
    ``[N, size, size]`` int32, labels ``[N]`` int32.
    """
    if name == "embedded":
        if kw:
            raise TypeError(f"load('embedded') got unexpected keyword arguments {sorted(kw)}")
        return embedded_patches(size=size, split=split, n=n, seed=seed)
    if name == "scenes":
        if n is None:
            if split not in _SCENES_DEFAULT_N:
                raise ValueError(f"`split` must be one of {sorted(_SCENES_DEFAULT_N)}, "
                                 f"got {split!r}")
            n = _SCENES_DEFAULT_N[split]
        return scenes(n, size=size, seed=seed, split=split, **kw)
    if name == "folder":
        if "path" not in kw:
            raise ValueError("load('folder') needs the keyword argument `path`")
        path = kw.pop("path")
        masks_dir = kw.pop("masks_dir", None)
        if kw:
            raise TypeError(f"load('folder') got unexpected keyword arguments {sorted(kw)}")
        return image_folder(path, size, masks_dir=masks_dir, limit=n)
    if name == "cifar10":
        if size not in (None, 32):
            raise ValueError(f"CIFAR-10 images are 32x32; `size` must be 32 or None, got {size!r}")
        path = kw.pop("path", None)
        if kw:
            raise TypeError(f"load('cifar10') got unexpected keyword arguments {sorted(kw)}")
        return cifar10(split, n=n, path=path)
    raise ValueError(f"unknown data set {name!r}; valid names are {', '.join(DATASETS)}")
