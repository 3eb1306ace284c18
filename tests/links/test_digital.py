"""DigitalLink and TransportChain: codec + 5G TB + QAM over AWGN, Rayleigh and SVD-MIMO."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna import codecs
from sem_sionna.data import embedded_patches
from sem_sionna.links import DigitalLink, TransportChain
from sem_sionna.links.framing import deframe_payloads, frame_payloads
from sem_sionna.phy import AWGN, QAMDemapper, QAMMapper, TBDecoder, TBEncoder
from sem_sionna.phy.mimo import MIMOChannel


@pytest.fixture(scope="module")
def images():
    return embedded_patches(size=32, split="test", n=4, seed=0)


def test_framing_roundtrip():
    payloads = [b"", b"\x00\xff", bytes(range(30))]
    bits = frame_payloads(payloads, 300)
    assert bits.shape == (3, 300) and set(np.unique(bits)) <= {0.0, 1.0}
    assert deframe_payloads(bits) == payloads
    with pytest.raises(ValueError, match="payload 0"):
        frame_payloads([bytes(40)], 300)


@pytest.mark.parametrize("codec", ["hevc", "jpeg2000", "webp"])
def test_noiseless_link_is_exact_up_to_codec_loss(images, codec):
    link = DigitalLink(codec, num_channel_uses=768, num_bits_per_symbol=4, coderate=0.5)
    x_hat, info = link(images, 40.0, return_info=True)
    assert np.all(info["decoded"].numpy())
    assert np.all(info["payload_bytes"].numpy() <= link.max_payload_bytes)
    c = codecs.get(codec)
    for image, rec, q in zip(images, x_hat.numpy(), info["quality"].numpy()):
        np.testing.assert_array_equal(rec, c.decode(c.encode(image, int(q))))


def test_budget_follows_transport_block_size():
    link = DigitalLink("hevc", num_channel_uses=128, num_bits_per_symbol=4, coderate=0.5)
    raw = 128 * 4 * 0.5 / 8
    # raw budget minus the 2-byte length field and a CRC16/CRC24, within 38.214 rounding
    assert raw - 2 - 3 - 2 <= link.max_payload_bytes <= raw - 2 - 2


def test_low_snr_gives_fallback_and_counts_failures(images):
    fallback = np.full(images.shape[1:], 0.25, np.float32)
    link = DigitalLink("hevc", 256, 4, 0.5, fallback=fallback)
    x_hat, info = link(images, -5.0, return_info=True)
    assert not np.any(info["decoded"].numpy())
    np.testing.assert_array_equal(x_hat.numpy(), np.broadcast_to(fallback, images.shape))


def test_nothing_fits_is_a_counted_failure(images):
    link = DigitalLink("jpeg", num_channel_uses=64, num_bits_per_symbol=2, coderate=0.5)
    x_hat, info = link(images, 30.0, return_info=True)  # JPEG headers alone exceed 14 bytes
    assert np.all(info["payload_bytes"].numpy() == 0) and not np.any(info["decoded"].numpy())
    np.testing.assert_allclose(x_hat.numpy(), 0.5)


def test_transport_chain_matches_phy_layers():
    chain = TransportChain(256, 2, 0.5, "awgn", seed=5)
    bits = tf.cast(tf.random.stateless_uniform([16, chain.payload_bits], [1, 2], 0, 2, tf.int32),
                   tf.float32)
    no = 0.9  # near the threshold: some blocks fail
    bits_hat, crc_ok = chain(bits, no)
    enc = TBEncoder(chain.payload_bits, chain.num_coded_bits, 0.5, 2)
    dec = TBDecoder(enc)
    llr = QAMDemapper(2)(AWGN(seed=5)(QAMMapper(2)(enc(bits)), no), no)
    ref_bits, ref_ok = dec(llr)
    np.testing.assert_array_equal(bits_hat, ref_bits)
    np.testing.assert_array_equal(crc_ok, ref_ok)
    # CRC flags exactly the blocks with errors
    wrong = np.any(bits_hat.numpy() != bits.numpy(), axis=-1)
    np.testing.assert_array_equal(wrong, ~crc_ok.numpy())


@pytest.mark.parametrize("channel", ["rayleigh", MIMOChannel(2, 2, seed=3)])
def test_fading_links_decode_at_high_snr(images, channel):
    link = DigitalLink("hevc", 512, 2, 0.5, channel=channel, seed=1)
    _, info = link(images, 35.0, return_info=True)
    assert np.mean(info["decoded"].numpy()) >= 0.75
    assert link.num_streams == (1 if channel == "rayleigh" else 2)


def test_imperfect_csi_hurts():
    images = embedded_patches(size=32, split="test", n=16, seed=1)
    perfect = DigitalLink("hevc", 256, 4, 0.5, channel=MIMOChannel(2, 2, seed=4), seed=4)
    noisy = DigitalLink("hevc", 256, 4, 0.5,
                        channel=MIMOChannel(2, 2, csi_error_var=0.3, seed=4), seed=4)
    ok_perfect = perfect(images, 25.0, return_info=True)[1]["decoded"].numpy().mean()
    ok_noisy = noisy(images, 25.0, return_info=True)[1]["decoded"].numpy().mean()
    assert ok_noisy < ok_perfect


def test_encode_once_transmit_many(images):
    link = DigitalLink("hevc", 256, 4, 0.5)
    encoded = link.encode(images)
    results = [link.decode(encoded, *link.transmit(encoded["bits"], snr)) for snr in (-5, 30)]
    assert not results[0][1]["decoded"].any() and results[1][1]["decoded"].all()


def test_works_inside_tf_function(images):
    link = DigitalLink("webp", 256, 4, 0.5)
    out = tf.function(lambda x: link(x, tf.constant(30.0)))(tf.constant(images))
    assert out.shape == images.shape


def test_config_roundtrip(images):
    link = DigitalLink("hevc", 256, 4, 0.5, channel=MIMOChannel(2, 2, seed=2),
                       fallback=np.zeros(images.shape[1:]))
    clone = DigitalLink.from_config(link.get_config())
    assert clone.get_config() == link.get_config()
    assert clone.max_payload_bytes == link.max_payload_bytes


def test_bad_arguments():
    with pytest.raises(ValueError, match="'jpeg'"):
        DigitalLink("bpgx", 128, 4, 0.5)
    with pytest.raises(ValueError, match="channel"):
        DigitalLink("hevc", 128, 4, 0.5, channel="rician")
    with pytest.raises(ValueError, match="num_streams"):
        DigitalLink("hevc", 128, 4, 0.5, channel=MIMOChannel(2, 2), num_streams=3)
    with pytest.raises(ValueError, match="coderate"):
        DigitalLink("hevc", 128, 4, 1.2)
    with pytest.raises(ValueError, match="num_bits_per_symbol"):
        DigitalLink("hevc", 128, 3, 0.5)
    with pytest.raises(ValueError, match="images"):
        DigitalLink("hevc", 128, 4, 0.5).encode(np.zeros((32, 32, 3)))


@pytest.mark.parametrize("num_channel_uses", [2050, 2052, 2098])
def test_transport_chain_sizes_across_segmentation_boundaries(num_channel_uses):
    """Payload sizes near a code-block segmentation boundary still get a transport block."""
    chain = TransportChain(num_channel_uses, 2, 0.5, "awgn", num_streams=None)
    assert 0 < chain.payload_bits <= chain.num_coded_bits * 0.5 - 16  # minus the TB CRC
    bits = tf.zeros([1, chain.payload_bits])
    bits_hat, crc_ok = chain(bits, 0.01)
    assert bool(crc_ok.numpy()[0]) and bits_hat.shape == bits.shape


def test_bpg_link_sends_whole_files(images):
    """A "bpg" link's budget counts the whole BPG file; the 2-byte length field is the
    only framing on top, and files over the budget are not sent."""
    from sem_sionna.links.framing import LENGTH_BYTES, deframe_payloads
    link = DigitalLink("bpg", num_channel_uses=256, num_bits_per_symbol=4, coderate=0.5,
                       jit_compile=False)
    assert link.max_payload_bytes == link.chain.payload_bits // 8 - LENGTH_BYTES
    encoded = link.encode(images)
    for image, payload in zip(images, encoded["payloads"]):
        expected, _ = link.codec.encode_to_budget(np.asarray(image), link.max_payload_bytes)
        assert payload == expected and payload[:4] == b"BPG\xfb"
        assert len(payload) <= link.max_payload_bytes
    assert deframe_payloads(encoded["bits"]) == list(encoded["payloads"])
    _, info = link.decode(encoded, *link.transmit(encoded["bits"], 40.0))
    np.testing.assert_array_equal(info["payload_bytes"], [len(p) for p in encoded["payloads"]])
    assert info["decoded"].all()
    small = DigitalLink("bpg", num_channel_uses=48, num_bits_per_symbol=2, coderate=0.5,
                        jit_compile=False)  # under the smallest 32x32 BPG file (~43 B)
    assert small.max_payload_bytes < 40
    encoded = small.encode(images)
    assert not any(encoded["payloads"])
    _, info = small.decode(encoded, *small.transmit(encoded["bits"], 40.0))
    assert not info["decoded"].any() and not info["payload_bytes"].any()
