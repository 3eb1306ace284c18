"""Seed claims as data: rules that turn a run's numbers into verdicts with evidence.

A :class:`Claim` pairs a paper's statement with a :class:`Rule`. A rule reads the
run's per-image samples (:class:`~sem_sionna.metrics.PerImage`) and/or result rows
(``list[dict]`` as read from a CSV, or ``{table: list[dict]}``) and returns an
:class:`Outcome`: a verdict in :data:`VERDICTS` and JSON-ready evidence (per point the
paired difference ``mean, ci95, low, high, n, sign`` and a one-line ``summary``).
:func:`evaluate_claims` gives the ``claims.json`` entries of ``SPEC.md``.

Verdicts (``a - b`` paired per image, 95 % intervals; "above" = interval above 0):

- :class:`Greater` ``a > b`` over the points: *reproduced* when no point is
  significantly below, at least one is significantly above and the mean of the point
  differences is positive; *partly* when some points are significantly above and some
  significantly below; *not reproduced* otherwise -- ``"inside_noise": true`` in the
  evidence when no point is significant. :class:`Less` mirrors it.
- :class:`GreaterAtEveryPoint` / :class:`LessAtEveryPoint`: *reproduced* only when
  every point is significantly in the claimed direction, *partly* when some are and
  none is significantly against it.
- :class:`DifferenceGrows`, :class:`SmallerDrop`: :class:`Greater`'s verdict applied to
  a difference of paired differences per point.
- :class:`InteriorMaximum`: the argmax over ``over`` is interior and significantly
  above both end points (and near the claimed value, if given).
- :class:`RankCorrelation`: Spearman's rho with a Fisher-z interval; *reproduced* when
  the interval excludes 0 on the claimed side, otherwise *not reproduced*.
- :class:`Threshold`: a row value against a threshold, its ``<column>_ci95`` if present.
- :class:`AllOf`: *reproduced* if every part is, *not reproduced* if no part is
  reproduced or partly, *partly* otherwise (also how rules combine several curves/rows).

Missing data (no matching point or row, no samples at all) gives *not reproduced* with
``{"missing": reason}`` and never raises. A name that appears nowhere in non-empty
samples or rows -- a misspelt scheme, metric or column -- raises ``ValueError`` naming
it, so a typo never passes silently; :func:`evaluate_claims` with ``strict=False``
records such errors as missing instead (for profiles that skip schemes).
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import operator
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Union

import numpy as np
from scipy import stats

from ._files import atomic_write
from .per_image import PerImage, matches
from .uncertainty import CONFIDENCE, Difference, paired_contrast

__all__ = [
    "VERDICTS",
    "CLAIM_KEYS",
    "Claim",
    "Outcome",
    "Rule",
    "Greater",
    "Less",
    "GreaterAtEveryPoint",
    "LessAtEveryPoint",
    "DifferenceGrows",
    "SmallerDrop",
    "InteriorMaximum",
    "RankCorrelation",
    "Threshold",
    "AllOf",
    "evaluate_claims",
    "write_claims",
    "claims_markdown",
    "replace_marked_block",
]

VERDICTS = ("reproduced", "partly", "not reproduced")
REPRODUCED, PARTLY, NOT_REPRODUCED = VERDICTS
CLAIM_KEYS = ("id", "source", "statement", "rule", "verdict", "evidence")

Row = Mapping[str, Any]
Rows = Union[Sequence[Row], Mapping[str, Sequence[Row]]]


class _Missing(Exception):
    """The data a rule needs is not in this run (not reproduced, never a crash)."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A rule's result: ``verdict`` in :data:`VERDICTS`, ``evidence`` a dict."""

    verdict: str
    evidence: dict

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"`verdict` must be one of {VERDICTS}, got {self.verdict!r}")


