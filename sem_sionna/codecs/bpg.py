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

import functools

import numpy as np

from . import _x265
from .base import DecodeError, ImageCodec
from .bitstream import (BitReader, BitWriter, add_emulation_prevention, nal_header,
                        nal_unit_type, remove_emulation_prevention, split_annexb,
                        ue7_decode, ue7_encode)

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
_LOG2_MAX_POC_LSB = 8
_SLICE_TYPE_I = 2

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


def _rgb_to_planes(pixels: np.ndarray, chroma_idc: int) -> list[np.ndarray]:
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


def _planes_to_rgb(planes: list[np.ndarray], chroma_idc: int) -> np.ndarray:
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
_HEADER_UE = ("log2_min_cb_minus3", "log2_diff_max_min_cb", "log2_min_tb_minus2",
              "log2_diff_max_min_tb", "max_tb_depth_intra")
_RANGE_EXT_FLAGS = 9  # sps_range_extension(): nine flags (H.265 7.3.2.2.2)


def _profile_tier_level(writer: BitWriter, chroma_idc: int) -> None:
    """general profile_tier_level for one sub-layer (H.265 7.3.3): Main, or the
    format range extensions profile (Main 4:4:4) for 4:4:4; level 6.2 (no limit)."""
    writer.u(2, 0)
    writer.u(1, 0)
    profile = 1 if chroma_idc == 1 else 4
    writer.u(5, profile)
    writer.u(32, 1 << (31 - profile))
    writer.u(4, 0b1001)  # progressive_source, !interlaced, !non_packed, frame_only
    if profile == 4:  # max_12bit .. max_8bit, !max_422 / !max_420, !monochrome, intra, ...
        writer.u(9, 0b111000000)
        writer.u(34, 0)
    else:
        writer.u(43, 0)
    writer.u(1, 0)
    writer.u(8, 186)


def _read_profile_tier_level(reader: BitReader) -> None:
    reader.u(2 + 1 + 5 + 32 + 4 + 43 + 1 + 8)


def _nal(nal_type: int, writer: BitWriter) -> bytes:
    writer.trailing_bits()
    return nal_header(nal_type) + add_emulation_prevention(writer.getvalue())


def _build_vps(chroma_idc: int) -> bytes:
    w = BitWriter()
    w.u(4, 0)        # vps_video_parameter_set_id
    w.u(2, 3)        # vps_base_layer_internal_flag, vps_base_layer_available_flag
    w.u(6, 0)        # vps_max_layers_minus1
    w.u(3, 0)        # vps_max_sub_layers_minus1
    w.u(1, 1)        # vps_temporal_id_nesting_flag
    w.u(16, 0xFFFF)  # vps_reserved_0xffff_16bits
    _profile_tier_level(w, chroma_idc)
    w.u(1, 1)        # vps_sub_layer_ordering_info_present_flag
    w.ue(0); w.ue(0); w.ue(0)  # max_dec_pic_buffering_minus1, num_reorder, latency
    w.u(6, 0)        # vps_max_layer_id
    w.ue(0)          # vps_num_layer_sets_minus1
    w.u(1, 0)        # vps_timing_info_present_flag
    w.u(1, 0)        # vps_extension_flag
    return _nal(_x265.NAL_VPS, w)


