"""Natural-image patches cut from the colour photos that scikit-image ships.

The photos are part of the scikit-image wheel (``skimage.data``), so this set
needs no download. Photos whose loader needs an optional download (``pooch``)
are skipped; which ones load is detected at run time.

Train/test assignment (by photo, fixed)
---------------------------------------
========================  =====  ===========================================
photo (``skimage.data``)  split  content
========================  =====  ===========================================
``astronaut``             train  portrait, flag, spacesuit
``coffee``                train  cup, saucer, wooden table
``rocket``                train  launch pad, sky, trees
``immunohistochemistry``  train  stained tissue (colour microscopy)
``retina``                train  fundus photograph
``chelsea``               test   cat (the same photo as ``skimage.data.cat``)
``stereo_motorcycle``     test   motorcycle in a workshop (left view only)
========================  =====  ===========================================

No photo contributes to both splits, so test PSNR measures generalisation to
unseen photos, not to unseen crops of seen photos. (``hubble_deep_field`` is left
out: its crops are mostly sensor noise on black, unlike any test photo.)

Patch sampling
--------------
Each photo is box-filtered (block averaging, i.e. anti-aliased) by powers of two
``f``. For a patch side ``size``, ``f_max`` is the largest power of two with
``min(H, W) / f_max >= size`` (one patch spans the whole short side), and the
scales used are ``{f_max, f_max/2, f_max/4}`` (those ``>= 1``): a 32x32 patch
from the 512x512 astronaut covers the whole photo, half or a quarter of its
side, so patches hold objects and scenes, not only texture. A photo shorter
than ``size`` is resized (bicubic) so its short side equals ``size``.
Patch ``i`` draws a photo uniformly from the split, a scale uniformly and a
crop position uniformly, from ``numpy.random.default_rng([seed, split, size, i])``;
crops that are almost flat (standard deviation below 0.03, e.g. the black
border of ``retina``) are redrawn (up to 20 times). Train patches are flipped
left-right with probability 1/2; test patches are not flipped. Because each
patch has its own generator, the first ``n`` patches of a larger set equal the
set of size ``n`` for the same seed.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

__all__ = ["embedded_patches", "embedded_photos", "TRAIN_PHOTOS", "TEST_PHOTOS"]

TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "immunohistochemistry", "retina")
TEST_PHOTOS = ("chelsea", "stereo_motorcycle")

_SPLITS = {"train": 0, "test": 1}
_NUM_SCALES = 3
_MIN_STD = 0.03
_MAX_TRIES = 20


def _check_split(split: str) -> str:
    if split not in _SPLITS:
        raise ValueError(f"`split` must be one of {sorted(_SPLITS)}, got {split!r}")
    return split


def _check_size(size, name: str = "size") -> int:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {size!r}")
    return int(size)


@functools.lru_cache(maxsize=None)
def _load_photo(name: str) -> np.ndarray | None:
    """One photo as float32 [H, W, 3] in [0, 1], or None when it does not load offline."""
    import skimage.data

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = getattr(skimage.data, name)()
    except Exception:  # noqa: BLE001 - any loader failure (missing pooch, no network) skips it
        return None
    if isinstance(img, tuple):  # stereo_motorcycle -> (left, right, disparity)
        img = img[0]
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[-1] < 3:
        return None
    img = img[..., :3].astype(np.float32) / 255.0
    img.setflags(write=False)
    return img


def embedded_photos(split: str = "train") -> dict[str, np.ndarray]:
    """Photos of a split that load offline, as float32 [H, W, 3] in [0, 1] (read-only).

    Parameters
    ----------
    split : "train" | "test" -- which photos (see the module docstring).

    Output
    ------
    photos : dict name -> [H, W, 3], float32 -- in the fixed order of the split.
    """
    _check_split(split)
    names = TRAIN_PHOTOS if split == "train" else TEST_PHOTOS
    photos = {n: p for n in names if (p := _load_photo(n)) is not None}
    if not photos:
        raise RuntimeError(f"none of the {split} photos {names} could be loaded from "
                           "skimage.data; check the scikit-image installation")
    return photos


def _box_downsample(img: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return img
    h, w = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    return img[:h, :w].reshape(h // factor, factor, w // factor, factor, 3).mean(axis=(1, 3))


def _resize_short_side(img: np.ndarray, short: int) -> np.ndarray:
    from PIL import Image

    h, w = img.shape[:2]
    scale = short / min(h, w)
    new = (max(short, round(w * scale)), max(short, round(h * scale)))
    u8 = Image.fromarray(np.round(img * 255.0).astype(np.uint8))
    return np.asarray(u8.resize(new, Image.Resampling.BICUBIC), np.float32) / 255.0


@functools.lru_cache(maxsize=None)
def _pyramid(name: str, size: int) -> tuple[np.ndarray, ...]:
    """Down-scaled versions of a photo from which ``size`` x ``size`` patches are cut."""
    img = _load_photo(name)
    short = min(img.shape[:2])
    if short < size:
        levels = (_resize_short_side(img, size),)
    else:
        f_max = 1 << int(np.floor(np.log2(short / size)))
        factors = [f_max >> k for k in range(_NUM_SCALES) if f_max >> k >= 1]
        levels = tuple(_box_downsample(img, f) for f in factors)
    for lvl in levels:
        lvl.setflags(write=False)
    return levels


def _random_crop(rng: np.random.Generator, levels: tuple[np.ndarray, ...], size: int) -> np.ndarray:
    lvl = levels[rng.integers(len(levels))]
    top = rng.integers(lvl.shape[0] - size + 1)
    left = rng.integers(lvl.shape[1] - size + 1)
    return lvl[top:top + size, left:left + size]


def _sample_patch(rng: np.random.Generator, names: tuple[str, ...], size: int) -> np.ndarray:
    """One non-flat ``size`` x ``size`` crop from a random photo of ``names`` (no flip)."""
    for _ in range(_MAX_TRIES):
        patch = _random_crop(rng, _pyramid(names[rng.integers(len(names))], size), size)
        if patch.std() >= _MIN_STD:
            break
    return patch


def _default_n(size: int, split: str) -> int:
    n_train = max(64, round(2048 * (32 / size) ** 2))
    return n_train if split == "train" else max(16, n_train // 8)


_CACHE: dict[tuple[int, str, int, int], np.ndarray] = {}
_CACHE_MAX_BYTES = 256 * 2 ** 20


def _patches(size: int, split: str, n: int, seed: int) -> np.ndarray:
    key = (size, split, n, seed)
    if key in _CACHE:
        return _CACHE[key]
    out = _generate(size, split, n, seed)
    if out.nbytes <= _CACHE_MAX_BYTES:
        # Keep recent sets while they fit in the budget (oldest dropped first).
        while _CACHE and sum(a.nbytes for a in _CACHE.values()) + out.nbytes > _CACHE_MAX_BYTES:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = out
    return out


def _generate(size: int, split: str, n: int, seed: int) -> np.ndarray:
    names = tuple(embedded_photos(split))
    out = np.empty((n, size, size, 3), np.float32)
    for i in range(n):
        rng = np.random.default_rng([seed, _SPLITS[split], size, i])
        patch = _sample_patch(rng, names, size)
        if split == "train" and rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[i] = patch
    out.setflags(write=False)
    return out


def embedded_patches(size: int = 32, split: str = "train", n: int | None = None,
                     seed: int = 0) -> np.ndarray:
    """Natural-image patches from the scikit-image sample photos.

    Parameters
    ----------
    size : int, default 32 -- patch side in pixels (any positive size; 32, 64, 128, 256 ...).
    split : "train" | "test", default "train" -- photo-disjoint splits (module docstring).
    n : int or None -- number of patches; None gives ``max(64, 2048 * (32/size)^2)`` for
        train (2048 at 32x32, 512 at 64x64) and one eighth of that (at least 16) for test.
    seed : int, default 0 -- patch ``i`` depends only on ``(seed, split, size, i)``.

    Output
    ------
    images : [n, size, size, 3], float32 -- RGB in [0, 1]; a fresh (writable) copy of a
        per-process cache (up to 256 MiB of recent sets), so repeated calls are cheap
        and cannot corrupt each other.
    """
    size = _check_size(size)
    _check_split(split)
    if n is None:
        n = _default_n(size, split)
    n = _check_size(n, "n")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    return _patches(size, split, n, int(seed)).copy()
