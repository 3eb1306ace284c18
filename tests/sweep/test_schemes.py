"""ImageSweep over SweepLinks: metrics, failures, NaN detection."""
import numpy as np
import pytest

from sem_sionna import sweep, utils
from sem_sionna.data import embedded_patches
from sem_sionna.links import DigitalLink


class _Noisy:
    """A fake scheme: x_hat = images + noise scaled by 10^(-snr/20)."""

    def __init__(self, nan=False):
        self.prepared = 0
        self.nan = nan

    def encode(self, images):
        self.prepared += 1
        return images

    def reconstruct(self, state, snr_db, channel=None):
        x_hat = np.clip(state + 10 ** (-snr_db / 20) * 0.1, 0, 1)
        if self.nan:
            x_hat = x_hat * np.nan
        return x_hat, {"decoded": np.array([True, False])}


def test_image_sweep_metrics_and_examples():
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    scheme = _Noisy()
    assert isinstance(scheme, sweep.SweepLink)
    evaluator = sweep.ImageSweep({("fake", 0.5, "awgn"): scheme}, images,
                                 task_metrics={"accuracy": lambda x, x_hat: 0.75})
    state = evaluator.prepare({"scheme": "fake", "cbr": 0.5, "channel": "awgn"})
    low = evaluator.evaluate({"scheme": "fake", "cbr": 0.5, "channel": "awgn", "snr_db": 0.0},
                             state)
    high = evaluator.evaluate({"scheme": "fake", "cbr": 0.5, "channel": "awgn",
                               "snr_db": 20.0}, state)
    # per-image values: the runner turns them into means with CIs
    assert low["psnr"].shape == (2,) and np.all(high["psnr"] > low["psnr"])
    np.testing.assert_array_equal(low["fail_rate"], [0.0, 1.0])
    assert low["accuracy"] == 0.75
    examples = sweep.reconstruct_examples({"fake": scheme}, images, 20.0, "awgn")
    assert examples["fake"].shape == images.shape


def test_non_finite_reconstruction_is_a_numerical_error():
    images = np.zeros((2, 8, 8, 3), np.float32)
    evaluator = sweep.ImageSweep({("bad", 1.0, "awgn"): _Noisy(nan=True)}, images)
    point = {"scheme": "bad", "cbr": 1.0, "channel": "awgn", "snr_db": 3.0}
    with pytest.raises(utils.NumericalError, match="bad.*3.0"):
        evaluator.evaluate(point, evaluator.prepare(point))


def test_digital_link_implements_the_sweep_protocol():
    images = embedded_patches(size=32, split="test", n=2, seed=0)  # noise would not fit
    link = DigitalLink("hevc", 256, 4, 0.5)
    assert isinstance(link, sweep.SweepLink)
    x_hat, info = link.reconstruct(link.encode(images), 30.0, "awgn")
    assert x_hat.shape == images.shape and info["decoded"].all()
    with pytest.raises(ValueError, match="rayleigh"):
        link.reconstruct(link.encode(images), 30.0, "rayleigh")


def test_runner_writes_means_cis_and_per_image_samples(tmp_path):
    """An ImageSweep through the runner: CSV means equal the per-image means, the CI is
    the t half-width, and per_image.npz holds the values the CSV summarises."""
    from scipy import stats

    from sem_sionna.metrics import PerImage

    images = np.random.default_rng(1).random((6, 32, 32, 3)).astype(np.float32)

    class _PerImageNoise(_Noisy):
        def reconstruct(self, state, snr_db, channel=None):
            scale = np.linspace(0.02, 0.2, len(state))[:, None, None, None]
            return np.clip(state + scale * 10 ** (-snr_db / 20), 0, 1), {
                "decoded": np.arange(len(state)) % 2 == 0}

    evaluator = sweep.ImageSweep({("fake", 0.5, "awgn"): _PerImageNoise()}, images)
    columns = sweep.with_ci95(["scheme", "channel", "cbr", "snr_db", "psnr", "ms_ssim",
                               "fail_rate", "n_images"], ["psnr", "ms_ssim", "fail_rate"])
    assert columns[4:7] == ["psnr", "psnr_ci95", "ms_ssim"]
    runner = sweep.SweepRunner(tmp_path, columns)
    rows = runner.run(sweep.grid(scheme=["fake"], channel=["awgn"], cbr=[0.5],
                                 snr_db=[0.0, 10.0]), evaluator.evaluate, evaluator.prepare)
    samples = PerImage.load(tmp_path / "per_image.npz")
    assert len(samples) == 2
    for row in rows:
        point = {k: row[k] for k in ("scheme", "channel", "cbr", "snr_db")}
        x = samples.get(point)["psnr"]
        assert row["n_images"] == 6
        np.testing.assert_allclose(row["psnr"], x.mean(), rtol=1e-5)
        half = stats.t.ppf(0.975, 5) * x.std(ddof=1) / np.sqrt(6)
        np.testing.assert_allclose(row["psnr_ci95"], half, rtol=1e-5)
        assert row["fail_rate"] == 0.5 and row["fail_rate_ci95"] > 0
    # a resumed run keeps the finished points' samples and adds nothing twice
    again = sweep.SweepRunner(tmp_path, columns, resume=True)
    again.run(sweep.grid(scheme=["fake"], channel=["awgn"], cbr=[0.5],
                         snr_db=[0.0, 10.0, 20.0]), evaluator.evaluate, evaluator.prepare)
    assert len(PerImage.load(tmp_path / "per_image.npz")) == 3


def test_non_finite_per_image_metric_is_a_failed_point(tmp_path):
    runner = sweep.SweepRunner(tmp_path, ["scheme", "channel", "cbr", "snr_db", "psnr"])
    rows = runner.run(sweep.grid(scheme=["a"], channel=["awgn"], cbr=[1.0], snr_db=[0.0, 1.0]),
                      lambda p, s: {"psnr": np.array([1.0, np.nan if p["snr_db"] else 2.0])})
    assert [r["snr_db"] for r in rows] == [0.0]
    assert len(runner.failures) == 1 and "non-finite" in runner.failures[0]["reason"]
