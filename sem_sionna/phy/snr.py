"""SNR <-> noise-variance conversions (unit total transmit power per channel use)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from sionna.phy.utils import ebnodb2no as _sionna_ebnodb2no

from sem_sionna.utils.scalars import is_tensor

__all__ = ["snrdb2no", "no2snrdb", "ebnodb2no"]


def snrdb2no(snr_db):
    """Complex noise variance for unit transmit power: ``no = 10**(-snr_db/10)``.

    Input
    -----
    snr_db : float or tensor -- SNR in dB (total transmit power 1 per channel use).

    Output
    ------
    no : same type, float32 -- linear noise variance per complex receive sample.
    """
    if is_tensor(snr_db):
        return tf.pow(10.0, -tf.cast(snr_db, tf.float32) / 10.0)
    return float(10.0 ** (-np.asarray(snr_db, dtype=np.float64) / 10.0)) \
        if np.ndim(snr_db) == 0 else 10.0 ** (-np.asarray(snr_db, dtype=np.float64) / 10.0)


def no2snrdb(no):
    """Inverse of :func:`snrdb2no`: ``snr_db = -10 log10(no)``.

    Input
    -----
    no : float or tensor -- linear noise variance per complex receive sample, > 0.

    Output
    ------
    snr_db : same type, float32 -- SNR in dB.
    """
    if is_tensor(no):
        return -10.0 * tf.math.log(tf.cast(no, tf.float32)) / tf.math.log(10.0)
    value = -10.0 * np.log10(np.asarray(no, dtype=np.float64))
    return float(value) if np.ndim(value) == 0 else value


def ebnodb2no(ebno_db, num_bits_per_symbol: int, coderate: float):
    """Sionna's :func:`sionna.phy.utils.ebnodb2no` (no resource grid): ``no`` for an Eb/N0 in dB."""
    return _sionna_ebnodb2no(ebno_db, num_bits_per_symbol, coderate)
