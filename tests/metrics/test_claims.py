"""Claim rules on hand-made per-image tables and rows; claims.json and README blocks."""
import json

import numpy as np
import pytest

from sem_sionna.metrics import (CLAIM_KEYS, AllOf, Claim, DifferenceGrows, Greater,
                                GreaterAtEveryPoint, InteriorMaximum, Less, PerImage,
                                RankCorrelation, SmallerDrop, Threshold, claims_markdown,
                                evaluate_claims, replace_marked_block, write_claims)

SNRS = (0.0, 5.0, 10.0, 15.0)
N = 40


def _samples(gaps, rng, noise=0.5, cbr=1 / 24, s=None):
    """Scheme "a" = "b" + gaps[snr] per image, both over the same images."""
    s = PerImage() if s is None else s
    for snr, gap in zip(SNRS, gaps):
        base = 20 + snr + rng.normal(size=N)  # image difficulty, shared
        cond = {"channel": "awgn", "snr_db": snr, "cbr": cbr}
        s.add({**cond, "scheme": "b"}, {"psnr": base + rng.normal(scale=noise, size=N)})
        s.add({**cond, "scheme": "a"}, {"psnr": base + gap + rng.normal(scale=noise, size=N)})
    return s


def test_greater_clearly_above_is_reproduced(rng):
    out = Greater("a", "b", "psnr", where={"channel": "awgn"}).evaluate(
        _samples([1.0, 1.0, 1.0, 1.0], rng))
    assert out.verdict == "reproduced"
    ev = out.evidence
    assert ev["n_points"] == 4 and ev["n_for"] == 4 and not ev["inside_noise"]
    assert [p["condition"]["snr_db"] for p in ev["points"]] == list(SNRS)
    assert {"mean", "ci95", "low", "high", "n"} <= set(ev["points"][0])
    assert abs(ev["mean_difference"] - 1.0) < 0.3


def test_greater_below_mixed_and_noise(rng):
    rule = Greater("a", "b", "psnr")
    assert rule.evaluate(_samples([-1.0] * 4, rng)).verdict == "not reproduced"
    mixed = rule.evaluate(_samples([1.0, 1.0, -1.0, -1.0], rng))
    assert mixed.verdict == "partly"
    assert mixed.evidence["n_for"] == 2 and mixed.evidence["n_against"] == 2
    # Per-image differences alternate +-0.01: mean 0, inside the noise at every point.
    s = PerImage()
    for snr in SNRS:
        x = rng.normal(size=N)
        s.add({"scheme": "a", "snr_db": snr}, {"psnr": x + 0.01 * (-1.0) ** np.arange(N)})
        s.add({"scheme": "b", "snr_db": snr}, {"psnr": x})
    out = rule.evaluate(s)
    assert out.verdict == "not reproduced" and out.evidence["inside_noise"] is True
    assert out.evidence["n_for"] == out.evidence["n_against"] == 0


def test_less_and_strict_variants(rng):
    s = _samples([-1.0, -1.0, -1.0, 0.0], rng)
    assert Less("a", "b", "psnr").evaluate(s).verdict == "reproduced"
    assert Greater("b", "a", "psnr").evaluate(s).verdict == "reproduced"
    strict = GreaterAtEveryPoint("b", "a", "psnr").evaluate(s)
    assert strict.verdict in ("partly", "reproduced")
    assert GreaterAtEveryPoint("b", "a", "psnr", where={"snr_db": (0.0, 5.0)}).evaluate(
        s).verdict == "reproduced"
    # A margin larger than the gap: no longer significantly above.
    assert Greater("b", "a", "psnr", margin=3.0).evaluate(s).verdict == "not reproduced"


def test_missing_data_and_typos(rng):
    s = _samples([1.0] * 4, rng)
    out = Greater("a", "b", "psnr", where={"channel": "rayleigh"}).evaluate(s)
    assert out.verdict == "not reproduced" and "missing" in out.evidence
    assert Greater("a", "b", "psnr").evaluate(PerImage()).evidence["missing"]
    with pytest.raises(ValueError, match="'psnrr'"):
        Greater("a", "b", "psnrr").evaluate(s)
    with pytest.raises(ValueError, match="'c'"):
        Greater("a", "c", "psnr").evaluate(s)
    with pytest.raises(ValueError, match="'chanel'"):
        Greater("a", "b", "psnr", where={"chanel": "awgn"}).evaluate(s)
    claim = Claim("x", "S0", "typo", Greater("a", "b", "psnrr"))
    with pytest.raises(ValueError, match="claim 'x'"):
        evaluate_claims([claim], s)
    [entry] = evaluate_claims([claim], s, strict=False)
    assert entry["verdict"] == "not reproduced" and "psnrr" in entry["evidence"]["missing"]