class Rule:
    """Base of the claim rules: ``describe()`` is the rule text of ``claims.json``,
    ``evaluate(samples, rows)`` the :class:`Outcome`. Subclasses implement ``_evaluate``
    and raise ``_Missing`` when data is absent."""

    def describe(self) -> str:
        raise NotImplementedError

    def evaluate(self, samples: PerImage | None, rows: Rows | None = None) -> Outcome:
        try:
            return self._evaluate(samples if samples is not None else PerImage(), rows)
        except _Missing as e:
            return Outcome(NOT_REPRODUCED, {"missing": str(e), "summary": f"missing: {e}"})

    def _evaluate(self, samples: PerImage, rows: Rows | None) -> Outcome:
        raise NotImplementedError


# -- helpers ---------------------------------------------------------------------------

def _combine(verdicts: Sequence[str]) -> str:
    if verdicts and all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    if not any(v in (REPRODUCED, PARTLY) for v in verdicts):
        return NOT_REPRODUCED
    return PARTLY


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (tuple, list, set, frozenset)):
        return "{" + ", ".join(_fmt(v) for v in value) + "}"
    return str(value)


def _fmt_where(where: Mapping) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in where.items()) or "all conditions"


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _check_samples(samples: PerImage, *, schemes=(), metrics=(), columns=()) -> None:
    if len(samples) == 0:
        raise _Missing("no per-image samples in this run")
    samples.check_names(schemes=schemes, metrics=metrics, columns=columns)


def _find(samples: PerImage, scheme: str, cond: Mapping, metric: str) -> np.ndarray | None:
    """The sample of ``scheme`` at exactly the columns of ``cond`` (floats matched to 1e-9)."""
    for point, _ in samples.select(scheme, **cond):
        if set(point) == set(cond) | {"scheme"}:
            return samples.sample(point, metric)
    return None


def _estimate(samples: PerImage, metric: str, x: np.ndarray) -> float:
    stat = samples.statistic(metric)
    return float(np.mean(x, axis=0)) if stat is None else float(stat(x, axis=0))


def _sort_key(cond: Mapping, over: str):
    rest = tuple((k, str(v)) for k, v in cond.items() if k != over)
    v = cond.get(over)
    return rest, (0, float(v), "") if isinstance(v, numbers.Real) else (1, 0.0, str(v))


def _pointwise(points: list[tuple[dict, Difference, dict]], direction: int,
               strict: bool) -> tuple[str, dict]:
    """Verdict over per-point differences (already shifted by any margin)."""
    signs = [direction * d.sign for _, d, _ in points]
    n_above, n_below = signs.count(1), signs.count(-1)  # for / against the claim
    mean = float(np.mean([direction * d.mean for _, d, _ in points]))
    if strict:
        if n_above == len(points):
            verdict = REPRODUCED
        elif n_above and not n_below:
            verdict = PARTLY
        else:
            verdict = NOT_REPRODUCED
    elif n_above and not n_below and mean > 0:
        verdict = REPRODUCED
    elif n_above and n_below:
        verdict = PARTLY
    else:
        verdict = NOT_REPRODUCED
    evidence = {
        "points": [{"condition": c, **d.as_dict(), **extra} for c, d, extra in points],
        "n_points": len(points), "n_for": n_above, "n_against": n_below,
        "mean_difference": _num(direction * mean),
        "inside_noise": n_above == 0 and n_below == 0,
    }
    return verdict, evidence


def _range(points) -> str:
    means = [d.mean for _, d, _ in points]
    return f"{min(means):+.3g}..{max(means):+.3g}" if len(means) > 1 else f"{means[0]:+.3g}"


