"""Importance-aware channel mapper/demapper of S0 (IAN, SE block, SNR modulation)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.nets.importance import (ImportanceChannelDemapper, ImportanceChannelMapper,
                                        SNRModulation)

M, K, T = 256, 32, 16
SMALL = dict(num_tokens=T, embed_dim=16, num_transformer_blocks=1, num_heads=2,
             modulation_layers=2)


def _bits(b=3, seed=0):
    return tf.cast(tf.random.stateless_uniform([b, M], seed=[seed, 5]) < 0.5, tf.float32)


def _eps(seed=1):
    return tf.random.stateless_uniform([M], seed=[seed, 6], maxval=0.5)


def test_snr_modulation_scales_features_by_snr():
    layer = SNRModulation(num_layers=3)
    x = tf.random.stateless_normal([2, 5, 8], seed=[1, 2])
    y0, y1 = layer(x, 0.0), layer(x, 20.0)
    assert y0.shape == x.shape
    ratio = (y0 / x).numpy()
    assert np.all((ratio > 0) & (ratio < 1))
    assert not np.allclose(y0, y1)
    # a per-example SNR gives each example the modulation of its own SNR
    y = layer(x, tf.constant([0.0, 20.0]))
    np.testing.assert_allclose(y[0], y0[0], rtol=1e-5)
    np.testing.assert_allclose(y[1], y1[1], rtol=1e-5)


def test_mapper_shapes_power_and_demapper_probs():
    h = ImportanceChannelMapper(M, K, **SMALL)
    q = ImportanceChannelDemapper(K, M, **SMALL)
    eps = _eps()
    z = h(_bits(), eps, 10.0)
    assert z.shape == (3, K) and z.dtype == tf.complex64
    np.testing.assert_allclose(np.mean(np.abs(z.numpy()) ** 2, -1), 1.0, rtol=1e-5)
    p = q(z, eps, tf.constant([5.0, 10.0, 15.0]))
    assert p.shape == (3, M) and np.all((p.numpy() > 0) & (p.numpy() < 1))
    # per-example eps [b, M] is accepted as well
    assert h(_bits(), tf.tile(eps[None], [3, 1]), 10.0).shape == (3, K)


def test_interface_attention_uses_importance_only_when_enabled():
    u = _bits()
    for flag in (True, False):
        h = ImportanceChannelMapper(M, K, interface_attention=flag, **SMALL)
        z_a = h(u, tf.zeros([M]), 10.0)
        z_b = h(u, tf.fill([M], 0.4), 10.0)
        assert (not np.allclose(z_a, z_b)) is flag
    q = ImportanceChannelDemapper(K, M, se_block=False, **SMALL)
    y = h(u, tf.zeros([M]), 10.0)
    assert not np.allclose(q(y, tf.zeros([M]), 10.0), q(y, tf.fill([M], 0.4), 10.0))


def test_importance_mappers_reject_bad_arguments():
    with pytest.raises(ValueError, match="num_tokens"):
        ImportanceChannelMapper(250, K, num_tokens=16)
    with pytest.raises(ValueError, match="num_bits=256"):
        ImportanceChannelMapper(M, K, **SMALL)(tf.zeros([2, 128]), tf.zeros([128]), 1.0)
    with pytest.raises(ValueError, match="eps"):
        ImportanceChannelMapper(M, K, **SMALL)(_bits(), tf.zeros([128]), 1.0)
    with pytest.raises(TypeError, match="complex"):
        ImportanceChannelDemapper(K, M, **SMALL)(tf.zeros([2, K]), _eps(), 1.0)


def test_importance_pair_modes_and_save_load(tmp_path):
    h = ImportanceChannelMapper(M, K, **SMALL)
    q = ImportanceChannelDemapper(K, M, **SMALL)
    u, eps, snr = _bits(2), _eps(), tf.constant([3.0, 12.0])
    assert_modes_agree(lambda u, e, s: q(h(u, e, s), e, s), u, eps, snr, atol=1e-5)

    bits, e_in, s_in = keras.Input((M,)), keras.Input((M,)), keras.Input(())
    z = h(bits, e_in, s_in)
    model = keras.Model([bits, e_in, s_in], [z, q(z, e_in, s_in)])
    loaded = roundtrip(model, tmp_path)
    e2 = tf.tile(eps[None], [2, 1])
    for a, b in zip(model([u, e2, snr]), loaded([u, e2, snr])):
        np.testing.assert_array_equal(a, b)
    assert loaded.layers[3].get_config()["num_tokens"] == T
