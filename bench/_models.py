"""Learned layers the benchmarks share, built at the quick profile's sizes (32x32 images).

Imported by the scripts of this folder (``python bench/<script>.py`` puts it on the path).
"""
from __future__ import annotations

import tensorflow as tf

from sem_sionna import nets

NUM_BITS, NUM_SYMBOLS, FILTERS = 512, 128, 32
#: S0 importance mapper/demapper of the quick profile.
S0_KW = {"num_tokens": 32, "embed_dim": 64, "num_transformer_blocks": 1}


def source_pair() -> tuple[nets.SourceMapper, nets.SourceDemapper]:
    """S1's conv source mapper/demapper (``NUM_BITS`` bits, ``FILTERS`` filters), built."""
    f = nets.SourceMapper(NUM_BITS, filters=FILTERS, head="conv")
    g = nets.SourceDemapper(NUM_BITS, image_size=(32, 32), filters=FILTERS, head="conv")
    g(tf.round(f(tf.zeros([1, 32, 32, 3]))))
    return f, g


def channel_pair() -> tuple[nets.ChannelMapper, nets.ChannelDemapper]:
    """S1's channel mapper/demapper (``NUM_BITS`` bits <-> ``NUM_SYMBOLS`` symbols), built."""
    h = nets.ChannelMapper(NUM_BITS, NUM_SYMBOLS)
    q = nets.ChannelDemapper(NUM_SYMBOLS, NUM_BITS)
    q(h(tf.zeros([1, NUM_BITS])))
    return h, q


def importance_pair(eps) -> tuple[nets.ImportanceChannelMapper, nets.ImportanceChannelDemapper]:
    """S0's importance-aware channel mapper/demapper (:data:`S0_KW`), built with ``eps``."""
    h = nets.ImportanceChannelMapper(NUM_BITS, NUM_SYMBOLS, **S0_KW)
    q = nets.ImportanceChannelDemapper(NUM_SYMBOLS, NUM_BITS, **S0_KW)
    q(h(tf.zeros([1, NUM_BITS]), eps, tf.zeros([1])), eps, tf.zeros([1]))
    return h, q
