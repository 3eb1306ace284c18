"""The one protocol every image link implements for a sweep.

A sweep evaluates a scheme on the same images at many SNRs. The expensive part that
does not depend on the SNR (a codec at its byte budget, a learned source encoder) runs
once per group of points, the rest once per point::

    state = link.encode(images)                              # once per (scheme, CBR, channel)
    x_hat, info = link.reconstruct(state, snr_db, channel)   # once per SNR

``images`` are ``[n, H, W, 3]`` float32 in [0, 1]; ``x_hat`` has the same shape (NumPy);
``info`` is a dict of per-image NumPy arrays with at least ``decoded`` ``[n]`` bool for
chains that can fail (CRC, codec). ``channel`` names the channel of the point
(``"awgn"``, ``"rayleigh"``, a MIMO model such as ``"cdl-a"``): learned links serve
several channels with one set of weights, digital chains are built for one channel and
raise ``ValueError`` for another. Implemented by the learned links of
:mod:`sem_sionna.links.split` and by every :class:`~sem_sionna.links.base.CodecChain`
(:class:`~sem_sionna.links.DigitalLink`, :class:`~sem_sionna.links.DigitalOracle`,
:class:`~sem_sionna.links.CapacityBound`).
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

__all__ = ["SweepLink"]


@runtime_checkable
class SweepLink(Protocol):
    """``encode(images) -> state`` once, ``reconstruct(state, snr_db, channel)`` per SNR."""

    def encode(self, images: np.ndarray) -> Any:
        ...

    def reconstruct(self, state: Any, snr_db: float,
                    channel: str | None = None) -> tuple[np.ndarray, Mapping[str, Any]]:
        ...
