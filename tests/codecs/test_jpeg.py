"""JPEG payload: whole file minus the JFIF APP0 segment."""
import io

import numpy as np
from PIL import Image

from sem_sionna import codecs
from sem_sionna.codecs.base import to_uint8


def _pillow_file(x, quality):
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(x)).save(buffer, format="JPEG", quality=quality, optimize=True,
                                      subsampling="4:2:0")
    return buffer.getvalue()


def test_payload_is_the_file_without_jfif_segment(face32):
    codec = codecs.get("jpeg")
    payload = codec.encode(face32, 60)
    full = _pillow_file(face32, 60)
    assert full[2:4] == b"\xff\xe0" and b"JFIF" in full[:20]
    assert payload[:4] == b"\xff\xd8\xff\xdb"  # SOI then DQT: no APP0
    assert b"JFIF" not in payload and payload.endswith(b"\xff\xd9")
    assert len(payload) == len(full) - 18  # APP0: marker + 16-byte segment
    # stripped and original files decode to the same pixels
    original = np.asarray(Image.open(io.BytesIO(full)).convert("RGB"))
    np.testing.assert_array_equal(np.round(codec.decode(payload) * 255), original)


def test_qualities():
    assert codecs.get("jpeg").qualities == tuple(range(1, 101))
