"""Training step time of the scenario models: eager vs ``tf.function`` (graph) vs XLA.

One Adam step (``tf.GradientTape`` + ``apply_gradients``) per model, at small sizes like
the scenarios' quick profiles, run three ways side by side in one process:

- eager: the step function called as is;
- graph: ``tf.function(step)``;
- XLA: ``tf.function(step, jit_compile=True)``.

The first call of a compiled step (tracing, plus XLA compilation) is timed separately and
excluded from the step times. Steps are timed in rounds, the modes alternating within each
round (eager, graph, XLA, eager, ...), and each mode keeps its best round. Prints ms/step,
the ratios graph/eager and XLA/graph (step-time ratios: below 1 is faster) and the compile
times.

Models (each a loss built from the public layers, as the training stages build theirs):

==========  ==================================================================================
s1-source   SourceMapper(512, filters=32, "conv") + SourceDemapper over MultiLevelBSC(8),
            VIMCO (J=8), batch 32 of 32x32 images (S1 stage 1)
s1-channel  ChannelMapper(512, 128) / ChannelDemapper(128, 512) + AWGN, straight-through
            bits into the frozen source demapper (S1/S0 stage 2 with ``estimator="ste"``)
s0-channel  ImportanceChannelMapper / ...Demapper (512 bits, 128 symbols, 32 tokens of 64,
            1 Transformer block) + AWGN at 5-20 dB, eps of a LearnedBSCInterface, STE
deepjscc    DeepJSCCEncoder(128, filters=32, "dense") / DeepJSCCDecoder + AWGN, MSE
s3-ppen     PPEN() + SegNet(7) at 64x64, batch 8, per-pixel cross-entropy
s4-vae      VAE(32, image_size=32), MSE + 1e-3 KL, reparameterised sample
phy-mimo    Dense(256) -> sigmoid -> QAMMapper(16-QAM, straight-through) -> SVDPrecoder ->
            MIMOChannel(2, 2) -> SVDCombiner -> QAMDemapper -> BCE on the LLRs, batch 128
==========  ==================================================================================

    python bench/train_steps.py [--quick] [--steps 5] [--repeats 3] [--models s1-source,...]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from _models import FILTERS, NUM_BITS, NUM_SYMBOLS, channel_pair, importance_pair, source_pair

from sem_sionna import nets, phy, train

MODES = ("eager", "graph", "XLA")


def _images(batch, size, seed=0):
    return tf.random.stateless_uniform([batch, size, size, 3], [seed, 1])


def _bits(batch, n, seed=0):
    return tf.cast(tf.random.stateless_uniform([batch, n], [seed, 2]) < 0.5, tf.float32)


def _ste(p, seed):
    hard = tf.cast(keras.random.uniform(tf.shape(p), seed=seed) < p, p.dtype)
    return p + tf.stop_gradient(hard - p)


# Each builder returns (description, trainable variables, loss_fn(batch) -> scalar, batch).
def s1_source():
    f, g = source_pair()
    interface = nets.MultiLevelBSC(8, num_bits=NUM_BITS, seed=1)
    seed = keras.random.SeedGenerator(1)
    images = _images(32, 32)

    def loss_fn(x):
        p_hat = interface.noisy_probs(f(x))

        def sample_loss(u):                                   # u [J, b, M] -> [J, b] SSE
            j, b = tf.shape(u)[0], tf.shape(u)[1]
            x_hat = tf.reshape(g(tf.reshape(u, [-1, NUM_BITS])),
                               tf.concat([[j, b], tf.shape(x)[1:]], 0))
            return tf.reduce_sum(tf.square(x[None] - x_hat), axis=[-3, -2, -1])

        surrogate, _, _ = train.vimco_loss(p_hat, sample_loss, 8, seed=seed)
        return surrogate

    return ("S1 source stage, VIMCO J=8, b=32", f.trainable_variables + g.trainable_variables,
            loss_fn, images)


def s1_channel():
    f, g = source_pair()
    h, q = channel_pair()
    awgn = phy.AWGN(seed=2)
    seed = keras.random.SeedGenerator(2)
    images = _images(32, 32)
    u = tf.round(f(images))
    no = tf.constant(phy.snrdb2no(20.0), tf.float32)

    def loss_fn(batch):
        u, x = batch
        v = _ste(q(awgn(h(u), no)), seed)
        return tf.reduce_mean(tf.square(x - g(v)))

    return ("S1 channel stage, STE, frozen g, b=32",
            h.trainable_variables + q.trainable_variables, loss_fn, (u, images))


def s0_channel():
    f, g = source_pair()
    interface = nets.LearnedBSCInterface(NUM_BITS, seed=3)
    interface(tf.zeros([1, NUM_BITS]))
    eps = tf.constant(interface.eps)
    h, q = importance_pair(eps)
    awgn = phy.AWGN(seed=3)
    seed = keras.random.SeedGenerator(3)
    snr_seed = keras.random.SeedGenerator(4)
    images = _images(32, 32)
    u = tf.round(f(images))

    def loss_fn(batch):
        u, x = batch
        snr = keras.random.uniform(tf.shape(u)[:1], 5.0, 20.0, seed=snr_seed)
        y = awgn(h(u, eps, snr), tf.pow(10.0, -snr / 10.0))
        v = _ste(q(y, eps, snr), seed)
        return tf.reduce_mean(tf.square(x - g(v)))

    return ("S0 importance mappers, STE, b=32",
            h.trainable_variables + q.trainable_variables, loss_fn, (u, images))


def deepjscc():
    enc = nets.DeepJSCCEncoder(NUM_SYMBOLS, filters=FILTERS, head="dense")
    dec = nets.DeepJSCCDecoder(NUM_SYMBOLS, image_size=(32, 32), filters=FILTERS, head="dense")
    dec(enc(tf.zeros([1, 32, 32, 3])))
    awgn = phy.AWGN(seed=5)
    no = tf.constant(phy.snrdb2no(10.0), tf.float32)

    def loss_fn(x):
        return tf.reduce_mean(tf.square(x - dec(awgn(enc(x), no))))

    return ("DeepJSCC K=128 over AWGN, b=32", enc.trainable_variables + dec.trainable_variables,
            loss_fn, _images(32, 32))


def s3_ppen():
    ppen = nets.PPEN()
    seg = nets.SegNet(7)
    images = _images(8, 64)
    labels = tf.random.stateless_uniform([8, 64, 64], [0, 3], 0, 7, tf.int32)
    q = tf.fill([8], 34.0)
    seg(ppen(images[:1], q[:1]), training=True)

    def loss_fn(batch):
        x, y = batch
        logits = seg(ppen(x, q), training=True)
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))

    return ("S3 PPEN + SegNet(7), 64x64, b=8", ppen.trainable_variables + seg.trainable_variables,
            loss_fn, (images, labels))


def s4_vae():
    vae = nets.VAE(32, image_size=32, seed=6)
    vae(tf.zeros([1, 32, 32, 3]))

    def loss_fn(x):
        mu, logvar = vae.encode(x)
        x_hat = vae.decode(vae.sample(mu, logvar))
        return (tf.reduce_mean(tf.square(x - x_hat))
                + 1e-3 * tf.reduce_mean(nets.kl_divergence(mu, logvar)))

    return "S4 VAE(32), b=32", vae.trainable_variables, loss_fn, _images(32, 32)


def phy_mimo():
    n_bits, m, batch = 256, 4, 128
    dense = keras.layers.Dense(n_bits)
    mapper, demapper = phy.QAMMapper(m), phy.QAMDemapper(m)
    channel = phy.MIMOChannel(2, 2, seed=7)
    pre, comb = phy.SVDPrecoder(2, "equal"), phy.SVDCombiner(2, "equal")
    no = tf.constant(phy.snrdb2no(15.0), tf.float32)
    u = _bits(batch, n_bits)
    dense.build((None, n_bits))

    def loss_fn(u):
        s = tf.reshape(mapper(tf.sigmoid(dense(2.0 * u - 1.0))), [batch, 2, -1])
        h, h_hat = channel.generate(batch)
        y = channel.apply(pre(s, h_hat, no), no, h)
        s_hat, no_eff = comb(y, h_hat, no)
        llr = demapper(tf.reshape(s_hat, [batch, -1]),
                       tf.reshape(tf.repeat(no_eff, tf.shape(s_hat)[-1], axis=-1), [batch, -1]))
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=u, logits=llr))

    return ("Dense->16QAM->SVD 2x2 MIMO->BCE, b=128", dense.trainable_variables, loss_fn, u)


MODELS = {"s1-source": s1_source, "s1-channel": s1_channel, "s0-channel": s0_channel,
          "deepjscc": deepjscc, "s3-ppen": s3_ppen, "s4-vae": s4_vae, "phy-mimo": phy_mimo}


def make_step(variables, loss_fn):
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(variables)

    def step(batch):
        with tf.GradientTape() as tape:
            loss = loss_fn(batch)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss
    return step


def bench_model(name, steps, repeats):
    """{mode: (ms/step or None, first-call s or None, error or None)} and the description."""
    keras.utils.set_random_seed(0)
    desc, variables, loss_fn, batch = MODELS[name]()
    fns = {"eager": make_step(variables, loss_fn),
           "graph": tf.function(make_step(variables, loss_fn)),
           "XLA": tf.function(make_step(variables, loss_fn), jit_compile=True)}
    result = {}
    for mode, fn in fns.items():
        t0 = time.perf_counter()
        try:
            loss = float(fn(batch))
            if not np.isfinite(loss):
                raise FloatingPointError(f"loss {loss}")
        except Exception as e:  # noqa: BLE001 -- report it, go on with the other modes
            result[mode] = [None, None, f"{type(e).__name__}: {str(e).splitlines()[0][:60]}"]
            continue
        result[mode] = [np.inf, time.perf_counter() - t0, None]
    for _ in range(repeats):
        for mode, fn in fns.items():
            if result[mode][2] is not None:
                continue
            t0 = time.perf_counter()
            for _ in range(steps):
                loss = fn(batch)
            float(loss)
            result[mode][0] = min(result[mode][0], (time.perf_counter() - t0) / steps * 1e3)
    return desc, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds of 3 steps (default: --repeats rounds of --steps)")
    parser.add_argument("--steps", type=int, default=5, help="steps per timed round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; best one kept")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of {', '.join(MODELS)}")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    steps, repeats = (3, 2) if args.quick else (args.steps, args.repeats)

    t_start = time.perf_counter()
    rows = []
    for name in names:
        desc, res = bench_model(name, steps, repeats)
        rows.append((name, desc, res))
        print(f"  {name}: done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    print(f"\nTraining step time (Adam), best of {repeats} rounds of {steps} steps; "
          f"TF {tf.__version__}, Keras {keras.__version__}, "
          f"device {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}")
    print("ratios are step-time ratios (< 1: faster); compile = first call (trace "
          "[+ XLA compile] + one step), not in ms/step\n")
    head = (f"{'model':<11} {'eager ms':>9} {'graph ms':>9} {'XLA ms':>9} {'graph/eager':>12} "
            f"{'XLA/graph':>10} {'graph compile s':>16} {'XLA compile s':>14}")
    print(head)
    print("-" * len(head))
    errors = []

    def ms(mode, res):
        return "failed" if res[mode][2] else f"{res[mode][0]:.1f}"

    def ratio(a, b, res):
        if res[a][2] or res[b][2]:
            return "-"
        return f"{res[a][0] / res[b][0]:.2f}"

    def comp(mode, res):
        return "-" if res[mode][2] else f"{res[mode][1]:.2f}"

    for name, desc, res in rows:
        print(f"{name:<11} {ms('eager', res):>9} {ms('graph', res):>9} {ms('XLA', res):>9} "
              f"{ratio('graph', 'eager', res):>12} {ratio('XLA', 'graph', res):>10} "
              f"{comp('graph', res):>16} {comp('XLA', res):>14}")
        errors += [f"{name} {m}: {res[m][2]}" for m in MODES if res[m][2]]
    print()
    for name, desc, _ in rows:
        print(f"{name:<11} {desc}")
    for e in errors:
        print(f"failed: {e}")
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
