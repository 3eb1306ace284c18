"""Interface tables, their figures and the claims of the split-vs-LDPC study.

* ``interface_ber.csv`` -- S1 Fig. 9: BER between the source bits ``u`` and the decoded
  bits ``v`` of each reliability level (level 1 = the least reliable, ``eps_max``), per
  SNR and CBR over AWGN, with the 95 % interval over the test images.
* ``learned_eps.csv`` -- S0: every bit's learned flip probability and its measured flip
  cost (increase of the test MSE, pixels in [0, 1], when that bit alone is flipped), with
  the Gauss-Newton estimate of that cost (``flip_cost_gn``) that the per-epoch margin uses.
* ``learning_curves.csv`` -- per stage and epoch: training and validation PSNR, the
  learning rate and (S1's channel stage) the BER of every level; ``learning_curves.png``.
* ``claim_margins.csv`` -- per epoch, the margin of the claims that the quick budget
  leaves open, from the training logs: S0 Fig. 7 (validation PSNR of the full IAN minus
  each ablation, per training channel, first CBR) and S1 Fig. 9 (``-rho``, Spearman's
  rank correlation of the per-level training BER with the level, per CBR) and S0's
  eps-vs-importance claim (``-rho`` of eps with the Gauss-Newton flip cost over the
  flip-cost images, per source epoch); positive means the claim holds at that epoch.
  ``claim_margins.png``.
* ``generalisation.csv`` -- PSNR of the source codes (error-free bits, and bits through
  their training interface) and of the end-to-end links at the highest SNR, on the
  validation patches (training photos) and on the test photos.

:data:`CLAIMS` are the seeds' claims, evaluated on the run's own numbers.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from sem_sionna import nets, plot
from sem_sionna.experiments.split_vs_ldpc_config import Config
from sem_sionna.experiments.split_vs_ldpc_train import (ABLATION_SWITCHES, num_symbols,
                                                        source_bits)
from sem_sionna.plot.figure import new_figure, save_figure, style_axes
from sem_sionna.metrics import (AllOf, Claim, DifferenceGrows, Greater, Less, RankCorrelation,
                                SmallerDrop, flip_cost, gauss_newton_flip_cost, mean_ci95,
                                psnr)
from sem_sionna.utils import derive_seed
from sem_sionna.utils.io import format_value, write_csv

__all__ = ["CLAIMS", "EPS_FLIP_METHODS", "interface_ber_rows", "learned_eps_rows",
           "eps_flip_margin", "flip_cost_agreement", "generalisation_rows",
           "learning_curve_rows",
           "claim_margin_rows", "plot_interface", "plot_learning_curves",
           "plot_claim_margins", "write_table"]

#: CBRs of the seeds' figures.
CBR_24, CBR_48 = 1 / 24, 1 / 48
_AWGN = {"channel": "awgn"}
#: S0's eps-vs-importance rule, on ``learned_eps`` rows; also evaluated per source epoch.
_EPS_RULE = RankCorrelation("flip_cost", "eps", sign=-1, table="learned_eps")


def _per_cbr(rule, where: dict, **kw):
    """``rule`` at CBR 1/24 and at 1/48, both required."""
    return AllOf(*(rule(where={**where, "cbr": c}, **kw) for c in (CBR_24, CBR_48)))


CLAIMS = (
    Claim("s1_fig7_split_ge_bpg", "S1 Fig. 7",
          "Split DeepJSCC outperforms BPG + LDPC at every SNR, for rho = 1/24 and 1/48 (AWGN)",
          _per_cbr(Greater, a="split_jscc", b="bpg+ldpc", metric="psnr", where=_AWGN)),
    Claim("s1_fig7_gap_larger_at_1_48", "S1 Fig. 7",
          "the advantage over BPG + LDPC is larger at the smaller bandwidth rho = 1/48",
          DifferenceGrows("split_jscc", "bpg+ldpc", "psnr", from_where={"cbr": CBR_24},
                          to_where={"cbr": CBR_48}, where=_AWGN)),
    Claim("s1_graceful_degradation", "S1 Sec. V",
          "Split DeepJSCC degrades gracefully with the SNR while the digital scheme falls "
          "off a cliff (PSNR drop from 20 dB to 0 dB, AWGN)",
          _per_cbr(SmallerDrop, a="split_jscc", b="bpg+ldpc", metric="psnr", high=20.0,
                   low=0.0, where=_AWGN)),
    Claim("s1_fig8_split_below_deepjscc", "S1 Fig. 8",
          "the split (binary interface) costs PSNR against end-to-end DeepJSCC at rho = 1/24",
          Less("split_jscc", "deepjscc", "psnr", where={**_AWGN, "cbr": CBR_24})),
    Claim("s1_fig9_ber_falls_with_level", "S1 Fig. 9",
          "the BER after the channel code falls with the reliability level (20 dB, 1/24)",
          RankCorrelation("level", "ber", sign=-1, table="interface_ber",
                          where={"snr_db": 20.0, "cbr": CBR_24})),
    Claim("s0_fig5_learned_ge_split_awgn", "S0 Fig. 5",
          "the learned interface outperforms Split DeepJSCC at every CBR and SNR (AWGN)",
          Greater("learned_interface", "split_jscc", "psnr", where=_AWGN)),
    Claim("s0_fig6_learned_ge_split_rayleigh", "S0 Fig. 6",
          "the learned interface outperforms Split DeepJSCC over Rayleigh fading",
          Greater("learned_interface", "split_jscc", "psnr", where={"channel": "rayleigh"})),
    Claim("s0_fig7_ian_ablation", "S0 Fig. 7",
          "the full IAN beats the variants without interface attention and without IAN "
          "(CBR 1/24, AWGN and Rayleigh)",
          AllOf(Greater("learned_interface", "learned_interface_wo_ia", "psnr",
                        where={"cbr": CBR_24}),
                Greater("learned_interface", "learned_interface_wo_ian", "psnr",
                        where={"cbr": CBR_24}))),
    Claim("s0_eps_anticorrelated_with_flip_cost", "S0 Sec. II-B",
          "important bits (high flip cost) get low flip probabilities eps", _EPS_RULE),
)


def write_table(path, rows: list[dict]) -> None:
    """A list of dicts as a CSV (columns of the first row)."""
    columns = list(rows[0]) if rows else []
    write_csv(path, columns, [{k: format_value(v) for k, v in r.items()} for r in rows])


def _level_errors(bits, bits_hat, num_levels: int) -> np.ndarray:
    """Per image and level error fraction: [n, M] x2 -> [n, N]."""
    err = np.not_equal(np.asarray(bits) > 0.5, np.asarray(bits_hat) > 0.5)
    return err.reshape(len(err), num_levels, -1).mean(axis=2)


def interface_ber_rows(cfg: Config, split_links: dict, test_images) -> list[dict]:
    """S1 Fig. 9 rows ``level, eps, snr_db, cbr, ber, ber_ci95`` at every SNR and CBR."""
    ladder = nets.multilevel_eps(cfg.num_levels, cfg.eps_max, cfg.eps_min)
    rows = []
    for cbr, link in split_links.items():
        state = link.encode(test_images)
        for snr in cfg.snr_db:
            _, info = link.reconstruct(state, snr, "awgn")
            mean, half = mean_ci95(_level_errors(info["bits"], info["bits_hat"],
                                                 cfg.num_levels))
            rows += [{"level": i + 1, "eps": float(ladder[i]), "snr_db": float(snr),
                      "cbr": cbr, "ber": float(mean[i]), "ber_ci95": float(half[i])}
                     for i in range(cfg.num_levels)]
    return rows


def learned_eps_rows(source_mapper, source_demapper, interface, images) -> list[dict]:
    """S0 rows ``bit, eps, flip_cost, flip_cost_ci95, flip_cost_gn``: the interface's eps,
    the test-MSE increase when that bit alone is flipped (mean over ``images``, from
    :func:`~sem_sionna.experiments.split_vs_ldpc.flip_cost_set`, with its 95 % t
    half-width over them) and its Gauss-Newton estimate
    (:func:`~sem_sionna.metrics.gauss_newton_flip_cost`, as :func:`eps_flip_margin`
    computes it per epoch)."""
    bits = source_bits(source_mapper, images)
    cost, half = mean_ci95(flip_cost(
        lambda b: source_demapper(tf.convert_to_tensor(b)).numpy(), bits, images,
        per_image=True))
    estimate = gauss_newton_flip_cost(source_demapper, bits, images)
    eps = interface.eps.numpy()
    return [{"bit": m, "eps": float(eps[m]), "flip_cost": float(cost[m]),
             "flip_cost_ci95": float(half[m]), "flip_cost_gn": float(estimate[m])}
            for m in range(len(eps))]


#: Flip-cost methods of :func:`eps_flip_margin` and the history-key prefix of each.
EPS_FLIP_METHODS = {"gauss_newton": "eps_flip_rho", "exact": "eps_flip_exact_rho"}
_METHOD_LABELS = {"gauss_newton": "Gauss-Newton", "exact": "exact"}


def eps_flip_margin(source_mapper, source_demapper, interface, images,
                    method: str = "gauss_newton") -> dict[str, float]:
    """S0's eps-vs-importance claim at the current weights: Spearman's rho of the bits'
    flip cost over ``images`` with their eps, and its 95 % interval, by the claim's own
    rule; NaN where undefined (e.g. all eps equal).

    ``method="gauss_newton"`` (history keys ``eps_flip_rho``, ``_low``, ``_high``):
    :func:`~sem_sionna.metrics.gauss_newton_flip_cost`, about 1 s for 512 bits over 512
    patches on two CPU cores, cheap enough for every epoch; the run checks it against the
    exact cost at the end (:func:`flip_cost_agreement`). ``method="exact"`` (keys
    ``eps_flip_exact_rho``, ...): :func:`~sem_sionna.metrics.flip_cost`, about 70 s."""
    if method not in EPS_FLIP_METHODS:
        raise ValueError(f"`method` must be one of {sorted(EPS_FLIP_METHODS)}, "
                         f"got {method!r}")
    bits = source_bits(source_mapper, images)
    if method == "exact":
        cost = flip_cost(lambda b: source_demapper(tf.convert_to_tensor(b)).numpy(), bits,
                         images)
    else:
        cost = gauss_newton_flip_cost(source_demapper, bits, images)
    eps = interface.eps.numpy()
    ev = _EPS_RULE.evaluate(None, {"learned_eps": [
        {"flip_cost": float(c), "eps": float(e)} for c, e in zip(cost, eps)]}).evidence
    prefix = EPS_FLIP_METHODS[method]
    return {prefix + suffix: float("nan") if ev[key] is None else float(ev[key])
            for suffix, key in (("", "rho"), ("_low", "low"), ("_high", "high"))}


def flip_cost_agreement(rows: list[dict]) -> dict:
    """How well the Gauss-Newton flip cost stands for the exact one on ``learned_eps``
    rows: Spearman's rho between them with its 95 % interval (the per-epoch margin uses
    only the estimate's ranks) and ``scale``, the ratio of their means."""
    ev = RankCorrelation("flip_cost", "flip_cost_gn", sign=1).evaluate(None, rows).evidence
    exact = np.mean([r["flip_cost"] for r in rows]) if rows else float("nan")
    estimate = np.mean([r["flip_cost_gn"] for r in rows]) if rows else float("nan")
    return {"spearman": ev["rho"], "low": ev["low"], "high": ev["high"], "n_bits": ev["n"],
            "scale": float(estimate / exact) if exact else None}