# -- rules on per-image samples --------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Greater(Rule):
    """``a`` above ``b`` in ``metric`` at every point of ``over``.

    The points are every condition matching ``where`` at which both schemes have the
    metric; at each the paired difference ``a - b - margin`` gets a 95 % interval
    (t for per-image means, paired bootstrap for ratio metrics such as ``miou``).
    See the module docstring for the verdict.
    """

    a: str
    b: str
    metric: str
    over: str = "snr_db"
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    margin: float = 0.0
    n_resamples: int = 2000
    seed: int = 0

    _direction: ClassVar[int] = 1
    _strict: ClassVar[bool] = False

    def _relation(self) -> str:
        word = ">" if self._direction > 0 else "<"
        extra = f" by more than {self.margin:g}" if self.margin else ""
        return f"{self.a} {word} {self.b} in {self.metric}{extra}"

    def describe(self) -> str:
        if self._strict:
            test = "reproduced if significantly so at every point, partly if at some and never against"
        else:
            test = ("reproduced if no point significantly against, at least one significantly "
                    "for and mean difference in the claimed direction; partly if both occur")
        return (f"{self._relation()} at every {self.over} ({_fmt_where(self.where)}); paired "
                f"per-image 95% CI per point; {test}")

    def _evaluate(self, samples, rows):
        _check_samples(samples, schemes=(self.a, self.b), metrics=(self.metric,),
                       columns=(self.over, *self.where))
        pairs = samples.pair(self.a, self.b, self.metric, **self.where)
        if not pairs:
            raise _Missing(f"no condition with both {self.a!r} and {self.b!r} having "
                           f"{self.metric!r} ({_fmt_where(self.where)})")
        stat = samples.statistic(self.metric)
        points = []
        for cond, x, y in sorted(pairs, key=lambda p: _sort_key(p[0], self.over)):
            d = paired_contrast([x, y], [1.0, -1.0], statistic=stat,
                                n_resamples=self.n_resamples, seed=self.seed)
            points.append((cond, d.shifted(self._direction * self.margin), {}))
        verdict, evidence = _pointwise(points, self._direction, self._strict)
        evidence = {"a": self.a, "b": self.b, "metric": self.metric, "over": self.over,
                    "where": dict(self.where), "margin": self.margin, **evidence}
        claimed, against = ("above", "below") if self._direction > 0 else ("below", "above")
        evidence["summary"] = (f"{self.metric} {self.a}-{self.b} {_range(points)} over "
                               f"{len(points)} points; {evidence['n_for']} significantly "
                               f"{claimed}, {evidence['n_against']} {against} 0")
        return Outcome(verdict, evidence)


@dataclasses.dataclass(frozen=True)
class Less(Greater):
    """``a`` below ``b`` in ``metric`` (e.g. a distortion): :class:`Greater` mirrored;
    the evidence keeps ``a - b``; ``n_for`` / ``n_against`` count the points significantly
    in / against the claimed direction."""

    _direction: ClassVar[int] = -1


@dataclasses.dataclass(frozen=True)
class GreaterAtEveryPoint(Greater):
    """:class:`Greater`, strict: reproduced only if significantly above at every point."""

    _strict: ClassVar[bool] = True


@dataclasses.dataclass(frozen=True)
class LessAtEveryPoint(Greater):
    """:class:`Less`, strict: reproduced only if significantly below at every point."""

    _direction: ClassVar[int] = -1
    _strict: ClassVar[bool] = True