def test_greater_on_miou_counts_uses_the_bootstrap(rng):
    s = PerImage()
    for snr in SNRS:
        union = rng.integers(50, 100, size=(N, 3))
        for scheme, q in (("a", 0.7), ("b", 0.5)):
            inter = (union * rng.uniform(q - 0.1, q + 0.1, size=(N, 3))).astype(int)
            s.add({"scheme": scheme, "snr_db": snr},
                  {"iou_intersection": inter, "iou_union": union})
    out = Greater("a", "b", "miou", n_resamples=200).evaluate(s)
    assert out.verdict == "reproduced"
    assert abs(out.evidence["mean_difference"] - 0.2) < 0.05


def test_difference_grows(rng):
    s = _samples([0.5] * 4, rng, cbr=1 / 24)
    _samples([2.0] * 4, rng, cbr=1 / 48, s=s)
    rule = DifferenceGrows("a", "b", "psnr", from_where={"cbr": 1 / 24}, to_where={"cbr": 1 / 48})
    out = rule.evaluate(s)
    assert out.verdict == "reproduced"
    assert out.evidence["points"][0]["gap_to"] > out.evidence["points"][0]["gap_from"]
    swapped = DifferenceGrows("a", "b", "psnr", from_where={"cbr": 1 / 48},
                              to_where={"cbr": 1 / 24})
    assert swapped.evaluate(s).verdict == "not reproduced"


def test_smaller_drop(rng):
    s = PerImage()
    for snr, a_mean, b_mean in ((0.0, 25.0, 12.0), (20.0, 28.0, 30.0)):
        base = rng.normal(size=N)
        s.add({"scheme": "a", "snr_db": snr}, {"psnr": a_mean + base + rng.normal(0, .3, N)})
        s.add({"scheme": "b", "snr_db": snr}, {"psnr": b_mean + base + rng.normal(0, .3, N)})
    out = SmallerDrop("a", "b", "psnr", high=20.0, low=0.0).evaluate(s)
    assert out.verdict == "reproduced"
    [point] = out.evidence["points"]
    assert point["a_drop"] == pytest.approx(3.0, abs=0.3)
    assert point["b_drop"] == pytest.approx(18.0, abs=0.3)
    assert SmallerDrop("b", "a", "psnr", high=20.0, low=0.0).evaluate(s).verdict == \
        "not reproduced"


def _curve(means, rng):
    s = PerImage()
    base = rng.normal(size=N)
    for tau, m in zip((0.5, 1.0, 2.0, 4.0, 8.0), means):
        s.add({"scheme": "sd_jscc", "tau": tau}, {"accuracy": m + base + rng.normal(0, .1, N)})
    return s


def test_interior_maximum(rng):
    peaked = _curve([0.5, 0.7, 0.9, 0.7, 0.5], rng)
    out = InteriorMaximum("sd_jscc", "accuracy", over="tau").evaluate(peaked)
    assert out.verdict == "reproduced" and out.evidence["curves"][0]["argmax"] == 2.0
    assert InteriorMaximum("sd_jscc", "accuracy", over="tau", near=(2.0, 0.5)).evaluate(
        peaked).verdict == "reproduced"
    assert InteriorMaximum("sd_jscc", "accuracy", over="tau", near=(8.0, 1.0)).evaluate(
        peaked).verdict == "partly"
    rising = _curve([0.5, 0.6, 0.7, 0.8, 0.9], rng)
    assert InteriorMaximum("sd_jscc", "accuracy", over="tau").evaluate(rising).verdict == \
        "not reproduced"