def _psnr_row(model: str, split: str, images, x_hat) -> dict:
    mean, half = mean_ci95(np.asarray(psnr(images, x_hat), np.float64))
    return {"model": model, "split": split, "psnr": float(mean), "psnr_ci95": float(half)}


def generalisation_rows(cfg: Config, models, val_images, test_images) -> list[dict]:
    """PSNR on validation patches (training photos) vs test photos: source codes with
    error-free bits and through their training interface, and the links at the highest
    SNR over AWGN (first CBR)."""
    cbr, snr = cfg.cbrs[0], max(cfg.snr_db)
    s1, s0 = models.split_jscc[cbr], models.learned_interface["awgn"]["full"][cbr]
    bsc = nets.MultiLevelBSC(cfg.num_levels, cfg.eps_max, cfg.eps_min,
                             seed=derive_seed(0, "split_vs_ldpc", "generalisation"))
    rows = []
    for split, images in (("validation", val_images), ("test", test_images)):
        x = tf.convert_to_tensor(images)
        for name, link, interface in (("split_jscc", s1, bsc),
                                      ("learned_interface", s0, s0.interface)):
            u = tf.round(link.source_mapper(x))
            rows.append(_psnr_row(f"{name}_source_only", split, images,
                                  link.source_demapper(u).numpy()))
            rows.append(_psnr_row(f"{name}_through_interface", split, images,
                                  link.source_demapper(tf.round(interface(u))).numpy()))
        for name, link in (("split_jscc", s1), ("learned_interface", s0),
                           ("deepjscc", models.deepjscc[cbr])):
            x_hat, _ = link.reconstruct(link.encode(images), snr, "awgn")
            rows.append(_psnr_row(f"{name}_{snr:g}dB", split, images, x_hat))
    return rows


