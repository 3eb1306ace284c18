"""SplitJSCC / LearnedInterfaceJSCC / DeepJSCC links: sweep API, channels, .keras round trip."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna import nets
from sem_sionna.links import DeepJSCC, LearnedInterfaceJSCC, SplitJSCC, interface_ber
from sem_sionna.links.analog import SISOChannel

M, K = 128, 32


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((4, 32, 32, 3)).astype(np.float32)


def split_link():
    f = nets.SourceMapper(M, filters=8, head="conv")
    g = nets.SourceDemapper(M, image_size=(32, 32), filters=8, head="conv")
    h, q = nets.ChannelMapper(M, K, units=32), nets.ChannelDemapper(K, M, units=32)
    return SplitJSCC(f, g, h, q, seed=1)


def test_split_sweep_api_and_bits(images):
    link = split_link()
    state = link.encode(images)
    assert set(np.unique(state["bits"].numpy())) <= {0.0, 1.0}
    x_hat, info = link.reconstruct(state, 30.0, "awgn")
    assert x_hat.shape == images.shape and info["bits_hat"].shape == (4, M)
    _, info_r = link.reconstruct(state, 30.0, "rayleigh")
    assert info_r["bits"].shape == (4, M)
    ber = interface_ber(link, images, [0.0, 30.0], num_levels=4)
    assert ber.shape == (2, 4) and np.all((ber >= 0) & (ber <= 1))
    with pytest.raises(ValueError, match="channel"):
        link.reconstruct(state, 10.0, "rician")


def test_split_link_save_load_gives_identical_reconstructions(images, tmp_path):
    link = split_link()
    link(images, 10.0)
    path = tmp_path / "split.keras"
    link.save(path)
    loaded = keras.saving.load_model(path)
    # at 300 dB the noise cannot flip a bit: reconstructions depend on weights only
    a, _ = link.reconstruct(link.encode(images), 300.0)
    b, _ = loaded.reconstruct(loaded.encode(images), 300.0)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_deepjscc_and_learned_interface_links(images, tmp_path):
    enc = nets.DeepJSCCEncoder(K, filters=8, head="dense")
    dec = nets.DeepJSCCDecoder(K, image_size=(32, 32), filters=8, head="dense")
    link = DeepJSCC(enc, dec, seed=2)
    x_low, _ = link.reconstruct(link.encode(images), -10.0)
    x_high, _ = link.reconstruct(link.encode(images), 300.0)
    x_high2, _ = link.reconstruct(link.encode(images), 300.0)
    np.testing.assert_allclose(x_high, x_high2, atol=1e-6)
    assert np.mean(np.abs(x_low - x_high)) > 1e-4  # noise reaches the decoder

    interface = nets.LearnedBSCInterface(M)
    kw = dict(num_tokens=16, embed_dim=16, num_transformer_blocks=0)
    h, q = nets.ImportanceChannelMapper(M, K, **kw), nets.ImportanceChannelDemapper(K, M, **kw)
    f = nets.SourceMapper(M, filters=8, head="conv")
    g = nets.SourceDemapper(M, image_size=(32, 32), filters=8, head="conv")
    learned = LearnedInterfaceJSCC(f, g, interface, h, q, seed=3)
    x_hat, info = learned.reconstruct(learned.encode(images), 10.0, "rayleigh")
    assert x_hat.shape == images.shape and info["bits"].shape == (4, M)


def test_siso_channel_equalises_rayleigh():
    z = tf.complex(tf.ones([2000, 16]), tf.zeros([2000, 16])) / np.sqrt(1.0)
    z_hat, no_eff = SISOChannel("rayleigh", seed=1)(z, 0.0)
    np.testing.assert_allclose(z_hat.numpy(), z.numpy(), atol=1e-4)
    _, no_eff = SISOChannel("rayleigh", seed=1)(z, 0.1)
    # effective noise no/|h|^2 with |h|^2 ~ Exp(1): median no / ln 2
    np.testing.assert_allclose(np.median(no_eff.numpy()), 0.1 / np.log(2), rtol=0.1)
    with pytest.raises(ValueError, match="model"):
        SISOChannel("rician")
