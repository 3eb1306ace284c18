"""HEVC parameter-set syntax of a BPG file (H.265 7.3.2): the ``hevc_header`` that bpgenc
copies from the SPS, the VPS/SPS a decoder rebuilds from it, and the PPS / slice-header
checks that make a malformed file a :class:`~sem_sionna.codecs.DecodeError`."""
from __future__ import annotations

import functools

from . import _x265
from .base import DecodeError
from .bitstream import BitReader, BitWriter, add_emulation_prevention, nal_header

__all__ = ["parse_x265_sps", "parse_pps", "write_hevc_header", "read_hevc_header",
           "check_slice_header", "parameter_sets", "coded_size"]

_LOG2_MAX_POC_LSB = 8
_SLICE_TYPE_I = 2

_HEADER_UE = ("log2_min_cb_minus3", "log2_diff_max_min_cb", "log2_min_tb_minus2",
              "log2_diff_max_min_tb", "max_tb_depth_intra")
_RANGE_EXT_FLAGS = 9  # sps_range_extension(): nine flags (H.265 7.3.2.2.2)


def _write_sao_pcm(w: BitWriter, fields: dict) -> None:
    """sample_adaptive_offset_enabled_flag, pcm_enabled_flag and the PCM fields, in the
    same order in the SPS (H.265 7.3.2.2) and in BPG's hevc_header."""
    w.flag(fields["sao"])
    w.flag(fields["pcm"])
    if fields["pcm"]:
        w.u(4, fields["pcm_bit_depth_luma_minus1"])
        w.u(4, fields["pcm_bit_depth_chroma_minus1"])
        w.ue(fields["log2_min_pcm_minus3"])
        w.ue(fields["log2_diff_max_min_pcm"])
        w.flag(fields["pcm_loop_filter_disabled"])


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


def coded_size(height: int, width: int, fields: dict) -> tuple[int, int]:
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
    coded_h, coded_w = coded_size(height, width, fields)
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
    _write_sao_pcm(w, fields)
    w.ue(0)    # num_short_term_ref_pic_sets
    w.u(1, 0)  # long_term_ref_pics_present_flag
    w.u(1, 1)  # sps_temporal_mvp_enabled_flag
    w.flag(fields["strong_intra_smoothing"])
    w.u(1, 0)  # vui_parameters_present_flag
    _write_sps_extension(w, fields)
    return _nal(_x265.NAL_SPS, w)


def _write_sps_extension(w: BitWriter, fields: dict) -> None:
    """sps_extension_present_flag and the range extension (common to SPS and hevc_header)."""
    w.flag(fields["sps_extension"])
    if fields["sps_extension"]:
        w.flag(fields["range_extension"])
        w.u(7, 0)  # sps_multilayer/3d/scc/4bits extension flags
        if fields["range_extension"]:
            w.u(_RANGE_EXT_FLAGS, fields["range_extension_flags"])


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


def parse_x265_sps(rbsp: bytes) -> dict:
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


def write_hevc_header(fields: dict) -> bytes:
    w = BitWriter()
    for key in _HEADER_UE:
        w.ue(fields[key])
    _write_sao_pcm(w, fields)
    w.flag(fields["strong_intra_smoothing"])
    _write_sps_extension(w, fields)
    w.align_zero()
    return w.getvalue()


def read_hevc_header(data: bytes) -> dict:
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


def parse_pps(rbsp: bytes) -> dict:
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


def check_slice_header(rbsp: bytes, fields: dict, pps: dict, chroma_idc: int) -> None:
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
def parameter_sets(chroma_idc: int, height: int, width: int, header: bytes) -> bytes:
    """Receiver side: VPS + SPS as Annex-B, from the picture size and hevc_header."""
    fields = read_hevc_header(header)
    return (_x265.START_CODE + _build_vps(chroma_idc) + _x265.START_CODE
            + _build_sps(chroma_idc, height, width, fields))


