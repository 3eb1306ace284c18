"""LDPC BP decoding throughput: sem_sionna vs Python peers (pyldpc, Kaira), same LLRs.

Code: 5G NR LDPC, k=512, n=1024 (rate 1/2, base graph 2, Z=64), BPSK over AWGN at one
Eb/N0 (default 1.5 dB: info BER ~3e-3 after 20 iterations). One set of channel LLRs
``2 y / sigma^2`` is drawn from a fixed seed; every decoder gets those same LLRs and runs
20 flooding BP iterations (no early stop); BER is counted on the k information bits.

- ours: :class:`sem_sionna.phy.LDPCDecoder` under ``tf.function(jit_compile=True)``,
  a large batch (XLA compilation reported apart);
- peers get the same code: Sionna's parity-check matrix (``LDPCEncoder.pcm``, 2688 x 3328)
  with the rate matching undone, as Sionna's own decoder does it: the 2Z punctured
  information bits get LLR 0, the k_ldpc - k filler bits are known zeros (LLR +100),
  and the extension parity bits that were never sent (degree-1 columns) are pruned with
  their checks, which is exact. That leaves a 640 x 1280 matrix with 4288 edges;
- pyldpc: its public ``decode(H, y, snr, maxiter)`` handles regular codes only (on the
  5G matrix it fails), so it runs (a) on its own regular code from ``make_ldpc``
  (d_v=3, d_c=6, n=1020) through ``decode``, with the same Eb/N0, and (b) on the 5G
  matrix through the log-BP kernel that ``decode`` itself calls for irregular codes
  (``pyldpc.decoder._logbp_numba``), fed with the same LLRs as ours;
- Kaira (PyPI ``pykaira``): ``BeliefPropagationDecoder`` (sum-product, tanh rule) on an
  ``LDPCCodeEncoder`` built from the 5G matrix. ``import kaira`` also imports torchvision,
  torchaudio and compressai; where those are missing, only ``kaira.models.fec`` (plain
  PyTorch) is loaded and the output says so.

Peers decode the first ``--pyldpc-frames`` / ``--kaira-frames`` frames of the same LLR set
(they are slow); the notes under the table give ours' BER on those same frames and how
many information bits each peer decodes differently from ours. Timed: decoding only,
from LLRs to hard decisions; graph construction, JIT and XLA compilation are reported
apart. The decoders are timed in turn, round after round (``--repeats``), best round
kept, as wall time (info Mbit/s, the ratio the target is about) and as this process's
CPU time (info Mbit per CPU-second, all threads: ours and Kaira use every core, pyldpc's
numba kernel one). On a machine shared with other jobs both move by up to 2x from run to
run: repeat the run before reading a ratio near the target. A peer that is not installed
is reported and skipped.

    python bench/peers.py [--ebno 1.5] [--batch 2000] [--repeats 3]
                          [--pyldpc-frames 64] [--kaira-frames 4]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import types
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

K, N, NUM_ITER = 512, 1024, 20
KNOWN_LLR = 100.0          # filler bits: known zeros
PYLDPC_OWN = (1020, 3, 6)  # n, d_v, d_c of pyldpc's own regular rate-1/2 code (d_c | n)
SEED = 1
TARGET = 20.0


def sigma2(ebno_db: float, rate: float) -> float:
    """Noise variance per real dimension for unit-energy BPSK at ``ebno_db``."""
    return 1.0 / (2.0 * rate * 10.0 ** (ebno_db / 10.0))


# --------------------------------------------------------------------------- ours
def make_code_and_llrs(ebno_db: float, batch: int):
    """5G encoder, info bits ``u`` [batch, K], codewords [batch, N] and LLRs (> 0: bit 0)."""
    from sem_sionna import phy
    enc = phy.LDPCEncoder(K, N)
    rng = np.random.default_rng(SEED)
    u = rng.integers(0, 2, (batch, K)).astype(np.float32)
    c = enc(u).numpy()
    s2 = sigma2(ebno_db, K / N)
    y = 1.0 - 2.0 * c + np.sqrt(s2) * rng.standard_normal(c.shape)
    return enc, u, c, 2.0 * y / s2


def setup_ours(enc, llr: np.ndarray):
    """Compiled decoder: (decode() -> info bits, XLA compile seconds)."""
    import tensorflow as tf

    from sem_sionna import phy
    dec = tf.function(phy.LDPCDecoder(enc, num_iter=NUM_ITER), jit_compile=True)
    x = tf.constant(-llr, tf.float32)  # Sionna's convention: logit of P(b=1)
    t0 = time.perf_counter()
    dec(x).numpy()
    return (lambda: dec(x).numpy()), time.perf_counter() - t0


# ----------------------------------------------------------- 5G code for the peers
def mother_code(enc):
    """Pruned parity-check matrix [640, 1280] (int64) and the LLR expansion it needs."""
    se = enc.sionna_encoder
    z, k_ldpc = int(se.z), int(se.k_ldpc)
    pcm = enc.pcm.tocsc()
    length = k_ldpc + N - (K - 2 * z)  # mother-codeword positions up to the last one sent
    tail = pcm[:, length:]
    if not np.all(np.asarray(tail.sum(0)).ravel() == 1):
        raise RuntimeError("untransmitted parity columns are not all degree 1: cannot prune")
    rows = np.flatnonzero(np.asarray(tail.sum(1)).ravel() == 0)
    h = pcm[rows][:, :length].toarray().astype(np.int64)

    def expand(llr: np.ndarray) -> np.ndarray:
        f = llr.shape[0]
        return np.concatenate([np.zeros((f, 2 * z)), llr[:, :K - 2 * z],
                               np.full((f, k_ldpc - K), KNOWN_LLR), llr[:, K - 2 * z:]], axis=1)

    def mother_codeword(u: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.concatenate([u, np.zeros((u.shape[0], k_ldpc - K)), c[:, K - 2 * z:]], axis=1)

    return h, expand, mother_codeword


# -------------------------------------------------------------------------- pyldpc
def load_pyldpc():
    try:
        import pyldpc
        from pyldpc import decoder as _dec  # noqa: F401
    except Exception as err:  # noqa: BLE001 -- any failure means "not available"
        return None, f"{type(err).__name__}: {err}"
    return pyldpc, None


def setup_pyldpc_kernel(h: np.ndarray, llr_full: np.ndarray):
    """pyldpc's irregular log-BP kernel, NUM_ITER iterations: (decode() -> bits, setup s)."""
    from pyldpc import decoder as pdec
    from pyldpc import utils as putils
    t0 = time.perf_counter()
    graph = putils._bitsandnodes(h)
    lc1 = np.ascontiguousarray(llr_full[:1].T, dtype=np.float64)
    pdec._logbp_numba(*graph, lc1, np.zeros((*h.shape, 1)), np.zeros((*h.shape, 1)), 0)  # JIT
    lc = np.ascontiguousarray(llr_full.T, dtype=np.float64)

    def decode():
        lq = np.zeros((*h.shape, lc.shape[1]))
        lr = np.zeros_like(lq)
        for it in range(NUM_ITER):
            lq, lr, post = pdec._logbp_numba(*graph, lc, lq, lr, it)
        return (post.T <= 0).astype(np.float32)
    return decode, time.perf_counter() - t0


