"""Claim rules on paired per-image samples (see :mod:`sem_sionna.metrics.claims` for
the verdicts of every rule)."""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Union

import numpy as np

from .per_image import PerImage
from .uncertainty import Difference, paired_contrast

__all__ = ["VERDICTS", "Outcome", "Rule", "Greater", "Less", "GreaterAtEveryPoint",
           "LessAtEveryPoint", "DifferenceGrows", "SmallerDrop", "InteriorMaximum"]

VERDICTS = ("reproduced", "partly", "not reproduced")
REPRODUCED, PARTLY, NOT_REPRODUCED = VERDICTS

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


def _paired_at(rule, samples: PerImage, spec: Sequence[tuple[str, Mapping]],
              weights: Sequence[float]) -> tuple[Difference, list[float]] | None:
    """Paired contrast ``sum_k w_k x_k`` of ``rule.metric`` over the samples of the
    ``(scheme, condition)`` pairs in ``spec`` (None if one is absent), and their estimates."""
    xs = [_find(samples, scheme, cond, rule.metric) for scheme, cond in spec]
    if any(x is None for x in xs):
        return None
    if len({x.shape for x in xs}) != 1:
        raise ValueError(f"`{rule.metric}` rows do not pair between "
                         f"{[c for _, c in spec]}: shapes {[x.shape for x in xs]}")
    d = paired_contrast(xs, list(weights), statistic=samples.statistic(rule.metric),
                        n_resamples=rule.n_resamples, seed=rule.seed)
    return d, [_estimate(samples, rule.metric, x) for x in xs]


def _pointwise_outcome(points, direction: int, strict: bool, head: dict,
                       summary) -> Outcome:
    """:func:`_pointwise` as an :class:`Outcome`, evidence ``head`` first and
    ``summary(evidence)`` as its summary line."""
    verdict, evidence = _pointwise(points, direction, strict)
    evidence = {**head, **evidence}
    evidence["summary"] = summary(evidence)
    return Outcome(verdict, evidence)


def _range(points) -> str:
    means = [d.mean for _, d, _ in points]
    return f"{min(means):+.3g}..{max(means):+.3g}" if len(means) > 1 else f"{means[0]:+.3g}"


# -- rules on per-image samples --------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _PairedRule(Rule):
    """Fields of the rules that pair scheme ``a`` with scheme ``b`` in ``metric``; the
    keyword-only ones: the axis ``over``, the filter ``where`` and the bootstrap's
    ``n_resamples`` / ``seed`` (ratio metrics)."""

    a: str
    b: str
    metric: str
    over: str = dataclasses.field(default="snr_db", kw_only=True)
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict, kw_only=True)
    n_resamples: int = dataclasses.field(default=2000, kw_only=True)
    seed: int = dataclasses.field(default=0, kw_only=True)


