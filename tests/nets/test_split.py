"""Split DeepJSCC mappers (S1 Figs. 4-5) and the blocks they are built from."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.nets.blocks import (GDN, AttentionBlock, ResidualBlock,
                                    ResidualBlockUpsample, ResidualBlockWithStride, SEBlock,
                                    SubpixelConv)
from sem_sionna.nets.transforms import PowerNormalization, complex_to_real, real_to_complex
from sem_sionna.nets.split import ChannelDemapper, ChannelMapper, SourceDemapper, SourceMapper

M, K = 640, 128          # K = 128 complex uses for 32x32x3: CBR 1/24


def _images(b=2, seed=0):
    return tf.random.stateless_uniform([b, 32, 32, 3], seed=[seed, 1])


def _bits(b=2, m=M, seed=0):
    return tf.cast(tf.random.stateless_uniform([b, m], seed=[seed, 2]) < 0.5, tf.float32)


# ----------------------------------------------------------------------------- blocks
def test_gdn_closed_form_at_init_and_inverse():
    x = tf.random.stateless_normal([2, 4, 4, 3], seed=[1, 1])
    y = GDN()(x)
    np.testing.assert_allclose(y, x / np.sqrt(1.0 + 0.1 * x.numpy() ** 2), rtol=1e-5)
    np.testing.assert_allclose(GDN(inverse=True)(x), x * np.sqrt(1.0 + 0.1 * x.numpy() ** 2),
                               rtol=1e-5)


def test_residual_blocks_shapes():
    x = tf.ones([2, 16, 16, 5])
    assert ResidualBlock(8)(x).shape == (2, 16, 16, 8)
    assert ResidualBlockWithStride(8)(x).shape == (2, 8, 8, 8)
    assert ResidualBlockWithStride(8, use_gdn=False)(x).shape == (2, 8, 8, 8)
    assert ResidualBlockUpsample(4)(x).shape == (2, 32, 32, 4)
    assert SubpixelConv(3, 2)(x).shape == (2, 32, 32, 3)
    assert AttentionBlock(5)(x).shape == x.shape
    assert AttentionBlock(5, rank=1)(tf.ones([2, 7, 5])).shape == (2, 7, 5)


def test_se_block_rescales_channels_in_unit_interval():
    x = tf.ones([2, 4, 4, 8])
    y = SEBlock(4)(x).numpy()
    assert np.all(y > 0) and np.all(y < 1)
    assert np.allclose(y, y[:, :1, :1, :])      # one gate per channel


def test_real_complex_pairing_and_power_normalisation():
    x = tf.constant([[1.0, 2.0, 3.0, 4.0]])
    z = real_to_complex(x)
    np.testing.assert_array_equal(z.numpy(), [[1 + 2j, 3 + 4j]])
    np.testing.assert_array_equal(complex_to_real(z), x)
    zn = PowerNormalization(2.0)(z)
    np.testing.assert_allclose(np.mean(np.abs(zn.numpy()) ** 2, -1), [2.0], rtol=1e-6)
    with pytest.raises(ValueError, match="even"):
        real_to_complex(tf.ones([1, 3]))
    with pytest.raises(ValueError, match="power"):
        PowerNormalization(0.0)
    with pytest.raises(TypeError, match="complex"):
        PowerNormalization()(tf.ones([1, 4]))


# ----------------------------------------------------------------------------- mappers
@pytest.mark.parametrize("head", ["dense", "conv"])
def test_source_mapper_demapper_shapes(head):
    f = SourceMapper(M, filters=16, head=head)
    g = SourceDemapper(M, image_size=32, filters=16, head=head)
    p = f(_images())
    assert p.shape == (2, M) and p.dtype == tf.float32
    assert np.all((p.numpy() > 0) & (p.numpy() < 1))
    x_hat = g(tf.round(p))
    assert x_hat.shape == (2, 32, 32, 3)
    assert np.all((x_hat.numpy() > 0) & (x_hat.numpy() < 1))


def test_channel_mapper_unit_power_and_demapper_probs():
    h = ChannelMapper(M, K, units=64)
    q = ChannelDemapper(K, M, units=64)
    z = h(_bits(4))
    assert z.shape == (4, K) and z.dtype == tf.complex64
    np.testing.assert_allclose(np.mean(np.abs(z.numpy()) ** 2, axis=-1), 1.0, rtol=1e-5)
    p = q(z)
    assert p.shape == (4, M) and np.all((p.numpy() > 0) & (p.numpy() < 1))


def test_snr_adaptive_channel_pair_uses_snr():
    h = ChannelMapper(M, K, units=32, snr_adaptive=True)
    q = ChannelDemapper(K, M, units=32, snr_adaptive=True)
    u = _bits(2)
    z1, z2 = h(u, 0.0), h(u, 20.0)
    assert not np.allclose(z1, z2)
    assert q(z1, tf.constant([0.0, 20.0])).shape == (2, M)
    with pytest.raises(ValueError, match="snr_db"):
        q(z1)


def test_mappers_reject_bad_arguments():
    with pytest.raises(ValueError, match="head"):
        SourceMapper(M, head="linear")
    with pytest.raises(ValueError, match="num_bits"):
        SourceMapper(0)
    with pytest.raises(ValueError, match="multiple of the number of latent positions"):
        SourceMapper(100, filters=8, head="conv")(_images())
    with pytest.raises(ValueError, match="multiple of the number of latent positions"):
        SourceDemapper(100, head="conv")
    with pytest.raises(ValueError, match="multiple of 4"):
        SourceMapper(M, filters=8)(tf.ones([1, 30, 30, 3]))
    with pytest.raises(ValueError, match="num_bits=640"):
        SourceDemapper(M, filters=8)(tf.ones([1, 600]))
    with pytest.raises(ValueError, match="num_symbols=128"):
        ChannelDemapper(K, M)(tf.ones([1, 64], tf.complex64))
    with pytest.raises(TypeError, match="complex"):
        ChannelDemapper(K, M)(tf.ones([1, K]))
    with pytest.raises(ValueError, match="num_blocks"):
        ChannelMapper(M, K, num_blocks=-1)


def test_mappers_eager_graph_xla_agree():
    f = SourceMapper(128, filters=8, head="conv", use_gdn=True)
    g = SourceDemapper(128, filters=8, head="conv")
    h = ChannelMapper(128, 16, units=16)
    q = ChannelDemapper(16, 128, units=16)
    x = _images(2)

    def chain(x):
        u = f(x)      # soft bits: rounding could amplify last-digit differences between modes
        return g(u), q(h(u))

    assert_modes_agree(chain, x, atol=1e-5)


def test_source_and_channel_mappers_save_load_identical(tmp_path):
    img = keras.Input((32, 32, 3))
    f = SourceMapper(128, filters=8, head="dense", latent_filters=4)
    g = SourceDemapper(128, filters=8, head="dense", latent_filters=4)
    p = f(img)
    model = keras.Model(img, [p, g(p)])
    loaded = roundtrip(model, tmp_path)
    x = _images(2, seed=5)
    for a, b in zip(model(x), loaded(x)):
        np.testing.assert_array_equal(a, b)
    assert isinstance(loaded.layers[1], SourceMapper)
    assert loaded.layers[1].get_config()["head"] == "dense"

    bits = keras.Input((128,))
    snr = keras.Input(())
    h = ChannelMapper(128, 16, units=16, snr_adaptive=True)
    q = ChannelDemapper(16, 128, units=16)
    z = h(bits, snr)
    chan = keras.Model([bits, snr], [z, q(z)])
    loaded = roundtrip(chan, tmp_path, "chan.keras")
    u, s = _bits(3, 128), tf.constant([1.0, 5.0, 9.0])
    for a, b in zip(chan([u, s]), loaded([u, s])):
        np.testing.assert_array_equal(a, b)
