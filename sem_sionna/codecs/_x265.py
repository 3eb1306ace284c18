"""libx265 encoding and FFmpeg HEVC decoding through PyAV, shared by the HEVC codecs.

:mod:`~sem_sionna.codecs.hevc` and :mod:`~sem_sionna.codecs.bpg` both encode one
intra picture at constant QP with libx265 and decode Annex-B streams with FFmpeg's
``hevc`` decoder; the framing around the NAL units is theirs.
"""
from __future__ import annotations

import fractions
import functools
import hashlib
import os
import tempfile

import av
import numpy as np

from .base import DecodeError

__all__ = ["PIX_FMT", "planes_to_frame", "frame_to_planes", "x265_encode", "hevc_decode",
           "START_CODE", "NAL_VPS", "NAL_SPS", "NAL_PPS", "NAL_IDR",
           "LAMBDA_TAB", "LAMBDA2_TAB", "LAMBDA2_TAB_X265_1_8", "lambda_file"]

# libav logs every concealed error to stderr; keep it quiet unless the user has
# chosen a level already. Errors still surface as exceptions.
if av.logging.get_level() is None:
    av.logging.set_level(av.logging.PANIC)

#: chroma_format_idc -> PyAV pixel format (8 bit)
PIX_FMT = {1: "yuv420p", 3: "yuv444p"}
START_CODE = b"\x00\x00\x00\x01"
NAL_VPS, NAL_SPS, NAL_PPS = 32, 33, 34
NAL_IDR = (19, 20)  # IDR_W_RADL, IDR_N_LP


# -- RD lambda tables (8-bit) ---------------------------------------------------------
# x265's rate-distortion costs use two tables indexed by QP 0..69 (QP_MAX_MAX):
# ``lambda`` (SAD costs) and ``lambda2`` (SSE costs). They are compiled in, but
# ``--lambda-file`` replaces them. libx265 keeps them in process-global arrays and a
# lambda file overwrites those for every later encoder in the process, so
# x265_encode always passes one: x265 4.2's own tables unless the caller asks
# for others (a run without a lambda file is bit identical to one with these).
#: lambda = 2^(QP/6 - 2); unchanged from x265 1.x to 4.2 (source/common/constants.cpp)
LAMBDA_TAB = (
    0.2500, 0.2806, 0.3150, 0.3536, 0.3969, 0.4454, 0.5000, 0.5612, 0.6300, 0.7071,
    0.7937, 0.8909, 1.0000, 1.1225, 1.2599, 1.4142, 1.5874, 1.7818, 2.0000, 2.2449,
    2.5198, 2.8284, 3.1748, 3.5636, 4.0000, 4.4898, 5.0397, 5.6569, 6.3496, 7.1272,
    8.0000, 8.9797, 10.0794, 11.3137, 12.6992, 14.2544, 16.0000, 17.9594, 20.1587,
    22.6274, 25.3984, 28.5088, 32.0000, 35.9188, 40.3175, 45.2548, 50.7968, 57.0175,
    64.0000, 71.8376, 80.6349, 90.5097, 101.5937, 114.0350, 128.0000, 143.6751,
    161.2699, 181.0193, 203.1873, 228.0701, 256.0000, 287.3503, 322.5398, 362.0387,
    406.3747, 456.1401, 512.0000, 574.7006, 645.0796, 724.0773,
)
#: lambda2 = 0.038 exp(0.234 QP): x265 >= 2.4 (2017), x265 4.2 default
LAMBDA2_TAB = (
    0.0380, 0.0480, 0.0606, 0.0766, 0.0968, 0.1224, 0.1547, 0.1955, 0.2470, 0.3121,
    0.3944, 0.4984, 0.6299, 0.7959, 1.0058, 1.2710, 1.6061, 2.0295, 2.5646, 3.2408,
    4.0952, 5.1749, 6.5393, 8.2633, 10.4419, 13.1949, 16.6736, 21.0695, 26.6244,
    33.6438, 42.5138, 53.7224, 67.8860, 85.7838, 108.4003, 136.9794, 173.0933, 218.7284,
    276.3949, 349.2649, 441.3467, 557.7054, 704.7413, 890.5425, 1125.3291, 1422.0160,
    1796.9227, 2270.6714, 2869.3215, 3625.8023, 4581.7251, 5789.6717, 7316.0868,
    9244.9328, 11682.3084, 14762.2847, 18654.2798, 23572.3779, 29787.1055, 37640.3119,
    47563.9728, 60103.9523, 75950.0283, 95973.8349, 121276.8079, 153250.7703,
    193654.4919, 244710.4321, 309226.9897, 390752.9823,
)
#: lambda2 = 0.85 lambda^2: x265 <= 2.3 default, incl. the x265 1.8+ (X265_BUILD 75)
#: bundled in libbpg 0.9.8's bpgenc
LAMBDA2_TAB_X265_1_8 = (
    0.0531, 0.0669, 0.0843, 0.1063, 0.1339, 0.1687, 0.2125, 0.2677, 0.3373, 0.4250,
    0.5355, 0.6746, 0.8500, 1.0709, 1.3493, 1.7000, 2.1419, 2.6986, 3.4000, 4.2837,
    5.3970, 6.8000, 8.5675, 10.7943, 13.6000, 17.1345, 21.5887, 27.2004, 34.2699,
    43.1773, 54.4000, 68.5397, 86.3551, 108.7998, 137.0792, 172.7097, 217.6000,
    274.1590, 345.4172, 435.1993, 548.3169, 690.8389, 870.4000, 1096.6362, 1381.6757,
    1740.7974, 2193.2676, 2763.3460, 3481.6000, 4386.5446, 5526.6890, 6963.2049,
    8773.0879, 11053.3840, 13926.4000, 17546.1542, 22106.7835, 27852.7889, 35092.3170,
    44213.5749, 55705.6000, 70184.6657, 88427.1342, 111411.2172, 140369.3373,
    176854.2222, 222822.4000, 280738.6627, 353708.5368, 445644.7459,
)