def plot_interface(cfg: Config, tables: dict, out) -> None:
    """``interface_ber.png`` (S1 Fig. 9 at 20 dB, or the highest SNR) and
    ``learned_eps.png`` (S0's eps against the measured flip cost)."""
    rows = tables["interface_ber"]
    snr = 20.0 if 20.0 in cfg.snr_db else max(cfg.snr_db)
    levels = list(range(1, cfg.num_levels + 1))
    ys, ci = {"interface eps (S1 eq. 17)": list(nets.multilevel_eps(
        cfg.num_levels, cfg.eps_max, cfg.eps_min))}, {}
    for cbr in cfg.cbrs:
        sel = sorted((r for r in rows if r["cbr"] == cbr and r["snr_db"] == snr),
                     key=lambda r: r["level"])
        label = f"after channel code, CBR {cbr:.4g}"
        ys[label] = [r["ber"] for r in sel]
        ci[label] = [r["ber_ci95"] for r in sel]
    plot.line_plot(levels, ys, out / "interface_ber.png", xlabel="reliability level",
                   ylabel="bit error rate", logy=True, ci95=ci,
                   title=f"Split DeepJSCC, AWGN {snr:g} dB")
    _plot_learned_eps(tables["learned_eps"], out / "learned_eps.png")


def _plot_learned_eps(rows: list[dict], path) -> None:
    """S0's eps of every bit against its flip cost (0..255 scale), with the flip cost's
    95 % interval over the test images as a horizontal error bar."""
    scale = 255.0 ** 2
    fig, (ax,) = new_figure(1, panel_size=(5.5, 3.8))
    ax.errorbar([r["flip_cost"] * scale for r in rows], [r["eps"] for r in rows],
                xerr=[r["flip_cost_ci95"] * scale for r in rows], fmt="o", markersize=3,
                elinewidth=0.6, alpha=0.6, label="one bit of the interface (95 % CI)")
    style_axes(ax, "flip cost (test MSE increase, 0..255 scale)",
               "flip probability eps", logy=True)
    ax.legend(fontsize="small")
    fig.suptitle("S0 learned interface: eps vs bit importance")
    save_figure(fig, path)


