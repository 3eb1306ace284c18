"""Helpers of the codec tests."""
import numpy as np


def psnr(x, y):
    """PSNR in dB of two images in [0, 1]."""
    mse = np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2)
    return np.inf if mse == 0 else 10.0 * np.log10(1.0 / mse)
