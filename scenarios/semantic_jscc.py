"""S2: SD-JSCC, deep JSCC with semantic importance weights (Sun et al.).

A frozen scene classifier (convolutional stages, then fully connected layers on the
flattened maps) supplies the gradient-based semantic weights (GSW) of its last feature
maps; a binary JSCC codec is pre-trained with the pixel loss over ``q + N`` and
fine-tuned with the semantic-weighted feature loss (SD-JSCC), with all weights 1
(SD-JSCC w/o GSW) or with the pixel loss only (deep JSCC). ``tau`` is chosen on
validation images. Every JSCC scheme sends each image as one 5G LDPC (rate 3/4) +
16-QAM transport block over AWGN; the separate baselines (BPG, WebP, JPEG + LDPC) get
the same channel uses and an MCS chosen per SNR on validation images.
Outputs: Table I's metrics vs SNR and rate with 95 % CIs, claims.json, the GSW analysis.
"""
from __future__ import annotations

from dataclasses import replace

from sem_sionna import sweep
from sem_sionna.experiments import semantic_jscc
from sem_sionna.experiments.semantic_jscc import (ClassifierTraining, Config, JSCCTraining,
                                                  SemanticWeighting, TrainPoint)

# Fig. 6 / Table I: train = test = 20 dB at 0.125, 0.25, 0.5 bpp; Fig. 4: 0.25 bpp trained
# at 5 dB, tested over SNR against the separate baselines; Fig. 7: tau at 0.25 bpp, 20 dB
QUICK_POINTS = (
    TrainPoint(0.125, 20.0, (20.0,)),
    TrainPoint(0.25, 20.0, (20.0,)),
    TrainPoint(0.5, 20.0, (20.0,)),
    TrainPoint(0.25, 5.0, (0.0, 3.0, 5.0, 8.0, 12.0, 20.0), codecs=True),
)

# quick: 64x64 cluttered scenes (3 objects, main object at 0.6 of the default size) so
# that clean accuracy is below its ceiling; 1024 test images: a paired accuracy
# difference of d per image (values -1, 0, 1) has a 95 % half-width of about
# 1.96 * sqrt(P(disagree) / 1024), i.e. +-1.9 points when 10 % of the images disagree
QUICK = Config(
    image_size=64, n_train=1024, n_val=512, n_test=1024, max_objects=3, object_scale=0.6,
    points=QUICK_POINTS, tau_point=1,
    classifier=ClassifierTraining(num_classes=6, width=16, depth=3, epochs=12,
                                  batch_size=32, lr=2e-3, head="fc", fc_units=128),
    # tau * std(W) from nearly equal weights (0.25) to nearly one-hot (16)
    gsw=SemanticWeighting(num_images=256, layers=(-1,), reduce="mean",
                          tau_spread=(0.25, 1.0, 4.0, 16.0)),
    jscc=JSCCTraining(filters=48, num_res_blocks=1, pretrain_epochs=20, finetune_epochs=6,
                      batch_size=32, lr=2e-3, finetune_lr=5e-4, pixel_weight=1.0,
                      channel="awgn"),
    channels=("awgn",), codecs=("bpg+ldpc", "webp+ldpc", "jpeg+ldpc"),
    mcs=((0.5, 2), (0.5, 4), (0.75, 4), (0.75, 6)), example_snr_db=(5.0, 20.0))

PROFILES = {
    "smoke": replace(
        QUICK, image_size=32, n_train=96, n_val=32, n_test=24,
        points=(TrainPoint(0.25, 20.0, (20.0,)), TrainPoint(0.5, 20.0, (20.0,)),
                TrainPoint(0.25, 5.0, (5.0, 15.0), codecs=True)),
        tau_point=0,
        classifier=replace(QUICK.classifier, width=8, epochs=1, batch_size=16, fc_units=16),
        gsw=replace(QUICK.gsw, num_images=32, tau_spread=(0.5, 2.0, 8.0)),
        jscc=replace(QUICK.jscc, filters=16, pretrain_epochs=1, finetune_epochs=1,
                     batch_size=16),
        codecs=("bpg+ldpc",), mcs=((0.5, 2), (0.75, 4)), example_snr_db=(5.0,)),
    "quick": QUICK,
    # the paper's rate points at STL's 96x96, its SNR grid
    "paper": replace(
        QUICK, image_size=96, n_train=4096, n_val=1024, n_test=4096,
        points=(TrainPoint(0.125, 20.0, (20.0,), codecs=True),
                TrainPoint(0.25, 20.0, (20.0,)), TrainPoint(0.5, 20.0, (20.0,)),
                TrainPoint(0.25, 5.0, tuple(float(s) for s in range(0, 21, 2)),
                           codecs=True)),
        classifier=replace(QUICK.classifier, width=32, epochs=30, fc_units=256),
        gsw=replace(QUICK.gsw, num_images=1024,
                    tau_spread=(0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)),
        jscc=replace(QUICK.jscc, filters=128, num_res_blocks=2, pretrain_epochs=200,
                     finetune_epochs=30, lr=1e-4, finetune_lr=1e-5),
        channels=("awgn", "rayleigh"),
        mcs=((1 / 3, 2), (0.5, 2), (0.75, 2), (0.5, 4), (0.75, 4), (0.75, 6))),
}


def main(argv=None) -> None:
    args = sweep.parse_args(argv, name=semantic_jscc.NAME, description=__doc__)
    semantic_jscc.run(PROFILES[args.profile], args)


if __name__ == "__main__":
    main()
