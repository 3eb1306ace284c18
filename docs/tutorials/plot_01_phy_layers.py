"""
Use the layers in a Sionna study
================================

The blocks of :mod:`sem_sionna.phy` are Keras layers around Sionna's own blocks:
``LDPCEncoder``/``LDPCDecoder`` (5G LDPC), ``QAMMapper``/``QAMDemapper``, ``AWGN``,
``MIMOChannel`` and the ``SVDPrecoder``/``SVDCombiner`` pair. This tutorial

1. checks uncoded QPSK and 16-QAM over AWGN against the closed-form BER,
2. checks the layers against Sionna's blocks on the same bits and noise,
3. runs 5G LDPC + 16-QAM over a 2x2 MIMO channel with SVD precoding,
4. compiles the chain with XLA (``jit_compile=True``),
5. saves a model containing the layers to ``.keras`` and reloads it with identical outputs.

``no`` is the complex noise variance per receive antenna and symbol; the transmit power
per channel use is 1, so ``SNR_dB = -10 log10(no)``.
"""

# %%
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
import matplotlib.pyplot as plt
from scipy.special import erfc

from sem_sionna import phy

keras.utils.set_random_seed(1)
T0 = time.perf_counter()


def random_bits(*shape):
    return tf.cast(tf.random.uniform(shape, 0, 2, tf.int32), tf.float32)


def qfunc(x):
    return 0.5 * erfc(x / np.sqrt(2.0))

# %%
# Uncoded BER over AWGN against theory
# ------------------------------------
# With unit symbol energy, Gray-labelled QPSK has ``BER = Q(sqrt(1/no))`` and 16-QAM
# ``BER = (3 Q(a) + 2 Q(3a) - Q(5a)) / 4`` with ``a = sqrt(1 / (5 no))``.

snr_db = np.arange(0.0, 15.0, 2.0)
awgn = phy.AWGN(seed=2)
ber = {}
for m in (2, 4):
    mapper, demapper = phy.QAMMapper(m), phy.QAMDemapper(m, hard_out=True)
    ber[m] = []
    for snr in snr_db:
        no = phy.snrdb2no(snr)
        bits = random_bits(200, 1000 * m)
        bits_hat = demapper(awgn(mapper(bits), no), no)
        ber[m].append(float(tf.reduce_mean(tf.abs(bits - bits_hat))))

no = 10.0 ** (-snr_db / 10.0)
theory = {2: qfunc(np.sqrt(1.0 / no)),
          4: (3 * qfunc(np.sqrt(1 / (5 * no))) + 2 * qfunc(3 * np.sqrt(1 / (5 * no)))
              - qfunc(5 * np.sqrt(1 / (5 * no)))) / 4}
for m, name in ((2, "QPSK"), (4, "16-QAM")):
    print(f"{name:7s} simulated", np.array2string(np.array(ber[m]), precision=4))
    print(f"{name:7s} theory   ", np.array2string(theory[m], precision=4))

fig, ax = plt.subplots(figsize=(5.5, 3.8), layout='constrained')
for m, name in ((2, "QPSK"), (4, "16-QAM")):
    ax.semilogy(snr_db, ber[m], "o", label=f"{name}, sem_sionna layers")
    ax.semilogy(snr_db, theory[m], "-", label=f"{name}, closed form")
ax.set_xlabel("SNR [dB]")
ax.set_ylabel("BER")
ax.set_ylim(1e-6, 1)
ax.grid(True, which="both", alpha=0.3)
ax.legend()
plt.show()

# %%
# Against Sionna's own blocks
# ---------------------------
# The layers wrap Sionna: on the same bits and the same noise they give the same
# symbols, LLRs and decoded bits.

from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import Demapper, Mapper

k, n, m = 512, 1024, 4
encoder = phy.LDPCEncoder(k, n)
decoder = phy.LDPCDecoder(encoder, num_iter=20)
mapper, demapper = phy.QAMMapper(m), phy.QAMDemapper(m)
sn_encoder = LDPC5GEncoder(k, n)
sn_decoder = LDPC5GDecoder(sn_encoder, num_iter=20, hard_out=True)
sn_mapper, sn_demapper = Mapper("qam", m), Demapper("app", "qam", m)

bits = random_bits(64, k)
no = phy.snrdb2no(7.0)
x = mapper(encoder(bits))
noise = tf.complex(tf.random.normal(x.shape), tf.random.normal(x.shape)) * np.sqrt(no / 2)
llr = demapper(x + noise, no)
bits_hat = decoder(llr)

