"""Claim rules on result rows (rank correlation, thresholds) and how rules combine
(see :mod:`sem_sionna.metrics.claims` for the verdicts)."""
from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from .per_image import matches
from .uncertainty import CONFIDENCE

from .rules import (NOT_REPRODUCED, Outcome, PARTLY, REPRODUCED, Row, Rows, Rule,
                    _Missing, _combine, _fmt_where, _num)

__all__ = ["RankCorrelation", "Threshold", "AllOf"]


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
    ``se = sqrt((1 + rho^2 / 2) / (n - 3))`` (rho clipped to +-0.9999, the interval
    widened to hold an exact +-1). Reproduced
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
            low, high = min(low, rho), max(high, rho)  # |rho| = 1 lies beyond the clip
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


