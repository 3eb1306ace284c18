"""Names of the files a sweep writes (one place, so that runner, record and merge agree)."""
from __future__ import annotations

__all__ = ["csv_name", "manifest_name", "record_name", "per_image_name"]


def csv_name(shard: tuple[int, int] | None = None) -> str:
    """File name of the metrics CSV: ``metrics.csv`` or ``metrics.shard-i-of-n.csv``."""
    if shard is None:
        return "metrics.csv"
    return f"metrics.shard-{shard[0]}-of-{shard[1]}.csv"


def manifest_name(shard: tuple[int, int]) -> str:
    """File name of a shard's manifest: ``metrics.shard-i-of-n.json``."""
    return f"metrics.shard-{shard[0]}-of-{shard[1]}.json"


def record_name(shard: tuple[int, int] | None = None) -> str:
    """``run.json``, or ``run.shard-i-of-n.json`` for a shard of a sweep."""
    return "run.json" if shard is None else f"run.shard-{shard[0]}-of-{shard[1]}.json"


def per_image_name(shard: tuple[int, int] | None = None) -> str:
    """Per-image samples: ``per_image.npz`` or ``per_image.shard-i-of-n.npz``."""
    return "per_image.npz" if shard is None else f"per_image.shard-{shard[0]}-of-{shard[1]}.npz"
