"""Analog DeepJSCC baseline with the Split DeepJSCC backbone (S1 Sec. IV-B)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.nets.deepjscc import DeepJSCCDecoder, DeepJSCCEncoder


def _images(b=2, seed=0):
    return tf.random.stateless_uniform([b, 32, 32, 3], seed=[seed, 7])


@pytest.mark.parametrize("head", ["conv", "dense"])
def test_cbr_1_24_shapes_and_unit_power(head):
    enc = DeepJSCCEncoder(128, filters=8, head=head, latent_filters=4)
    dec = DeepJSCCDecoder(128, image_size=(32, 32), filters=8, head=head, latent_filters=4)
    z = enc(_images(3))
    assert z.shape == (3, 128) and z.dtype == tf.complex64
    assert z.shape[-1] / (32 * 32 * 3) == pytest.approx(1 / 24)
    np.testing.assert_allclose(np.mean(np.abs(z.numpy()) ** 2, -1), 1.0, rtol=1e-5)
    x_hat = dec(z)
    assert x_hat.shape == (3, 32, 32, 3)
    assert np.all((x_hat.numpy() > 0) & (x_hat.numpy() < 1))


def test_snr_adaptive_encoder_depends_on_snr():
    enc = DeepJSCCEncoder(64, filters=8, snr_adaptive=True)
    dec = DeepJSCCDecoder(64, filters=8, snr_adaptive=True)
    x = _images()
    z0, z1 = enc(x, 0.0), enc(x, 20.0)
    assert not np.allclose(z0, z1)
    assert dec(z0, tf.constant([0.0, 20.0])).shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="snr_db"):
        enc(x)


def test_deepjscc_rejects_bad_arguments():
    with pytest.raises(ValueError, match="2 \\* num_symbols"):
        DeepJSCCEncoder(100, filters=8, head="conv")(_images())
    with pytest.raises(ValueError, match="num_symbols=128"):
        DeepJSCCDecoder(128, filters=8)(tf.zeros([1, 64], tf.complex64))
    with pytest.raises(ValueError, match="image_size"):
        DeepJSCCDecoder(128, image_size=(30, 32))
    with pytest.raises(ValueError, match="num_symbols"):
        DeepJSCCEncoder(0)


def test_deepjscc_modes_and_save_load(tmp_path):
    enc = DeepJSCCEncoder(64, filters=8, snr_adaptive=True)
    dec = DeepJSCCDecoder(64, filters=8, snr_adaptive=True)
    x, snr = _images(2), tf.constant([2.0, 8.0])
    assert_modes_agree(lambda x, s: dec(enc(x, s), s), x, snr, atol=1e-5)
    img, s_in = keras.Input((32, 32, 3)), keras.Input(())
    model = keras.Model([img, s_in], dec(enc(img, s_in), s_in))
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_array_equal(model([x, snr]), loaded([x, snr]))
