"""JPEG 2000 (Part 1 codestream) through Pillow (OpenJPEG)."""
from __future__ import annotations

import math

from ._pillow import PillowCodec, drop_marker_segments

__all__ = ["JPEG2000Codec", "J2K_RATIOS"]

_COM = 0xFF64  # comment segment ("Created by OpenJPEG version ...")
_SOT = 0xFF90  # start of tile-part: end of the main header

#: Compression ratio of quality index ``i``: ``2 ** (10 - i / 8)``, i.e. from
#: 1024:1 (index 0) to 2:1 (index 72) relative to the raw 24-bit RGB image,
#: eight steps per factor of two (about 9 % more bytes per step).
J2K_RATIOS = tuple(2.0 ** (10.0 - i / 8.0) for i in range(73))


class JPEG2000Codec(PillowCodec):
    """JPEG 2000 with Pillow's OpenJPEG encoder: 9/7 wavelet, colour transform.

    ``quality`` is an index into :data:`J2K_RATIOS`: quality ``i`` asks OpenJPEG
    for one quality layer at compression ratio ``J2K_RATIOS[i]`` (``rates``
    mode; ratio = raw ``H * W * 3`` bytes / target size). Index 0 (1024:1) is
    the lowest fidelity, 72 (2:1) the highest. OpenJPEG's rate control targets
    the body only, so small images do not get below the header size: the
    lowest indices then all give the same header-dominated payload.

    The number of wavelet resolutions follows the image size,
    ``clip(floor(log2(min(H, W))) - 2, 1, 6)`` (3 for 32x32, 4 for 64x64, 6 from
    256): deeper decompositions of tiny images only add header bytes.

    Transmitted payload: the raw codestream (no JP2 boxes): SOC, SIZ, COD, QCD,
    SOT, SOD, packet data, EOC. The optional COM segment OpenJPEG writes (its
    version string, ~39 bytes) is removed; every other header byte is counted.
    """

    name = "jpeg2000"
    label = "JPEG2000"
    qualities = tuple(range(len(J2K_RATIOS)))
    _pil_format = "JPEG2000"

    def _save_params(self, quality: int, shape: tuple[int, int]) -> dict:
        levels = min(6, max(1, int(math.floor(math.log2(min(shape)))) - 2))
        return {"quality_mode": "rates", "quality_layers": [J2K_RATIOS[quality]],
                "irreversible": True, "mct": 1, "no_jp2": True,
                "num_resolutions": levels}

    def _strip(self, data: bytes) -> bytes:
        return drop_marker_segments(data, frozenset({_COM}), _SOT)
