"""JPEG 2000 payload: raw codestream without the COM segment; ratio ladder."""
import io

import numpy as np
from PIL import Image

from sem_sionna import codecs
from sem_sionna.codecs.base import to_uint8


def test_ratio_ladder():
    codec = codecs.get("jpeg2000")
    ratios = np.array(codecs.J2K_RATIOS)
    assert codec.qualities == tuple(range(len(ratios)))
    assert ratios[0] == 1024.0 and ratios[-1] == 2.0
    np.testing.assert_allclose(ratios[:-1] / ratios[1:], 2.0 ** 0.125)


def test_size_follows_the_ratio(astronaut):
    x = astronaut[:128, 128:256]
    codec = codecs.get("jpeg2000")
    for index in (40, 56, 72):
        target = x.size / codecs.J2K_RATIOS[index]  # raw bytes / ratio
        assert 0.6 * target < len(codec.encode(x, index)) <= 1.1 * target


def test_payload_is_codestream_without_comment(face32):
    codec = codecs.get("jpeg2000")
    payload = codec.encode(face32, 60)
    assert payload[:4] == b"\xff\x4f\xff\x51"  # SOC, SIZ: no JP2 boxes
    assert payload.endswith(b"\xff\xd9")  # EOC
    assert b"\xff\x64" not in payload[:payload.index(b"\xff\x90")]  # no COM
    assert b"OpenJPEG" not in payload
    # Decodes to what the unstripped codestream decodes to.
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(face32)).save(
        buffer, format="JPEG2000", **codec._save_params(60, face32.shape[:2]))
    full = buffer.getvalue()
    assert b"OpenJPEG" in full and len(full) > len(payload)
    original = np.asarray(Image.open(io.BytesIO(full)))
    np.testing.assert_array_equal(np.round(codec.decode(payload) * 255), original)