@dataclasses.dataclass(frozen=True)
class DifferenceGrows(Rule):
    """``a``'s advantage over ``b`` is larger at ``to_where`` than at ``from_where``
    (e.g. "more so at CBR 1/48": ``from_where={"cbr": 1/24}, to_where={"cbr": 1/48}``).

    Per point of ``over`` (conditions matching ``where`` and ``from_where``, the same
    condition with ``to_where`` applied), the contrast
    ``(a - b)[to] - (a - b)[from]`` over the same rows (images), with a paired 95 %
    interval; verdict as :class:`Greater` on that contrast.
    """

    a: str
    b: str
    metric: str
    from_where: Mapping[str, Any]
    to_where: Mapping[str, Any]
    over: str = "snr_db"
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    n_resamples: int = 2000
    seed: int = 0

    def describe(self) -> str:
        return (f"({self.a} - {self.b}) in {self.metric} larger at {_fmt_where(self.to_where)} "
                f"than at {_fmt_where(self.from_where)}, per {self.over} "
                f"({_fmt_where(self.where)}); paired 95% CI of the difference of differences; "
                "verdict as for a > b")

    def _evaluate(self, samples, rows):
        _check_samples(samples, schemes=(self.a, self.b), metrics=(self.metric,),
                       columns=(self.over, *self.where, *self.from_where, *self.to_where))
        stat = samples.statistic(self.metric)
        points = []
        for cond in samples.conditions(self.a, **{**self.where, **self.from_where}):
            target = {**cond, **self.to_where}
            xs = [_find(samples, s, c, self.metric)
                  for c in (target, cond) for s in (self.a, self.b)]
            if any(x is None for x in xs):
                continue
            if len({x.shape for x in xs}) != 1:
                raise ValueError(f"`{self.metric}` rows do not pair between {cond} and {target}: "
                                 f"shapes {[x.shape for x in xs]}")
            d = paired_contrast(xs, [1.0, -1.0, -1.0, 1.0], statistic=stat,
                                n_resamples=self.n_resamples, seed=self.seed)
            est = [_estimate(samples, self.metric, x) for x in xs]
            points.append((cond, d, {"gap_to": est[0] - est[1], "gap_from": est[2] - est[3]}))
        if not points:
            raise _Missing(f"no condition with {self.a!r} and {self.b!r} at both "
                           f"{_fmt_where(self.from_where)} and {_fmt_where(self.to_where)}")
        points.sort(key=lambda p: _sort_key(p[0], self.over))
        verdict, evidence = _pointwise(points, 1, False)
        evidence = {"a": self.a, "b": self.b, "metric": self.metric, "over": self.over,
                    "from": dict(self.from_where), "to": dict(self.to_where), **evidence}
        evidence["summary"] = (f"gap growth {_range(points)} over {len(points)} points; "
                               f"{evidence['n_for']} significantly larger, "
                               f"{evidence['n_against']} smaller")
        return Outcome(verdict, evidence)


@dataclasses.dataclass(frozen=True)
class SmallerDrop(Rule):
    """``a`` loses less ``metric`` than ``b`` from ``over = high`` to ``over = low``
    (graceful degradation vs a digital cliff).

    Per condition (matching ``where``, ``over`` aside), the paired contrast
    ``(b[high] - b[low]) - (a[high] - a[low])`` over the same images; verdict as
    :class:`Greater` on it (positive: ``a`` drops less).
    """

    a: str
    b: str
    metric: str
    high: float
    low: float
    over: str = "snr_db"
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    n_resamples: int = 2000
    seed: int = 0

    def describe(self) -> str:
        return (f"{self.a} drops less than {self.b} in {self.metric} from {self.over}="
                f"{_fmt(self.high)} to {_fmt(self.low)} ({_fmt_where(self.where)}); paired 95% CI "
                "of the difference of drops; verdict as for a > b")

    def _evaluate(self, samples, rows):
        _check_samples(samples, schemes=(self.a, self.b), metrics=(self.metric,),
                       columns=(self.over, *self.where))
        stat = samples.statistic(self.metric)
        points = []
        for cond in samples.conditions(self.a, **{**self.where, self.over: self.high}):
            low = {**cond, self.over: self.low}
            xs = [_find(samples, s, c, self.metric)
                  for s in (self.a, self.b) for c in (cond, low)]
            if any(x is None for x in xs):
                continue
            if len({x.shape for x in xs}) != 1:
                raise ValueError(f"`{self.metric}` rows do not pair between {cond} and {low}: "
                                 f"shapes {[x.shape for x in xs]}")
            d = paired_contrast(xs, [-1.0, 1.0, 1.0, -1.0], statistic=stat,
                                n_resamples=self.n_resamples, seed=self.seed)
            est = [_estimate(samples, self.metric, x) for x in xs]
            points.append(({k: v for k, v in cond.items() if k != self.over}, d,
                           {"a_drop": est[0] - est[1], "b_drop": est[2] - est[3]}))
        if not points:
            raise _Missing(f"no condition with {self.a!r} and {self.b!r} at both "
                           f"{self.over}={_fmt(self.high)} and {_fmt(self.low)}")
        verdict, evidence = _pointwise(points, 1, False)
        evidence = {"a": self.a, "b": self.b, "metric": self.metric, "over": self.over,
                    "high": self.high, "low": self.low, **evidence}
        drops = ", ".join(f"{e['a_drop']:.3g} vs {e['b_drop']:.3g}" for _, _, e in points)
        evidence["summary"] = (f"{self.metric} drop {self.a} vs {self.b}: {drops}; "
                               f"{evidence['n_for']}/{len(points)} significantly smaller")
        return Outcome(verdict, evidence)