def _flat_histories(histories: dict):
    """``(stage, history)`` pairs; S1's channel stage splits into warm-up and main."""
    for name, hist in histories.items():
        if hist and all(isinstance(v, dict) for v in hist.values()):
            for part, sub in hist.items():
                yield f"{name}_{part}", sub
        elif hist:
            yield name, hist


_CURVE_KEYS = ("psnr", "lr", "ber", "eps_mean", "eps_std") + tuple(
    p + s for p in EPS_FLIP_METHODS.values() for s in ("", "_low", "_high"))


def learning_curve_rows(histories: dict) -> list[dict]:
    """One row per stage and epoch: ``stage, epoch, psnr, val_psnr, val_psnr_ci95, lr``
    and, where logged, ``ber`` and ``ber_level_i``, ``eps_mean`` / ``eps_std`` and
    ``eps_flip_rho`` with its interval (:func:`eps_flip_margin`); ``val_psnr_ci95``: the
    95 % half-width over the validation patches, from that of their MSE by the delta
    method. A value stored as null (NaN) is left out."""
    rows = []
    for stage, hist in _flat_histories(histories):
        n = len(hist.get("loss", []))
        for e in range(n):
            row = {"stage": stage, "epoch": e + 1}
            for key, values in hist.items():
                if values[e] is None:
                    continue
                if key == "val_mse":
                    row["val_psnr"] = float(-10.0 * np.log10(max(values[e], 1e-12)))
                elif key == "val_mse_ci95":  # delta method: d PSNR = (10 / ln 10) dMSE / MSE
                    mse = max(hist["val_mse"][e], 1e-12)
                    row["val_psnr_ci95"] = float(10.0 / np.log(10.0) * values[e] / mse)
                elif key in _CURVE_KEYS or key.startswith("ber_level_"):
                    row[key] = float(values[e])
            rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return [{c: r.get(c) for c in columns} for r in rows]