def test_rank_correlation():
    rows = [{"level": k, "eps": 0.4 * 0.5 ** k, "ber": 0.3 * 0.6 ** k + 1e-4 * (k % 2),
             "snr_db": 5.0} for k in range(8)]
    falls = RankCorrelation("level", "ber", sign=-1, where={"snr_db": 5.0})
    out = falls.evaluate(None, rows)
    assert out.verdict == "reproduced"
    assert out.evidence["rho"] == pytest.approx(-1.0) and out.evidence["high"] < 0
    assert RankCorrelation("level", "ber", sign=1).evaluate(None, rows).verdict == \
        "not reproduced"
    flat = [{"x": k, "y": (-1) ** k} for k in range(8)]
    noise = RankCorrelation("x", "y", sign=-1).evaluate(None, flat)
    assert noise.verdict == "not reproduced" and noise.evidence["inside_noise"]
    assert "missing" in falls.evaluate(None, None).evidence
    with pytest.raises(ValueError, match="'levle'"):
        RankCorrelation("levle", "ber").evaluate(None, rows)
    tables = {"interface_ber": rows}
    assert RankCorrelation("level", "ber", table="interface_ber").evaluate(
        None, tables).verdict == "reproduced"
    assert "missing" in RankCorrelation("bit", "eps", table="learned_eps").evaluate(
        None, tables).evidence


def test_threshold():
    rows = [{"scheme": "scsc", "bd_cbr_pct": -20.0, "bd_cbr_pct_ci95": 5.0},
            {"scheme": "scsc_wo_ppen", "bd_cbr_pct": -3.0, "bd_cbr_pct_ci95": 5.0},
            {"scheme": "proxynet", "bd_cbr_pct": 4.0}]
    rule = Threshold("bd_cbr_pct", "<", 0.0, where={"scheme": "scsc"})
    assert rule.evaluate(None, rows).verdict == "reproduced"
    assert Threshold("bd_cbr_pct", "<", 0.0, where={"scheme": "scsc_wo_ppen"}).evaluate(
        None, rows).verdict == "partly"
    assert Threshold("bd_cbr_pct", "<", 0.0, where={"scheme": "proxynet"}).evaluate(
        None, rows).verdict == "not reproduced"
    assert Threshold("bd_cbr_pct", "<", 0.0).evaluate(None, rows).verdict == "partly"
    assert "missing" in Threshold("bd_cbr_pct", "<", 0.0, where={"scheme": "x"}).evaluate(
        None, rows).evidence
    with pytest.raises(ValueError, match="op"):
        Threshold("bd_cbr_pct", "!=", 0.0)


def test_all_of(rng):
    s = _samples([1.0] * 4, rng)
    rows = [{"scheme": "a", "gain": 1.0}]
    yes = Greater("a", "b", "psnr")
    no = Greater("b", "a", "psnr")
    assert AllOf(yes, Threshold("gain", ">", 0.0)).evaluate(s, rows).verdict == "reproduced"
    assert AllOf(yes, no).evaluate(s, rows).verdict == "partly"
    assert AllOf(no, no).evaluate(s, rows).verdict == "not reproduced"
    assert " AND " in AllOf(yes, no).describe()


def test_claims_json_markdown_and_readme_block(tmp_path, rng):
    s = _samples([1.0] * 4, rng)
    claims = (Claim("c1", "S1 Fig. 7", "a beats b at every SNR (AWGN)",
                    Greater("a", "b", "psnr", where={"channel": "awgn"})),
              Claim("c2", "S3 Table II", "BD-CBR below 0",
                    Threshold("bd_cbr_pct", "<", 0.0, table="bd_rates")),
              Claim("c3", "S1 Fig. 5", "BER falls with the level",
                    AllOf(RankCorrelation("level", "ber", table="interface_ber"),
                          Less("b", "a", "psnr"))))
    entries = evaluate_claims(claims, s, {"bd_rates": [{"scheme": "scsc", "bd_cbr_pct": -9.0}]})
    assert [tuple(e) for e in entries] == [CLAIM_KEYS] * 3
    assert [e["verdict"] for e in entries] == ["reproduced", "reproduced", "partly"]
    assert isinstance(entries[0]["rule"], str) and "psnr" in entries[0]["rule"]
    path = write_claims(tmp_path / "claims.json", entries)
    assert json.loads(path.read_text()) == entries
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.json"]
    table = claims_markdown(entries)
    assert table.count("\n") == 5 and "| c1 | S1 Fig. 7 |" in table and "**partly**" in table
    with pytest.raises(ValueError, match="unique"):
        evaluate_claims(claims + claims[:1], s)

    readme = "# Results\n<!-- BEGIN claims -->\nold\n<!-- END claims -->\ntail\n"
    new = replace_marked_block(readme, "claims", table)
    assert new.startswith("# Results\n<!-- BEGIN claims -->\n| id |")
    assert new.endswith("<!-- END claims -->\ntail\n") and "old" not in new
    assert replace_marked_block(new, "claims", table) == new
    with pytest.raises(ValueError, match="BEGIN other"):
        replace_marked_block(readme, "other", table)
