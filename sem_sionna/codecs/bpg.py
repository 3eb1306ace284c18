"""BPG (Better Portable Graphics, libbpg 0.9.8): HEVC intra in bpgenc's container.

The files are those bpgenc writes with its defaults, byte for byte in layout and
header fields; the HEVC slice comes from libx265 through PyAV with bpgenc's
encoder settings (x265 preset ``veryslow``, tuned for SSIM, one intra picture
at constant QP), so it differs from bpgenc's by the x265 version only.

::

    transmitter                                    receiver
    RGB -> YCbCr (BT.601 full range, libbpg's      container -> size, chroma, bit depth
    fixed point) [-> 4:2:0, JPEG siting]           hevc_header -> VPS + SPS rebuilt
    -> libx265 -> VPS SPS PPS slice                Annex-B = VPS SPS | PPS slice
    container + hevc_header (SPS fields)           FFmpeg hevc -> YCbCr [-> 4:4:4]
    + PPS + slice                    ------>       -> RGB (libbpg's fixed point)

File layout (all integers big endian; ``ue7`` = 7 bits a byte, bit 7 set on all
but the last byte; ``ue(v)`` = Exp-Golomb, see :mod:`~sem_sionna.codecs.bitstream`):

==================  =========  ====================================================
field               size       content
==================  =========  ====================================================
magic               4 B        ``42 50 47 fb``
format              1 B        pixel_format (3 bits: 1 = 4:2:0, 3 = 4:4:4),
                               alpha1_flag (0), bit_depth - 8 (4 bits, 0)
flags               1 B        color_space (4 bits, 0 = YCbCr BT.601),
                               extension_present_flag, alpha2_flag (0),
                               limited_range_flag (0), animation_flag (0)
picture_width       ue7        pixels
picture_height      ue7        pixels
picture_data_len    ue7        0: the picture data runs to the end of the file
(extension)         ue7 + n    only if extension_present_flag (skipped on read)
hevc_header_length  ue7        bytes of the next field
hevc_header         bits       log2_min_luma_coding_block_size_minus3,
                               log2_diff_max_min_luma_coding_block_size,
                               log2_min_luma_transform_block_size_minus2,
                               log2_diff_max_min_luma_transform_block_size,
                               max_transform_hierarchy_depth_intra (ue(v) each),
                               sample_adaptive_offset_enabled_flag,
                               pcm_enabled_flag (+ PCM fields),
                               strong_intra_smoothing_enabled_flag,
                               sps_extension_present_flag (+ range extension
                               flags), zero bits to the byte boundary
hevc_data           rest       PPS NAL unit, ``00 00 01``, slice NAL unit (IDR_W_RADL)
==================  =========  ====================================================

A 32x32 4:2:0 file spends 9 + 4 + 9 = 22 bytes before the slice NAL unit. The
receiver rebuilds VPS and SPS from the header and libbpg's fixed assumptions
(ids 0, one sub-layer, chroma_format_idc = pixel_format, coded size = picture
size rounded up to the minimum CB size with a conformance window, 8-bit
samples, no scaling lists, log2_max_pic_order_cnt_lsb = 8, AMP and temporal
MVP enabled, inter TB depth = intra TB depth); the encoder checks that
libx265's SPS satisfies them.

Colour conversion is libbpg's integer arithmetic, so that bpgdec and this
decoder give identical pixels from one file: RGB -> YCbCr with 16-bit
coefficients; 4:4:4 -> 4:2:0 by the separable 10-tap filter
``(2, -4, -8, 17, 57, 57, 17, -8, -4, 2) / 128`` (chroma at the centre of each
2x2 block, edge samples replicated); 4:2:0 -> 4:4:4 by the 7-tap filters
``(2, -6, 18, 57, -10, 4, -1) / 64`` and its mirror, rounded once after both
passes; YCbCr -> RGB with 22-bit coefficients.

Note
----
bpgenc's ``picture_data_length`` is 0 ("to the end of the file"), so the file
does not carry its own length. The decoder checks everything up to the first
byte of CABAC slice data (container, hevc_header, the whole PPS, the whole
slice segment header, the NAL unit structure and its final byte): a
truncation or corruption there is a :class:`DecodeError`. A truncation or a
bit error inside the CABAC slice data cannot be detected from the file (there
is no length or checksum; FFmpeg decodes what it gets), so it may decode to a
damaged picture; the link's CRC covers that case.
"""
from __future__ import annotations

