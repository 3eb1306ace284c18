"""WebP payload: the whole RIFF file, nothing stripped."""
import struct

from sem_sionna import codecs


def test_payload_is_a_complete_simple_lossy_webp_file(face32):
    codec = codecs.get("webp")
    payload = codec.encode(face32, 50)
    assert payload[:4] == b"RIFF" and payload[8:16] == b"WEBPVP8 "
    riff_size, = struct.unpack("<I", payload[4:8])
    assert len(payload) == riff_size + 8
    assert codec.decode(payload).shape == face32.shape


def test_qualities():
    assert codecs.get("webp").qualities == tuple(range(0, 101))
