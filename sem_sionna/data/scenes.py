"""Procedural scenes with per-pixel masks and image labels.

A stand-in for segmentation (mIoU) and classification (accuracy) data: coloured,
textured shapes over natural backgrounds, small enough to learn with a small CNN
in minutes on a CPU, yet with enough variation (pose, size, aspect, colour,
texture, occlusion, background) that a network has to learn shape and colour.

Generation of scene ``i`` (its own generator ``default_rng([seed, split, size, i, 1])``,
so the first ``n`` scenes of a larger set equal the set of size ``n``):

1. Background: a crop of an embedded photo of the same split
   (:mod:`sem_sionna.data.embedded`, so train and test backgrounds come from
   different photos), Gaussian-blurred (sigma ``U(0.5, 1.5) * size / 32`` px),
   partly desaturated (mixed with its grey level by ``U(0.3, 0.7)``) and darkened
   (times ``U(0.35, 0.7)``), so that objects stand out but edges are not free.
2. Objects: ``K ~ U{1, ..., max_objects}``, each of a class drawn uniformly from the
   first ``num_classes`` entries of :data:`SCENE_CLASSES`. Distractors (radius
   ``U(0.10, 0.20) * size``) are painted first, the main object (radius
   ``U(0.22, 0.36) * object_scale * size``) last, on top. Each has a random position, rotation and
   aspect (``U(0.85, 1.15)``), the class colour (hue of :data:`SCENE_HUES` plus
   ``N(0, 0.03)``; with probability 0.1 a random hue instead; saturation
   ``U(0.55, 1)``, value ``U(0.6, 1)``) times a texture (flat, stripes, smooth
   noise or a gradient). Edges are anti-aliased by 2x2 supersampling; a pixel
   belongs to an object when at least half of it is covered.

Mask and label conventions
--------------------------
``masks``: 0 is background, ``c + 1`` is ``SCENE_CLASSES[c]`` (later objects
overwrite earlier ones). ``labels``: the class ``c`` in ``[0, num_classes)``
that covers the most pixels in the mask (ties: the smaller ``c``), i.e.
``labels == argmax(bincount(mask)[1:])``. Every scene has at least one object pixel.
"""
from __future__ import annotations

import colorsys

import numpy as np
from scipy import ndimage

from .embedded import _SPLITS, _check_size, _check_split, _sample_patch, embedded_photos

__all__ = ["scenes", "SCENE_CLASSES", "SCENE_HUES"]

SCENE_CLASSES = ("disc", "square", "triangle", "ring", "bar", "cross")
"""Object class names; class ``c`` has mask value ``c + 1``."""

SCENE_HUES = (0.0, 1 / 3, 2 / 3, 1 / 6, 5 / 6, 1 / 2)
"""Mean hue (HSV, in [0, 1)) of each class: red, green, blue, yellow, magenta, cyan."""

_MIN_SIZE = 8