import numpy as np

from . import _x265
from .base import DecodeError, ImageCodec
from .bitstream import (nal_header, nal_unit_type, remove_emulation_prevention,
                        split_annexb, ue7_decode, ue7_encode)
from .bpg_color import planes_to_rgb, rgb_to_planes
from .bpg_syntax import (check_slice_header, coded_size, parameter_sets, parse_pps,
                         parse_x265_sps, read_hevc_header, write_hevc_header)

__all__ = ["BPGCodec", "BPG_MAGIC"]

BPG_MAGIC = b"BPG\xfb"
_CHROMA_IDC = {"420": 1, "444": 3}
_X265_PRESET, _X265_TUNE = "veryslow", "ssim"  # bpgenc -m 8 (its default), x265_glue.c
_MIN_SIDE = 16    # libx265 refuses smaller pictures ("Image size is too small")
_MAX_SIDE = 4096  # bounds the work a corrupt header can cause at the receiver
_CB_SIZE = 8      # bpgenc pads the picture to a multiple of its minimum CB size
_NAL_IDR_W_RADL = 19
_LOG2_CTB = 6     # x265 preset veryslow: 64x64 CTBs
# bpgenc's x265 is a development snapshot between 1.8 and 1.9 (X265_BUILD 75, Sept.
# 2015; libbpg 0.9.8's x265/source; `bpgenc -v` prints its options, and its
# x265_param2string has limit-refs and qg-size but not limit-modes). Its parameter
# set after preset veryslow, tune ssim, x265_glue.c and constant-QP configure()
# equals x265 4.2's for an intra picture except where set here (checked against
# 4.2's own "options:" list, which `info=1` puts into an SEI; neither encoder's SEI
# reaches the file: bpgenc sets bEmitInfoSEI = 0 and keeps only PPS + slice, as we do):
_X265_PARAMS = ":".join((
    "rskip=0",      # x265 1.8 default: no recursion skip (the option came in 2.0, on by default)
    "max-merge=4",  # x265 1.8 default (veryslow; 4.2: 5); P/B slices only, no effect here
))
#: RD lambda2 table, passed as --lambda-file: x265 1.8 default (x265 2.4 replaced
#: 0.85 lambda^2 by 0.038 exp(0.234 QP), 17-25 % lower, which spends more bits)
_X265_LAMBDA2 = _x265.LAMBDA2_TAB_X265_1_8
class BPGCodec(ImageCodec):
    """BPG image files as libbpg 0.9.8's bpgenc writes them (HEVC intra, libx265).

    ``quality`` is the constant QP, 0..51, lower is better:
    ``qualities = (51, 50, ..., 0)``, from the lowest to the highest fidelity
    (the order :meth:`encode_to_budget` searches), so ``encode(image, 28)`` is
    ``bpgenc -q 28``. x265 lowers the QP of intra pictures in constant-QP mode
    (``ipratio``), for bpgenc and here alike: the slice QP is about 3 below ``qp``.

    Parameters
    ----------
    chroma_format : "420" or "444", default "420" -- chroma sampling, as
        bpgenc's ``-f`` (4:2:0 with JPEG chroma siting is bpgenc's default).

    Input
    -----
    image : [H, W, 3], float32 -- RGB in [0, 1], ``16 <= H, W <= 4096``
        (libx265 refuses smaller pictures).

    Output
    ------
    payload : bytes -- a complete ``.bpg`` file (module docstring: layout).

    Note
    ----
    libx265 (this build) labels the slice IDR_N_LP; bpgenc's x265 wrote
    IDR_W_RADL, whose slice syntax and decoding are identical for a picture
    without leading pictures. The NAL unit header is set to IDR_W_RADL so that
    the files match bpgenc's. :meth:`decode` reads bpgenc's files too.
    """

    name = "bpg"
    label = "BPG"
    qualities = tuple(range(51, -1, -1))

    def __init__(self, chroma_format: str = "420"):
        if chroma_format not in _CHROMA_IDC:
            raise ValueError(f"`chroma_format` must be one of {tuple(_CHROMA_IDC)}, "
                             f"got {chroma_format!r}")
        self.chroma_format = chroma_format

    def get_config(self) -> dict:
        return {"name": self.name, "chroma_format": self.chroma_format}

    # -- transmitter ------------------------------------------------------------------
    def _encode(self, pixels: np.ndarray, quality: int) -> bytes:
        height, width = pixels.shape[:2]
        if min(height, width) < _MIN_SIDE or max(height, width) > _MAX_SIDE:
            raise ValueError(f"`image` sides must be in [{_MIN_SIDE}, {_MAX_SIDE}] for bpg, "
                             f"got {pixels.shape}")
        chroma_idc = _CHROMA_IDC[self.chroma_format]
        # bpgenc pads to its minimum CB size by replicating the last row / column
        coded_h, coded_w = -(-height // _CB_SIZE) * _CB_SIZE, -(-width // _CB_SIZE) * _CB_SIZE
        padded = np.pad(pixels, ((0, coded_h - height), (0, coded_w - width), (0, 0)),
                        mode="edge")
        frame = _x265.planes_to_frame(rgb_to_planes(padded, chroma_idc),
                                      _x265.PIX_FMT[chroma_idc])
        nals = split_annexb(_x265.x265_encode(frame, quality, _X265_PRESET, _X265_TUNE,
                                              _X265_PARAMS, _X265_LAMBDA2))
        types = [nal_unit_type(nal) for nal in nals]
        if (types[:3] != [_x265.NAL_VPS, _x265.NAL_SPS, _x265.NAL_PPS] or len(nals) != 4
                or types[3] not in _x265.NAL_IDR):
            raise RuntimeError(f"unexpected libx265 NAL unit types {types}")
        fields = parse_x265_sps(remove_emulation_prevention(nals[1][2:]))
        if fields["size"] != (coded_h, coded_w) or fields["chroma_format_idc"] != chroma_idc:
            raise RuntimeError(f"libx265 coded {fields['size']}, chroma {fields['chroma_format_idc']}")
        log2_ctb = fields["log2_min_cb_minus3"] + 3 + fields["log2_diff_max_min_cb"]
        if (log2_ctb < _LOG2_CTB and max(coded_h, coded_w) <= 1 << log2_ctb
                and not parse_pps(remove_emulation_prevention(nals[2][2:]))["cu_qp_delta"]):
            # libx265 shrinks the CTB to the picture (it needs one whole CTB); bpgenc's
            # x265 kept 64. A picture inside one CTB codes the same syntax with either:
            # the larger CTB's split_cu_flag is inferred (H.265 7.4.9.4, the CB crosses
            # the picture boundary), its other quadrants are outside the picture, SAO
            # is per CTB and with cu_qp_delta off no quantization group depends on it.
            fields["log2_diff_max_min_cb"] = _LOG2_CTB - 3 - fields["log2_min_cb_minus3"]
        slice_nal = nal_header(_NAL_IDR_W_RADL) + nals[3][2:]
        header = write_hevc_header(fields)
        hevc_data = nals[2] + b"\x00\x00\x01" + slice_nal
        return (BPG_MAGIC + bytes([chroma_idc << 5, 0]) + ue7_encode(width)
                + ue7_encode(height) + ue7_encode(0) + ue7_encode(len(header)) + header
                + hevc_data)

    # -- receiver ---------------------------------------------------------------------
    def _decode(self, data: bytes) -> np.ndarray:
        if data[:4] != BPG_MAGIC:
            raise DecodeError("bpg: not a BPG file (bad magic)")
        if len(data) < 6:
            raise DecodeError("bpg: file ends inside its header")
        fmt, flags = data[4], data[5]
        chroma_idc, alpha1, bit_depth = fmt >> 5, (fmt >> 4) & 1, (fmt & 0xF) + 8
        color_space, extension = flags >> 4, (flags >> 3) & 1
        alpha2, limited_range, animation = (flags >> 2) & 1, (flags >> 1) & 1, flags & 1
        if chroma_idc not in _x265.PIX_FMT or bit_depth != 8:
            raise DecodeError(f"bpg: unsupported format byte 0x{fmt:02X} (4:2:0 or 4:4:4, 8 bit)")
        if alpha1 or alpha2 or color_space != 0 or limited_range or animation:
            raise DecodeError(f"bpg: unsupported flags byte 0x{flags:02X} (no alpha, "
                              "YCbCr BT.601 full range, still picture)")
        width, pos = ue7_decode(data, 6)
        height, pos = ue7_decode(data, pos)
        if not (1 <= width <= _MAX_SIDE and 1 <= height <= _MAX_SIDE):
            raise DecodeError(f"bpg: invalid picture size {width}x{height}")
        length, pos = ue7_decode(data, pos)
        if extension:
            ext_length, pos = ue7_decode(data, pos)
            if ext_length > len(data) - pos:
                raise DecodeError("bpg: file ends inside its extension data")
            pos += ext_length
        if length and length != len(data) - pos:
            raise DecodeError(f"bpg: picture_data_length {length}, {len(data) - pos} bytes follow")
        header_length, pos = ue7_decode(data, pos)
        if header_length == 0 or header_length > len(data) - pos:
            raise DecodeError("bpg: invalid hevc_header_length")
        header, pos = data[pos:pos + header_length], pos + header_length
        fields = read_hevc_header(header)
        nals = split_annexb(b"\x00\x00\x01" + data[pos:])
        if len(nals) != 2 or any(len(nal) < 3 for nal in nals):
            raise DecodeError(f"bpg: hevc_data holds {len(nals)} NAL units, expected PPS and slice")
        pps_nal, slice_nal = nals
        if (pps_nal[:2] != nal_header(_x265.NAL_PPS)
                or nal_unit_type(slice_nal) not in _x265.NAL_IDR
                or slice_nal[:2] != nal_header(nal_unit_type(slice_nal))):
            raise DecodeError("bpg: hevc_data is not a PPS followed by an IDR slice")
        if len(pps_nal) + 3 + len(slice_nal) != len(data) - pos:
            raise DecodeError("bpg: zero bytes around the NAL units")
        pps = parse_pps(remove_emulation_prevention(pps_nal[2:]))
        check_slice_header(remove_emulation_prevention(slice_nal[2:]), fields, pps, chroma_idc)
        stream = (parameter_sets(chroma_idc, height, width, header) + _x265.START_CODE
                  + data[pos:])
        frame = _x265.hevc_decode(stream, "bpg")
        coded_h, coded_w = coded_size(height, width, fields)
        sub = 2 if chroma_idc == 1 else 1
        shown = (coded_h - (coded_h - height) // sub * sub, coded_w - (coded_w - width) // sub * sub)
        if (frame.height, frame.width) != shown or frame.format.name != _x265.PIX_FMT[chroma_idc]:
            raise DecodeError(f"bpg: decoded a {frame.width}x{frame.height} "
                              f"{frame.format.name} picture, expected {shown[1]}x{shown[0]}")
        return planes_to_rgb(_x265.frame_to_planes(frame), chroma_idc)[:height, :width]
