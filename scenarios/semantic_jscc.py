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

from dataclasses import replace

from sem_sionna import sweep
from sem_sionna.experiments import semantic_jscc
from sem_sionna.experiments.semantic_jscc import (ClassifierTraining, Config, JSCCTraining,
                                                  SemanticWeighting)

# quick: 64x64 scenes at 0.25 bpp (1024 latent bits, 5G LDPC n=1388); < 15 min on 2 cores
QUICK = Config(
    image_size=64, n_train=1024, n_test=256, bpp=(0.25,),
    classifier=ClassifierTraining(num_classes=6, width=16, depth=3, epochs=10,
                                  batch_size=32, lr=2e-3),
    # GSW on the classifier's last stage (eq. 9 mean over classes); tau sets the spread:
    # tau * std(W) is about 1 for this classifier
    gsw=SemanticWeighting(num_images=256, layers=(-1,), reduce="mean", tau=4000.0, r=1.0),
    jscc=JSCCTraining(filters=48, num_res_blocks=1, pretrain_epochs=24, finetune_epochs=8,
                      batch_size=32, lr=2e-3, finetune_lr=5e-4, pixel_weight=1.0),
    snr_train_db=5.0, channels=("awgn", "rayleigh"),
    snr_db=(0.0, 3.0, 5.0, 8.0, 10.0, 12.0, 15.0, 20.0),
    codecs=("jpeg+ldpc", "webp+ldpc", "jpeg2000+ldpc", "bpg+ldpc"),
    example_snr_db=(5.0, 10.0, 20.0), rate_plot_snr_db=20.0)

PROFILES = {
    "smoke": replace(
        QUICK, image_size=32, n_train=96, n_test=24, bpp=(0.25, 0.5),
        classifier=replace(QUICK.classifier, width=8, epochs=1, batch_size=16),
        gsw=replace(QUICK.gsw, num_images=32),
        jscc=replace(QUICK.jscc, filters=16, pretrain_epochs=1, finetune_epochs=1,
                     batch_size=16),
        channels=("awgn",), snr_db=(5.0, 15.0), codecs=("bpg+ldpc",),
        example_snr_db=(5.0,), rate_plot_snr_db=15.0),
    "quick": QUICK,
    # the paper's rate points (Table I 0.125, Fig. 4 0.25, Fig. 8 0.5 bpp) at STL's 96x96
    "paper": replace(
        QUICK, image_size=96, n_train=4096, n_test=1024, bpp=(0.125, 0.25, 0.5),
        classifier=replace(QUICK.classifier, width=32, epochs=30),
        jscc=replace(QUICK.jscc, filters=128, num_res_blocks=2, pretrain_epochs=200,
                     finetune_epochs=30, lr=1e-4, finetune_lr=1e-5),
        snr_db=tuple(float(s) for s in range(0, 21, 2))),
}


def main(argv=None) -> None:
    args = sweep.parse_args(argv, name=semantic_jscc.NAME, description=__doc__)
    semantic_jscc.run(PROFILES[args.profile], args)


if __name__ == "__main__":
    main()