@dataclasses.dataclass(frozen=True)
class InteriorMaximum(Rule):
    """``metric`` of ``scheme`` peaks strictly inside the ``over`` range.

    Per curve (conditions matching ``where`` grouped by every column except ``over``,
    at least 3 points): the point with the largest estimate must be interior and
    significantly above both end points (paired over the same images), and within
    ``near = (value, tol)`` of ``value`` if given. Reproduced if so; partly if interior
    and significantly above one end (or both but not near); not reproduced otherwise.
    Several curves combine as :class:`AllOf`.
    """

    scheme: str
    metric: str
    over: str
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    near: tuple[float, float] | None = None
    n_resamples: int = 2000
    seed: int = 0

    def describe(self) -> str:
        near = (f", argmax within {self.near[1]:g} of {self.near[0]:g}" if self.near else "")
        return (f"{self.metric} of {self.scheme} has an interior maximum over {self.over} "
                f"({_fmt_where(self.where)}): peak significantly above both ends (paired 95% "
                f"CI){near}")

    def _evaluate(self, samples, rows):
        _check_samples(samples, schemes=(self.scheme,), metrics=(self.metric,),
                       columns=(self.over, *self.where))
        stat = samples.statistic(self.metric)
        curves: dict[tuple, list[tuple[dict, np.ndarray]]] = {}
        for point, _ in samples.select(self.scheme, **self.where):
            x = samples.sample(point, self.metric)
            if x is None or self.over not in point:
                continue
            cond = {k: v for k, v in point.items() if k != "scheme"}
            rest = tuple(sorted((k, str(v)) for k, v in cond.items() if k != self.over))
            curves.setdefault(rest, []).append((cond, x))
        curves = {k: v for k, v in curves.items() if len(v) >= 3}
        if not curves:
            raise _Missing(f"no curve of {self.scheme!r} with >= 3 values of {self.over!r} "
                           f"({_fmt_where(self.where)})")
        results = []
        for pts in curves.values():
            pts.sort(key=lambda p: _sort_key(p[0], self.over))
            if len({x.shape for _, x in pts}) != 1:
                raise ValueError(f"`{self.metric}` rows of {self.scheme!r} do not pair along "
                                 f"{self.over!r}: shapes {[x.shape for _, x in pts]}")
            est = [_estimate(samples, self.metric, x) for _, x in pts]
            k = int(np.argmax(est))
            peak_at = pts[k][0][self.over]
            d_first, d_last = (paired_contrast([pts[k][1], pts[j][1]], [1.0, -1.0],
                                               statistic=stat, n_resamples=self.n_resamples,
                                               seed=self.seed) for j in (0, -1))
            interior = 0 < k < len(pts) - 1
            above = (d_first.sign == 1) + (d_last.sign == 1)
            near_ok = self.near is None or abs(float(peak_at) - self.near[0]) <= self.near[1]
            if interior and above == 2 and near_ok:
                verdict = REPRODUCED
            elif interior and above >= 1:
                verdict = PARTLY
            else:
                verdict = NOT_REPRODUCED
            results.append({
                "condition": {c: v for c, v in pts[0][0].items() if c != self.over},
                "values": {str(p[0][self.over]): e for p, e in zip(pts, est)},
                "argmax": peak_at, "interior": interior, "near": near_ok,
                "peak_minus_first": d_first.as_dict(), "peak_minus_last": d_last.as_dict(),
                "inside_noise": not d_first.significant and not d_last.significant,
                "verdict": verdict})
        verdict = _combine([r["verdict"] for r in results])
        summary = "; ".join(
            f"argmax {self.over}={_fmt(r['argmax'])}, peak-first "
            f"{r['peak_minus_first']['mean']:+.3g}, peak-last {r['peak_minus_last']['mean']:+.3g}"
            for r in results)
        return Outcome(verdict, {"scheme": self.scheme, "metric": self.metric, "over": self.over,
                                 "curves": results, "summary": summary})