x_sn = sn_mapper(sn_encoder(bits))
llr_sn = sn_demapper(x_sn + noise, tf.constant(no, tf.float32))
bits_hat_sn = sn_decoder(llr_sn)
print("max |x - x_sionna|      :", float(tf.reduce_max(tf.abs(x - x_sn))))
print("max |llr - llr_sionna|  :", float(tf.reduce_max(tf.abs(llr - llr_sn))))
print("decoded bits identical  :", bool(tf.reduce_all(bits_hat == bits_hat_sn)))
print("coded BER at 7 dB       :", float(tf.reduce_mean(tf.abs(bits - bits_hat))))

# %%
# 5G LDPC + 16-QAM over 2x2 MIMO with SVD precoding
# -------------------------------------------------
# The precoder needs the channel estimate before transmission, so the channel is split
# into ``generate`` (draw ``h`` and ``h_hat``) and ``apply``. The combiner returns the
# equalised streams and their noise variance ``no_eff``, ready for the demapper.

channel = phy.MIMOChannel(2, 2, model="rayleigh", seed=3)
precoder = phy.SVDPrecoder(2, power_allocation="waterfilling")
combiner = phy.SVDCombiner(2, power_allocation="waterfilling")
sym_per_stream = n // m // 2


def mimo_link(bits, no):
    s = tf.reshape(mapper(encoder(bits)), [-1, 2, sym_per_stream])  # 2 streams
    h, h_hat = channel.generate(tf.shape(bits)[0])
    y = channel.apply(precoder(s, h_hat, no), no, h)
    s_hat, no_eff = combiner(y, h_hat, no)
    llr = demapper(s_hat, no_eff[..., tf.newaxis])  # per-stream noise after combining
    return decoder(tf.reshape(llr, [-1, n]))


mimo_link_xla = tf.function(mimo_link, jit_compile=True)
mimo_snr_db = [5.0, 10.0, 15.0, 20.0]
bler = []
for snr in mimo_snr_db:
    bits = random_bits(256, k)
    bits_hat = mimo_link_xla(bits, tf.constant(phy.snrdb2no(snr), tf.float32))
    bler.append(float(tf.reduce_mean(tf.cast(tf.reduce_any(bits != bits_hat, -1), tf.float32))))
for snr, b in zip(mimo_snr_db, bler):
    print(f"2x2 MIMO, SVD + water-filling, {snr:4.1f} dB: BLER {b:.3f}")

fig, ax = plt.subplots(figsize=(5.5, 3.5), layout='constrained')
ax.semilogy(mimo_snr_db, np.maximum(bler, 1e-3), "o-")
ax.set_xlabel("SNR [dB]")
ax.set_ylabel("BLER (LDPC 512/1024, 16-QAM)")
ax.set_title("2x2 Rayleigh block fading, SVD precoding")
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %%
# XLA gives the same result as eager execution
# --------------------------------------------
# On the same bits and noise, the chain compiled with ``jit_compile=True`` decodes the
# same bits as the eager chain.


def awgn_chain(bits, noise, no):
    return decoder(demapper(mapper(encoder(bits)) + noise, no))


bits = random_bits(64, k)
noise = tf.complex(tf.random.normal([64, n // m]), tf.random.normal([64, n // m]))
noise = noise * tf.cast(tf.sqrt(phy.snrdb2no(6.0) / 2), tf.complex64)
no = tf.constant(phy.snrdb2no(6.0), tf.float32)
eager = awgn_chain(bits, noise, no)
xla = tf.function(awgn_chain, jit_compile=True)(bits, noise, no)
print("eager == XLA:", bool(tf.reduce_all(eager == xla)))

# %%
# Save to ``.keras`` and reload
# -----------------------------
# A functional model mixing a learned ``Dense`` layer with the 5G chain saves and loads
# back with identical outputs (the layers are registered Keras objects with
# ``get_config``).

inp = keras.Input((k,))
soft = keras.layers.Dense(k, activation="sigmoid")(inp)
coded = phy.LDPCEncoder(k, n)(keras.ops.round(soft))
llr = phy.QAMDemapper(m)(phy.QAMMapper(m)(coded), 0.1)
model = keras.Model(inp, llr)

path = os.path.join(tempfile.mkdtemp(), "chain.keras")
model.save(path)
reloaded = keras.saving.load_model(path)
probe = np.random.default_rng(0).normal(size=(8, k)).astype("float32")
print("identical outputs after reload:",
      bool(np.array_equal(model(probe).numpy(), reloaded(probe).numpy())))
print(f"tutorial run time: {time.perf_counter() - T0:.1f} s")
