"""libbpg's colour conversion, bit exact: RGB <-> YCbCr BT.601 full range (8 bit) and its
4:2:0 chroma filters (JPEG siting), as bpgenc writes and bpgdec reads them."""
from __future__ import annotations

import numpy as np


__all__ = ["rgb_to_planes", "planes_to_rgb"]


# -- libbpg colour conversion (integer, as bpgenc.c / libbpg.c) ----------------------
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_ENC_SHIFT = 16
_ENC_COEF = np.array([[_KR, _KG, _KB],
                      [-_KR / (2 * (1 - _KB)), -_KG / (2 * (1 - _KB)), 0.5],
                      [0.5, -_KG / (2 * (1 - _KR)), -_KB / (2 * (1 - _KR))]])
_ENC_INT = np.rint(_ENC_COEF * (1 << _ENC_SHIFT)).astype(np.int64)
_DEC_SHIFT = 22  # 30 - output bit depth
_DEC_ONE = 1 << _DEC_SHIFT
_DEC_R_CR = int(np.rint(2 * (1 - _KR) * _DEC_ONE))
_DEC_G_CB = int(np.rint(2 * _KB * (1 - _KB) / _KG * _DEC_ONE))
_DEC_G_CR = int(np.rint(2 * _KR * (1 - _KR) / _KG * _DEC_ONE))
_DEC_B_CB = int(np.rint(2 * (1 - _KB) * _DEC_ONE))
# 4:4:4 -> 4:2:0 (JPEG siting): output i filters source samples 2i-4 .. 2i+5
_DOWN_TAPS = {-4: 2, -3: -4, -2: -8, -1: 17, 0: 57, 1: 57, 2: 17, 3: -8, 4: -4, 5: 2}
# 4:2:0 -> 4:4:4: output 2i from sources i-3 .. i+3, output 2i+1 mirrored
_UP_EVEN = {-3: 2, -2: -6, -1: 18, 0: 57, 1: -10, 2: 4, 3: -1}
_UP_ODD = {-offset: weight for offset, weight in _UP_EVEN.items()}


def _filter(x: np.ndarray, taps: dict, axis: int, step: int, count: int) -> np.ndarray:
    """``out[i] = sum_k taps[k] * x[step*i + k]`` along ``axis``, edges replicated."""
    x = np.moveaxis(x, axis, -1)
    pad = max(abs(k) for k in taps) + 1
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="edge")
    out = sum(w * padded[..., pad + k: pad + k + step * count: step][..., :count]
              for k, w in taps.items())
    return np.moveaxis(out, -1, axis)


def rgb_to_planes(pixels: np.ndarray, chroma_idc: int) -> list[np.ndarray]:
    rgb = pixels.astype(np.int64)
    rnd = 1 << (_ENC_SHIFT - 1)
    ycc = np.einsum("...c,kc->k...", rgb, _ENC_INT)
    y = np.clip((ycc[0] + rnd) >> _ENC_SHIFT, 0, 255)
    chroma = [np.clip(((c + rnd) >> _ENC_SHIFT) + 128, 0, 255) for c in ycc[1:]]
    if chroma_idc == 1:
        height, width = y.shape
        out = []
        for c in chroma:
            # bpgenc: horizontal pass kept at 1 extra bit, then vertical, one rounding
            h = (_filter(c, _DOWN_TAPS, 1, 2, (width + 1) // 2) + 1) >> 1
            v = _filter(h, _DOWN_TAPS, 0, 2, (height + 1) // 2)
            out.append(np.clip((v + (1 << 12)) >> 13, 0, 255))
        chroma = out
    return [p.astype(np.uint8) for p in [y] + chroma]


def _upsample(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    def up(x, axis, count):
        even = _filter(x, _UP_EVEN, axis, 1, x.shape[axis])
        odd = _filter(x, _UP_ODD, axis, 1, x.shape[axis])
        out = np.stack([even, odd], axis=axis + 1)
        shape = list(x.shape)
        shape[axis] *= 2
        return np.take(out.reshape(shape), np.arange(count), axis=axis)
    full = up(up(plane.astype(np.int64), 0, height), 1, width)
    return np.clip((full + (1 << 11)) >> 12, 0, 255)


def planes_to_rgb(planes: list[np.ndarray], chroma_idc: int) -> np.ndarray:
    y = planes[0].astype(np.int64)
    cb, cr = (p.astype(np.int64) for p in planes[1:])
    if chroma_idc == 1:
        cb, cr = (_upsample(c, *y.shape) for c in (cb, cr))
    cb, cr, y = cb - 128, cr - 128, y * _DEC_ONE
    rnd = 1 << (_DEC_SHIFT - 1)
    rgb = np.stack([y + _DEC_R_CR * cr, y - _DEC_G_CB * cb - _DEC_G_CR * cr,
                    y + _DEC_B_CB * cb], axis=-1)
    return np.clip((rgb + rnd) >> _DEC_SHIFT, 0, 255).astype(np.uint8)


# -- HEVC parameter sets ------------------------------------------------------------
