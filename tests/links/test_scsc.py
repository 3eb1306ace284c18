"""Tests of sem_sionna.links.scsc (SCSC chain with PCEN, fixed-quality link, SCSC model)."""
import numpy as np
import pytest
import keras
import tensorflow as tf

from sem_sionna import codecs, data
from sem_sionna.links import TransportChain
from sem_sionna.links.pcen_phy import pcen_precode
from sem_sionna.links.scsc import (SCSC, FixedQualityLink, PCENTransport, channel_uses_for_payload,
                                   encode_at_quality)
from sem_sionna.nets import PCEN, PPEN, ProxyNetwork, SegNet
from sem_sionna.phy import MIMOChannel, SVDPrecoder
from sem_sionna.utils.seeding import reseed

SIZE = 32


@pytest.fixture(scope="module")
def images():
    return data.scenes(4, size=SIZE, seed=3, split="test")[0]


def _qpsk(rng, batch, num_symbols):
    return tf.constant(((rng.choice([-1.0, 1.0], (batch, 2, num_symbols))
                         + 1j * rng.choice([-1.0, 1.0], (batch, 2, num_symbols)))
                        / np.sqrt(2)).astype(np.complex64))


# ------------------------------------------------------------------------------ helpers
def test_encode_at_quality_uses_q_then_coarser(images):
    hevc = codecs.get("hevc")
    exact = hevc.encode(images[0], 37)
    assert encode_at_quality(hevc, images[0], 37, len(exact)) == (exact, 37)
    payload, q = encode_at_quality("hevc", images[0], 37, len(exact) - 1)
    assert q is not None and q > 37 and len(payload) <= len(exact) - 1
    assert payload == hevc.encode(images[0], q)
    assert encode_at_quality(hevc, images[0], 37, 5) == (b"", None)
    with pytest.raises(ValueError, match="quality"):
        encode_at_quality(hevc, images[0], 60, 100)


@pytest.mark.parametrize("payload_bytes", [100, 263, 508])
def test_channel_uses_fit_the_payload(payload_bytes):
    n = channel_uses_for_payload(payload_bytes, 2, 0.5, num_streams=2)
    payload_bits = TransportChain(n * 2, 2, 0.5, "awgn").payload_bits
    assert payload_bits // 8 - 2 >= payload_bytes
    # within the CRCs (TB CRC24A plus one CRC24B per code block once segmented, 508 bytes)
    # and the 38.214 quantisation of the ideal size
    assert n <= np.ceil((payload_bytes + 2) * 8 / 2.0) + 96
    with pytest.raises(ValueError, match="payload_bytes"):
        channel_uses_for_payload(0, 2, 0.5)


# ------------------------------------------------------------------------------- PCEN
def test_adaptive_combiner_makes_pen_exact_with_perfect_csi(rng):
    """U2 = sqrt(nt) P h^+: PEN sends QPSK/sqrt(2) per antenna with U2 h z = x_p."""
    pcen = PCEN(2, 2, num_layers=4)
    h, h_hat = MIMOChannel(2, 2, seed=5).generate(16)
    s = _qpsk(rng, 16, 10)
    x_p, _, u2, z = pcen_precode(pcen, SVDPrecoder(2, "equal"), s, h_hat, 0.1, "adaptive")
    assert u2.shape == (16, 2, 2)
    np.testing.assert_allclose(np.abs(z.numpy()) ** 2, 0.5, rtol=1e-5)
    np.testing.assert_allclose((u2 @ h @ z).numpy(), x_p.numpy(), atol=1e-3)


def test_pcen_transport_decodes_at_high_snr_and_beats_fixed_combiner():
    pcen = PCEN(2, 2, num_layers=6)
    chains = {c: PCENTransport(256, 2, 0.5, MIMOChannel(2, 2, seed=2), pcen, combiner=c,
                               seed=2) for c in ("adaptive", "fixed")}
    bits = tf.cast(tf.random.uniform([16, chains["fixed"].payload_bits]) < 0.5, tf.float32)
    assert chains["fixed"].payload_bits == TransportChain(
        256, 2, 0.5, MIMOChannel(2, 2)).payload_bits
    bits_hat, ok = chains["adaptive"](bits, 1e-4)
    assert ok.numpy().all()
    np.testing.assert_array_equal(bits_hat.numpy(), bits.numpy())
    rate = {}
    for name, chain in chains.items():
        reseed(chain, 7)
        rate[name] = float(np.mean(chain(bits, 0.01)[1].numpy()))
    assert rate["adaptive"] > rate["fixed"] + 0.3


def test_pcen_transport_rejects_bad_arguments():
    pcen = PCEN(2, 2)
    with pytest.raises(ValueError, match="MIMOChannel"):
        PCENTransport(64, 2, 0.5, "awgn", pcen)
    with pytest.raises(ValueError, match="combiner"):
        PCENTransport(64, 2, 0.5, MIMOChannel(2, 2), pcen, combiner="mmse")
    with pytest.raises(TypeError, match="pcen"):
        PCENTransport(64, 2, 0.5, MIMOChannel(2, 2), "pcen")
    with pytest.raises(ValueError, match="antennas"):
        PCENTransport(64, 2, 0.5, MIMOChannel(2, 4), pcen)


