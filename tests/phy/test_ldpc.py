"""5G LDPC encoder/decoder and transport-block coding."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.phy import (AWGN, LDPCDecoder, LDPCEncoder, QAMDemapper, QAMMapper, TBDecoder,
                            TBEncoder, transport_block_size)


def random_bits(shape, seed=0):
    return tf.cast(tf.random.stateless_uniform(shape, [seed, 1], 0, 2, tf.int32), tf.float32)


def lifted_codeword(encoder, info_bits, codeword):
    """Place the rate-matched output back into the lifted code's positions.

    The 5G encoder punctures the first 2Z systematic bits, drops the filler bits
    (known zeros) and keeps the first n of the rest (38.212 5.3.2 / 5.4.2). Returns the
    lifted codeword and a mask of the positions it fills.
    """
    enc = encoder.sionna_encoder
    k, z, k_ldpc, n_ldpc = enc.k, enc.z, enc.k_ldpc, enc.n_ldpc
    batch = info_bits.shape[0]
    full = np.zeros((batch, n_ldpc))
    known = np.zeros(n_ldpc, bool)
    full[:, :k] = info_bits
    known[:k_ldpc] = True  # info bits + filler zeros
    num_parity = encoder.n - (k - 2 * z)
    full[:, k_ldpc:k_ldpc + num_parity] = codeword[:, k - 2 * z:]
    known[k_ldpc:k_ldpc + num_parity] = True
    np.testing.assert_array_equal(codeword[:, :k - 2 * z], info_bits[:, 2 * z:])
    return full, known


@pytest.mark.parametrize("k,n", [(512, 1024), (100, 300), (4000, 6000)])
def test_codewords_satisfy_parity_checks(k, n):
    """Every parity check whose bits are all transmitted (or known filler) holds."""
    encoder = LDPCEncoder(k, n)
    u = random_bits([8, k]).numpy()
    full, known = lifted_codeword(encoder, u, encoder(u).numpy())
    pcm = encoder.pcm.tocsr()
    rows = [r for r in range(pcm.shape[0]) if known[pcm.indices[pcm.indptr[r]:pcm.indptr[r + 1]]].all()]
    assert len(rows) >= (n - k) // 2  # the core checks plus the sent extension checks
    syndrome = pcm[rows].dot(full.T.astype(np.int64)) % 2
    assert np.all(syndrome == 0)
    # with a random word in place of the codeword the same checks fail
    noisy = full.copy()
    noisy[:, k:k_ldpc_of(encoder)] = 0
    noisy[:, :k] = 1 - noisy[:, :k]
    assert np.any(pcm[rows].dot(noisy.T.astype(np.int64)) % 2)


def k_ldpc_of(encoder):
    return encoder.sionna_encoder.k_ldpc


def test_error_free_at_high_snr():
    enc = LDPCEncoder(512, 1024)
    dec = LDPCDecoder(enc, num_iter=20)
    u = random_bits([32, 512])
    y = AWGN(seed=1)(QAMMapper(4)(enc(u)), 0.02)
    np.testing.assert_array_equal(dec(QAMDemapper(4)(y, 0.02)), u)


def test_bler_matches_raw_sionna_on_same_llrs():
    enc = LDPCEncoder(512, 1024)
    dec = LDPCDecoder(enc, num_iter=20)
    raw_enc = LDPC5GEncoder(512, 1024)
    raw_dec = LDPC5GDecoder(raw_enc, num_iter=20, hard_out=True)
    u = random_bits([200, 512], seed=3)
    np.testing.assert_array_equal(enc(u), raw_enc(u))
    no = 0.24  # mid SNR for 16-QAM rate 1/2: BLER strictly between 0 and 1
    llr = QAMDemapper(4)(AWGN(seed=2)(QAMMapper(4)(enc(u)), no), no)
    ours, raw = dec(llr), raw_dec(llr)
    np.testing.assert_array_equal(ours, raw)
    bler = np.mean(np.any(ours.numpy() != u.numpy(), axis=-1))
    assert 0.0 < bler < 1.0


def test_soft_decoder_is_differentiable():
    enc = LDPCEncoder(64, 128)
    dec = LDPCDecoder(enc, hard_out=False, num_iter=5)
    llr = tf.Variable(tf.random.normal([2, 128]))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.sigmoid(dec(llr)))
    grad = tape.gradient(loss, llr).numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_modes_agree_and_shapes():
    enc = LDPCEncoder(100, 300)
    dec = LDPCDecoder(enc, num_iter=10)
    u = random_bits([2, 3, 100])
    assert enc(u).shape == (2, 3, 300)
    assert_modes_agree(lambda b: dec(20.0 * (2.0 * enc(b) - 1.0)), u)


def test_save_load_roundtrip(tmp_path):
    enc = LDPCEncoder(128, 256)
    inp = keras.Input((128,))
    llr = 10.0 * (2.0 * enc(inp) - 1.0)
    model = keras.Model(inp, LDPCDecoder(enc, num_iter=7, hard_out=False)(llr))
    loaded = roundtrip(model, tmp_path)
    u = random_bits([4, 128])
    np.testing.assert_allclose(model(u), loaded(u), atol=1e-5)
    dec = [layer for layer in loaded.layers if isinstance(layer, LDPCDecoder)][0]
    assert dec.num_iter == 7 and dec.encoder.n == 256


@pytest.mark.parametrize("k,n", [(256, 256), (300, 200), (0, 100), (9000, 20000)])
def test_unsupported_code_raises(k, n):
    with pytest.raises(ValueError, match="k"):
        LDPCEncoder(k, n)


def test_wrong_input_length_and_type():
    enc = LDPCEncoder(64, 128)
    with pytest.raises(ValueError, match="bits"):
        enc(tf.zeros([2, 65]))
    with pytest.raises(TypeError, match="encoder"):
        LDPCDecoder("not an encoder")
    with pytest.raises(ValueError, match="llr"):
        LDPCDecoder(enc)(tf.zeros([2, 127]))


@pytest.mark.parametrize("num_coded_bits,m", [(1024, 2), (3072, 4), (20000, 2)])
def test_transport_block_roundtrip_with_crc(num_coded_bits, m):
    tb_size = transport_block_size(num_coded_bits, 0.5, m)
    enc = TBEncoder(tb_size, num_coded_bits, 0.5, m)
    dec = TBDecoder(enc)
    u = random_bits([3, tb_size])
    no = 0.01
    llr = QAMDemapper(m)(AWGN(seed=1)(QAMMapper(m)(enc(u)), no), no)
    bits_hat, crc_ok = dec(llr)
    np.testing.assert_array_equal(bits_hat, u)
    assert crc_ok.dtype == tf.bool and np.all(crc_ok.numpy())
    if num_coded_bits == 20000:
        assert enc.num_cbs > 1  # segmentation into several LDPC code blocks


def test_transport_block_crc_flags_failures_under_xla():
    tb_size = transport_block_size(2048, 0.75, 2)
    enc, mapper, demapper = TBEncoder(tb_size, 2048, 0.75, 2), QAMMapper(2), QAMDemapper(2)
    dec, awgn = TBDecoder(enc), AWGN(seed=4)

    @tf.function(jit_compile=True)
    def link(u, no):
        return dec(demapper(awgn(mapper(enc(u)), no), no))

    u = random_bits([8, tb_size])
    bits_hat, crc_ok = link(u, tf.constant(2.0))  # -3 dB: far below the threshold
    assert not np.any(crc_ok.numpy())
    errors = np.any(bits_hat.numpy() != u.numpy(), axis=-1)
    assert np.all(errors)


def test_transport_block_rejects_oversized_payload():
    tb_size = transport_block_size(1024, 0.5, 2)
    with pytest.raises(ValueError, match="target_tb_size"):
        TBEncoder(2 * tb_size, 1024, 0.5, 2)
    with pytest.raises(ValueError, match="num_coded_bits"):
        TBEncoder(100, 1025, 0.5, 2)
    with pytest.raises(ValueError, match="target_coderate"):
        TBEncoder(100, 1024, 1.5, 2)


def test_transport_block_save_load_roundtrip(tmp_path):
    tb_size = transport_block_size(1024, 0.5, 2)
    enc = TBEncoder(tb_size, 1024, 0.5, 2)
    inp = keras.Input((tb_size,))
    llr = 10.0 * (2.0 * enc(inp) - 1.0)
    bits_hat, crc_ok = TBDecoder(enc, num_iter=5)(llr)
    model = keras.Model(inp, [bits_hat, crc_ok])
    loaded = roundtrip(model, tmp_path)
    u = random_bits([3, tb_size])
    for a, b in zip(model(u), loaded(u)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded(u)[0], u)
