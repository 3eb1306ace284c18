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
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sem_sionna.utils.io import atomic_write
from .per_image import PerImage
from .rules import (NOT_REPRODUCED, Outcome, Rows, Rule, VERDICTS, _num)

__all__ = ["CLAIM_KEYS", "Claim", "evaluate_claims", "write_claims", "claims_markdown",
           "replace_marked_block"]

CLAIM_KEYS = ("id", "source", "statement", "rule", "verdict", "evidence")


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
