"""DigitalOracle: the best (code rate, QAM order) per SNR over a set of DigitalLinks."""
import numpy as np
import pytest

from sem_sionna.data import embedded_patches
from sem_sionna.links import DigitalLink
from sem_sionna.links.oracle import DEFAULT_MCS, DigitalOracle
from sem_sionna.metrics import psnr
from sem_sionna.phy.mimo import MIMOChannel

MCS = [(0.5, 2), (0.5, 4), (0.75, 4)]
K = 256  # channel uses: budgets of 28, 62 and 92 codec bytes


@pytest.fixture(scope="module")
def images():
    return embedded_patches(size=32, split="test", n=4, seed=0)


@pytest.fixture(scope="module")
def oracle():
    return DigitalOracle("hevc", K, mcs=MCS, select="genie", seed=3, jit_compile=False)


def test_default_table_spans_qpsk_to_64qam():
    orders = {m for _, m in DEFAULT_MCS}
    assert orders == {2, 4, 6}
    assert all(0.25 <= r <= 0.75 for r, _ in DEFAULT_MCS)


def test_choice_matches_separate_links_and_is_the_best(images):
    # 10 dB: 16-QAM 1/2 decodes everything, 16-QAM 3/4 only part of the batch
    oracle = DigitalOracle("hevc", K, mcs=MCS, select="genie", seed=3, jit_compile=False)
    x_hat, info = oracle.run(images, 10.0)
    means = {}
    for coderate, m in MCS:
        link = DigitalLink("hevc", K, m, coderate, seed=3, jit_compile=False)
        x_link, info_link = link.run(images, 10.0)
        means[(coderate, m)] = float(np.mean(psnr(images, x_link)))
        assert info["mcs_metric"][(coderate, m)] == pytest.approx(means[(coderate, m)],
                                                                  abs=1e-4)
        assert info["mcs_fail_rate"][(coderate, m)] == pytest.approx(
            1.0 - info_link["decoded"].mean())
        if (coderate, m) == info["mcs"]:
            np.testing.assert_array_equal(x_hat, x_link)
            np.testing.assert_array_equal(info["decoded"], info_link["decoded"])
    chosen = float(np.mean(psnr(images, x_hat)))
    assert all(chosen >= v - 1e-4 for v in means.values())
    assert info["mcs"] == max(means, key=means.get)
    assert len(set(np.round(list(means.values()), 3))) == 3  # the choice was not a tie


def test_high_snr_picks_high_rate_low_snr_picks_robust(images, oracle):
    encoded = oracle.encode(images)
    assert oracle.evaluate(encoded, 30.0)[1]["mcs"] == (0.75, 4)
    _, low = oracle.evaluate(encoded, 3.0)
    assert low["mcs"] == (0.5, 2)
    assert low["mcs_fail_rate"][(0.5, 4)] == 1.0 and low["fail_rate"] < 1.0


def test_ms_ssim_metric(images, oracle):
    _, info = oracle.evaluate(oracle.encode(images), 30.0, metric="ms_ssim")
    assert all(0.0 <= v <= 1.0 for v in info["mcs_metric"].values())
    assert info["mcs"] == max(info["mcs_metric"], key=info["mcs_metric"].get)


def test_mcs_without_payload_is_skipped(images):
    # at 64 channel uses: QPSK 1/4 has no transport block, QPSK 1/2 leaves 4 bytes
    # (no HEVC image fits), 64-QAM 3/4 leaves 32 bytes
    oracle = DigitalOracle("hevc", 64, mcs=[(0.25, 2), (0.5, 2), (0.75, 6)], select="genie",
                           jit_compile=False)
    assert oracle.skipped_mcs == ((0.25, 2),)
    assert oracle.mcs == ((0.5, 2), (0.75, 6))
    _, info = oracle.run(images, 30.0)
    assert np.isnan(info["mcs_metric"][(0.5, 2)]) and info["mcs"] == (0.75, 6)