# -- rules on result rows ---------------------------------------------------------------

def _select_rows(rows: Rows | None, table: str | None, where: Mapping,
                 columns: Sequence[str]) -> list[Row]:
    if rows is None:
        raise _Missing("no result rows in this run")
    if isinstance(rows, Mapping):
        if table is None:
            raise ValueError(f"`rows` holds tables {sorted(rows)}; the rule needs `table`")
        if table not in rows:
            raise _Missing(f"no table {table!r} in this run (have {sorted(rows)})")
        rows = rows[table]
    elif table is not None:
        rows = [r for r in rows if r.get("table") == table]
    rows = list(rows)
    if not rows:
        raise _Missing(f"no rows{f' in table {table!r}' if table else ''}")
    for column in (*where, *columns):
        if not any(column in r for r in rows):
            raise ValueError(f"unknown column {column!r}; the rows have "
                             f"{sorted({c for r in rows for c in r})}")
    selected = [r for r in rows if matches(r, where)]
    if not selected:
        raise _Missing(f"no row matches {_fmt_where(where)}")
    return selected


def _float(value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclasses.dataclass(frozen=True)
class RankCorrelation(Rule):
    """Spearman's rank correlation of columns ``x`` and ``y`` has the sign ``sign``.

    Rows are selected from ``rows`` (or ``rows[table]``) with ``where``; rows with a
    missing or non-finite value are dropped. The 95 % interval is Fisher's
    ``atanh(rho) +- z_{0.975} se`` with Bonett & Wright's (2000) standard error
    ``se = sqrt((1 + rho^2 / 2) / (n - 3))`` (rho clipped to +-0.9999). Reproduced
    when the interval excludes 0 on the side of ``sign``; not reproduced when it lies
    on the other side or contains 0 (``inside_noise``), or when ``n < 4``.
    """

    x: str
    y: str
    sign: int = -1
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    table: str | None = None

    def __post_init__(self):
        if self.sign not in (-1, 1):
            raise ValueError(f"`sign` must be -1 or +1, got {self.sign!r}")

    def describe(self) -> str:
        word = "negative" if self.sign < 0 else "positive"
        src = f"{self.table} rows" if self.table else "rows"
        return (f"Spearman rank correlation of {self.y} with {self.x} is {word} "
                f"({src}, {_fmt_where(self.where)}); 95% Fisher-z CI excludes 0")

    def _evaluate(self, samples, rows):
        selected = _select_rows(rows, self.table, self.where, (self.x, self.y))
        xy = np.array([(_float(r.get(self.x)), _float(r.get(self.y))) for r in selected])
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        n = len(xy)
        rho = low = high = math.nan
        p_value = math.nan
        if n >= 4 and np.ptp(xy[:, 0]) > 0 and np.ptp(xy[:, 1]) > 0:
            res = stats.spearmanr(xy[:, 0], xy[:, 1])
            rho, p_value = float(res.statistic), float(res.pvalue)
            r = float(np.clip(rho, -0.9999, 0.9999))
            se = math.sqrt((1 + r * r / 2) / (n - 3))
            z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
            low, high = math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se)
        s = 1 if low > 0 else -1 if high < 0 else 0
        verdict = REPRODUCED if s == self.sign else NOT_REPRODUCED
        return Outcome(verdict, {
            "x": self.x, "y": self.y, "claimed_sign": self.sign, "rho": _num(rho),
            "low": _num(low), "high": _num(high), "p_value": _num(p_value), "n": n,
            "inside_noise": s == 0,
            "summary": f"Spearman rho({self.x}, {self.y}) = {rho:+.3f} "
                       f"[{low:+.3f}, {high:+.3f}], n={n}"})


