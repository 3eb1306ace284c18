"""Bad input across the public API: a clear ValueError/TypeError naming the argument.

Never a traceback from deep inside TensorFlow, never a silent NaN. CLI errors exit with
code 2 and one clear line. Scenario-specific CLI cases live in tests/scenarios/.
"""
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sem_sionna import codecs, data, links, phy, sweep

X4 = tf.ones([2, 4], tf.complex64)
MIMO_X = tf.ones([2, 2, 4], tf.complex64)
H = tf.eye(2, batch_shape=[2], dtype=tf.complex64)

LAYER_CASES = {
    # name: (callable, exception, text the message must contain)
    "qam_mapper_odd_m": (lambda: phy.QAMMapper(3), ValueError, "num_bits_per_symbol"),
    "qam_mapper_zero_m": (lambda: phy.QAMMapper(0), ValueError, "num_bits_per_symbol"),
    "qam_mapper_negative_m": (lambda: phy.QAMDemapper(-2), ValueError, "num_bits_per_symbol"),
    "qam_mapper_float_m": (lambda: phy.QAMMapper(2.5), ValueError, "num_bits_per_symbol"),
    "qam_mapper_last_dim": (lambda: phy.QAMMapper(4)(tf.zeros([2, 6])), ValueError, "bits"),
    "qam_mapper_complex_bits": (lambda: phy.QAMMapper(2)(X4), TypeError, "bits"),
    "demapper_real_y": (lambda: phy.QAMDemapper(2)(tf.zeros([2, 4]), 0.1), TypeError, "`y`"),
    "demapper_negative_no": (lambda: phy.QAMDemapper(2)(X4, -1.0), ValueError, "`no`"),
    "demapper_nan_no": (lambda: phy.QAMDemapper(2)(X4, float("nan")), ValueError, "`no`"),
    "awgn_inf_no": (lambda: phy.AWGN()(X4, float("inf")), ValueError, "`no`"),
    "awgn_real_x": (lambda: phy.AWGN()(tf.zeros([2, 4]), 0.1), TypeError, "`x`"),
    "bsc_pb_above_one": (lambda: phy.BSC()(tf.zeros([4]), 1.2), ValueError, "`pb`"),
    "bsc_negative_pb": (lambda: phy.BSC()(tf.zeros([4]), -0.1), ValueError, "`pb`"),
    "ldpc_k_ge_n": (lambda: phy.LDPCEncoder(512, 512), ValueError,
                    "`k` must be smaller than `n`"),
    "ldpc_unsupported_kn": (lambda: phy.LDPCEncoder(100, 2000), ValueError, "(k, n)"),
    "ldpc_k_too_large": (lambda: phy.LDPCEncoder(9000, 18000), ValueError, "(k, n)"),
    "ldpc_wrong_length": (lambda: phy.LDPCEncoder(64, 128)(tf.zeros([2, 60])), ValueError,
                          "bits"),
    "ldpc_decoder_not_encoder": (lambda: phy.LDPCDecoder(42), TypeError, "encoder"),
    "tb_rate_above_one": (lambda: phy.TBEncoder(100, 1024, 1.1, 2), ValueError,
                          "target_coderate"),
    "mimo_unknown_model": (lambda: phy.MIMOChannel(2, 2, model="umi"), ValueError, "model"),
    "mimo_negative_csi_error": (lambda: phy.MIMOChannel(2, 2, csi_error_var=-0.1), ValueError,
                                "csi_error_var"),
    "mimo_zero_antennas": (lambda: phy.MIMOChannel(0, 2), ValueError, "num_tx_ant"),
    "mimo_real_x": (lambda: phy.MIMOChannel(2, 2)(tf.ones([2, 2, 4]), 0.1), TypeError,
                    "`x` must be complex"),
    "mimo_wrong_tx_dim": (lambda: phy.MIMOChannel(2, 2)(tf.ones([2, 3, 4], tf.complex64), 0.1),
                          ValueError, "`x` must have shape [batch, num_tx_ant=2, s]"),
    "mimo_wrong_rank": (lambda: phy.MIMOChannel(2, 2)(X4, 0.1), ValueError,
                        "`x` must have rank exactly 3"),
    "mimo_negative_no": (lambda: phy.MIMOChannel(2, 2)(MIMO_X, -0.5), ValueError,
                         "`no` (noise variance) must be >= 0"),
    "svd_too_many_streams": (lambda: phy.SVDPrecoder(3)(tf.ones([2, 3, 4], tf.complex64), H,
                                                        0.1), ValueError, "`num_streams`"),
    "svd_unknown_power_allocation": (lambda: phy.SVDPrecoder(2, "greedy"), ValueError,
                                     "power_allocation"),
    "svd_real_streams": (lambda: phy.SVDPrecoder(2)(tf.ones([2, 2, 4]), H, 0.1), TypeError,
                         "`s` must be complex"),
    "codec_unknown": (lambda: codecs.get("bpgx"), ValueError, "'hevc'"),
    "codec_budget_zero": (lambda: codecs.get("jpeg").encode_to_budget(
        np.zeros((16, 16, 3), np.float32), 0), ValueError, "max_bytes"),
    "codec_grayscale_image": (lambda: codecs.get("webp").encode(np.zeros((16, 16), np.float32),
                                                                50), ValueError, "image"),
    "codec_corrupt_bytes": (lambda: codecs.get("hevc").decode(b"\x01garbage"), codecs.DecodeError,
                            "invalid format byte 0x01"),
    "digital_link_bad_channel": (lambda: links.DigitalLink("hevc", 128, 4, 0.5, channel="rice"),
                                 ValueError, "channel"),
    "digital_link_streams": (lambda: links.DigitalLink("hevc", 128, 4, 0.5,
                                                       channel=phy.MIMOChannel(2, 1),
                                                       num_streams=2), ValueError,
                             "num_streams"),
    "data_unknown_set": (lambda: data.load("imagenet"), ValueError, "embedded"),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_bad_argument_raises_clear_error(case):
    fn, exc, text = LAYER_CASES[case]
    with pytest.raises(exc) as info:
        fn()
    assert text in str(info.value)
    assert not isinstance(info.value, tf.errors.OpError)  # not an error from inside TF


def test_codec_corrupt_bytes_is_a_decode_error():
    with pytest.raises(codecs.DecodeError):
        codecs.get("jpeg").decode(b"\xff\xd8 truncated")


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.image_folder(tmp_path / "nowhere", size=32)
    with pytest.raises(ValueError, match="no image"):
        data.image_folder(tmp_path, size=32)


def test_corrupt_and_truncated_image_files(tmp_path):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "good.png")
    good = (tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="cut.png"):
        data.image_folder(tmp_path, size=32)
    (tmp_path / "cut.png").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="cut.png"):
        data.image_folder(tmp_path, size=32)


def test_grayscale_and_wrong_size_images_are_converted(tmp_path):
    Image.fromarray(np.full((50, 70), 128, np.uint8)).save(tmp_path / "gray.png")
    images = data.image_folder(tmp_path, size=32)
    assert images.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(images[..., 0], images[..., 2])


@pytest.mark.parametrize("argv,text", [
    (["--profile", "huge"], "--profile"),
    (["--shard", "3/2"], "--shard"),
    (["--shard", "a/b"], "--shard"),
    (["--seed", "-1"], "--seed"),
])
def test_cli_errors_exit_2_with_one_line(argv, text, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        sweep.parse_args(argv + ["--out", str(tmp_path / "out")], name="x")
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert text in err[-1] and "Traceback" not in "\n".join(err)


def test_cli_unwritable_out_leaves_existing_files_alone(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    with pytest.raises(SystemExit) as info:
        sweep.parse_args(["--out", str(blocker / "sub")], name="x")
    assert info.value.code == 2 and "--out" in capsys.readouterr().err
    assert blocker.read_text() == "keep me"
