"""capacity_bits and CapacityBound: the ideal-capacity bound of separate coding."""
import numpy as np
import pytest

from sem_sionna.data import embedded_patches
from sem_sionna.links import DigitalLink
from sem_sionna.links.capacity import CapacityBound, capacity_bits
from sem_sionna.metrics import psnr
from sem_sionna.phy.mimo import MIMOChannel


@pytest.fixture(scope="module")
def images():
    return embedded_patches(size=32, split="test", n=4, seed=0)


def reference_mimo_capacity(h, snr, num_streams):
    """Water-filling by bisection on the water level, from NumPy's SVD."""
    out = []
    for hb in h:
        g = np.linalg.svd(hb, compute_uv=False)[:num_streams] ** 2 * snr
        lo, hi = 0.0, 1.0 + np.sum(1.0 / g)
        for _ in range(200):
            mu = (lo + hi) / 2
            lo, hi = (mu, hi) if np.sum(np.maximum(mu - 1.0 / g, 0.0)) < 1.0 else (lo, mu)
        p = np.maximum(mu - 1.0 / g, 0.0)
        out.append(np.sum(np.log2(1.0 + p * g)))
    return np.array(out)


def test_awgn_closed_form():
    c = capacity_bits(np.array([-10.0, 0.0, 10.0, 20.0]))
    np.testing.assert_allclose(c, np.log2(1.0 + np.array([0.1, 1.0, 10.0, 100.0])), rtol=1e-12)
    assert capacity_bits(0.0) == pytest.approx(1.0)


def test_rayleigh_with_known_h():
    h = np.array([1.0, 0.5j, 2.0 - 1.0j, 0.0])
    c = capacity_bits(10.0, "rayleigh", h)
    np.testing.assert_allclose(c, np.log2(1.0 + np.abs(h) ** 2 * 10.0), rtol=1e-6)
    np.testing.assert_allclose(capacity_bits(10.0, "rayleigh", h[:, None, None]), c)


@pytest.mark.parametrize("nr, nt, snr_db", [(2, 2, -5.0), (2, 2, 15.0), (4, 2, 5.0),
                                            (2, 4, 0.0)])
def test_mimo_matches_numpy_water_filling(rng, nr, nt, snr_db):
    h = (rng.normal(size=(16, nr, nt)) + 1j * rng.normal(size=(16, nr, nt))) / np.sqrt(2)
    c = capacity_bits(snr_db, MIMOChannel(nt, nr), h)
    ref = reference_mimo_capacity(h, 10 ** (snr_db / 10), min(nr, nt))
    np.testing.assert_allclose(c, ref, rtol=1e-5)
    # one stream: beamforming on the strongest eigen-channel
    sigma_max = np.linalg.svd(h, compute_uv=False)[:, 0]
    np.testing.assert_allclose(capacity_bits(snr_db, "mimo", h, num_streams=1),
                               np.log2(1 + sigma_max ** 2 * 10 ** (snr_db / 10)), rtol=1e-6)
    # more eigen-channels never lower the water-filling capacity
    assert np.all(c >= capacity_bits(snr_db, "mimo", h, num_streams=1) - 1e-9)


def test_bound_is_monotone_and_above_the_digital_link(images):
    snrs = [-5.0, 0.0, 5.0, 10.0, 20.0]
    bound = CapacityBound("hevc", 256)
    link = DigitalLink("hevc", 256, 4, 0.5, seed=1, jit_compile=False)
    encoded = link.encode(images)
    bound_psnr, budgets = [], []
    for snr in snrs:
        x_bound, info = bound.run(images, snr)
        np.testing.assert_array_equal(info["budget_bytes"],
                                      np.floor(256 * np.log2(1 + 10 ** (snr / 10)) / 8))
        assert np.all(info["payload_bytes"] <= info["budget_bytes"])
        budgets.append(info["budget_bytes"])
        bound_psnr.append(float(np.mean(psnr(images, x_bound))))
        x_link, _ = link.decode(encoded, *link.transmit(encoded["bits"], snr))
        assert bound_psnr[-1] >= float(np.mean(psnr(images, x_link))) - 1e-4
    assert np.all(np.diff(budgets, axis=0) >= 0)
    assert np.all(np.diff(bound_psnr) >= -1e-4)
    assert bound_psnr[-1] > bound_psnr[0] + 10.0


@pytest.mark.parametrize("channel", ["rayleigh", "mimo"])
def test_fading_bound_uses_seeded_channel_draws(images, channel):
    if channel == "rayleigh":
        bound = CapacityBound("webp", 256, "rayleigh", seed=5)
        h = MIMOChannel(1, 1, "rayleigh", seed=5).generate(len(images))[0].numpy()
        expected = np.log2(1.0 + np.abs(h[:, 0, 0]) ** 2 * 10.0)
    else:
        bound = CapacityBound("webp", 256, MIMOChannel(2, 2, seed=6))
        h = MIMOChannel(2, 2, seed=6).generate(len(images))[0].numpy()
        expected = capacity_bits(10.0, "mimo", h)
    _, info = bound.run(images, 10.0)
    np.testing.assert_allclose(info["capacity"], expected, rtol=1e-5)
    slack = 256 * expected / 8 - info["budget_bytes"]  # floor of N C / 8 bytes
    assert np.all(slack > -1e-3) and np.all(slack < 1 + 1e-3)


def test_nothing_fits_is_a_counted_fallback(images):
    fallback = np.full(images.shape[1:], 0.25, np.float32)
    x_hat, info = CapacityBound("hevc", 256, fallback=fallback).run(images, -20.0)
    assert not info["decoded"].any() and np.all(info["quality"] == -1)
    np.testing.assert_array_equal(x_hat, np.broadcast_to(fallback, images.shape))


def test_keras_call_and_config(images):
    bound = CapacityBound("hevc", 256, channel=MIMOChannel(2, 2, seed=1), num_streams=1)
    x_hat, info = bound(images, 10.0, return_info=True)
    assert x_hat.shape == images.shape and info["decoded"].numpy().all()
    clone = CapacityBound.from_config(bound.get_config())
    assert clone.get_config() == bound.get_config()


def test_bad_arguments(images):
    with pytest.raises(ValueError, match="channel"):
        capacity_bits(10.0, "rician")
    with pytest.raises(ValueError, match="`h`"):
        capacity_bits(10.0, "rayleigh")
    with pytest.raises(ValueError, match="`h`"):
        capacity_bits(10.0, MIMOChannel(2, 2), np.ones((3, 2, 4)))
    with pytest.raises(ValueError, match="num_streams"):
        capacity_bits(10.0, "mimo", np.ones((3, 2, 2)), num_streams=3)
    with pytest.raises(ValueError, match="channel"):
        CapacityBound("hevc", 256, channel="rician")
    with pytest.raises(ValueError, match="num_channel_uses"):
        CapacityBound("hevc", 0)
    with pytest.raises(ValueError, match="num_streams"):
        CapacityBound("hevc", 256, channel=MIMOChannel(2, 2), num_streams=3)
    with pytest.raises(ValueError, match="images"):
        CapacityBound("hevc", 256).run(images[0], 10.0)