def plot_learning_curves(rows: list[dict], out) -> None:
    """``learning_curves.png``: validation PSNR against epochs, one line per stage, with
    its 95 % band."""
    stages = list(dict.fromkeys(r["stage"] for r in rows if r.get("val_psnr") is not None))
    if not stages:
        return
    epochs = max(r["epoch"] for r in rows)
    ys, ci = {}, {}
    for stage in stages:
        by_epoch = {r["epoch"]: r for r in rows if r["stage"] == stage}
        ys[stage], ci[stage] = ([by_epoch[e].get(col) if e in by_epoch else float("nan")
                                 for e in range(1, epochs + 1)]
                                for col in ("val_psnr", "val_psnr_ci95"))
    ys, ci = ({k: [float("nan") if v is None else v for v in c] for k, c in d.items()}
              for d in (ys, ci))
    plot.line_plot(list(range(1, epochs + 1)), ys, out / "learning_curves.png",
                   xlabel="epoch", ylabel="validation PSNR (dB)",
                   title="training stages (validation patches, 95 % bands)", ci95=ci)


def _ablation_margins(cfg: Config, curves: list[dict], image_shape) -> list[dict]:
    """S0 Fig. 7: validation PSNR of the full IAN minus each ablation, per epoch."""
    k = num_symbols(image_shape, cfg.cbrs[0])
    by_stage: dict[str, dict[int, dict]] = {}
    for r in curves:
        by_stage.setdefault(r["stage"], {})[r["epoch"]] = r
    rows = []
    for channel in ("awgn", "rayleigh"):
        tag = "" if channel == "awgn" else f"_{channel}"
        full = by_stage.get(f"s0_channel{tag}_cbr{k}", {})
        for name in ABLATION_SWITCHES:
            ablated = by_stage.get(f"s0_channel_{name}{tag}_cbr{k}", {})
            for e in sorted(set(full) & set(ablated)):
                a, b = full[e], ablated[e]
                if a.get("val_psnr") is None or b.get("val_psnr") is None:
                    continue
                margin = a["val_psnr"] - b["val_psnr"]
                # independent-interval bound: the same patches, so the paired one is tighter
                half = float(np.hypot(a.get("val_psnr_ci95") or 0.0,
                                      b.get("val_psnr_ci95") or 0.0))
                rows.append({"claim": "s0_fig7_ian_ablation",
                             "comparison": f"full - {name} ({channel}, CBR {cfg.cbrs[0]:.4g})",
                             "stage": f"s0_channel{tag}", "epoch": e, "margin": margin, "margin_low": margin - half,
                             "margin_high": margin + half, "unit": "dB"})
    return rows