@functools.lru_cache(maxsize=None)
def lambda_file(lambda_tab: tuple = LAMBDA_TAB, lambda2_tab: tuple = LAMBDA2_TAB) -> str:
    """Path of an x265 ``--lambda-file`` holding these tables (written once per process).

    x265's format: the 70 ``lambda`` values, then the 70 ``lambda2`` values,
    separated by commas / blanks. The name is the content's hash, so processes
    running side by side write identical files (atomically, via ``os.replace``).
    """
    if len(lambda_tab) != 70 or len(lambda2_tab) != 70:
        raise ValueError("x265 lambda tables hold 70 values (QP 0..69)")
    text = (", ".join(f"{v:.4f}" for v in lambda_tab) + "\n"
            + ", ".join(f"{v:.4f}" for v in lambda2_tab) + "\n")
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    folder = tempfile.gettempdir()
    path = os.path.join(folder, f"sem_sionna_x265_lambda_{digest}.txt")
    if ":" in path:  # x265-params separates options with ':'
        raise RuntimeError(f"x265 lambda file path may not contain ':': {path}")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="sem_sionna_x265_lambda_")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return path


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
                params: str = "", lambda2_tab: tuple = LAMBDA2_TAB) -> bytes:
    """One intra picture at constant QP -> Annex-B stream (VPS SPS PPS slice).

    ``params`` are extra ``x265-params`` (``key=value`` joined by ``:``).
    ``info=0`` drops the ~2 KB encoder-info SEI; ``pools=none`` and
    ``frame-threads=1`` keep one picture on one thread (batch.py parallelises
    across images). ``lambda2_tab`` is the RD ``lambda2`` table, passed as a
    lambda file (see :func:`lambda_file`); the default is x265 4.2's own.
    """
    ctx = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height = frame.width, frame.height
    ctx.pix_fmt = frame.format.name
    ctx.time_base = fractions.Fraction(1, 25)
    x265_params = (f"qp={qp}:keyint=1:info=0:log-level=none:pools=none:frame-threads=1"
                   f":lambda-file={lambda_file(LAMBDA_TAB, tuple(lambda2_tab))}")
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
