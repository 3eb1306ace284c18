"""Evaluation throughput (images/s) of the learned links and the digital baseline.

One evaluation point = the sweep API of each link on one batch at 10 dB over AWGN:

- learned links of :mod:`sem_sionna.links.split` (untrained nets at the quick profile's
  sizes: 512 source bits, K = 128 symbols, 32 filters), ``link.encode(images)`` +
  ``link.reconstruct(state, snr_db, "awgn")``, with the link's ``jit_compile`` off
  ("graph": ``tf.function``) and on ("XLA"): ``SplitJSCC``, ``LearnedInterfaceJSCC``
  (importance mappers, 32 tokens of 64, 1 Transformer block) and ``DeepJSCC``;
- ``DigitalLink("hevc", 128, 4, 0.5)``: ``encode`` (codec rate control) + ``transmit``
  (5G transport block chain) + ``decode`` (codec), transport chain compiled with and
  without XLA; its decode cache is cleared before every timed point.

``encode`` runs eagerly (once per batch in a sweep) and ``reconstruct``/``transmit`` are
the compiled per-SNR part; both are timed, and the per-SNR part is also reported alone.
The first call per batch size (tracing, XLA compilation) is excluded and printed. Images
are 32x32 natural-image patches (``data.embedded_patches``).

    python bench/eval_throughput.py [--quick] [--batches 64,256] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")

import keras
import numpy as np
import tensorflow as tf

from _models import FILTERS, NUM_BITS, NUM_SYMBOLS, channel_pair, importance_pair, source_pair

from sem_sionna import links, nets
from sem_sionna.data import embedded_patches

SNR_DB = 10.0
LEARNED = ("SplitJSCC", "LearnedInterfaceJSCC", "DeepJSCC")


def make_learned(kind: str, jit_pair=(False, True)) -> dict:
    """{jit_compile: link} for one kind; both links share the same (untrained) nets."""
    if kind == "SplitJSCC":
        f, g = source_pair()
        h, q = channel_pair()
        return {jit: links.SplitJSCC(f, g, h, q, seed=1, jit_compile=jit) for jit in jit_pair}
    if kind == "LearnedInterfaceJSCC":
        f, g = source_pair()
        interface = nets.LearnedBSCInterface(NUM_BITS, seed=1)
        interface(tf.zeros([1, NUM_BITS]))
        h, q = importance_pair(interface.eps)
        return {jit: links.LearnedInterfaceJSCC(f, g, interface, h, q, seed=1, jit_compile=jit)
                for jit in jit_pair}
    enc = nets.DeepJSCCEncoder(NUM_SYMBOLS, filters=FILTERS, head="dense")
    dec = nets.DeepJSCCDecoder(NUM_SYMBOLS, image_size=(32, 32), filters=FILTERS, head="dense")
    dec(enc(tf.zeros([1, 32, 32, 3])))
    return {jit: links.DeepJSCC(enc, dec, seed=1, jit_compile=jit) for jit in jit_pair}


def time_learned(link, images, repeats):
    """(first call s, best encode s, best reconstruct s) for one batch."""
    t0 = time.perf_counter()
    link.reconstruct(link.encode(images), SNR_DB, "awgn")
    first = time.perf_counter() - t0
    best_enc = best_rec = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        state = link.encode(images)
        # encode returns tensors computed eagerly; make sure they are done
        _ = [v.numpy() for k, v in state.items() if k != "n"]
        t1 = time.perf_counter()
        link.reconstruct(state, SNR_DB, "awgn")
        t2 = time.perf_counter()
        best_enc, best_rec = min(best_enc, t1 - t0), min(best_rec, t2 - t1)
    return first, best_enc, best_rec


def _clear_codec_caches(link):
    """Forget encoded and decoded payloads, as for a batch seen for the first time."""
    from sem_sionna.codecs import base
    cache = base._ENCODE_CACHE
    with cache._lock:
        cache._items.clear()
        cache._size = 0
    link._decode_cache.clear()


def time_digital(link, images, repeats):
    """(first call s, best encode s, best transmit s, best decode s, decoded fraction)."""
    t0 = time.perf_counter()
    _clear_codec_caches(link)
    link.run(images, SNR_DB)
    first = time.perf_counter() - t0
    best = [np.inf] * 3
    ok = 0.0
    for _ in range(repeats):
        _clear_codec_caches(link)  # every timed point encodes and decodes its images
        t0 = time.perf_counter()
        encoded = link.encode(images)
        t1 = time.perf_counter()
        bits_hat, crc_ok = link.transmit(encoded["bits"], SNR_DB)
        t2 = time.perf_counter()
        _, info = link.decode(encoded, bits_hat, crc_ok)
        t3 = time.perf_counter()
        best = [min(b, t) for b, t in zip(best, (t1 - t0, t2 - t1, t3 - t2))]
        ok = float(np.mean(info["decoded"]))
    return (first, *best, ok)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed repeat")
    parser.add_argument("--batches", default="64,256", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many points")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    repeats = 1 if args.quick else args.repeats
    keras.utils.set_random_seed(0)
    images_all = embedded_patches(32, "test", n=max(batches), seed=0)

    t_start = time.perf_counter()
    rows = []  # (link, batch, mode, first, enc, per_snr, dec, extra)
    for kind in LEARNED:
        pair = make_learned(kind)
        for b in batches:
            images = images_all[:b]
            for jit, link in pair.items():
                first, enc, rec = time_learned(link, images, repeats)
                rows.append((kind, b, "XLA" if jit else "graph", first, enc, rec, 0.0, ""))
        print(f"  {kind}: done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    digital = {jit: links.DigitalLink("hevc", NUM_SYMBOLS, 4, 0.5, jit_compile=jit, seed=1)
               for jit in (False, True)}
    for b in batches:
        images = images_all[:b]
        for jit, link in digital.items():
            first, enc, tx, dec, ok = time_digital(link, images, repeats)
            rows.append(("DigitalLink hevc", b, "XLA" if jit else "graph", first, enc, tx, dec,
                         f"decoded {ok:.2f}"))
    print(f"  DigitalLink: done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    print(f"\nEvaluation throughput at {SNR_DB:g} dB AWGN, 32x32 images, K={NUM_SYMBOLS} "
          f"(CBR 1/24), best of {repeats}; device "
          f"{'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}")
    print("img/s = batch / (encode + per-SNR part); per-SNR part = reconstruct, or transmit + "
          "codec decode for the digital link.\nencode does not depend on jit_compile (eager "
          "nets / codec): the faster of its two timings is used in both rows. First call "
          "(trace, XLA compile) excluded.\n")
    head = (f"{'link':<21} {'batch':>5} {'mode':>5} {'img/s':>8} {'per-SNR img/s':>14} "
            f"{'XLA/graph':>10} {'XLA/graph per-SNR':>18} {'encode ms':>10} "
            f"{'per-SNR ms':>11} {'first s':>8}  note")
    print(head)
    print("-" * len(head))
    enc_shared = {}
    for kind, b, mode, first, enc, per_snr, dec, note in rows:
        enc_shared[kind, b] = min(enc_shared.get((kind, b), np.inf), enc)
    total, snr_only = {}, {}
    for kind, b, mode, first, enc, per_snr, dec, note in rows:
        enc = enc_shared[kind, b]
        total[kind, b, mode] = ips = b / (enc + per_snr + dec)
        snr_only[kind, b, mode] = snr_ips = b / (per_snr + dec)
        speed = speed_snr = ""
        if mode == "XLA":
            speed = f"{ips / total[kind, b, 'graph']:.2f}"
            speed_snr = f"{snr_ips / snr_only[kind, b, 'graph']:.2f}"
        print(f"{kind:<21} {b:>5} {mode:>5} {ips:>8.0f} {snr_ips:>14.0f} {speed:>10} "
              f"{speed_snr:>18} {enc * 1e3:>10.1f} {(per_snr + dec) * 1e3:>11.1f} "
              f"{first:>8.2f}  {note}")
    print("\nXLA/graph = img/s with XLA over img/s without (> 1: XLA faster)")
    for b in batches:
        dig = total["DigitalLink hevc", b, "graph"]
        line = ", ".join(f"{k} {max(total[k, b, 'graph'], total[k, b, 'XLA']) / dig:.1f}x"
                         for k in LEARNED)
        print(f"learned link img/s (better mode) / digital (graph) at batch {b}: {line}")
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