def _coded_size(height: int, width: int, fields: dict) -> tuple[int, int]:
    cb = 1 << (fields["log2_min_cb_minus3"] + 3)
    return -(-height // cb) * cb, -(-width // cb) * cb


def _build_sps(chroma_idc: int, height: int, width: int, fields: dict) -> bytes:
    w = BitWriter()
    w.u(4, 0)  # sps_video_parameter_set_id
    w.u(3, 0)  # sps_max_sub_layers_minus1
    w.u(1, 1)  # sps_temporal_id_nesting_flag
    _profile_tier_level(w, chroma_idc)
    w.ue(0)    # sps_seq_parameter_set_id
    w.ue(chroma_idc)
    if chroma_idc == 3:
        w.u(1, 0)  # separate_colour_plane_flag
    coded_h, coded_w = _coded_size(height, width, fields)
    w.ue(coded_w)
    w.ue(coded_h)
    sub = 2 if chroma_idc == 1 else 1
    right, bottom = (coded_w - width) // sub, (coded_h - height) // sub
    w.flag(right or bottom)  # conformance_window_flag
    if right or bottom:
        w.ue(0); w.ue(right); w.ue(0); w.ue(bottom)
    w.ue(0); w.ue(0)  # bit_depth_luma_minus8, bit_depth_chroma_minus8
    w.ue(_LOG2_MAX_POC_LSB - 4)
    w.u(1, 1)  # sps_sub_layer_ordering_info_present_flag
    w.ue(0); w.ue(0); w.ue(0)
    for key in _HEADER_UE[:4]:
        w.ue(fields[key])
    w.ue(fields["max_tb_depth_intra"])  # max_transform_hierarchy_depth_inter
    w.ue(fields["max_tb_depth_intra"])
    w.u(1, 0)  # scaling_list_enabled_flag
    w.u(1, 1)  # amp_enabled_flag
    w.flag(fields["sao"])
    w.flag(fields["pcm"])
    if fields["pcm"]:
        w.u(4, fields["pcm_bit_depth_luma_minus1"])
        w.u(4, fields["pcm_bit_depth_chroma_minus1"])
        w.ue(fields["log2_min_pcm_minus3"])
        w.ue(fields["log2_diff_max_min_pcm"])
        w.flag(fields["pcm_loop_filter_disabled"])
    w.ue(0)    # num_short_term_ref_pic_sets
    w.u(1, 0)  # long_term_ref_pics_present_flag
    w.u(1, 1)  # sps_temporal_mvp_enabled_flag
    w.flag(fields["strong_intra_smoothing"])
    w.u(1, 0)  # vui_parameters_present_flag
    w.flag(fields["sps_extension"])
    if fields["sps_extension"]:
        w.flag(fields["range_extension"])
        w.u(7, 0)
        if fields["range_extension"]:
            w.u(_RANGE_EXT_FLAGS, fields["range_extension_flags"])
    return _nal(_x265.NAL_SPS, w)


def _read_sps_tail(r: BitReader, fields: dict) -> None:
    """From sample_adaptive_offset_enabled_flag on (common to SPS and hevc_header)."""
    fields["sao"] = r.flag()
    fields["pcm"] = r.flag()
    if fields["pcm"]:
        fields["pcm_bit_depth_luma_minus1"] = r.u(4)
        fields["pcm_bit_depth_chroma_minus1"] = r.u(4)
        fields["log2_min_pcm_minus3"] = r.ue()
        fields["log2_diff_max_min_pcm"] = r.ue()
        fields["pcm_loop_filter_disabled"] = r.flag()


def _parse_x265_sps(rbsp: bytes) -> dict:
    """The hevc_header fields of libx265's SPS, checking libbpg's assumptions."""
    r = BitReader(rbsp, "x265 SPS")
    expect = {}
    expect["vps_id"], expect["max_sub_layers_minus1"] = r.u(4), r.u(3)
    r.u(1)
    _read_profile_tier_level(r)
    expect["sps_id"] = r.ue()
    expect["chroma_format_idc"] = r.ue()
    if expect["chroma_format_idc"] == 3:
        expect["separate_colour_plane"] = r.u(1)
    width, height = r.ue(), r.ue()
    if r.flag():
        [r.ue() for _ in range(4)]
    expect["bit_depths"] = (r.ue(), r.ue())
    expect["log2_max_poc_lsb"] = r.ue() + 4
    if r.flag():
        r.ue(); r.ue(); r.ue()
    fields = {key: r.ue() for key in _HEADER_UE[:4]}
    expect["max_tb_depth_inter"] = r.ue()
    fields["max_tb_depth_intra"] = r.ue()
    expect["scaling_list"] = r.u(1)
    expect["amp"] = r.u(1)
    _read_sps_tail(r, fields)
    expect["num_short_term_ref_pic_sets"] = r.ue()
    expect["long_term_ref_pics"] = r.u(1)
    expect["temporal_mvp"] = r.u(1)
    fields["strong_intra_smoothing"] = r.flag()
    if r.flag():  # VUI: not sent by BPG (x265 signals no colour or timing details here)
        pass
    fields["sps_extension"] = False
    fields["range_extension"] = False
    fields["size"] = (height, width)
    wanted = {"vps_id": 0, "max_sub_layers_minus1": 0, "sps_id": 0, "bit_depths": (0, 0),
              "log2_max_poc_lsb": _LOG2_MAX_POC_LSB, "max_tb_depth_inter": fields["max_tb_depth_intra"],
              "scaling_list": 0, "amp": 1, "num_short_term_ref_pic_sets": 0,
              "long_term_ref_pics": 0, "temporal_mvp": 1, "separate_colour_plane": 0}
    wrong = {k: v for k, v in expect.items() if k in wanted and wanted[k] != v}
    if wrong:
        raise RuntimeError(f"libx265's SPS breaks BPG's assumptions: {wrong}")
    fields["chroma_format_idc"] = expect["chroma_format_idc"]
    return fields


def _write_hevc_header(fields: dict) -> bytes:
    w = BitWriter()
    for key in _HEADER_UE:
        w.ue(fields[key])
    w.flag(fields["sao"])
    w.flag(fields["pcm"])
    if fields["pcm"]:
        w.u(4, fields["pcm_bit_depth_luma_minus1"])
        w.u(4, fields["pcm_bit_depth_chroma_minus1"])
        w.ue(fields["log2_min_pcm_minus3"])
        w.ue(fields["log2_diff_max_min_pcm"])
        w.flag(fields["pcm_loop_filter_disabled"])
    w.flag(fields["strong_intra_smoothing"])
    w.flag(fields["sps_extension"])
    if fields["sps_extension"]:
        w.flag(fields["range_extension"])
        w.u(7, 0)
        if fields["range_extension"]:
            w.u(_RANGE_EXT_FLAGS, fields["range_extension_flags"])
    w.align_zero()
    return w.getvalue()


def _read_hevc_header(data: bytes) -> dict:
    r = BitReader(data, "bpg: hevc_header")
    fields = {key: r.ue() for key in _HEADER_UE}
    _read_sps_tail(r, fields)
    fields["strong_intra_smoothing"] = r.flag()
    fields["sps_extension"] = r.flag()
    fields["range_extension"] = False
    if fields["sps_extension"]:
        fields["range_extension"] = r.flag()
        if r.u(7):
            raise DecodeError("bpg: unsupported SPS extensions in hevc_header")
        if fields["range_extension"]:
            fields["range_extension_flags"] = r.u(_RANGE_EXT_FLAGS)
    if (r.bits_left >= 8 or (r.bits_left and r.u(r.bits_left))):
        raise DecodeError("bpg: hevc_header has trailing data")
    # H.265 7.4.3.2.1 ranges, for 8-bit pictures up to _MAX_SIDE
    log2_min_cb = fields["log2_min_cb_minus3"] + 3
    log2_ctb = log2_min_cb + fields["log2_diff_max_min_cb"]
    log2_min_tb = fields["log2_min_tb_minus2"] + 2
    log2_max_tb = log2_min_tb + fields["log2_diff_max_min_tb"]
    valid = (log2_ctb in (4, 5, 6) and log2_min_tb < log2_min_cb and log2_max_tb <= min(log2_ctb, 5)
             and fields["max_tb_depth_intra"] <= log2_ctb - log2_min_tb)
    if fields["pcm"]:
        log2_min_pcm = fields["log2_min_pcm_minus3"] + 3
        valid = valid and (fields["pcm_bit_depth_luma_minus1"] < 8
                           and fields["pcm_bit_depth_chroma_minus1"] < 8
                           and log2_min_cb <= log2_min_pcm
                           and log2_min_pcm + fields["log2_diff_max_min_pcm"] <= min(log2_ctb, 5))
    if not valid:
        raise DecodeError(f"bpg: hevc_header values out of range {fields}")
    return fields


def _parse_pps(rbsp: bytes) -> dict:
    """The PPS fields the slice header depends on; the whole PPS must be well formed."""
    r = BitReader(rbsp, "bpg: PPS")
    pps = {}
    if r.ue() != 0 or r.ue() != 0:
        raise DecodeError("bpg: PPS or SPS id is not 0")
    pps["dependent_slices"] = r.flag()
    pps["output_flag_present"] = r.flag()
    pps["num_extra_slice_header_bits"] = r.u(3)
    r.u(1)  # sign_data_hiding_enabled_flag
    r.u(1)  # cabac_init_present_flag
    if r.ue() > 14 or r.ue() > 14:
        raise DecodeError("bpg: PPS num_ref_idx out of range")
    pps["init_qp"] = 26 + r.se()
    r.u(1)  # constrained_intra_pred_flag
    r.u(1)  # transform_skip_enabled_flag
    pps["cu_qp_delta"] = r.flag()
    if pps["cu_qp_delta"] and r.ue() > 3:  # diff_cu_qp_delta_depth
        raise DecodeError("bpg: PPS diff_cu_qp_delta_depth out of range")
    if not (-12 <= r.se() <= 12 and -12 <= r.se() <= 12):
        raise DecodeError("bpg: PPS chroma QP offsets out of range")
    pps["slice_chroma_qp_offsets"] = r.flag()
    r.u(1); r.u(1); r.u(1)  # weighted_pred, weighted_bipred, transquant_bypass
    pps["tiles"] = r.flag()
    pps["wpp"] = r.flag()
    if pps["tiles"]:
        columns, rows = r.ue() + 1, r.ue() + 1
        if columns > 20 or rows > 22:
            raise DecodeError("bpg: PPS tile grid out of range")
        if not r.flag():  # uniform_spacing_flag
            [r.ue() for _ in range(columns - 1 + rows - 1)]
        r.u(1)
    pps["loop_filter_across_slices"] = r.flag()
    pps["deblocking_override"] = False
    pps["deblocking_disabled"] = False
    if r.flag():  # deblocking_filter_control_present_flag
        pps["deblocking_override"] = r.flag()
        pps["deblocking_disabled"] = r.flag()
        if not pps["deblocking_disabled"]:
            r.se(); r.se()
    if r.flag():
        raise DecodeError("bpg: PPS scaling lists are not supported")
    r.u(1)  # lists_modification_present_flag
    r.ue()  # log2_parallel_merge_level_minus2
    pps["slice_header_extension"] = r.flag()
    if r.flag():
        raise DecodeError("bpg: PPS extensions are not supported")
    r.trailing_bits()
    if r.bits_left:
        raise DecodeError("bpg: PPS has trailing data")
    return pps


def _check_slice_header(rbsp: bytes, fields: dict, pps: dict, chroma_idc: int) -> None:
    """Parse the IDR I-slice segment header (H.265 7.3.6.1) up to its byte_alignment()."""
    r = BitReader(rbsp, "bpg: slice header")
    if not r.flag():
        raise DecodeError("bpg: slice does not start the picture")
    r.u(1)  # no_output_of_prior_pics_flag
    if r.ue() != 0:
        raise DecodeError("bpg: slice refers to a PPS other than 0")
    r.u(pps["num_extra_slice_header_bits"])
    if r.ue() != _SLICE_TYPE_I:
        raise DecodeError("bpg: slice is not an I slice")
    if pps["output_flag_present"]:
        r.u(1)
    sao = False
    if fields["sao"]:
        sao = r.flag()
        sao = r.flag() or sao
    qp = pps["init_qp"] + r.se()
    if not 0 <= qp <= 51:
        raise DecodeError(f"bpg: slice QP {qp} out of range")
    if pps["slice_chroma_qp_offsets"]:
        if not (-12 <= r.se() <= 12 and -12 <= r.se() <= 12):
            raise DecodeError("bpg: slice chroma QP offsets out of range")
    deblocking_disabled = pps["deblocking_disabled"]
    if pps["deblocking_override"] and r.flag():
        deblocking_disabled = r.flag()
        if not deblocking_disabled:
            if not (-6 <= r.se() <= 6 and -6 <= r.se() <= 6):
                raise DecodeError("bpg: slice deblocking offsets out of range")
    if pps["loop_filter_across_slices"] and (sao or not deblocking_disabled):
        r.u(1)
    if pps["tiles"] or pps["wpp"]:
        count = r.ue()
        if count > 1024:
            raise DecodeError("bpg: too many entry points")
        if count:
            length = r.ue() + 1
            if length > 32:
                raise DecodeError("bpg: entry point offsets too long")
            r.u(length * count)
    if pps["slice_header_extension"]:
        r.u(8 * r.ue())
    r.trailing_bits()  # byte_alignment(): a one, then zeros
    if not r.bits_left:
        raise DecodeError("bpg: slice has no data")


@functools.lru_cache(maxsize=64)
def _parameter_sets(chroma_idc: int, height: int, width: int, header: bytes) -> bytes:
    """Receiver side: VPS + SPS as Annex-B, from the picture size and hevc_header."""
    fields = _read_hevc_header(header)
    return (_x265.START_CODE + _build_vps(chroma_idc) + _x265.START_CODE
            + _build_sps(chroma_idc, height, width, fields))


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
        frame = _x265.planes_to_frame(_rgb_to_planes(padded, chroma_idc),
                                      _x265.PIX_FMT[chroma_idc])
        nals = split_annexb(_x265.x265_encode(frame, quality, _X265_PRESET, _X265_TUNE,
                                              _X265_PARAMS, _X265_LAMBDA2))
        types = [nal_unit_type(nal) for nal in nals]
        if (types[:3] != [_x265.NAL_VPS, _x265.NAL_SPS, _x265.NAL_PPS] or len(nals) != 4
                or types[3] not in _x265.NAL_IDR):
            raise RuntimeError(f"unexpected libx265 NAL unit types {types}")
        fields = _parse_x265_sps(remove_emulation_prevention(nals[1][2:]))
        if fields["size"] != (coded_h, coded_w) or fields["chroma_format_idc"] != chroma_idc:
            raise RuntimeError(f"libx265 coded {fields['size']}, chroma {fields['chroma_format_idc']}")
        log2_ctb = fields["log2_min_cb_minus3"] + 3 + fields["log2_diff_max_min_cb"]
        if (log2_ctb < _LOG2_CTB and max(coded_h, coded_w) <= 1 << log2_ctb
                and not _parse_pps(remove_emulation_prevention(nals[2][2:]))["cu_qp_delta"]):
            # libx265 shrinks the CTB to the picture (it needs one whole CTB); bpgenc's
            # x265 kept 64. A picture inside one CTB codes the same syntax with either:
            # the larger CTB's split_cu_flag is inferred (H.265 7.4.9.4, the CB crosses
            # the picture boundary), its other quadrants are outside the picture, SAO
            # is per CTB and with cu_qp_delta off no quantization group depends on it.
            fields["log2_diff_max_min_cb"] = _LOG2_CTB - 3 - fields["log2_min_cb_minus3"]
        slice_nal = nal_header(_NAL_IDR_W_RADL) + nals[3][2:]
        header = _write_hevc_header(fields)
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
        fields = _read_hevc_header(header)
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
        pps = _parse_pps(remove_emulation_prevention(pps_nal[2:]))
        _check_slice_header(remove_emulation_prevention(slice_nal[2:]), fields, pps, chroma_idc)
        stream = (_parameter_sets(chroma_idc, height, width, header) + _x265.START_CODE
                  + data[pos:])
        frame = _x265.hevc_decode(stream, "bpg")
        coded_h, coded_w = _coded_size(height, width, fields)
        sub = 2 if chroma_idc == 1 else 1
        shown = (coded_h - (coded_h - height) // sub * sub, coded_w - (coded_w - width) // sub * sub)
        if (frame.height, frame.width) != shown or frame.format.name != _x265.PIX_FMT[chroma_idc]:
            raise DecodeError(f"bpg: decoded a {frame.width}x{frame.height} "
                              f"{frame.format.name} picture, expected {shown[1]}x{shown[0]}")
        return _planes_to_rgb(_x265.frame_to_planes(frame), chroma_idc)[:height, :width]