def _inside(cls: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Membership of object-frame coordinates (unit radius) in shape ``cls``."""
    name = SCENE_CLASSES[cls]
    au, av = np.abs(u), np.abs(v)
    if name == "disc":
        return u * u + v * v <= 1.0
    if name == "square":
        return np.maximum(au, av) <= 0.8
    if name == "triangle":  # equilateral, circumradius 1, apex up
        return (v >= -0.5) & (v <= 1.0 - np.sqrt(3.0) * au)
    if name == "ring":
        r2 = u * u + v * v
        return (r2 <= 1.0) & (r2 >= 0.55 ** 2)
    if name == "bar":
        return (au <= 1.0) & (av <= 0.35)
    if name == "cross":
        return ((au <= 1.0) & (av <= 0.3)) | ((au <= 0.3) & (av <= 1.0))
    raise AssertionError(name)  # unreachable: classes come from SCENE_CLASSES


def _background(rng: np.random.Generator, names: tuple[str, ...], size: int) -> np.ndarray:
    bg = np.array(_sample_patch(rng, names, size))
    if rng.random() < 0.5:
        bg = bg[:, ::-1]
    sigma = rng.uniform(0.5, 1.5) * size / 32
    bg = ndimage.gaussian_filter(bg, sigma=(sigma, sigma, 0), mode="reflect")
    grey = bg.mean(axis=-1, keepdims=True)
    w = rng.uniform(0.3, 0.7)
    return ((1 - w) * bg + w * grey) * rng.uniform(0.35, 0.7)


def _texture(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    kind = rng.integers(4)
    phi = rng.uniform(0, 2 * np.pi)
    t = u * np.cos(phi) + v * np.sin(phi)
    if kind == 1:  # stripes, 2 to 4 periods across the object
        return 1.0 + rng.uniform(0.1, 0.25) * np.sin(np.pi * rng.uniform(2, 4) * t)
    if kind == 2:  # smooth noise
        noise = ndimage.gaussian_filter(rng.standard_normal(u.shape), 1.0)
        return 1.0 + 0.15 * noise / (noise.std() + 1e-6)
    if kind == 3:  # linear gradient
        return 1.0 + 0.3 * np.clip(t, -1, 1)
    return np.ones_like(u)


def _colour(rng: np.random.Generator, cls: int) -> np.ndarray:
    if rng.random() < 0.1:
        hue = rng.random()
    else:
        hue = (SCENE_HUES[cls] + 0.03 * rng.standard_normal()) % 1.0
    return np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 1.0), rng.uniform(0.6, 1.0)),
                    np.float32)


def _scene(rng: np.random.Generator, names: tuple[str, ...], size: int, num_classes: int,
           max_objects: int, object_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, int]:
    img = _background(rng, names, size)
    mask = np.zeros((size, size), np.int32)
    # Pixel centres (1x) and 2x2 sub-pixel centres (2x), in pixel units.
    c1 = np.arange(size) + 0.5
    c2 = (np.arange(2 * size) + 0.5) / 2
    num_obj = int(rng.integers(1, max_objects + 1))
    for k in range(num_obj):
        main = k == num_obj - 1
        cls = int(rng.integers(num_classes))
        radius = (rng.uniform(0.22, 0.36) * object_scale * size if main
                  else rng.uniform(0.10, 0.20) * size)
        margin = 0.7 * radius if main else 0.3 * radius
        cy, cx = rng.uniform(margin, size - margin, size=2)
        theta = rng.uniform(0, 2 * np.pi)
        aspect = rng.uniform(0.85, 1.15)
        cos_t, sin_t = np.cos(theta), np.sin(theta)

        def frame(coords, cy=cy, cx=cx, cos_t=cos_t, sin_t=sin_t, radius=radius, aspect=aspect):
            y, x = coords[:, None] - cy, coords[None, :] - cx
            u = (cos_t * x + sin_t * y) / (radius * aspect)
            v = (-sin_t * x + cos_t * y) / (radius / aspect)
            return u, v

        u2, v2 = frame(c2)
        alpha = _inside(cls, u2, v2).reshape(size, 2, size, 2).mean(axis=(1, 3))
        if main and not (alpha >= 0.5).any():
            # Tiny images: keep at least the centre pixel so every scene has an object.
            alpha[min(int(cy), size - 1), min(int(cx), size - 1)] = 1.0
        u1, v1 = frame(c1)
        obj = _colour(rng, cls)[None, None, :] * _texture(rng, u1, v1)[..., None]
        img = img * (1.0 - alpha[..., None]) + np.clip(obj, 0.0, 1.0) * alpha[..., None]
        mask[alpha >= 0.5] = cls + 1
    counts = np.bincount(mask.ravel(), minlength=num_classes + 1)[1:]
    return np.clip(img, 0.0, 1.0).astype(np.float32), mask, int(np.argmax(counts))


def scenes(n: int, size: int = 64, seed: int = 0, num_classes: int = len(SCENE_CLASSES), *,
           split: str = "train", max_objects: int = 3, object_scale: float = 1.0
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Procedural scenes of coloured shapes with segmentation masks and labels.

    Parameters
    ----------
    n : int -- number of scenes.
    size : int, default 64 -- image side in pixels, at least 8.
    seed : int, default 0 -- scene ``i`` depends only on ``(seed, split, size, i)``.
    num_classes : int, default 6 -- use the first ``num_classes`` of :data:`SCENE_CLASSES`
        (1 to 6).
    split : "train" | "test", default "train" -- selects the background photos and an
        independent random stream.
    max_objects : int, default 3 -- at most this many objects per scene; 1 gives
        single-object scenes (the label is then the class of the only object).
    object_scale : float, default 1 -- factor on the main object's radius, in (0, 1]:
        below 1 the main object shrinks towards the distractors' size, a harder task
        (fewer object pixels, more clutter relative to the object).

    Output
    ------
    images : [n, size, size, 3], float32 -- RGB in [0, 1].
    masks : [n, size, size], int32 -- 0 background, ``c + 1`` for class ``c``.
    labels : [n], int32 -- class in ``[0, num_classes)`` covering the most mask pixels.
    """
    n = _check_size(n, "n")
    size = _check_size(size)
    if size < _MIN_SIZE:
        raise ValueError(f"`size` must be at least {_MIN_SIZE}, got {size!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    if (isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer))
            or not 1 <= num_classes <= len(SCENE_CLASSES)):
        raise ValueError(f"`num_classes` must be an integer in [1, {len(SCENE_CLASSES)}], "
                         f"got {num_classes!r}")
    max_objects = _check_size(max_objects, "max_objects")
    if isinstance(object_scale, (bool, np.bool_)) or not 0.0 < float(object_scale) <= 1.0:
        raise ValueError(f"`object_scale` must lie in (0, 1], got {object_scale!r}")
    _check_split(split)
    names = tuple(embedded_photos(split))
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.empty((n, size, size), np.int32)
    labels = np.empty((n,), np.int32)
    for i in range(n):
        rng = np.random.default_rng([int(seed), _SPLITS[split], size, i, 1])
        images[i], masks[i], labels[i] = _scene(rng, names, size, int(num_classes), max_objects,
                                                 float(object_scale))
    return images, masks, labels
