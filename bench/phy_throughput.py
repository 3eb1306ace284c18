"""Wrapper overhead: sem_sionna's Keras chain vs the same raw Sionna blocks.

Chain: LDPC(k=512, n=1024) -> 16-QAM -> AWGN -> APP demapper -> BP-20 decoder,
both compiled (``tf.function``, with and without XLA), timed side by side in one
run. Prints info Mbit/s and the ratio ours / raw (target >= 0.95).

    python bench/phy_throughput.py [--batch 2000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sionna.phy import channel, config, fec, mapping  # noqa: E402

from sem_sionna import phy  # noqa: E402

K, N, M = 512, 1024, 4


def ours():
    enc = phy.LDPCEncoder(K, N)
    dec = phy.LDPCDecoder(enc, num_iter=20)
    mapper, demapper, awgn = phy.QAMMapper(M), phy.QAMDemapper(M), phy.AWGN(seed=1)

    def chain(u, no):
        return dec(demapper(awgn(mapper(enc(u)), no), no))
    return chain


def raw():
    enc = fec.ldpc.LDPC5GEncoder(K, N)
    dec = fec.ldpc.LDPC5GDecoder(enc, num_iter=20)
    mapper = mapping.Mapper("qam", M)
    demapper = mapping.Demapper("app", "qam", M)
    awgn = channel.AWGN()

    def chain(u, no):
        return dec(demapper(awgn(mapper(enc(u)), no), no))
    return chain


def compare(fn_a, fn_b, u, no, repeats):
    """Best-of-``repeats`` info Mbit/s of two chains, timed alternately (A, B, A, B, ...)."""
    for fn in (fn_a, fn_b):
        fn(u, no).numpy()  # trace + compile
    best = [np.inf, np.inf]
    for _ in range(repeats):
        for i, fn in enumerate((fn_a, fn_b)):
            t0 = time.perf_counter()
            fn(u, no).numpy()
            best[i] = min(best[i], time.perf_counter() - t0)
    return [u.shape[0] * K / b / 1e6 for b in best]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    config.seed = 1
    u = tf.cast(tf.random.stateless_uniform([args.batch, K], [0, 1], 0, 2, tf.int32), tf.float32)
    no = tf.constant(phy.ebnodb2no(3.0, M, K / N), tf.float32)
    rows = []
    for mode, jit in (("graph", False), ("XLA", True)):
        a, b = compare(tf.function(ours(), jit_compile=jit), tf.function(raw(), jit_compile=jit),
                       u, no, args.repeats)
        rows.append((mode, a, b, a / b))
    print(f"LDPC({N},{K}) + 16-QAM + AWGN + BP-20, batch {args.batch}, best of {args.repeats}")
    print(f"{'mode':<6} {'sem_sionna Mbit/s':>18} {'raw Sionna Mbit/s':>18} {'ratio':>7}")
    for mode, a, b, r in rows:
        print(f"{mode:<6} {a:>18.2f} {b:>18.2f} {r:>7.3f}")


if __name__ == "__main__":
    main()
