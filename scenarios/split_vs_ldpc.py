"""S1 + S0: Split DeepJSCC and the learned bit-importance interface vs HEVC-intra/JPEG2000 + 5G LDPC.

Tung et al. (Split DeepJSCC, multi-level reliability interface) and Kong & Zhang (learned
interface with bit importance), compared with DeepJSCC and separate source-channel coding
(HEVC-intra as the BPG stand-in, and JPEG2000, over a 5G transport block with the best
(code rate, QAM) per SNR; plus the ideal-capacity bound) on the same 32x32 images, over
AWGN and Rayleigh block fading, at CBR 1/24 and 1/48.

    python scenarios/split_vs_ldpc.py [--profile smoke|quick|paper] [--out DIR] [--seed N]
                                      [--resume] [--retrain] [--shard i/n]
"""
from __future__ import annotations

from sem_sionna import data, links, plot, sweep, utils
from sem_sionna.nets import multilevel_eps
from sem_sionna.train import WeightStore
from sem_sionna.train.split_vs_ldpc import (describe, num_symbols, train_deepjscc,
                                            train_learned_interface, train_split_jscc)

NAME = "split_vs_ldpc"
COMMON = dict(image_size=32, cbrs=[1 / 24, 1 / 48], channels=["awgn", "rayleigh"],
              num_levels=8, eps_max=0.4, eps_min=0.001, train_snr_db=20.0,
              s0_snr_range_db=[5.0, 20.0], deepjscc_snr_db=10.0, mu_init=-4.0, reg_weight=1.0,
              s0_source="conv",
              stage2_estimator="vimco", codecs=["hevc", "jpeg2000"], example_snr_db=10.0,
              # (code rate, bits per QAM symbol) the digital oracle picks from per SNR
              mcs=[(1 / 3, 2), (1 / 2, 2), (3 / 4, 2), (1 / 2, 4), (3 / 4, 4), (2 / 3, 6),
                   (3 / 4, 6)])
PROFILES = {
    "smoke": dict(COMMON, n_train=128, n_test=8, num_bits=256, filters=8, units=32,
                  batch_size=32, lr=1e-3, vimco_samples=4, stage1_epochs=1, stage1_steps=2,
                  stage2_epochs=1, s0_stage2_epochs=1, stage2_steps=2, deepjscc_epochs=1,
                  deepjscc_steps=2,
                  s0_tokens=16, s0_embed_dim=16, s0_transformer_blocks=0,
                  cbrs=[1 / 24], snr_db=[0.0, 20.0], codecs=["hevc"],
                  mcs=[(1 / 2, 4), (3 / 4, 6)]),
    # stage 2 with the straight-through estimator: VIMCO (J=8) does not converge in the
    # CPU budget (BER 0.37 after 6 epochs); the paper profile keeps S1's VIMCO
    "quick": dict(COMMON, n_train=2048, n_test=64, num_bits=512, filters=32, units=256,
                  stage2_estimator="ste",
                  batch_size=32, lr=1e-3, vimco_samples=8, stage1_epochs=6, stage1_steps=None,
                  stage2_epochs=20, s0_stage2_epochs=12, stage2_steps=None, deepjscc_epochs=8,
                  deepjscc_steps=None,
                  s0_tokens=32, s0_embed_dim=64, s0_transformer_blocks=1,
                  snr_db=[0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 20.0]),
    # S1: M = 10000, N = 10, J = 100, lr 1e-5 (x0.8 on plateau), CIFAR-10 when cached;
    # VIMCO stages at batch 32 (J x 128 samples would need ~28 GiB, bench/paper_profile.py)
    "paper": dict(COMMON, dataset="cifar10", n_train=None, n_test=1000, num_bits=10240,
                  num_levels=10, filters=128, units=1024, batch_size=128, lr=1e-4,
                  vimco_batch_size=32,
                  vimco_samples=100, stage1_epochs=250, stage1_steps=None, stage2_epochs=80,
                  s0_stage2_epochs=80,
                  stage2_steps=None, deepjscc_epochs=250, deepjscc_steps=None, s0_tokens=64,
                  s0_embed_dim=128, s0_transformer_blocks=2, mcs=list(links.DEFAULT_MCS),
                  # S0's Swin-style source mapper/demapper (nets.swin)
                  s0_source="swin", swin_embed_dim=96, swin_depth=2, swin_window=4,
                  swin_heads=4,
                  snr_db=[-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0]),
}
COLUMNS = ["scheme", "channel", "cbr", "snr_db", "psnr", "ms_ssim", "fail_rate", "n_images"]
LABELS = {"split_jscc": "Split DeepJSCC (S1)", "learned_interface": "Learned interface (S0)",
          "deepjscc": "DeepJSCC", "hevc+ldpc": "HEVC-intra (BPG) + 5G LDPC, best MCS",
          "jpeg2000+ldpc": "JPEG2000 + 5G LDPC, best MCS",
          "hevc@capacity": "HEVC-intra (BPG) at capacity"}


