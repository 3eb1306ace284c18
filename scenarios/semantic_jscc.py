"""S2: SD-JSCC, deep JSCC with semantic importance weights (Sun et al.).

A frozen scene classifier supplies the gradient-based semantic weights (GSW) of its
feature maps; a binary JSCC codec is pre-trained with the pixel loss and fine-tuned
with the semantic-weighted feature loss (SD-JSCC), with equal weights (SD-JSCC w/o
GSW) or with the pixel loss only (deep JSCC). Every scheme sends each image as one
5G LDPC (rate 3/4) + 16-QAM transport block over AWGN or Rayleigh block fading
(perfect CSI), the codecs (JPEG, WebP, JPEG2000, BPG) within the same payload.
Outputs: accuracy / PSNR / MS-SSIM vs SNR per scheme, the semantic weights.
"""
from __future__ import annotations

from sem_sionna import data, plot, sweep
from sem_sionna.links import sdjscc as sd_link
from sem_sionna.nets import sdjscc as sd_net
from sem_sionna.train import WeightStore
from sem_sionna.train import sdjscc as sd_train

NAME = "semantic_jscc"

PROFILES = {
    # quick: 64x64 scenes at 0.25 bpp (1024 latent bits, 5G LDPC n=1388); < 15 min on 2 cores
    "quick": dict(image_size=64, num_classes=6, n_train=1024, n_test=256, bpp=[0.25],
                  clf_width=16, clf_depth=3, clf_epochs=10, clf_lr=2e-3,
                  filters=48, num_res_blocks=1, pretrain_epochs=24, finetune_epochs=8,
                  batch_size=32, lr=2e-3, finetune_lr=5e-4, snr_train_db=5.0,
                  # GSW on the classifier's last stage (eq. 9 mean over classes); tau sets
                  # the spread: tau * std(W) is about 1 for this classifier
                  n_gsw=256, gsw_layers=[-1], gsw_reduce="mean", tau=4000.0, r=1.0,
                  pixel_weight=1.0,
                  channels=["awgn", "rayleigh"],
                  snr_db=[0.0, 3.0, 5.0, 8.0, 10.0, 12.0, 15.0, 20.0],
                  codecs=["jpeg+ldpc", "webp+ldpc", "jpeg2000+ldpc", "bpg+ldpc"],
                  example_snr_db=[5.0, 10.0, 20.0], rate_plot_snr_db=20.0),
    "smoke": dict(image_size=32, n_train=96, n_test=24, clf_epochs=1, pretrain_epochs=1,
                  finetune_epochs=1, batch_size=16, n_gsw=32, filters=16, clf_width=8,
                  channels=["awgn"], snr_db=[5.0, 15.0], codecs=["bpg+ldpc"],
                  bpp=[0.25, 0.5], example_snr_db=[5.0], rate_plot_snr_db=15.0),
    # the paper's rate points (Table I 0.125, Fig. 4 0.25, Fig. 8 0.5 bpp) at STL's 96x96
    "paper": dict(image_size=96, bpp=[0.125, 0.25, 0.5], n_train=4096, n_test=1024,
                  clf_width=32, clf_epochs=30,
                  filters=128, num_res_blocks=2, pretrain_epochs=200, finetune_epochs=30,
                  lr=1e-4, finetune_lr=1e-5, snr_db=list(range(0, 21, 2))),
}


