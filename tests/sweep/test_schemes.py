"""ImageSweep / DigitalScheme / LearnedScheme: metrics, failures, NaN detection."""
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

    def prepare(self, images, channel):
        self.prepared += 1
        return images

    def evaluate(self, state, images, snr_db, channel):
        x_hat = np.clip(state + 10 ** (-snr_db / 20) * 0.1, 0, 1)
        if self.nan:
            x_hat = x_hat * np.nan
        return x_hat, {"decoded": np.array([True, False])}


def test_image_sweep_metrics_and_examples():
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    scheme = _Noisy()
    evaluator = sweep.ImageSweep({("fake", 0.5): scheme}, images,
                                 task_metrics={"accuracy": lambda x, x_hat: 0.75})
    state = evaluator.prepare({"scheme": "fake", "cbr": 0.5, "channel": "awgn"})
    low = evaluator.evaluate({"scheme": "fake", "cbr": 0.5, "channel": "awgn", "snr_db": 0.0},
                             state)
    high = evaluator.evaluate({"scheme": "fake", "cbr": 0.5, "channel": "awgn",
                               "snr_db": 20.0}, state)
    assert high["psnr"] > low["psnr"] and low["fail_rate"] == 0.5
    assert low["n_images"] == 2 and low["accuracy"] == 0.75
    examples = sweep.reconstruct_examples({"fake": scheme}, images, 20.0, "awgn")
    assert examples["fake"].shape == images.shape


def test_non_finite_reconstruction_is_a_numerical_error():
    images = np.zeros((2, 8, 8, 3), np.float32)
    evaluator = sweep.ImageSweep({("bad", 1.0): _Noisy(nan=True)}, images)
    point = {"scheme": "bad", "cbr": 1.0, "channel": "awgn", "snr_db": 3.0}
    with pytest.raises(utils.NumericalError, match="bad.*3.0"):
        evaluator.evaluate(point, evaluator.prepare(point))


def test_digital_scheme_runs_the_digital_link():
    images = embedded_patches(size=32, split="test", n=2, seed=0)  # noise would not fit
    scheme = sweep.DigitalScheme({"awgn": DigitalLink("hevc", 256, 4, 0.5)})
    state = scheme.prepare(images, "awgn")
    x_hat, info = scheme.evaluate(state, images, 30.0, "awgn")
    assert x_hat.shape == images.shape and info["decoded"].all()
    with pytest.raises(ValueError, match="rayleigh"):
        scheme.prepare(images, "rayleigh")