def setup_pyldpc_own(pyldpc, ebno_db: float, frames: int):
    """pyldpc's public path on its own regular code: make_ldpc + decode, same Eb/N0.

    Returns (decode() -> info bits, reference info bits, k, setup s, state) where
    ``state["ran_all"]`` tells whether the last decode ran all NUM_ITER iterations
    (``decode`` stops early once every frame satisfies the checks).
    """
    n, d_v, d_c = PYLDPC_OWN
    t0 = time.perf_counter()
    h, tg = pyldpc.make_ldpc(n, d_v, d_c, systematic=True, sparse=True, seed=SEED)
    tg = np.asarray(tg.toarray() if hasattr(tg, "toarray") else tg, dtype=np.int64)
    k = tg.shape[1]
    unit = np.flatnonzero(tg.sum(1) == 1)  # systematic rows: codeword bit = one info bit
    info_pos = np.full(k, -1)
    info_pos[tg[unit].argmax(1)] = unit
    if np.any(info_pos < 0):
        raise RuntimeError("pyldpc's systematic generator has no identity part")
    s2 = sigma2(ebno_db, k / n)
    snr = -10.0 * np.log10(s2)  # pyldpc's SNR: 10 log10(1 / noise variance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "stopped before convergence" after one iteration
        pyldpc.decode(h, np.ones(n), snr, maxiter=1)  # numba JIT
    rng = np.random.default_rng(SEED + 1)
    v = rng.integers(0, 2, (k, frames))
    y = 1.0 - 2.0 * ((tg @ v) % 2) + np.sqrt(s2) * rng.standard_normal((n, frames))
    state = {}

    def decode():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            xhat = pyldpc.decode(h, y, snr, maxiter=NUM_ITER)
        state["ran_all"] = any("before convergence" in str(w.message) for w in caught)
        return np.asarray(xhat).reshape(n, frames)[info_pos].T.astype(np.float32)
    return decode, v.T.astype(np.float32), k, time.perf_counter() - t0, state