def main(argv=None):
    args = sweep.parse_args(argv, name=NAME, description=__doc__)
    cfg = {**PROFILES["quick"], **PROFILES[args.profile]}
    record = sweep.RunRecord(args.out, NAME, args, cfg)
    size = cfg["image_size"]
    with record.stage("data"):
        x_train, _, y_train = data.scenes(cfg["n_train"], size, args.seed, cfg["num_classes"],
                                          split="train", max_objects=1)
        x_test, _, y_test = data.scenes(cfg["n_test"], size, args.seed, cfg["num_classes"],
                                        split="test", max_objects=1)
    store = WeightStore(args.out / "ckpt", retrain=args.retrain)
    with record.stage("classifier"):
        clf_cfg = dict(num_classes=cfg["num_classes"], width=cfg["clf_width"],
                       depth=cfg["clf_depth"], epochs=cfg["clf_epochs"],
                       batch_size=cfg["batch_size"], lr=cfg["clf_lr"])
        classifier, clf_hist = sd_train.pretrain_classifier(store, x_train, y_train, clf_cfg,
                                                            args.seed)
        clean_acc = sd_link.classifier_accuracy(classifier, x_test, y_test)
    with record.stage("gsw"):
        importance = sd_net.gradient_importance(classifier, x_train[:cfg["n_gsw"]],
                                                layers=cfg["gsw_layers"],
                                                reduce=cfg["gsw_reduce"])
        w_sd = sd_net.semantic_weights(importance, cfg["tau"], cfg["r"])
        w_uniform = sd_net.uniform_weights(w_sd, cfg["r"])
    losses = {"deep_jscc": None, "sd_jscc_wo_gsw": w_uniform, "sd_jscc": w_sd}
    jscc, ncu, pb_max, train_hist = {}, {}, {}, {"classifier": clf_hist}
    for bpp in cfg["bpp"]:
        latent_bits = round(bpp * size * size)
        ncu[bpp] = sd_link.num_channel_uses_for(latent_bits, 4, 0.75)
        with record.stage("calibrate"):
            pb_max[bpp] = sd_link.coded_ber(ncu[bpp], 4, 0.75, cfg["snr_train_db"], "awgn",
                                            seed=args.seed)
        with record.stage("train"):
            train_cfg = dict(image_size=size, latent_channels=latent_bits // (size // 4) ** 2,
                             filters=cfg["filters"], num_res_blocks=cfg["num_res_blocks"],
                             pretrain_epochs=cfg["pretrain_epochs"],
                             finetune_epochs=cfg["finetune_epochs"],
                             batch_size=cfg["batch_size"], lr=cfg["lr"],
                             finetune_lr=cfg["finetune_lr"], pb_max=round(pb_max[bpp], 4),
                             pixel_weight=cfg["pixel_weight"], classifier=clf_cfg,
                             gsw_layers=cfg["gsw_layers"], gsw_reduce=cfg["gsw_reduce"],
                             tau=cfg["tau"], r=cfg["r"])
            jscc[bpp], hist = sd_train.train_sdjscc_schemes(store, x_train, classifier, losses,
                                                            train_cfg, args.seed)
            train_hist[f"{bpp:g}bpp"] = hist
    with record.stage("sweep"):
        rows, examples = sd_link.evaluate_sdjscc(
            args.out, x_test, y_test, classifier, jscc, cfg["codecs"], cfg["channels"],
            cfg["snr_db"], ncu, fallback=data.mean_image(x_train),
            seed=args.seed, resume=args.resume, shard=args.shard, record=record,
            example_snr_db=cfg["example_snr_db"])
    with record.stage("plots"):
        title = f"Classification accuracy vs SNR (clean test images: {clean_acc:.3f})"
        plot.metric_vs_snr(rows, "accuracy", args.out / "accuracy_vs_snr.png", title=title)
        plot.metric_vs_snr(rows, "psnr", args.out / "psnr_vs_snr.png")
        plot.metric_vs_snr(rows, "ms_ssim", args.out / "ms_ssim_vs_snr.png")
        plot.failure_rate_vs_snr(rows, args.out / "fail_rate_vs_snr.png")
        if len(cfg["bpp"]) > 1:  # the paper's Fig. 6: accuracy vs rate at a good SNR
            plot.metric_vs_cbr(rows, "accuracy", args.out / "accuracy_vs_cbr.png",
                               where={"snr_db": cfg["rate_plot_snr_db"]})
        sd_link.plot_semantic_weights(w_sd, classifier, x_test[:4],
                                      args.out / "semantic_weights.png", r=cfg["r"])
        sd_link.plot_examples(x_test, examples, args.out / "examples.png")
    record.set("clean_accuracy", clean_acc)
    record.set("num_channel_uses", {f"{b:g}bpp": n for b, n in ncu.items()})
    record.set("train_pb_max", {f"{b:g}bpp": p for b, p in pb_max.items()})
    record.set("gsw_importance", [None if w is None else w.tolist() for w in importance])
    record.set("semantic_weights", [None if w is None else w.tolist() for w in w_sd])
    record.set("train_history", train_hist)
    record.finish()
    return rows


if __name__ == "__main__":
    main()