@dataclasses.dataclass(frozen=True)
class Threshold(Rule):
    """Every selected row has ``column op value`` (``op`` in ``<, <=, >, >=``).

    For a scalar result without per-image samples (e.g. ``bd_cbr_pct < 0`` in
    ``bd_rates.csv`` rows). With a finite ``<column>_ci95`` in a row: reproduced when the
    whole interval satisfies the test, partly when only the estimate does, not reproduced
    otherwise; without it, reproduced when the value does. Rows combine as :class:`AllOf`.
    """

    column: str
    op: str
    value: float
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    table: str | None = None

    def __post_init__(self):
        if self.op not in _OPS:
            raise ValueError(f"`op` must be one of {sorted(_OPS)}, got {self.op!r}")

    def describe(self) -> str:
        src = f"{self.table} rows" if self.table else "rows"
        return (f"{self.column} {self.op} {self.value:g} in every {src} matching "
                f"{_fmt_where(self.where)}; with {self.column}_ci95, the whole 95% interval")

    def _evaluate(self, samples, rows):
        selected = _select_rows(rows, self.table, self.where, (self.column,))
        test = _OPS[self.op]
        entries = []
        for r in selected:
            x = _float(r.get(self.column))
            ci = _float(r.get(f"{self.column}_ci95"))
            if not math.isfinite(x):
                verdict = NOT_REPRODUCED
            elif math.isfinite(ci):
                worst = x + ci if self.op in ("<", "<=") else x - ci
                verdict = REPRODUCED if test(worst, self.value) else (
                    PARTLY if test(x, self.value) else NOT_REPRODUCED)
            else:
                verdict = REPRODUCED if test(x, self.value) else NOT_REPRODUCED
            label = {k: v for k, v in r.items() if isinstance(v, str) and k != self.column}
            entries.append({"row": label, "value": _num(x), "ci95": _num(ci), "verdict": verdict})
        summary = ", ".join(
            f"{' '.join(e['row'].values()) or 'row'}: {self.column}="
            f"{e['value'] if e['value'] is None else format(e['value'], '.3g')}"
            + (f" ± {e['ci95']:.2g}" if e["ci95"] is not None else "") for e in entries)
        return Outcome(_combine([e["verdict"] for e in entries]),
                       {"column": self.column, "op": self.op, "threshold": self.value,
                        "rows": entries, "summary": summary})


class AllOf(Rule):
    """Every part holds: reproduced if all parts are, not reproduced if none is
    reproduced or partly, partly otherwise."""

    def __init__(self, *rules: Rule):
        if not rules or not all(isinstance(r, Rule) for r in rules):
            raise ValueError(f"AllOf needs one or more Rule instances, got {rules!r}")
        self.rules = tuple(rules)

    def __repr__(self) -> str:
        return f"AllOf({', '.join(map(repr, self.rules))})"

    def __eq__(self, other) -> bool:
        return isinstance(other, AllOf) and self.rules == other.rules

    __hash__ = None

    def describe(self) -> str:
        return " AND ".join(f"({r.describe()})" for r in self.rules)

    def _evaluate(self, samples, rows):
        parts = [r.evaluate(samples, rows) for r in self.rules]
        verdicts = [p.verdict for p in parts]
        return Outcome(_combine(verdicts), {
            "parts": [{"rule": r.describe(), "verdict": p.verdict, "evidence": p.evidence}
                      for r, p in zip(self.rules, parts)],
            "summary": f"{verdicts.count(REPRODUCED)}/{len(parts)} parts reproduced, "
                       f"{verdicts.count(PARTLY)} partly; "
                       + " | ".join(p.evidence.get("summary", "") for p in parts)})