def test_nothing_fits_anywhere_gives_the_fallback(images):
    fallback = np.full(images.shape[1:], 0.25, np.float32)
    oracle = DigitalOracle("hevc", 64, mcs=[(0.5, 2)], select="genie", fallback=fallback, jit_compile=False)
    x_hat, info = oracle.run(images, 30.0)
    assert info["mcs"] is None and info["fail_rate"] == 1.0
    assert not info["decoded"].any()
    np.testing.assert_array_equal(x_hat, np.broadcast_to(fallback, images.shape))


def test_keras_call(images, oracle):
    x_hat, info = oracle(images, 30.0, return_info=True)
    assert x_hat.shape == images.shape
    np.testing.assert_array_equal(info["mcs_index"].numpy(), oracle.mcs.index((0.75, 4)))
    assert info["decoded"].numpy().all()


def test_config_roundtrip():
    oracle = DigitalOracle("hevc", K, mcs=[(0.5, 2), (0.5, 4)],
                           channel=MIMOChannel(2, 2, seed=2), metric="ms_ssim",
                           seed=4, num_iter=10, jit_compile=False)
    clone = DigitalOracle.from_config(oracle.get_config())
    assert clone.get_config() == oracle.get_config()
    assert clone.max_payload_bytes == oracle.max_payload_bytes
    assert all(link.num_streams == 2 and link.num_iter == 10 for link in clone.links)


def test_bad_arguments(images, oracle):
    with pytest.raises(ValueError, match="channel"):
        DigitalOracle("hevc", K, mcs=MCS, select="genie", channel="rician")
    with pytest.raises(ValueError, match="num_channel_uses"):
        DigitalOracle("hevc", 0, mcs=MCS)
    with pytest.raises(ValueError, match="num_channel_uses"):
        DigitalOracle("hevc", 8, mcs=[(0.25, 2)])  # nothing carries a payload
    with pytest.raises(ValueError, match="mcs"):
        DigitalOracle("hevc", K, mcs=[(1.2, 2)], select="genie")
    with pytest.raises(ValueError, match="mcs"):
        DigitalOracle("hevc", K, mcs=[(0.5, 3)], select="genie")
    with pytest.raises(ValueError, match="mcs"):
        DigitalOracle("hevc", K, mcs=[(0.5, 2), (0.5, 2)], select="genie")
    with pytest.raises(ValueError, match="metric"):
        DigitalOracle("hevc", K, mcs=MCS, select="genie", metric="ssim")
    with pytest.raises(ValueError, match="num_streams"):
        DigitalOracle("hevc", K, mcs=MCS, select="genie", channel=MIMOChannel(2, 2), num_streams=3)
    with pytest.raises(ValueError, match="snr_db"):
        oracle.evaluate(oracle.encode(images), np.array([1.0, 2.0, 3.0, 4.0]))


def test_validation_selection_is_fixed_before_test_images(images):
    """The default picks the MCS per SNR on validation images only; test images do not
    change it, and the choice is reported."""
    val = embedded_patches(size=32, split="train", n=4, seed=1)
    oracle = DigitalOracle("hevc", K, mcs=MCS, seed=3, jit_compile=False)
    assert oracle.select == "validation"
    with pytest.raises(ValueError, match="select_mcs"):
        oracle.run(images, 30.0)
    chosen = oracle.select_mcs(val, [3.0, 30.0])
    assert set(chosen) == {3.0, 30.0}
    before = dict(oracle.selection)
    encoded = oracle.encode(images)
    for snr_db in (3.0, 30.0):
        _, info = oracle.evaluate(encoded, snr_db)
        assert info["mcs"] == chosen[snr_db]
        assert (info["coderate"], info["num_bits_per_symbol"]) == chosen[snr_db]
        assert set(k for k, v in info["mcs_metric"].items()) == {chosen[snr_db]}
    # evaluating (or a genie run) on the test images leaves the choice unchanged
    genie = DigitalOracle("hevc", K, mcs=MCS, select="genie", seed=3, jit_compile=False)
    genie.evaluate(genie.encode(images), 30.0)
    assert oracle.selection == before
    # the choice depends on the validation set: it equals the genie's choice on it
    _, info = genie.evaluate(genie.encode(val), 30.0)
    assert info["mcs"] == chosen[30.0]
    with pytest.raises(ValueError, match="select"):
        DigitalOracle("hevc", K, mcs=MCS, select="test")
