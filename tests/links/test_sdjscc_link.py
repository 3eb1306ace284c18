"""SDJSCCLink: one 5G transport block per image, the payload size and the coded BER."""
import keras
import numpy as np
import pytest

from sem_sionna.links.sdjscc import SDJSCCLink, coded_ber, num_channel_uses_for
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.nets.sdjscc import SDJSCCDecoder, SDJSCCEncoder


def test_num_channel_uses_fits_payload():
    ncu = num_channel_uses_for(256, 4, 0.75)
    assert TransportChain(ncu, 4, 0.75).payload_bits >= 256
    assert TransportChain(ncu - 1, 4, 0.75).payload_bits < 256


def test_coded_ber_cliff():
    ncu = num_channel_uses_for(256, 4, 0.75)
    assert coded_ber(ncu, 4, 0.75, 20.0, num_blocks=16) == 0.0
    assert coded_ber(ncu, 4, 0.75, 0.0, num_blocks=16) > 0.1


def _link(channel="awgn", latent=2):
    enc, dec = SDJSCCEncoder(latent, filters=4), SDJSCCDecoder(filters=4)
    enc.build((None, 16, 16, 3))
    dec.build((None, 4, 4, latent))
    return SDJSCCLink(enc, dec, num_channel_uses_for(16 * latent, 4, 0.75), channel=channel,
                      seed=3)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_link_clean_channel_equals_noiseless_codec(rng, channel):
    link = _link(channel)
    x = rng.random((3, 16, 16, 3)).astype(np.float32)
    x_hat, info = link.run(x, 40.0)
    q = link.quantizer(link.encoder(x))
    np.testing.assert_allclose(x_hat, link.decoder(q), atol=1e-6)
    assert info["crc_ok"].all() and not info["bit_errors"].any()
    enc = link.encode(x)
    assert enc["bits"].shape == (3, link.chain.payload_bits) and enc["num_bits"] == 32
    assert not enc["bits"][:, 32:].any()  # zero padding


def test_link_low_snr_flips_bits_but_decodes(rng):
    link = _link()
    x = rng.random((4, 16, 16, 3)).astype(np.float32)
    x_hat, info = link.run(x, -5.0)
    assert info["bit_errors"].sum() > 0 and not info["crc_ok"].any()
    assert x_hat.shape == x.shape and np.isfinite(x_hat).all()


def test_link_rejects_too_small_payload(rng):
    enc, dec = SDJSCCEncoder(8, filters=4), SDJSCCDecoder(filters=4)
    link = SDJSCCLink(enc, dec, num_channel_uses=40)
    with pytest.raises(ValueError, match="num_channel_uses"):
        link.encode(rng.random((1, 16, 16, 3)).astype(np.float32))
    with pytest.raises(TypeError, match="encoder"):
        SDJSCCLink("enc", dec, 40)


def test_link_keras_roundtrip(rng, tmp_path):
    link = _link()
    inp = keras.Input((16, 16, 3), batch_size=2)
    model = keras.Model(inp, link(inp, 30.0))
    x = rng.random((2, 16, 16, 3)).astype(np.float32)
    out = model(x)
    model.save(tmp_path / "link.keras")
    loaded = keras.saving.load_model(tmp_path / "link.keras")
    np.testing.assert_allclose(loaded(x), out, atol=1e-6)
