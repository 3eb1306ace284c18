"""Tests for sem_sionna.experiments.importance_mimo and scenarios/importance_mimo.py."""
import dataclasses
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scenario_scripts import load_scenario

from sem_sionna.experiments.importance_mimo import (CIBAConfig, ClassifierConfig, Config,
                                                    VAEConfig)
from sem_sionna.phy.allocation import ALLOCATION_SCHEMES
from sem_sionna.utils.io import read_csv

EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "importance_mimo.csv"
KEY = ("scheme", "mse_model", "snr_db")
# metrics.csv holds 6 significant digits: 1e-5 relative is one unit of the last digit,
# so only a rounding flip of an otherwise identical (deterministic) value passes.
RTOL = 1e-5


@pytest.fixture(scope="module")
def script():
    return load_scenario("importance_mimo")


@pytest.fixture(scope="module")
def smoke_out(script, tmp_path_factory):
    out = tmp_path_factory.mktemp("importance_mimo") / "a"
    script.main(["--profile", "smoke", "--out", str(out)])
    return out


def _by_key(rows):
    return {tuple(r[k] for k in KEY): r for r in rows}


@pytest.mark.slow
def test_smoke_metrics_match_the_expected_file(smoke_out):
    rows, expected = read_csv(smoke_out / "metrics.csv"), read_csv(EXPECTED)
    assert list(rows[0]) == list(expected[0])
    got, want = _by_key(rows), _by_key(expected)
    assert got.keys() == want.keys()
    for key, row in want.items():
        for col, value in row.items():
            if isinstance(value, (int, float)):
                assert math.isclose(got[key][col], value, rel_tol=RTOL, abs_tol=1e-9), (key, col)
            else:
                assert got[key][col] == value, (key, col)


@pytest.mark.slow
def test_smoke_run_writes_outputs(smoke_out):
    for name in ("metrics.csv", "run.json", "accuracy_vs_snr.png", "psnr_vs_snr.png",
                 "ms_ssim_vs_snr.png", "beta_search.csv", "beta_search.png", "alpha_search.csv",
                 "alpha_search.png", "phif_plif.csv", "phif_plif.png", "phif_plif_examples.png"):
        assert (smoke_out / name).is_file(), name
    rows = read_csv(smoke_out / "metrics.csv")
    for col in ("scheme", "channel", "snr_db", "cbr", "psnr", "ms_ssim", "accuracy",
                "n_images"):
        assert col in rows[0]
    assert {r["scheme"] for r in rows} == {"EUB", *ALLOCATION_SCHEMES}
    assert all(np.isfinite(r["psnr"]) and 0 <= r["accuracy"] <= 1 for r in rows)
    perturbed = read_csv(smoke_out / "phif_plif.csv")  # the smoke profile's subset of 64
    assert {r["n_images"] for r in perturbed} == {32}


@pytest.mark.slow
def test_rerun_from_the_weight_store_gives_the_same_metrics(script, smoke_out):
    out_b = smoke_out.parent / "b"
    shutil.copytree(smoke_out / "ckpt", out_b / "ckpt")
    script.main(["--profile", "smoke", "--out", str(out_b)])
    assert (out_b / "metrics.csv").read_text() == (smoke_out / "metrics.csv").read_text()
    for name in ("beta_search.csv", "alpha_search.csv", "phif_plif.csv"):
        assert (out_b / name).read_text() == (smoke_out / name).read_text(), name


def test_profiles_are_configs(script):
    assert set(script.PROFILES) == {"smoke", "quick", "paper"}
    for config in script.PROFILES.values():
        assert isinstance(config, Config)
        assert all(isinstance(getattr(config, f), tuple)
                   for f in ("betas", "alphas", "search_snr_db", "thresholds", "snr_db"))


def _smoke(script, **changes):
    return dataclasses.replace(script.PROFILES["smoke"], **changes)


def test_config_converts_sequences_to_tuples(script):
    config = _smoke(script, snr_db=[0, 5], schemes=["EPA", "WMMSE-M"])
    assert config.snr_db == (0.0, 5.0) and config.schemes == ("EPA", "WMMSE-M")


@pytest.mark.parametrize("field, value", [
    ("n_train", 0), ("eval_batch_size", 1.5), ("num_tx_ant", 3), ("betas", ()),
    ("betas", (-1.0,)), ("alphas", (1.0, 1.0)), ("snr_db", (0.0, float("nan"))),
    ("schemes", ("WF",)), ("schemes", "EPA"), ("perturb_snr_db", "0"), ("image_size", 20),
    ("perturb_images", 0),
    ("channel_draws", 0), ("select_metric", "ms_ssim"), ("mse_models", ("mmse",)),
    ("mse_models", ("zf", "zf")),
    ("vae", {"latent_dim": 16}),
])
def test_config_rejects_bad_values(script, field, value):
    with pytest.raises((ValueError, TypeError), match=field.split("_")[0]):
        _smoke(script, **{field: value})


@pytest.mark.parametrize("cls, field, value", [
    (ClassifierConfig, "depth", 0), (VAEConfig, "kl_weight", -0.1), (VAEConfig, "lr", 0.0),
    (CIBAConfig, "epochs", -1),
])
def test_stage_configs_reject_bad_values(script, cls, field, value):
    smoke = script.PROFILES["smoke"]
    group = {ClassifierConfig: smoke.classifier, VAEConfig: smoke.vae, CIBAConfig: smoke.ciba}
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(group[cls], **{field: value})