# --------------------------------------------------------------------------- Kaira
def load_kaira():
    """((LDPCCodeEncoder, BeliefPropagationDecoder, note), None) or (None, reason)."""
    if importlib.util.find_spec("kaira") is None:
        return None, "No module named 'kaira' (PyPI: pykaira)"
    try:
        import torch  # noqa: F401
    except Exception as err:  # noqa: BLE001
        return None, f"{type(err).__name__}: {err}"
    note = None
    try:
        import kaira  # noqa: F401 -- the whole package: torchvision, torchaudio, compressai too
    except Exception as err:  # noqa: BLE001
        note = (f"`import kaira` fails ({type(err).__name__}: {err}); loaded only its FEC "
                "subpackage kaira.models.fec (plain PyTorch), skipping kaira/__init__.py")
        for name in [m for m in sys.modules if m == "kaira" or m.startswith("kaira.")]:
            del sys.modules[name]
        root = os.path.dirname(importlib.util.find_spec("kaira").origin)
        for name, path in (("kaira", root), ("kaira.models", os.path.join(root, "models"))):
            mod = types.ModuleType(name)
            mod.__path__ = [path]
            sys.modules[name] = mod
    try:
        from kaira.models.fec.decoders.belief_propagation import (
            BeliefPropagationDecoder,
        )
        from kaira.models.fec.encoders.ldpc_code import LDPCCodeEncoder
    except Exception as err:  # noqa: BLE001
        return None, f"{type(err).__name__}: {err}"
    return (LDPCCodeEncoder, BeliefPropagationDecoder, note), None


def setup_kaira(kaira, h: np.ndarray, llr_full: np.ndarray):
    """Kaira BP, NUM_ITER iterations: (decode() -> mother-code bits, setup s)."""
    import torch
    encoder_cls, decoder_cls, _ = kaira
    t0 = time.perf_counter()
    dec = decoder_cls(encoder_cls(torch.tensor(h, dtype=torch.float32)), bp_iters=NUM_ITER)
    x = torch.tensor(llr_full, dtype=torch.float32)

    def decode():
        with torch.inference_mode():
            _, soft = dec(x, return_soft=True)
        return (soft.numpy() < 0).astype(np.float32)
    return decode, time.perf_counter() - t0


# ---------------------------------------------------------------------------- main
def time_in_turn(decoders: list[dict], repeats: int) -> None:
    """Best wall and CPU seconds of each ``d["decode"]``, timed in turn, round after round."""
    for d in decoders:
        d["wall"] = d["cpu"] = np.inf
    for _ in range(repeats):
        for d in decoders:
            t0, c0 = time.perf_counter(), time.process_time()
            d["bits"] = d["decode"]()
            d["wall"] = min(d["wall"], time.perf_counter() - t0)
            d["cpu"] = min(d["cpu"], time.process_time() - c0)