@dataclasses.dataclass(frozen=True)
class Greater(_PairedRule):
    """``a`` above ``b`` in ``metric`` at every point of ``over``.

    The points are every condition matching ``where`` at which both schemes have the
    metric; at each the paired difference ``a - b - margin`` gets a 95 % interval
    (t for per-image means, paired bootstrap for ratio metrics such as ``miou``).
    See the module docstring for the verdict.
    """

    margin: float = 0.0

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
        claimed, against = ("above", "below") if self._direction > 0 else ("below", "above")
        return _pointwise_outcome(
            points, self._direction, self._strict,
            {"a": self.a, "b": self.b, "metric": self.metric, "over": self.over,
             "where": dict(self.where), "margin": self.margin},
            lambda e: (f"{self.metric} {self.a}-{self.b} {_range(points)} over {len(points)} "
                       f"points; {e['n_for']} significantly {claimed}, {e['n_against']} "
                       f"{against} 0"))


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
class DifferenceGrows(_PairedRule):
    """``a``'s advantage over ``b`` is larger at ``to_where`` than at ``from_where``
    (e.g. "more so at CBR 1/48": ``from_where={"cbr": 1/24}, to_where={"cbr": 1/48}``).

    Per point of ``over`` (conditions matching ``where`` and ``from_where``, the same
    condition with ``to_where`` applied), the contrast
    ``(a - b)[to] - (a - b)[from]`` over the same rows (images), with a paired 95 %
    interval; verdict as :class:`Greater` on that contrast.
    """

    from_where: Mapping[str, Any]
    to_where: Mapping[str, Any]

    def describe(self) -> str:
        return (f"({self.a} - {self.b}) in {self.metric} larger at {_fmt_where(self.to_where)} "
                f"than at {_fmt_where(self.from_where)}, per {self.over} "
                f"({_fmt_where(self.where)}); paired 95% CI of the difference of differences; "
                "verdict as for a > b")

    def _evaluate(self, samples, rows):
        _check_samples(samples, schemes=(self.a, self.b), metrics=(self.metric,),
                       columns=(self.over, *self.where, *self.from_where, *self.to_where))
        points = []
        for cond in samples.conditions(self.a, **{**self.where, **self.from_where}):
            target = {**cond, **self.to_where}
            spec = [(s, c) for c in (target, cond) for s in (self.a, self.b)]
            found = _paired_at(self, samples, spec, [1.0, -1.0, -1.0, 1.0])
            if found is not None:
                d, est = found
                points.append((cond, d, {"gap_to": est[0] - est[1],
                                         "gap_from": est[2] - est[3]}))
        if not points:
            raise _Missing(f"no condition with {self.a!r} and {self.b!r} at both "
                           f"{_fmt_where(self.from_where)} and {_fmt_where(self.to_where)}")
        points.sort(key=lambda p: _sort_key(p[0], self.over))
        return _pointwise_outcome(
            points, 1, False,
            {"a": self.a, "b": self.b, "metric": self.metric, "over": self.over,
             "from": dict(self.from_where), "to": dict(self.to_where)},
            lambda e: (f"gap growth {_range(points)} over {len(points)} points; "
                       f"{e['n_for']} significantly larger, {e['n_against']} smaller"))


@dataclasses.dataclass(frozen=True)
class SmallerDrop(_PairedRule):
    """``a`` loses less ``metric`` than ``b`` from ``over = high`` to ``over = low``
    (graceful degradation vs a digital cliff).

    Per condition (matching ``where``, ``over`` aside), the paired contrast
    ``(b[high] - b[low]) - (a[high] - a[low])`` over the same images; verdict as
    :class:`Greater` on it (positive: ``a`` drops less).
    """

    high: float
    low: float

    def describe(self) -> str:
        return (f"{self.a} drops less than {self.b} in {self.metric} from {self.over}="
                f"{_fmt(self.high)} to {_fmt(self.low)} ({_fmt_where(self.where)}); paired 95% CI "
                "of the difference of drops; verdict as for a > b")

    def _evaluate(self, samples, rows):
        _check_samples(samples, schemes=(self.a, self.b), metrics=(self.metric,),
                       columns=(self.over, *self.where))
        points = []
        for cond in samples.conditions(self.a, **{**self.where, self.over: self.high}):
            low = {**cond, self.over: self.low}
            spec = [(s, c) for s in (self.a, self.b) for c in (cond, low)]
            found = _paired_at(self, samples, spec, [-1.0, 1.0, 1.0, -1.0])
            if found is not None:
                d, est = found
                points.append(({k: v for k, v in cond.items() if k != self.over}, d,
                               {"a_drop": est[0] - est[1], "b_drop": est[2] - est[3]}))
        if not points:
            raise _Missing(f"no condition with {self.a!r} and {self.b!r} at both "
                           f"{self.over}={_fmt(self.high)} and {_fmt(self.low)}")
        drops = ", ".join(f"{e['a_drop']:.3g} vs {e['b_drop']:.3g}" for _, _, e in points)
        return _pointwise_outcome(
            points, 1, False,
            {"a": self.a, "b": self.b, "metric": self.metric, "over": self.over,
             "high": self.high, "low": self.low},
            lambda e: (f"{self.metric} drop {self.a} vs {self.b}: {drops}; "
                       f"{e['n_for']}/{len(points)} significantly smaller"))


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

