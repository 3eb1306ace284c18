"""The claims step of every study and the README block that shows their verdicts.

:func:`write_claims` evaluates a study's ``CLAIMS`` on the run's own numbers (the
per-image samples of ``per_image.npz`` and the result tables) and writes ``claims.json``
(the SPEC schema) and ``CLAIMS.md``. ``python -m sem_sionna.experiments.report`` rewrites
the marked blocks ``<!-- BEGIN claims:<scenario> -->`` ... ``<!-- END claims:<scenario> -->``
of ``README.md`` from ``results/<scenario>/claims.json`` (and the ``runs`` block from the
``run.json`` files), so the prose cannot drift from the numbers::

    python -m sem_sionna.experiments.report [--readme README.md] [--results results]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from sem_sionna.metrics import (PerImage, claims_markdown, evaluate_claims,
                                replace_marked_block, write_claims as _write_claims_json)
from sem_sionna.utils import atomic_write_text, logger

__all__ = ["write_claims", "runs_markdown", "update_readme", "main"]


def write_claims(out_dir: str | os.PathLike, claims: Sequence, *,
                 rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence] | None = None,
                 samples: PerImage | None = None, title: str = "") -> list[dict]:
    """Evaluate ``claims`` on this run's numbers; write ``claims.json`` and ``CLAIMS.md``.

    Parameters
    ----------
    out_dir : path -- the run's output directory (``per_image.npz`` is read from it
        unless ``samples`` is given).
    claims : sequence of :class:`~sem_sionna.metrics.Claim` -- the study's ``CLAIMS``.
    rows : list of dict, or ``{table: list of dict}``, or None -- result rows for the
        row-based rules (e.g. ``metrics.csv``, ``bd_rates.csv``).
    samples : PerImage or None -- the per-image samples (default: ``out_dir``'s file).
    title : str -- heading of ``CLAIMS.md``.

    Output
    ------
    entries : list of dict -- the ``claims.json`` entries (verdicts computed, never typed).
    """
    out_dir = Path(out_dir)
    if samples is None and (out_dir / "per_image.npz").exists():
        samples = PerImage.load(out_dir / "per_image.npz")
    entries = evaluate_claims(claims, samples, rows, strict=False)
    _write_claims_json(out_dir / "claims.json", entries)
    counts = {v: sum(e["verdict"] == v for e in entries)
              for v in ("reproduced", "partly", "not reproduced")}
    head = f"# {title}\n\n" if title else ""
    atomic_write_text(out_dir / "CLAIMS.md", head + (
        "Verdicts computed by the run from paired per-image differences with 95 % "
        "confidence intervals (`claims.json` holds the evidence).\n\n")
        + claims_markdown(entries))
    logger.info("claims: %s", ", ".join(f"{n} {v}" for v, n in counts.items()))
    return entries


def runs_markdown(results: str | os.PathLike) -> str:
    """A table of the runs behind ``results/*/run.json``: profile, code commit (and
    whether the code tree was clean), status, wall time and peak memory."""
    lines = ["| scenario | profile | code commit | clean | status | wall time | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for path in sorted(Path(results).glob("*/run.json")):
        run = json.loads(path.read_text(encoding="utf-8"))
        peak = max((v for v in (run.get("peak_rss_mib") or {}).values() if v), default=None)
        commit = (run.get("git_commit") or "?")[:10]
        lines.append(f"| `{path.parent.name}` | {run.get('profile')} | `{commit}` | "
                     f"{'yes' if run.get('git_dirty') is False else 'no'} | "
                     f"{run.get('status')} | {float(run.get('wall_s') or 0) / 60:.1f} min | "
                     + (f"{peak / 1024:.2f} GiB |" if peak else "- |"))
    return "\n".join(lines) + "\n"


def update_readme(readme: str | os.PathLike, results: str | os.PathLike) -> list[str]:
    """Rewrite every ``claims:<scenario>`` block of ``readme`` from
    ``results/<scenario>/claims.json`` and the ``runs`` block from the ``run.json`` files;
    return the blocks updated. Blocks without markers are left alone."""
    readme, results = Path(readme), Path(results)
    text = readme.read_text(encoding="utf-8")
    updated = []
    if "<!-- BEGIN runs -->" in text:
        text = replace_marked_block(text, "runs", runs_markdown(results))
        updated.append("runs")
    for path in sorted(results.glob("*/claims.json")):
        name = path.parent.name
        marker = f"claims:{name}"
        if f"<!-- BEGIN {marker} -->" not in text:
            continue
        entries = json.loads(path.read_text(encoding="utf-8"))
        text = replace_marked_block(text, marker, claims_markdown(entries))
        updated.append(name)
    atomic_write_text(readme, text)
    return updated


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of :func:`update_readme`."""
    parser = argparse.ArgumentParser(prog="python -m sem_sionna.experiments.report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    names = update_readme(args.readme, args.results)
    print(f"updated claims blocks: {', '.join(names) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
