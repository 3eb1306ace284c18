"""The (Q, code rate) pair of a CBR point, chosen on validation images (S3, Sec. IV).

A CBR point of the chain is a block of ``n`` channel uses per stream. At LDPC rate ``R``
the block carries ``B(n, R)`` payload bytes; the pair for ``R`` is the finest ``Q`` whose
budget (the ``budget_quantile`` of its training payloads, ``load_data``) fits ``B(n, R)``.
:func:`select_pair` evaluates every candidate on the validation images and keeps the
best; the test images are only used afterwards, with the chosen pair.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from sem_sionna.links.framing import LENGTH_BYTES
from sem_sionna.links.transport_chain import TransportChain

__all__ = ["LDPC_RATES", "payload_capacity", "pair_candidates", "select_pair"]

#: LDPC code rates the pairs are drawn from: 5G base graph 2 goes down to 1/5 (the
#: paper's 1/6 is below what 5G LDPC allows), up to 2/3.
LDPC_RATES = (0.2, 1.0 / 3.0, 0.5, 2.0 / 3.0)


def payload_capacity(num_channel_uses: int, coderate: float, num_bits_per_symbol: int = 2,
                     num_streams: int = 2) -> int:
    """Payload bytes of a block of ``num_channel_uses`` per stream at ``coderate``
    (0 when 38.214 has no transport block for it)."""
    try:
        bits = TransportChain(num_channel_uses * num_streams, num_bits_per_symbol, coderate,
                              "awgn").payload_bits
    except ValueError:
        return 0
    return max(0, bits // 8 - LENGTH_BYTES)


def pair_candidates(num_channel_uses: int, budgets: Mapping[int, int],
                    coderates: Sequence[float] = LDPC_RATES, num_bits_per_symbol: int = 2,
                    num_streams: int = 2) -> list[tuple[int, float]]:
    """``[(Q, R)]``: for every rate ``R`` the finest ``Q`` (lowest QP) of ``budgets``
    (``{Q: payload bytes}``) that fits the block; rates that fit no ``Q`` are left out."""
    out = []
    for rate in coderates:
        cap = payload_capacity(num_channel_uses, rate, num_bits_per_symbol, num_streams)
        fitting = [q for q, b in budgets.items() if b <= cap]
        if fitting:
            out.append((int(min(fitting)), float(rate)))
    return out


def select_pair(score: Callable[[tuple[int, float], np.ndarray], float],
                candidates: Sequence[tuple[int, float]], val_images: np.ndarray
                ) -> tuple[tuple[int, float], dict]:
    """The candidate with the highest ``score(candidate, val_images)``; ties go to the
    first. Output: ``(pair, {pair: score})``."""
    if not candidates:
        raise ValueError("`candidates` is empty: no (Q, rate) pair fits the block")
    scores = {tuple(c): float(score(tuple(c), val_images)) for c in candidates}
    best = max(scores, key=lambda c: (scores[c], -list(scores).index(c)))
    return best, scores
