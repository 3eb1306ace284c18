"""
Compare a learned scheme with BPG + 5G LDPC
===========================================

A link-level comparison as the scenario scripts run it, on the same test images, channel
and SNRs:

- ``deepjscc``: a small DeepJSCC link (:class:`sem_sionna.links.DeepJSCC`), trained here
  for a few epochs;
- ``bpg+ldpc``: real BPG files (:func:`sem_sionna.codecs.get` ``("bpg")``) at the best
  quality that fits one 5G transport block (CRC + LDPC + rate matching), 16-QAM at code
  rate 1/2 over the same number of channel uses (:class:`sem_sionna.links.DigitalLink`);
  a block that fails its CRC shows the fallback image.

The sweep engine (:mod:`sem_sionna.sweep`) encodes once per scheme and evaluates per SNR,
keeps per-image metrics (``per_image.npz``), writes means with 95 % half-widths
(``<metric>_ci95``) into ``metrics.csv`` after every point and resumes a finished run.
A claim (:mod:`sem_sionna.metrics`) then turns the numbers into a verdict.
"""

# %%
import os

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in the rendered output

import tempfile
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from sem_sionna import codecs, data, links, metrics, nets, phy, plot, sweep

keras.utils.set_random_seed(0)
T0 = time.perf_counter()
out = Path(tempfile.mkdtemp()) / "bpg_vs_deepjscc"

train_images = data.embedded_patches(32, "train", n=512, seed=0)
test_images = data.embedded_patches(32, "test", n=32, seed=0)
num_channel_uses = 256  # complex symbols per 32x32x3 image: CBR 1/12
cbr = num_channel_uses / (32 * 32 * 3)

# %%
# The digital chain: BPG + 5G LDPC + 16-QAM
# -----------------------------------------
# The payload budget is what one transport block of ``num_channel_uses`` 16-QAM symbols
# carries at rate 1/2, minus the CRC and framing; BPG's rate control picks the best QP
# whose whole file fits.

bpg = codecs.get("bpg")
payload, qp = bpg.encode_to_budget(test_images[0], max_bytes=60)
print(f"one BPG file: {len(payload)} bytes at QP {qp}, "
      f"PSNR {float(metrics.psnr(test_images[:1], bpg.decode(payload)[None])[0]):.1f} dB")

digital = links.DigitalLink("bpg", num_channel_uses, num_bits_per_symbol=4, coderate=0.5,
                            channel="awgn", seed=1)
x_hat, info = digital(test_images[:4], 12.0, return_info=True)
print("payload bytes", np.asarray(info["payload_bytes"]), "decoded", np.asarray(info["decoded"]))

# %%
# The learned link: a small DeepJSCC
# ----------------------------------

encoder = nets.DeepJSCCEncoder(num_channel_uses, filters=16, head="dense")
decoder = nets.DeepJSCCDecoder(num_channel_uses, image_size=(32, 32), filters=16, head="dense")
awgn = phy.AWGN(seed=2)
decoder(encoder(tf.zeros([1, 32, 32, 3])))
variables = encoder.trainable_variables + decoder.trainable_variables
optimizer = keras.optimizers.Adam(2e-3)


@tf.function
def train_step(images, no):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(images - decoder(awgn(encoder(images), no))))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(512, seed=0).batch(32)
for epoch in range(5):
    loss = np.mean([float(train_step(b, phy.snrdb2no(10.0))) for b in dataset])
print(f"DeepJSCC training MSE after 5 epochs: {loss:.4f}")
deepjscc = links.DeepJSCC(encoder, decoder, seed=3)

# %%
# The sweep
# ---------
# :func:`~sem_sionna.sweep.grid` lists the points; every link implements the sweep
# protocol (:class:`~sem_sionna.sweep.SweepLink`: ``encode(images)`` once per scheme,
# channel and CBR, ``reconstruct(state, snr_db, channel)`` per SNR), and
# :class:`~sem_sionna.sweep.ImageSweep` turns ``{(scheme, cbr, channel): link}`` into the
# runner's ``prepare`` and ``evaluate``, returning per-image PSNR, MS-SSIM and decode failures;
# :func:`~sem_sionna.sweep.with_ci95` adds a ``<metric>_ci95`` column after each metric.

schemes = {("deepjscc", cbr, "awgn"): deepjscc, ("bpg+ldpc", cbr, "awgn"): digital}
image_sweep = sweep.ImageSweep(schemes, test_images)
columns = sweep.with_ci95(["scheme", "channel", "cbr", "snr_db", "psnr", "ms_ssim",
                           "fail_rate", "n_images"], ["psnr", "ms_ssim", "fail_rate"])
points = sweep.grid(scheme=["deepjscc", "bpg+ldpc"], channel="awgn", cbr=cbr,
                    snr_db=[0.0, 4.0, 8.0, 12.0, 16.0])


runner = sweep.SweepRunner(out, columns=columns, seed=0)
t = time.perf_counter()
rows = runner.run(points, image_sweep.evaluate, prepare=image_sweep.prepare,
                  reseed=image_sweep.seeded_layers())
print(f"{len(rows)} points in {time.perf_counter() - t:.1f} s; files: "
      f"{sorted(p.name for p in out.iterdir())}")
for row in rows:
    fail = "" if row["fail_rate"] is None else f"  fail rate {row['fail_rate']:.2f}"
    print(f"{row['scheme']:9s} {row['snr_db']:5.1f} dB  PSNR {row['psnr']:5.2f} "
          f"+- {row['psnr_ci95']:.2f}{fail}")

# %%
# Resume: a second run with ``resume=True`` finds every point in ``metrics.csv`` and
# evaluates none of them (``--resume`` on a scenario's command line).

t = time.perf_counter()
rows_again = sweep.SweepRunner(out, columns=columns, seed=0, resume=True).run(
    points, image_sweep.evaluate, prepare=image_sweep.prepare)
print(f"resumed in {time.perf_counter() - t:.2f} s, same rows: {rows_again == rows}")

# %%
# PSNR vs SNR with confidence bands
# ---------------------------------
# :func:`sem_sionna.plot.metric_vs_snr` writes the figure (shaded: the 95 % intervals of
# the ``psnr_ci95`` column) and returns its path.

png = plot.metric_vs_snr(rows, "psnr", out)
fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
ax.imshow(plt.imread(png))
ax.set_axis_off()
plt.show()

# %%
# A claim and its verdict
# -----------------------
# :class:`~sem_sionna.metrics.Greater` compares the per-image PSNR of two schemes paired
# image by image at each SNR; :func:`~sem_sionna.metrics.evaluate_claims` gives the
# ``claims.json`` entries and :func:`~sem_sionna.metrics.claims_markdown` a table.

samples = metrics.PerImage.load(out / "per_image.npz")
claims = (
    metrics.Claim("low-snr", "S1 Fig. 7", "DeepJSCC beats BPG + LDPC below 8 dB",
                  metrics.Greater("deepjscc", "bpg+ldpc", "psnr",
                                  where={"snr_db": [0.0, 4.0]})),
    metrics.Claim("every-snr", "S1 Fig. 7", "DeepJSCC beats BPG + LDPC at every SNR",
                  metrics.GreaterAtEveryPoint("deepjscc", "bpg+ldpc", "psnr")),
)
entries = metrics.evaluate_claims(claims, samples, rows)
print(metrics.claims_markdown(entries))
print(f"tutorial run time: {time.perf_counter() - T0:.1f} s")
