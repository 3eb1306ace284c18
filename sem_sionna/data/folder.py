"""Images (and optional segmentation masks) read from a folder of PNG/JPEG files.

Rules
-----
- Files: the regular files directly in ``path`` whose extension is ``.png``,
  ``.jpg`` or ``.jpeg`` (any case), in sorted file-name order; sub-folders and
  hidden files are ignored.
- Colour: every image becomes RGB. Greyscale (``L``, ``1``, 16-bit ``I;16``/``I``)
  is replicated to three channels (16-bit values are divided by 65535); palette
  images are expanded through their palette; an alpha channel is dropped (not
  composited); other modes (CMYK, YCbCr, ...) use Pillow's ``convert("RGB")``.
- Geometry: with ``size`` given, an image that is not square is centre-cropped to
  a square of side ``min(H, W)`` (offset ``floor((W - H) / 2)`` or
  ``floor((H - W) / 2)``), then resized to ``size`` x ``size`` with Pillow's
  bicubic filter (anti-aliased when shrinking). With ``size=None`` nothing is
  resized and all images must have the same shape.
- Masks: ``masks_dir/<image stem>.png``, single-channel (``L``, ``P`` -- the
  palette index is the class --, ``I``, ``I;16`` or ``1``) holding class ids, of
  the same size as its image; they get the same crop and a nearest-neighbour
  resize, so class ids are never blended.
- Errors: a missing ``path``/``masks_dir`` raises ``FileNotFoundError``; a folder
  without images, an undecodable (corrupt, truncated) file, a missing or
  multi-channel mask, or a mask whose size differs from its image raise
  ``ValueError``; every message names the file or folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["image_folder", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_MASK_MODES = ("L", "P", "I", "I;16", "I;16B", "I;16L", "1")


def _open(file: Path):
    from PIL import Image

    try:
        img = Image.open(file)
        img.load()  # decode now: a truncated file fails here, not later
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"cannot decode image file {str(file)!r}: {err}") from err
    return img


def _to_rgb(img) -> np.ndarray:
    if img.mode == "F":
        grey = np.asarray(img, np.float32)
        return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=-1)
    return np.asarray(img.convert("RGB"), np.float32) / 255.0


def _crop_box(h: int, w: int) -> tuple[int, int, int, int]:
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return left, top, left + side, top + side


def _fit(img, size: int | None, resample):
    if size is None:
        return img
    if img.width != img.height:
        img = img.crop(_crop_box(img.height, img.width))
    if img.width != size:
        img = img.resize((size, size), resample)
    return img


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in IMAGE_EXTENSIONS)


def _check_dir(path, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a path, got {type(path).__name__}")
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"`{name}` does not exist: {str(folder)!r}")
    if not folder.is_dir():
        raise ValueError(f"`{name}` must be a folder, got the file {str(folder)!r}")
    return folder


def image_folder(path: str | os.PathLike, size: int | None,
                 masks_dir: str | os.PathLike | None = None, limit: int | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Read the PNG/JPEG images of a folder (and their masks) as float32 RGB.

    Parameters
    ----------
    path : str or PathLike -- folder holding the images (not searched recursively).
    size : int or None -- output side; non-square images are centre-cropped, then
        resized (module docstring). None keeps the native size (all images must match).
    masks_dir : str, PathLike or None -- folder with one single-channel PNG of class ids
        per image, named by the image's stem.
    limit : int or None -- read only the first ``limit`` files (sorted by name).

    Output
    ------
    images : [N, size, size, 3], float32 -- RGB in [0, 1].
    masks : [N, size, size], int32 -- class ids; only when ``masks_dir`` is given,
        returned as ``(images, masks)``.
    """
    from PIL import Image

    folder = _check_dir(path, "path")
    if size is not None and (isinstance(size, (bool, np.bool_))
                             or not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"`size` must be a positive integer or None, got {size!r}")
    if limit is not None and (isinstance(limit, (bool, np.bool_))
                              or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"`limit` must be a positive integer or None, got {limit!r}")
    mask_folder = None if masks_dir is None else _check_dir(masks_dir, "masks_dir")
    size = None if size is None else int(size)

    files = _list_images(folder)
    if not files:
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder "
                         f"{str(folder)!r}")
    if mask_folder is not None:
        stems = [f.stem for f in files]
        dup = sorted({s for s in stems if stems.count(s) > 1})
        if dup:
            raise ValueError(f"image stems {dup} occur more than once in {str(folder)!r}; "
                             "masks are matched by stem")
    if limit is not None:
        files = files[:limit]

    images, masks, shape = [], [], None
    for file in files:
        img = _open(file)
        if mask_folder is not None:
            mask_file = mask_folder / f"{file.stem}.png"
            if not mask_file.is_file():
                raise ValueError(f"no mask for image {str(file)!r}: expected {str(mask_file)!r}")
            mask = _open(mask_file)
            if mask.mode not in _MASK_MODES:
                raise ValueError(f"mask {str(mask_file)!r} must be a single-channel image of "
                                 f"class ids, got mode {mask.mode!r}")
            if mask.size != img.size:
                raise ValueError(f"mask {str(mask_file)!r} is {mask.width}x{mask.height} but "
                                 f"image {str(file)!r} is {img.width}x{img.height}")
            masks.append(np.asarray(_fit(mask, size, Image.Resampling.NEAREST), np.int32))
        if img.mode.startswith("I;16") or img.mode == "I":
            # 16-bit greyscale: scale to [0, 1] in float mode, which Pillow resizes bicubically.
            img = Image.fromarray(np.asarray(img, np.float32) / 65535.0)
        arr = _to_rgb(_fit(img, size, Image.Resampling.BICUBIC))
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise ValueError(f"image {str(file)!r} is {arr.shape[1]}x{arr.shape[0]}, the first "
                             f"is {shape[1]}x{shape[0]}; pass `size` to resize")
        images.append(np.clip(arr, 0.0, 1.0))
    images = np.stack(images).astype(np.float32)
    if mask_folder is None:
        return images
    return images, np.stack(masks)
