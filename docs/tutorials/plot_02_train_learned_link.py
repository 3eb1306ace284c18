"""
Train a learned link end to end
===============================

A tiny DeepJSCC link (Bourtsoulatze et al.): a convolutional encoder maps a 32x32 image
to ``K`` complex channel symbols with unit average power, the AWGN channel of
:mod:`sem_sionna.phy` adds noise, and a decoder reconstructs the image. The encoder,
channel and decoder are trained together through the channel, then wrapped in
:class:`sem_sionna.links.DeepJSCC`, saved to ``.keras``, reloaded and evaluated (PSNR vs
SNR).

::

    x --DeepJSCCEncoder--> z [K], complex64 --AWGN(no)--> z_hat --DeepJSCCDecoder--> x_hat

The network is small and trained for a few hundred steps so that the tutorial runs in
about a minute on a CPU; the scenario ``split_vs_ldpc`` trains the same blocks longer.
"""

# %%
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
import matplotlib.pyplot as plt

from sem_sionna import data, links, metrics, nets, phy

keras.utils.set_random_seed(0)
T0 = time.perf_counter()

# %%
# Data and blocks
# ---------------
# Patches of the embedded photos, float32 in [0, 1], ``[N, 32, 32, 3]``; the train and
# test patches come from different photos. ``K = 128`` complex symbols for
# ``32 * 32 * 3 = 3072`` real source values is a CBR of 1/24.

train_images = data.embedded_patches(32, "train", n=1024, seed=0)
test_images = data.embedded_patches(32, "test", n=64, seed=0)
num_symbols = 128
print("train", train_images.shape, "test", test_images.shape,
      f"CBR = {num_symbols / (32 * 32 * 3):.4f}")

encoder = nets.DeepJSCCEncoder(num_symbols, filters=16, head="dense")
decoder = nets.DeepJSCCDecoder(num_symbols, image_size=(32, 32), filters=16, head="dense")
awgn = phy.AWGN(seed=1)
decoder(encoder(tf.zeros([1, 32, 32, 3])))
print("trainable parameters:",
      sum(int(np.prod(v.shape)) for v in encoder.trainable_variables + decoder.trainable_variables))

# %%
# Training through the channel
# ----------------------------
# The loss is the pixel MSE after the noisy channel at a training SNR of 10 dB; gradients
# flow through ``phy.AWGN`` into the encoder.

train_no = float(phy.snrdb2no(10.0))
optimizer = keras.optimizers.Adam(2e-3)
variables = encoder.trainable_variables + decoder.trainable_variables


@tf.function
def train_step(images):
    with tf.GradientTape() as tape:
        x_hat = decoder(awgn(encoder(images), train_no))
        loss = tf.reduce_mean(tf.square(images - x_hat))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(1024, seed=0).batch(32)
history = []
for epoch in range(6):
    losses = [float(train_step(batch)) for batch in dataset]
    history.append(np.mean(losses))
    print(f"epoch {epoch + 1}: MSE {history[-1]:.4f} "
          f"(PSNR {10 * np.log10(1 / history[-1]):.1f} dB)")

fig, ax = plt.subplots(figsize=(5, 3), layout='constrained')
ax.plot(np.arange(1, len(history) + 1), 10 * np.log10(1 / np.array(history)), "o-")
ax.set_xlabel("epoch")
ax.set_ylabel("training PSNR [dB]")
ax.grid(True, alpha=0.3)
plt.show()

# %%
# Save the link and reload it
# ---------------------------
# :class:`~sem_sionna.links.DeepJSCC` holds the trained encoder and decoder; it is a
# ``keras.Model`` whose ``call(images, snr_db)`` runs the whole chain.

link = links.DeepJSCC(encoder, decoder, seed=3)
path = os.path.join(tempfile.mkdtemp(), "deepjscc.keras")
link(test_images[:1], 10.0)
link.save(path)
reloaded = keras.saving.load_model(path)
same = all(np.array_equal(a, b) for a, b in zip(link.get_weights(), reloaded.get_weights()))
print(f"saved {os.path.getsize(path) / 1e3:.0f} kB; weights identical after reload: {same}")

# %%
# Evaluate: PSNR vs SNR
# ---------------------
# The sweep API of a learned link: ``encode`` once per image batch, ``reconstruct`` per
# SNR and channel. PSNR is per image (:func:`sem_sionna.metrics.psnr`); the band is its
# 95 % confidence interval over the 64 test images (:func:`sem_sionna.metrics.mean_ci95`).

snr_db = [0.0, 5.0, 10.0, 15.0, 20.0]
state = reloaded.encode(test_images)
curves = {}
for channel in ("awgn", "rayleigh"):
    mean, ci = [], []
    for snr in snr_db:
        x_hat, _ = reloaded.reconstruct(state, snr, channel)
        m, h = metrics.mean_ci95(np.asarray(metrics.psnr(test_images, x_hat)))
        mean.append(m)
        ci.append(h)
    curves[channel] = (np.array(mean), np.array(ci))
    print(channel, " ".join(f"{s:4.0f} dB: {m:5.2f} +- {h:.2f}" for s, m, h in
                            zip(snr_db, mean, ci)))

fig, ax = plt.subplots(figsize=(5.5, 3.8), layout='constrained')
for channel, (mean, ci) in curves.items():
    ax.plot(snr_db, mean, "o-", label=f"DeepJSCC, {channel}")
    ax.fill_between(snr_db, mean - ci, mean + ci, alpha=0.25)
ax.set_xlabel("SNR [dB]")
ax.set_ylabel("PSNR [dB]")
ax.grid(True, alpha=0.3)
ax.legend()
plt.show()

# %%
# Reconstructions at 10 dB:

x_hat, _ = reloaded.reconstruct(state, 10.0, "awgn")
fig, axes = plt.subplots(2, 6, figsize=(6, 2.2), layout='constrained')
for i in range(6):
    axes[0, i].imshow(test_images[i])
    axes[1, i].imshow(np.clip(x_hat[i], 0, 1))
    for row in (0, 1):
        axes[row, i].set_axis_off()
axes[0, 0].set_title("input", fontsize=8, loc="left")
axes[1, 0].set_title("DeepJSCC, 10 dB", fontsize=8, loc="left")
plt.show()
print(f"tutorial run time: {time.perf_counter() - T0:.1f} s")
