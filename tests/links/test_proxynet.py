"""Tests of sem_sionna.links.proxynet (S3's ProxyNet over QPSK + SVD + PCEN) and its training."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.links.proxynet import ProxyNetMIMO
from sem_sionna.nets.pcen import PCEN
from sem_sionna.nets.proxy import ProxyNetwork
from sem_sionna.phy import MIMOChannel
from sem_sionna.train.scsc import train_proxynet
from sem_sionna.utils.seeding import reseed


def _link(latent=2, seed=1, **kwargs):
    link = ProxyNetMIMO(ProxyNetwork(8, latent, seed=0), PCEN(2, 2, num_layers=4),
                        MIMOChannel(2, 2, seed=seed), **kwargs)
    link.build((None, 16, 16, 3))
    return link


@pytest.fixture
def images():
    return tf.random.uniform([4, 16, 16, 3], seed=3)


def test_output_shape_range_and_gradients_reach_encoder_and_decoder(images):
    link = _link()
    with tf.GradientTape() as tape:
        x_hat = link(images, 8.0, 37.0)
        loss = tf.reduce_mean(tf.square(x_hat - images))
    assert x_hat.shape == images.shape
    assert 0.0 <= float(tf.reduce_min(x_hat)) and float(tf.reduce_max(x_hat)) <= 1.0
    weights = link.trainable_proxy_weights
    grads = dict(zip([id(w) for w in weights], tape.gradient(loss, weights)))
    for layer in (link.proxy.encoder_layers[0], link.proxy.decoder_layers[-1]):
        g = grads[id(layer.kernel)]
        assert g is not None and float(tf.reduce_max(tf.abs(g))) > 0, layer.name
    # PCEN is the chain's: not among the weights ProxyNet trains
    assert not {id(w) for w in link.pcen.weights} & set(grads)


def _sent_and_received(link, images, snr_db):
    """``1 - 2 b`` of the bits the encoder sends and the estimates the decoder reads."""
    seen = {}
    decode = link.proxy.decode

    def spy(latent, snr, q):
        seen["est"] = latent.numpy()
        return decode(latent, snr, q)

    link.proxy.decode = spy
    try:
        link(images, snr_db, 37.0)
    finally:
        link.proxy.decode = decode
    bits = link.proxy.encode(images, snr_db, 37.0).numpy() >= 0.0  # sigmoid >= 1/2
    return 1.0 - 2.0 * bits, seen["est"]


def test_bits_cross_the_mimo_link_at_high_snr_and_not_at_low_snr(images):
    link = _link()
    reseed(link, 0)
    sent, est = _sent_and_received(link, images, 40.0)
    agree_high = np.mean(np.sign(est) == sent)
    reseed(link, 0)
    sent, est = _sent_and_received(link, images, -10.0)
    agree_low = np.mean(np.sign(est) == sent)
    assert agree_high > 0.97  # QPSK + PCEN nearly error-free (switched-off modes aside)
    assert agree_low < agree_high - 0.15


def test_the_channel_carries_pens_finite_alphabet_signal_and_cen_shapes_the_output(images):
    link = _link()
    sent = []
    apply = link.channel.apply

    def spy(x, no, h):
        sent.append(x.numpy())
        return apply(x, no, h)

    link.channel.apply = spy
    reseed(link, 0)
    a = link(images, 8.0, 37.0).numpy()
    # PEN's output: QPSK points on each of the 2 antennas, power 1 per channel use
    z = sent[0]
    np.testing.assert_allclose(np.abs(z.real), 0.5, atol=1e-5)
    np.testing.assert_allclose(np.abs(z.imag), 0.5, atol=1e-5)
    rng = np.random.default_rng(0)
    for w in link.pcen.ccen.weights:  # another channel-conditioned combiner
        w.assign(w.numpy() + rng.normal(0.0, 0.3, w.shape).astype(np.float32))
    reseed(link, 0)
    b = link(images, 8.0, 37.0).numpy()
    assert np.max(np.abs(a - b)) > 1e-3


def test_config_round_trip_gives_the_same_output(images):
    link = _link()
    clone = ProxyNetMIMO.from_config(link.get_config())
    clone.build((None, 16, 16, 3))
    clone.set_weights(link.get_weights())
    reseed(link, 5)
    reseed(clone, 5)
    np.testing.assert_allclose(clone(images, 6.0, 41.0), link(images, 6.0, 41.0), atol=1e-6)


def test_bad_arguments_name_themselves(images):
    with pytest.raises(TypeError, match="pcen"):
        ProxyNetMIMO(ProxyNetwork(8, 2), "pcen", MIMOChannel(2, 2))
    with pytest.raises(ValueError, match="antenna"):
        ProxyNetMIMO(ProxyNetwork(8, 2), PCEN(2, 2), MIMOChannel(4, 4))
    with pytest.raises(ValueError, match="combiner"):
        ProxyNetMIMO(ProxyNetwork(8, 2), PCEN(2, 2), MIMOChannel(2, 2), combiner="zf")
    with pytest.raises(ValueError, match="images"):
        _link()(tf.zeros([1, 18, 18, 3]), 8.0, 37.0)
    with pytest.raises(ValueError, match="shape"):
        train_proxynet(_link(), np.zeros((4, 16, 16, 3)), np.zeros((3, 16, 16, 3)), 1, q=37.0)


def test_train_proxynet_lowers_the_mse_and_leaves_pcen_alone(images):
    link = _link()
    colours = np.random.default_rng(4).uniform(size=(16, 1, 1, 3)).astype(np.float32)
    x = np.broadcast_to(colours, (16, 16, 16, 3)).copy()  # one colour per image: learnable
    pcen_before = [w.numpy().copy() for w in link.pcen.weights]
    proxy_before = [w.numpy().copy() for w in link.trainable_proxy_weights]
    hist = train_proxynet(link, x, x, 25, q=37.0, batch_size=4, lr=3e-3, seed=0)
    assert np.mean(hist["mse"][-3:]) < 0.85 * hist["mse"][0]  # the colours get through
    assert any(np.max(np.abs(b - w.numpy())) > 0
               for b, w in zip(proxy_before, link.trainable_proxy_weights))
    for b, w in zip(pcen_before, link.pcen.weights):
        np.testing.assert_array_equal(b, w.numpy())