def ratio(r: float) -> str:
    return f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def entry(name, code, n, k, frames, decode, ref, mother=False, state=None) -> dict:
    """One decoder of the table; ``mother``: ``decode`` returns mother-code bits."""
    return {"name": name, "code": code, "n": n, "k": k, "frames": frames, "decode": decode,
            "ref": ref, "mother": mother, "state": state or {}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ebno", type=float, default=1.5, help="Eb/N0 in dB")
    parser.add_argument("--batch", type=int, default=2000, help="frames decoded by ours")
    parser.add_argument("--repeats", type=int, default=3, help="timing rounds (best kept)")
    parser.add_argument("--pyldpc-frames", type=int, default=64)
    parser.add_argument("--kaira-frames", type=int, default=4)
    args = parser.parse_args(argv)
    ebno = args.ebno
    t_start = time.perf_counter()
    code5g = "5G NR BG2"
    missing, notes = [], []

    enc, u, c, llr = make_code_and_llrs(ebno, args.batch)
    decode, compile_s = setup_ours(enc, llr)
    ours = entry("sem_sionna LDPCDecoder (XLA)", code5g, N, K, args.batch, decode, u)
    decoders = [ours]
    notes.append(f"ours: batch {args.batch}; XLA compile {compile_s:.1f} s")

    h, expand, mother_codeword = mother_code(enc)
    if ((h @ mother_codeword(u[:8], c[:8]).T) % 2).any():
        raise RuntimeError("the pruned 5G matrix does not check the encoder's codewords")

    pyldpc, reason = load_pyldpc()
    if pyldpc is None:
        missing.append(f"pyldpc: not installed ({reason})")
    else:
        f = args.pyldpc_frames
        decode, ref, k_own, setup_s, own_state = setup_pyldpc_own(pyldpc, ebno, f)
        own_code = f"own ({PYLDPC_OWN[1]},{PYLDPC_OWN[2]})-regular"
        decoders.append(entry("pyldpc decode", own_code, PYLDPC_OWN[0], k_own, f, decode, ref,
                              state=own_state))
        notes.append(f"pyldpc own code: make_ldpc + numba JIT {setup_s:.1f} s; same Eb/N0 "
                     "(rate k/n), its own noise draw: a different code cannot take our LLRs")
        try:
            pyldpc.decode(h, expand(llr[:1])[0] / 2.0, 0.0, maxiter=1)
            notes.append("pyldpc decode() accepted the irregular 5G matrix")
        except Exception as err:  # noqa: BLE001
            notes.append(f"pyldpc decode() on the irregular 5G matrix fails ({type(err).__name__}"
                         f": {err}); the 5G row calls the irregular kernel it would dispatch to, "
                         "pyldpc.decoder._logbp_numba, for exactly 20 iterations")
        decode, setup_s = setup_pyldpc_kernel(h, expand(llr[:f]))
        decoders.append(entry("pyldpc log-BP kernel", code5g, N, K, f, decode, u[:f],
                              mother=True))
        notes.append(f"pyldpc 5G: graph + numba JIT {setup_s:.1f} s")

    kaira, reason = load_kaira()
    if kaira is None:
        missing.append(f"kaira: not installed ({reason})")
    else:
        import torch
        if kaira[2]:
            notes.append(f"kaira: {kaira[2]}")
        f = args.kaira_frames
        decode, setup_s = setup_kaira(kaira, h, expand(llr[:f]))
        decoders.append(entry("kaira BeliefPropagationDecoder", code5g, N, K, f, decode, u[:f],
                              mother=True))
        notes.append(f"kaira 5G: LDPCCodeEncoder (generator by row reduction) + Tanner graph "
                     f"{setup_s:.1f} s; torch {torch.__version__}, {torch.get_num_threads()} "
                     "threads")

    time_in_turn(decoders, args.repeats)
    for d in decoders:
        if d["mother"]:  # mother-code bits -> the k information bits
            d["bits"] = d["bits"][:, :K]
        d["ber"] = float(np.mean(d["bits"] != d["ref"]))
        d["mbps"] = d["frames"] * d["k"] / d["wall"] / 1e6
        d["mbpc"] = d["frames"] * d["k"] / d["cpu"] / 1e6
        d["iter"] = str(NUM_ITER)
        if d["state"].get("ran_all") is False:
            d["iter"] = f"<={NUM_ITER} (stopped early)"
        if d is not ours and d["code"] == code5g:
            fr = d["frames"]
            diff = int((d["bits"] != ours["bits"][:fr]).sum())
            notes.append(f"{d['name']}: ours' BER on the same {fr} frames "
                         f"{np.mean(ours['bits'][:fr] != u[:fr]):.2e}; info bits decoded "
                         f"differently from ours: {diff} of {fr * K}")

    print(f"LDPC BP-{NUM_ITER} decoding of BPSK/AWGN LLRs, Eb/N0 = {ebno:g} dB, seed {SEED}, "
          f"{os.cpu_count()} CPU cores, best of {args.repeats} rounds; ratio = ours / peer "
          f"(target >= {TARGET:g}x)")
    head = (f"{'decoder':<30} {'code':<17} {'n':>4} {'k':>3} {'iter':>4} {'Eb/N0':>5} "
            f"{'frames':>6} {'BER':>8} {'Mbit/s':>7} {'ratio':>7} {'Mbit/CPU-s':>10} {'ratio':>7}")
    print(head)
    print("-" * len(head))
    for d in decoders:
        r_wall = "-" if d is ours else ratio(ours["mbps"] / d["mbps"])
        r_cpu = "-" if d is ours else ratio(ours["mbpc"] / d["mbpc"])
        print(f"{d['name']:<30} {d['code']:<17} {d['n']:>4} {d['k']:>3} {d['iter']:>4} "
              f"{ebno:>5.2f} {d['frames']:>6} {d['ber']:>8.2e} {d['mbps']:>7.4f} {r_wall:>7} "
              f"{d['mbpc']:>10.4f} {r_cpu:>7}")
    for line in missing:
        print(line)
    print("info Mbit/s from wall time; Mbit/CPU-s from this process's CPU time (all threads)")
    for line in notes:
        print(f"  {line}")
    for d in decoders[1:]:
        ok = "met" if ours["mbps"] / d["mbps"] >= TARGET else "NOT met"
        print(f"target ours >= {TARGET:g}x {d['name']} (wall): {ok}")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
