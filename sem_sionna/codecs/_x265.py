"""libx265 encoding and FFmpeg HEVC decoding through PyAV, shared by the HEVC codecs.

:mod:`~sem_sionna.codecs.hevc` and :mod:`~sem_sionna.codecs.bpg` both encode one
intra picture at constant QP with libx265 and decode Annex-B streams with FFmpeg's
``hevc`` decoder; the framing around the NAL units is theirs.
"""
from __future__ import annotations

import fractions

import av
import numpy as np

from .base import DecodeError

__all__ = ["PIX_FMT", "planes_to_frame", "frame_to_planes", "x265_encode", "hevc_decode",
           "START_CODE", "NAL_VPS", "NAL_SPS", "NAL_PPS", "NAL_IDR"]

# libav logs every concealed error to stderr; keep it quiet unless the user has
# chosen a level already. Errors still surface as exceptions.
if av.logging.get_level() is None:
    av.logging.set_level(av.logging.PANIC)

#: chroma_format_idc -> PyAV pixel format (8 bit)
PIX_FMT = {1: "yuv420p", 3: "yuv444p"}
START_CODE = b"\x00\x00\x00\x01"
NAL_VPS, NAL_SPS, NAL_PPS = 32, 33, 34
NAL_IDR = (19, 20)  # IDR_W_RADL, IDR_N_LP


def planes_to_frame(planes: list[np.ndarray], pix_fmt: str) -> av.VideoFrame:
    """``uint8`` Y, Cb, Cr planes -> a PyAV frame (rows padded to its line size)."""
    height, width = planes[0].shape
    frame = av.VideoFrame(width, height, pix_fmt)
    for plane, samples in zip(frame.planes, planes):
        rows = np.zeros((plane.height, plane.line_size), np.uint8)
        rows[:, :plane.width] = samples
        plane.update(rows)
    return frame


def frame_to_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """PyAV frame -> its ``uint8`` planes, each ``[plane.height, plane.width]``."""
    return [np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
            for plane in frame.planes]


def x265_encode(frame: av.VideoFrame, qp: int, preset: str, tune: str,
                params: str = "") -> bytes:
    """One intra picture at constant QP -> Annex-B stream (VPS SPS PPS slice).

    ``params`` are extra ``x265-params`` (``key=value`` joined by ``:``).
    ``info=0`` drops the ~2 KB encoder-info SEI; ``pools=none`` and
    ``frame-threads=1`` keep one picture on one thread (batch.py parallelises
    across images).
    """
    ctx = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height = frame.width, frame.height
    ctx.pix_fmt = frame.format.name
    ctx.time_base = fractions.Fraction(1, 25)
    x265_params = f"qp={qp}:keyint=1:info=0:log-level=none:pools=none:frame-threads=1"
    if params:
        x265_params += ":" + params
    ctx.options = {"preset": preset, "tune": tune, "x265-params": x265_params}
    packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    return b"".join(bytes(packet) for packet in packets)


def hevc_decode(stream: bytes, what: str) -> av.VideoFrame:
    """Annex-B stream holding one picture -> its frame, with FFmpeg's ``hevc`` decoder.

    Raises ``DecodeError`` unless exactly one picture comes out.
    """
    ctx = av.CodecContext.create("hevc", "r")
    ctx.thread_count = 1
    frames = list(ctx.decode(av.Packet(stream))) + list(ctx.decode(None))
    if len(frames) != 1:
        raise DecodeError(f"{what}: decoder returned {len(frames)} pictures, expected 1")
    return frames[0]