# -- claims and files ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Claim:
    """A seed's claim: ``id`` (unique in a study), ``source`` (e.g. ``"S1 Fig. 7"``),
    ``statement`` (the paper's words) and the ``rule`` that tests it."""

    id: str
    source: str
    statement: str
    rule: Rule

    def __post_init__(self):
        for name in ("id", "source", "statement"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Claim `{name}` must be a non-empty string, got {value!r}")
        if not isinstance(self.rule, Rule):
            raise TypeError(f"Claim `rule` must be a Rule, got {type(self.rule).__name__}")


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return _num(float(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return str(obj)


def evaluate_claims(claims: Sequence[Claim], samples: PerImage | None,
                    rows: Rows | None = None, *, strict: bool = True) -> list[dict]:
    """The ``claims.json`` entries ``{id, source, statement, rule, verdict, evidence}``.

    ``strict=False`` turns a rule's ``ValueError`` (unknown scheme / metric / column)
    into ``not reproduced`` with ``{"missing": message}``; by default it propagates.
    """
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"claim ids must be unique, repeated: {dup}")
    entries = []
    for claim in claims:
        try:
            outcome = claim.rule.evaluate(samples, rows)
        except ValueError as e:
            if strict:
                raise ValueError(f"claim {claim.id!r}: {e}") from e
            outcome = Outcome(NOT_REPRODUCED, {"missing": str(e), "summary": f"missing: {e}"})
        entries.append({"id": claim.id, "source": claim.source, "statement": claim.statement,
                        "rule": claim.rule.describe(), "verdict": outcome.verdict,
                        "evidence": _jsonable(outcome.evidence)})
    return entries


def _check_entries(entries: Sequence[Mapping]) -> None:
    for e in entries:
        if tuple(sorted(e)) != tuple(sorted(CLAIM_KEYS)):
            raise ValueError(f"a claims entry needs exactly the keys {CLAIM_KEYS}, got "
                             f"{sorted(e)}")
        if e["verdict"] not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {e['verdict']!r}")


def write_claims(path: str | os.PathLike, entries: Sequence[Mapping]) -> Path:
    """Write ``claims.json`` (strict JSON, indented) atomically."""
    _check_entries(entries)
    text = json.dumps(_jsonable(list(entries)), indent=2, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text))


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_markdown(entries: Sequence[Mapping]) -> str:
    """A Markdown table of the entries: id, source, statement, verdict, key numbers."""
    _check_entries(entries)
    lines = ["| id | source | statement | verdict | key numbers |", "|---|---|---|---|---|"]
    for e in entries:
        ev = e["evidence"] if isinstance(e["evidence"], Mapping) else {}
        key = ev.get("summary") or (f"missing: {ev['missing']}" if "missing" in ev else "")
        lines.append("| " + " | ".join(_cell(v) for v in (
            e["id"], e["source"], e["statement"], f"**{e['verdict']}**", key)) + " |")
    return "\n".join(lines) + "\n"


def replace_marked_block(text: str, name: str, block: str) -> str:
    """Replace what lies between ``<!-- BEGIN name -->`` and ``<!-- END name -->``.

    The markers stay; ``block`` goes between them on its own lines. ``ValueError`` when
    a marker is missing, repeated or out of order.
    """
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    for marker in (begin, end):
        count = text.count(marker)
        if count != 1:
            raise ValueError(f"expected the marker {marker!r} exactly once, found it {count} times")
    b, e = text.index(begin) + len(begin), text.index(end)
    if e < b:
        raise ValueError(f"{end!r} comes before {begin!r}")
    return f"{text[:b]}\n{block.strip(chr(10))}\n{text[e:]}"