def load_images(cfg, seed):
    if cfg.get("dataset") == "cifar10":
        try:
            train, _ = data.cifar10("train", n=cfg["n_train"])
            test, _ = data.cifar10("test", n=cfg["n_test"])
            return train, test
        except FileNotFoundError:
            pass  # no local CIFAR-10 cache: the embedded photos
    size = cfg["image_size"]
    return (data.embedded_patches(size, "train", n=cfg["n_train"], seed=seed),
            data.embedded_patches(size, "test", n=cfg["n_test"], seed=seed))


def main(argv=None):
    args = sweep.parse_args(argv, name=NAME, description=__doc__.splitlines()[0])
    cfg = PROFILES[args.profile]
    utils.set_global_seed(args.seed)  # before any layer draws its initial weights or seed
    record = sweep.RunRecord(args.out, NAME, args, cfg)
    with record.stage("data"):
        train, test = load_images(cfg, args.seed)
        fallback = data.mean_image(train)
    store = WeightStore(args.out / "ckpt", retrain=args.retrain)
    with record.stage("train_split_jscc"):
        split = train_split_jscc(cfg, train, cfg["cbrs"], store, args.seed)
    with record.stage("train_learned_interface"):
        learned = train_learned_interface(cfg, train, cfg["cbrs"], store, args.seed)
    with record.stage("train_deepjscc"):
        deepjscc = train_deepjscc(cfg, train, cfg["cbrs"], store, args.seed)
    record.set("parameters", {"split_jscc": describe(split), "deepjscc": describe(deepjscc),
                              "learned_interface": describe(learned)})

    schemes = {}
    for cbr in cfg["cbrs"]:
        k = num_symbols(test.shape[1:], cbr)
        schemes[("split_jscc", cbr)] = sweep.LearnedScheme(split[cbr])
        schemes[("learned_interface", cbr)] = sweep.LearnedScheme(learned[cbr])
        schemes[("deepjscc", cbr)] = sweep.LearnedScheme(deepjscc[cbr])
        for codec in cfg["codecs"]:
            schemes[(f"{codec}+ldpc", cbr)] = sweep.DigitalScheme(
                {ch: links.DigitalOracle(codec, k, mcs=cfg["mcs"], channel=ch, fallback=fallback,
                                         select="genie",
                                         seed=args.seed)
                 for ch in cfg["channels"]})
        schemes[("hevc@capacity", cbr)] = sweep.DigitalScheme(
            {ch: links.CapacityBound("hevc", k, channel=ch, fallback=fallback, seed=args.seed)
             for ch in cfg["channels"]})
    names = list(dict.fromkeys(name for name, _ in schemes))
    labels = {**LABELS, "learned_interface": f"Learned interface (S0, {cfg['s0_source']})"}
    points = sweep.grid(scheme=names, channel=cfg["channels"], cbr=cfg["cbrs"],
                        snr_db=cfg["snr_db"])
    evaluator = sweep.ImageSweep(schemes, test)
    runner = sweep.SweepRunner(args.out, COLUMNS, resume=args.resume, shard=args.shard,
                               seed=args.seed, record=record, desc=NAME, devices=args.devices,
                               argv=args.argv, script=__file__)
    with record.stage("sweep"):
        rows = runner.run(points, evaluator.evaluate, evaluator.prepare,
                          reseed=evaluator.seeded_layers())
    if args.shard is not None:
        record.write()
        return rows

    with record.stage("figures"):
        plot.metric_vs_snr(rows, "psnr", args.out / "psnr_vs_snr.png")
        plot.metric_vs_snr(rows, "ms_ssim", args.out / "ms_ssim_vs_snr.png")
        plot.failure_rate_vs_snr(rows, args.out / "decode_failure_vs_snr.png")
        cbr = cfg["cbrs"][0]
        ber = links.interface_ber(split[cbr], test, cfg["snr_db"], cfg["num_levels"])
        ladder = multilevel_eps(cfg["num_levels"], cfg["eps_max"], cfg["eps_min"])
        plot.line_plot(list(range(1, cfg["num_levels"] + 1)),
                       {"interface eps (S1 eq. 17)": list(ladder),
                        **{f"empirical, {s:g} dB": b for s, b in zip(cfg["snr_db"], ber)}},
                       args.out / "interface_ber.png", xlabel="reliability level",
                       ylabel="bit error rate", title=f"Split DeepJSCC, AWGN, CBR {cbr:.4g}",
                       logy=True)
        eps = sorted(learned[cbr].interface.eps.numpy())
        plot.line_plot(list(range(len(eps))), {"learned eps (sorted)": eps},
                       args.out / "learned_eps.png", xlabel="bit index (sorted)",
                       ylabel="flip probability eps", title="S0 learned interface", logy=True)
        examples = sweep.reconstruct_examples(
            {labels[n]: schemes[(n, cbr)] for n in names}, test[:4], cfg["example_snr_db"],
            "awgn")
        plot.image_grid([list(test[:4])] + [list(x) for x in examples.values()],
                        ["original"] + list(examples), [f"image {i}" for i in range(4)],
                        args.out / "examples.png",
                        title=f"AWGN, {cfg['example_snr_db']:g} dB, CBR {cbr:.4g}")
    record.set("interface_ber", {"snr_db": cfg["snr_db"], "ber": ber.tolist()})
    record.set("learned_eps", [float(e) for e in eps])
    record.set("scheme_labels", labels)
    record.finish("done")
    return rows


if __name__ == "__main__":
    main()