# ------------------------------------------------------------------------------- link
def test_fixed_quality_link_sends_q_and_decodes_it(images):
    hevc = codecs.get("hevc")
    pcen = PCEN(2, 2, num_layers=4)
    link = FixedQualityLink("hevc", 41, 600, 2, 0.5, MIMOChannel(2, 2, seed=1), pcen=pcen,
                            seed=1)
    encoded = link.encode(images)
    np.testing.assert_array_equal(encoded["quality"], 41)
    assert encoded["payloads"][0] == hevc.encode(images[0], 41)
    x_hat, info = link.decode(encoded, *link.transmit(encoded["bits"], 40.0))
    assert info["decoded"].all()
    np.testing.assert_allclose(x_hat[1], hevc.decode(encoded["payloads"][1]))
    with pytest.raises(ValueError, match="quality"):
        FixedQualityLink("hevc", 60, 400, 2, 0.5, MIMOChannel(2, 2))
    with pytest.raises(TypeError, match="MIMOChannel"):
        FixedQualityLink("hevc", 41, 400, 2, 0.5, "awgn")


def test_fixed_quality_link_budget_mode_for_other_codecs(images):
    link = FixedQualityLink("jpeg2000", None, 800, 2, 0.5, MIMOChannel(2, 2, seed=1))
    encoded = link.encode(images[:2])
    assert all(0 < len(p) <= link.max_payload_bytes for p in encoded["payloads"])


# ------------------------------------------------------------------------------ model
def _model(seed=0):
    return SCSC(PPEN(4, 1, use_qa=True), ProxyNetwork(8, 4, seed=seed), SegNet(7, (4, 8, 16),
                (0, 1)), PCEN(2, 2, num_layers=4), num_channel_uses=[800, 600],
                qualities=[37, 41], channel=MIMOChannel(2, 2, "rayleigh"), seed=seed)


def test_straight_through_forward_is_the_chain_gradient_is_the_proxy(images):
    """At 40 dB every block decodes: x_hat is exactly HEVC (at Q, or coarser if it overflows)."""
    model = _model()
    x_o = tf.constant(images)
    r = tf.random.uniform(x_o.shape)
    with tf.GradientTape(persistent=True) as tape:
        out = model(x_o, 40.0, 41.0)
        via_chain = tf.reduce_sum(out["x_hat"] * r)
        via_proxy = tf.reduce_sum(out["x_hat_proxy"] * r)
    hevc = codecs.get("hevc")
    budget = model.link(41).max_payload_bytes
    expected = np.stack([hevc.decode(encode_at_quality(hevc, x, 41, budget)[0])
                         for x in out["x"].numpy()])
    np.testing.assert_allclose(out["x_hat"].numpy(), expected, atol=1e-6)
    assert model.last_chain_info["decoded"] == 1.0
    assert out["logits"].shape == (4, SIZE, SIZE, 7)
    grads = tape.gradient(via_chain, model.ppen.trainable_weights)
    ref = tape.gradient(via_proxy, model.ppen.trainable_weights)
    assert all(g is not None for g in grads)
    assert max(float(tf.reduce_max(tf.abs(g))) for g in grads) > 0
    for g, g_ref in zip(grads, ref):
        np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-5, atol=1e-7)


def test_per_example_quality_runs_each_block(images):
    model = _model()
    x_hat = model.run_chain(images, 40.0, [37, 41, 37, 41])
    hevc = codecs.get("hevc")
    for i, q in enumerate([37, 41, 37, 41]):
        payload, _ = encode_at_quality(hevc, images[i], q, model.link(q).max_payload_bytes)
        np.testing.assert_allclose(x_hat[i], hevc.decode(payload))
    assert model.cbr(37, images.shape[1:]) == 800 / (3 * SIZE * SIZE)


def test_save_load_gives_identical_deterministic_parts(images, tmp_path):
    model = _model(seed=4)
    model(tf.constant(images), 40.0, 37.0)
    for w in model.ppen.trainable_weights + model.pcen.trainable_weights:
        w.assign(w + 0.01 * tf.random.normal(w.shape))
    path = tmp_path / "scsc.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, SCSC) and loaded.num_channel_uses == (800, 600)
    x = tf.constant(images)
    np.testing.assert_array_equal(loaded.preprocess(x, 37.0).numpy(),
                                  model.preprocess(x, 37.0).numpy())
    np.testing.assert_array_equal(loaded.segnet(x).numpy(), model.segnet(x).numpy())
    _, h_hat = MIMOChannel(2, 2, seed=9).generate(4)
    s = _qpsk(np.random.default_rng(0), 4, 6)
    z_ref = pcen_precode(model.pcen, SVDPrecoder(2), s, h_hat, 0.1)[-1]
    z_new = pcen_precode(loaded.pcen, SVDPrecoder(2), s, h_hat, 0.1)[-1]
    np.testing.assert_array_equal(z_new.numpy(), z_ref.numpy())
    np.testing.assert_array_equal(loaded.run_chain(images, 40.0, 37),
                                  model.run_chain(images, 40.0, 37))


def test_model_rejects_bad_arguments():
    parts = (PPEN(4, 1), ProxyNetwork(8), SegNet(7), PCEN(2, 2))
    with pytest.raises(ValueError, match="num_channel_uses"):
        SCSC(*parts, num_channel_uses=[100], qualities=[37, 41])
    with pytest.raises(TypeError, match="ppen"):
        SCSC("ppen", *parts[1:], num_channel_uses=[100], qualities=[41])
    with pytest.raises(ValueError, match="quality"):
        SCSC(*parts, num_channel_uses=[100], qualities=[41]).link(37)
