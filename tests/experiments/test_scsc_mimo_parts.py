"""The parts of sem_sionna.experiments.scsc_mimo: Config checks, sweep grid, channels, BD table."""
import dataclasses

import numpy as np
import pytest

from scenario_scripts import load_scenario
from sem_sionna.experiments.scsc_mimo import ChainConfig, Config
from sem_sionna.experiments.scsc_mimo_report import bd_table
from sem_sionna.experiments.scsc_mimo_sweep import (JSCC_SCHEMES, SceneData,
                                                    mimo_channel_config, sweep_points)
from sem_sionna.metrics import PerImage
from sem_sionna.phy import MIMOChannel


@pytest.fixture(scope="module")
def smoke_config():
    return load_scenario("scsc_mimo").PROFILES["smoke"]


def test_every_profile_is_a_config_with_tuples():
    profiles = load_scenario("scsc_mimo").PROFILES
    assert set(profiles) == {"smoke", "quick", "paper"}
    for config in profiles.values():
        assert isinstance(config, Config)
        assert isinstance(config.chain.qualities, tuple)
        assert isinstance(config.sweep.snr_db, tuple)


@pytest.mark.parametrize("part, field, value", [
    ("chain", "q_main", 40), ("chain", "qualities", (52,)), ("chain", "coderate", 1.0),
    ("chain", "q_ablation", 40),
    ("segnet", "epochs", 0), ("pcen", "lr", -1.0), ("proxy", "decoded_only", 1),
    ("proxy", "proxynet_epochs", 0),
    ("scsc", "loss_weights", (0.1, 0.5)), ("scsc", "seg_target", "labels"),
    ("jscc", "batch_size", 0), ("sweep", "channels", ("awgn",)), ("sweep", "snr_db", ()),
])
def test_bad_fields_raise_naming_the_field(smoke_config, part, field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(getattr(smoke_config, part), **{field: value})


def test_top_level_checks_and_list_conversion(smoke_config):
    with pytest.raises(ValueError, match="size"):
        dataclasses.replace(smoke_config, size=30)
    with pytest.raises(ValueError, match="snr_range"):
        dataclasses.replace(smoke_config, snr_range=(12.0, 2.0))
    with pytest.raises(ValueError, match="chain"):
        dataclasses.replace(smoke_config, chain={"qualities": (41,)})
    chain = ChainConfig(qualities=[34, 41], q_main=41, q_gen=34, n_budget=4)
    assert chain.qualities == (34, 41) and chain.q_range == (28.0, 41.0)
    assert chain.q_ablation == 41  # None: the SNR curves' Q


def _scenes(config):
    blocks = {q: {"budget_bytes": 50, "num_channel_uses": 400 + q, "cbr": (400 + q) / 3072}
              for q in config.chain.qualities}
    latent = {34: 4, 41: 6}
    empty = np.zeros((0, 32, 32, 3), np.float32)
    return SceneData(empty, empty[..., 0], empty, empty[..., 0], np.zeros((32, 32, 3)), 7,
                     blocks, latent)


def test_sweep_grid_covers_every_scheme_once_per_point(smoke_config):
    config = dataclasses.replace(smoke_config, sweep=dataclasses.replace(
        smoke_config.sweep, gen_codecs=("jpeg",)))
    grid = sweep_points(config, _scenes(config))
    keys = [(p["scheme"], p["channel"], p["csi"], p["cbr"], p["snr_db"]) for p in grid]
    assert len(keys) == len(set(keys))
    assert {p["scheme"] for p in grid} == {
        "digital", "scsc", "proxynet", "scsc_wo_ppen", "scsc_wo_pcen", "scsc_wo_qa",
        *JSCC_SCHEMES, "jpeg", "scsc_jpeg"}
    proxy = [p for p in grid if p["scheme"] == "proxynet"]
    assert {p["channel"] for p in proxy} == {"rayleigh"}  # the chain's MIMO channel
    assert {p["cbr"] for p in proxy} == {6 / 96}  # q_main's latent count: c / (48 ns)
    jscc = {p["num_latent"] for p in grid if p["scheme"] == "adjscc"}
    assert jscc == {4, 6}
    ablation = {(p["scheme"], p["q"]) for p in grid if p["scheme"].startswith("scsc_wo")}
    assert ablation == {(s, config.chain.q_ablation)
                        for s in ("scsc_wo_ppen", "scsc_wo_pcen", "scsc_wo_qa")}
    for scheme in ("digital", "scsc"):  # the ablations' references over the same SNRs
        assert {p["snr_db"] for p in grid if p["scheme"] == scheme and p["csi"] == "perfect"
                and p["q"] == config.chain.q_ablation} >= set(config.sweep.snr_db)
    imperfect = [p for p in grid if p["csi"] == "imperfect"]
    assert {p["scheme"] for p in imperfect} == {"digital", "scsc"}
    assert {p["snr_db"] for p in imperfect} == set(config.sweep.snr_channels)
    assert {p["q"] for p in grid if p["scheme"] == "jpeg"} == {config.chain.q_gen}


def _bd_samples(curves, n=64, seed=0):
    """PerImage of schemes ``{name: [(cbr, miou, psnr)]}``: per-image counts and PSNRs
    with noise of mean 0 over the images, so every point's mIoU and PSNR are exact."""
    rng = np.random.default_rng(seed)
    samples = PerImage()

    def centred(scale):
        e = scale * rng.standard_normal(n)
        return e - e.mean()

    for scheme, points in curves.items():
        for cbr, miou, psnr in points:
            union = np.full((n, 1), 100.0)
            samples.add({"scheme": scheme, "channel": "rayleigh", "csi": "perfect",
                         "snr_db": 10.0, "cbr": float(cbr)},
                        {"psnr": psnr + centred(1.0),
                         "iou_intersection": 100.0 * miou + centred(5.0)[:, None],
                         "iou_union": union})
    return samples


def test_bd_table_recovers_a_known_rate_saving_with_intervals():
    cbr = np.array([0.05, 0.08, 0.12, 0.18, 0.27])
    miou, psnr = 0.5 + 0.1 * np.log(cbr), 30.0 + 3.0 * np.log(cbr)
    digital = list(zip(cbr, miou, psnr))
    # mIoU falls between the 2nd and 3rd point: the operational curve skips that point
    dip = [(c, m - (0.2 if i == 2 else 0.0), p) for i, (c, m, p) in enumerate(digital)]
    samples = _bd_samples({"digital": digital,
                           "scsc": [(0.8 * c, m, p) for c, m, p in digital],
                           "short": digital[:1], "dip": dip})
    table = {t["scheme"]: t for t in bd_table(samples, "digital", ["scsc", "short", "dip"],
                                              [10.0], n_resamples=200)}
    scsc = table["scsc"]
    np.testing.assert_allclose(scsc["bd_cbr_pct"], -20.0, atol=1e-6)
    np.testing.assert_allclose(scsc["bd_psnr_db"], -3.0 * np.log(0.8), atol=1e-6)
    assert 0.0 < scsc["bd_cbr_pct_ci95"] < 20.0 and 0.0 < scsc["bd_psnr_db_ci95"] < 1.0
    np.testing.assert_allclose(table["digital"]["bd_cbr_pct"], 0.0, atol=1e-9)
    assert table["digital"]["bd_cbr_pct_ci95"] == pytest.approx(0.0, abs=1e-9)
    assert (table["dip"]["n_points"], table["dip"]["n_envelope"]) == (5, 4)
    # log-CBR is linear in mIoU here: the four points left are on the anchor's line
    np.testing.assert_allclose(table["dip"]["bd_cbr_pct"], 0.0, atol=1e-9)
    np.testing.assert_allclose(table["dip"]["bd_psnr_db"], 0.0, atol=1e-9)
    assert table["short"]["bd_cbr_pct"] is None and "at least 2" in table["short"]["note"]


def test_imperfect_csi_channel_has_the_configured_error_variance():
    """h_hat - h ~ CN(0, 0.1) per entry: sample variance within 5 standard errors."""
    channel = MIMOChannel.from_config({**mimo_channel_config("rayleigh", "imperfect", 0.1),
                                       "seed": 4})
    h, h_hat = channel.generate(4000)
    e = (h_hat - h).numpy().ravel()
    var = np.mean(np.abs(e) ** 2)
    assert abs(var - 0.1) < 5 * 0.1 / np.sqrt(e.size)
    assert abs(np.mean(e.real * e.imag)) < 5 * 0.05 / np.sqrt(e.size)
    perfect = MIMOChannel.from_config(mimo_channel_config("cdl-a", "perfect", 0.1))
    h, h_hat = perfect.generate(4)
    np.testing.assert_array_equal(h.numpy(), h_hat.numpy())
    with pytest.raises(ValueError, match="csi"):
        mimo_channel_config("rayleigh", "partial")


def test_pair_candidates_take_the_finest_q_that_fits_each_rate():
    from sem_sionna.experiments.scsc_mimo_pairs import (LDPC_RATES, pair_candidates,
                                                        payload_capacity)
    n = 600
    caps = {r: payload_capacity(n, r) for r in LDPC_RATES}
    assert caps[0.2] < caps[1 / 3] < caps[0.5] < caps[2 / 3]
    budgets = {28: caps[2 / 3] - 1, 34: caps[0.5] - 1, 41: caps[0.2] - 1, 45: 10 ** 6}
    got = dict((r, q) for q, r in pair_candidates(n, budgets))
    assert got == {0.2: 41, 1 / 3: 41, 0.5: 34, 2 / 3: 28}
    assert pair_candidates(n, {45: 10 ** 6}) == []  # nothing fits: no pair


def test_pair_selection_uses_the_validation_images_only():
    """The score on the validation images decides; test images never enter the choice
    (here they would prefer the other pair)."""
    from sem_sionna.experiments.scsc_mimo_pairs import select_pair
    val = np.zeros((4, 8, 8, 3), np.float32)
    test = np.ones((4, 8, 8, 3), np.float32)
    seen = []

    def score(pair, images):
        seen.append(images)
        q, rate = pair
        # on validation (zeros) the low rate wins, on test (ones) the high rate would
        return -rate if float(images.mean()) == 0.0 else rate

    best, scores = select_pair(score, [(41, 0.2), (34, 0.5)], val)
    assert best == (41, 0.2) and set(scores) == {(41, 0.2), (34, 0.5)}
    assert all(im is val for im in seen)
    assert select_pair(score, [(41, 0.2), (34, 0.5)], test)[0] == (34, 0.5)
    with pytest.raises(ValueError, match="candidates"):
        select_pair(score, [], val)


def test_digital_chooses_its_pair_at_every_point_scsc_on_the_cbr_curves(smoke_config):
    """The baseline picks its (Q, rate) per point; SCSC and its ablations only on the
    CBR curves; without a validation split or with a single rate nobody picks."""
    from types import SimpleNamespace

    from sem_sionna.experiments.scsc_mimo_sweep import SchemeEvaluator
    data = _scenes(smoke_config)
    data.x_val = np.zeros((2, 32, 32, 3), np.float32)
    models = SimpleNamespace(ppen=None, ppen_noqa=None)
    evaluator = SchemeEvaluator(smoke_config, data, models, seed=0)
    grid = sweep_points(smoke_config, data)
    chosen = {(p["scheme"], p["channel"], p["csi"], p["snr_db"]) for p in grid
              if evaluator.selects(p)}
    digital = {(p["scheme"], p["channel"], p["csi"], p["snr_db"]) for p in grid
               if p["scheme"] == "digital"}
    assert digital <= chosen and len({k[1:3] for k in digital}) > 1
    scsc = {k for k in chosen if k[0] == "scsc"}
    assert scsc and all(k[1:] == ("rayleigh", "perfect", k[3]) for k in scsc)
    assert {k[3] for k in scsc} == set(smoke_config.sweep.snr_cbr)
    assert {k[0] for k in chosen} == {"digital", "scsc"}
    single = dataclasses.replace(smoke_config, chain=dataclasses.replace(
        smoke_config.chain, coderates=(0.5,)))
    assert not any(SchemeEvaluator(single, data, models, 0).selects(p) for p in grid)
    data.x_val = None
    assert not any(evaluator.selects(p) for p in grid)