def _ber_level_margins(cfg: Config, curves: list[dict], image_shape) -> list[dict]:
    """S1 Fig. 9: ``-rho(level, ber)`` of the per-level training BER, per epoch of S1's
    channel stage (warm-up then main, numbered on)."""
    rule = RankCorrelation("level", "ber", sign=-1, table="levels")
    rows = []
    for cbr in cfg.cbrs:
        k = num_symbols(image_shape, cbr)
        epoch = 0
        for part in ("warmup", "main"):
            for r in (r for r in curves if r["stage"] == f"s1_channel_cbr{k}_{part}"):
                levels = [{"level": i + 1, "ber": r.get(f"ber_level_{i + 1}")}
                          for i in range(cfg.num_levels)]
                if any(x["ber"] is None for x in levels):
                    continue
                epoch += 1
                ev = rule.evaluate(None, {"levels": levels}).evidence
                if ev["rho"] is None:  # constant BER: no rank correlation
                    continue
                rows.append({"claim": "s1_fig9_ber_falls_with_level",
                             "comparison": f"-rho(level, BER) (CBR {cbr:.4g})",
                             "stage": f"s1_channel_{part}", "epoch": epoch, "margin": -ev["rho"], "margin_low": -ev["high"],
                             "margin_high": -ev["low"], "unit": "rank correlation"})
    return rows


def _eps_flip_margins(curves: list[dict]) -> list[dict]:
    """S0's eps-vs-importance claim: ``-rho`` of eps with the flip cost, per source epoch
    where logged (:func:`eps_flip_margin`), one comparison per flip-cost method."""
    rows = []
    for method, key in EPS_FLIP_METHODS.items():
        for r in curves:
            if r["stage"] != "s0_source" or not all(
                    r.get(k) is not None and np.isfinite(r[k])
                    for k in (key, key + "_low", key + "_high")):
                continue
            rows.append({"claim": "s0_eps_anticorrelated_with_flip_cost",
                         "comparison": f"-rho(flip cost, eps), {_METHOD_LABELS[method]} "
                                       "flip cost",
                         "stage": r["stage"], "epoch": r["epoch"], "margin": -r[key],
                         "margin_low": -r[key + "_high"], "margin_high": -r[key + "_low"],
                         "unit": "rank correlation"})
    return rows


def claim_margin_rows(cfg: Config, curves: list[dict], image_shape) -> list[dict]:
    """``claim_margins.csv``: ``claim, comparison, stage, epoch, margin, margin_low,
    margin_high, unit`` from the learning-curve rows (:func:`learning_curve_rows`); ``margin > 0``
    where the claim holds at that epoch, ``[margin_low, margin_high]`` its 95 % interval."""
    return (_ablation_margins(cfg, curves, image_shape)
            + _ber_level_margins(cfg, curves, image_shape) + _eps_flip_margins(curves))


def plot_claim_margins(rows: list[dict], out) -> None:
    """``claim_margins.png``: each claim's margin against the training epoch, 95 % bands,
    one panel per claim."""
    claims = list(dict.fromkeys(r["claim"] for r in rows))
    if not claims:
        return
    fig, axes = new_figure(len(claims), panel_size=(5.5, 3.8))
    for ax, claim in zip(axes, claims):
        sel = [r for r in rows if r["claim"] == claim]
        for comp in dict.fromkeys(r["comparison"] for r in sel):
            pts = sorted((r for r in sel if r["comparison"] == comp), key=lambda r: r["epoch"])
            x = [r["epoch"] for r in pts]
            (line,) = ax.plot(x, [r["margin"] for r in pts], marker="o", markersize=3,
                              label=comp)
            ax.fill_between(x, [r["margin_low"] for r in pts], [r["margin_high"] for r in pts],
                            color=line.get_color(), alpha=0.15, linewidth=0)
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        style_axes(ax, "training epoch", f"margin ({sel[0]['unit']}, > 0: claim holds)",
                   title=claim)
        ax.legend(fontsize="x-small")
    fig.suptitle("claim margins against training epochs (from the training logs, 95 % bands)")
    save_figure(fig, out / "claim_margins.png")