@pytest.mark.slow
def test_smoke_run_writes_cis_claims_and_samples(smoke_out):
    from sem_sionna.experiments.importance_mimo import CLAIMS, METRICS
    from sem_sionna.metrics import CLAIM_KEYS, VERDICTS, PerImage
    rows = read_csv(smoke_out / "metrics.csv")
    assert {r["mse_model"] for r in rows} == {"zf", "lmmse"}
    for r in rows:
        assert r["n_images"] == 64 * 2  # n_test x channel_draws
        for m in METRICS:
            assert np.isfinite(r[f"{m}_ci95"]) and r[f"{m}_ci95"] >= 0, (r["scheme"], m)
    claims = json.loads((smoke_out / "claims.json").read_text())
    assert isinstance(claims, list) and [c["id"] for c in claims] == [c.id for c in CLAIMS]
    for c in claims:
        assert set(CLAIM_KEYS) <= set(c) and c["verdict"] in VERDICTS
    samples = PerImage.load(smoke_out / "per_image.npz")
    point = {"scheme": "WMMSE-M", "mse_model": "zf", "channel": "rayleigh-4x4",
             "cbr": rows[0]["cbr"], "snr_db": 0.0}
    found = [p for p in samples.points(scheme="WMMSE-M", mse_model="zf", snr_db=0.0)]
    assert found and samples.sample(found[0], "accuracy").shape == (128,), point
    assert (smoke_out / "search_contrasts.csv").is_file()


class _StubModels:
    classifier = None

    def link(self, beta, scheme, alpha, *args, mse_model="zf", **kwargs):
        return {"alpha": alpha, "mse_model": mse_model}


def test_alpha_search_selects_by_validation_accuracy_only(script, monkeypatch, tmp_path):
    from sem_sionna.experiments import importance_mimo_validation as validation
    config = _smoke(script, alphas=(0.0, 1.0, 2.0, 4.0), search_snr_db=(-10.0, 0.0, 10.0))
    rng = np.random.default_rng(0)
    val = (rng.uniform(size=(8, 32, 32, 3)).astype(np.float32), np.arange(8) % 6)
    test_images = rng.uniform(size=(8, 32, 32, 3)).astype(np.float32)
    seen = []

    def fake_features(models, images):
        return images[:, 0, 0, :]  # a stand-in that remembers which images it came from

    def fake_transmit(link, images, snr, seed, batch_size, features):
        np.testing.assert_array_equal(features, images[:, 0, 0, :])  # the images' own
        seen.append((images, snr))
        return images, 0.0

    def fake_scores(images, x_hat, labels, classifier):
        alpha = fake_scores.link["alpha"]
        # accuracy peaks at alpha = 2, PSNR at alpha = 0: the search must follow accuracy
        acc = np.full(len(images), 0.9 - 0.1 * abs(alpha - 2.0))
        return {"accuracy": acc, "psnr": np.full(len(images), 20.0 - alpha),
                "ms_ssim": np.full(len(images), 0.5)}

    stub = _StubModels()
    original_link = stub.link

    def link(*args, **kwargs):
        fake_scores.link = original_link(*args, **kwargs)
        return fake_scores.link

    stub.link = link
    monkeypatch.setattr(validation, "transmit", fake_transmit)
    monkeypatch.setattr(validation, "features", fake_features)
    monkeypatch.setattr(validation, "score_images", fake_scores)
    best, rows = validation.alpha_search(stub, config, 1e-4, val, tmp_path)
    assert best == {"zf": 2.0, "lmmse": 2.0}
    assert all(images is val[0] for images, _ in seen)  # validation images only
    assert not any(images is test_images for images, _ in seen)
    assert {snr for _, snr in seen} == {-10.0, 0.0, 10.0}  # the whole SNR grid
    psnr_config = dataclasses.replace(config, select_metric="psnr")
    best_psnr, _ = validation.alpha_search(stub, psnr_config, 1e-4, val, tmp_path)
    assert best_psnr == {"zf": 0.0, "lmmse": 0.0}


def test_compiled_scoring_and_decoding_match_the_eager_models():
    import tensorflow as tf

    from sem_sionna.experiments.importance_mimo_models import Models, decode, score_images
    from sem_sionna.metrics import ms_ssim, psnr
    from sem_sionna.nets import SceneClassifier, predict_labels
    from sem_sionna.nets.vae import VAE
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(10, 32, 32, 3)).astype(np.float32)
    noisy = images + rng.normal(0.0, 0.2, images.shape).astype(np.float32)  # outside [0, 1]
    labels = np.arange(10) % 3
    clf = SceneClassifier(3, width=8, depth=2)
    clf.build((None, 32, 32, 3))
    scores = score_images(images, noisy, labels, clf, batch_size=4)  # a short last batch
    clipped = np.clip(noisy, 0.0, 1.0)
    np.testing.assert_allclose(scores["psnr"], psnr(images, clipped), rtol=1e-5)
    np.testing.assert_allclose(scores["ms_ssim"], ms_ssim(images, clipped), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scores["accuracy"], predict_labels(clf, clipped) == labels)
    assert {v.dtype for v in scores.values()} == {np.dtype(np.float64)}
    vae = VAE(8, 32, 8, 3, seed=0)
    vae.build((None, 32, 32, 3))
    models = Models(clf, vae, np.full(8, 0.5, np.float32), np.full(8, 2.0, np.float32), {}, {})
    x = rng.normal(size=(5, 8)).astype(np.float32)
    np.testing.assert_allclose(decode(models, x, batch_size=2),
                               vae.decode(tf.constant(0.5 + 2.0 * x)), rtol=1e-5, atol=1e-6)
