"""Byte payloads <-> transport-block bits, with a 16-bit length field.

A transport block has a fixed size; a codec payload is usually shorter. The
payload is sent as ``[length (2 bytes, big endian)] [payload] [zero padding]``,
so the receiver hands the codec exactly the bytes it produced. The two length
bytes are counted as transport overhead, not as codec payload.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LENGTH_BYTES", "frame_payloads", "deframe_payloads"]

LENGTH_BYTES = 2


def frame_payloads(payloads: list[bytes], num_bits: int) -> np.ndarray:
    """Frame each payload into ``num_bits`` bits.

    Input
    -----
    payloads : list of bytes, length batch -- each at most ``num_bits // 8 - 2`` bytes.

    Output
    ------
    bits : [batch, num_bits], np.float32 -- in {0, 1}, MSB first.
    """
    capacity = num_bits // 8 - LENGTH_BYTES
    frames = np.zeros((len(payloads), num_bits // 8), np.uint8)
    for i, payload in enumerate(payloads):
        if len(payload) > capacity:
            raise ValueError(f"payload {i} has {len(payload)} bytes, the frame carries "
                             f"{capacity}")
        frames[i, :LENGTH_BYTES] = np.frombuffer(len(payload).to_bytes(LENGTH_BYTES, "big"),
                                                 np.uint8)
        frames[i, LENGTH_BYTES:LENGTH_BYTES + len(payload)] = np.frombuffer(payload, np.uint8)
    bits = np.zeros((len(payloads), num_bits), np.float32)
    bits[:, :frames.shape[1] * 8] = np.unpackbits(frames, axis=1)
    return bits


def deframe_payloads(bits: np.ndarray) -> list[bytes]:
    """Inverse of :func:`frame_payloads`; a length field beyond the frame gives ``b""``."""
    bits = np.asarray(bits)
    num_bytes = bits.shape[-1] // 8
    frames = np.packbits(bits[:, :num_bytes * 8].round().astype(np.uint8), axis=1)
    out = []
    for frame in frames:
        length = int.from_bytes(frame[:LENGTH_BYTES].tobytes(), "big")
        ok = length <= num_bytes - LENGTH_BYTES
        out.append(frame[LENGTH_BYTES:LENGTH_BYTES + length].tobytes() if ok else b"")
    return out
