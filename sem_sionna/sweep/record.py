"""``run.json``: what a scenario run did, with what, on what, and how long it took."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping

from sem_sionna.utils.io import atomic_write_json, to_jsonable
from sem_sionna.utils.log import logger

from .files import record_name

__all__ = ["RunRecord", "package_versions", "git_commit", "host_info", "record_name"]

# distribution names per reported package (first installed one wins)
_PACKAGES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "keras": ("keras",),
    "sionna": ("sionna-no-rt", "sionna"),
    "numpy": ("numpy",),
    "av": ("av",),
    "Pillow": ("Pillow", "pillow"),
    "sem_sionna": ("sem_sionna", "sem-sionna"),
}

_RESERVED = {"name", "argv", "args", "profile", "seed", "config", "versions", "git_commit",
             "git_dirty", "host", "start_time", "end_time", "status", "wall_s", "stages",
             "peak_rss_mib", "error",
             "failures", "notes", "previous_runs"}


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages a run depends on (``None``: not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, dists in _PACKAGES.items():
        versions[key] = None
        for dist in dists:
            try:
                versions[key] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


#: Paths whose changes make a run's code "dirty" (results/, README and docs do not).
CODE_PATHS = ("sem_sionna", "scenarios", "pyproject.toml")


def _peak_rss_mib() -> float | None:
    """Peak resident memory of this process so far, MiB (None where unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def git_commit() -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout that holds the ``sem_sionna`` package,
    ``(None, None)`` when the package is not inside one (e.g. installed from a wheel).
    ``dirty`` looks at :data:`CODE_PATHS` only (tracked changes and untracked files)."""
    import sem_sionna

    pkg = Path(sem_sionna.__file__).resolve().parent
    top = _git(["rev-parse", "--show-toplevel"], pkg)
    if not top or (Path(top) / pkg.name).resolve() != pkg:
        return None, None
    commit = _git(["rev-parse", "HEAD"], pkg)
    if not commit:
        return None, None
    # only code counts: a run that rewrote results/ (or README) is still clean
    status = _git(["status", "--porcelain", "--untracked-files=normal", "--",
                   *CODE_PATHS], Path(top))
    return commit, (bool(status) if status is not None else None)


def host_info() -> dict[str, Any]:
    """Platform, CPU count, memory and the GPUs TensorFlow sees."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:  # noqa: BLE001 - optional detail
        info["memory_gb"] = None
    try:
        import tensorflow as tf

        info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - no TF, or no GPU runtime
        info["gpus"] = []
    return info


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunRecord:
    """Keeps ``run.json`` of a scenario run up to date.

    The file (``run.shard-i-of-n.json`` when ``args.shard`` is set, so shards running
    side by side do not overwrite each other) is written atomically on creation and on
    every :meth:`write`, so it is valid JSON at any time. It holds ``name``, ``argv``,
    ``args``, ``profile``, ``seed``, ``config``, ``versions`` (python, tensorflow, keras,
    sionna, numpy, av, Pillow, sem_sionna), ``git_commit`` and ``git_dirty`` of the
    checkout holding the package (``null`` outside one), ``host`` (platform, CPU count,
    memory, GPUs), ``start_time``/``end_time`` (UTC, ISO 8601), ``status``
    (``running``/``done``/``failed``), ``wall_s``, ``stages`` (seconds per stage, summed
    when a name repeats), ``failures`` (``{"scheme", "point", "reason"}``), ``notes`` and
    the fields given to :meth:`set`. When ``args.resume`` is set and the file exists,
    the earlier runs' entries go to ``previous_runs``.

    Parameters
    ----------
    out_dir : str or os.PathLike -- output directory (created).
    name : str -- scenario name.
    args : argparse.Namespace or None -- from :func:`~sem_sionna.sweep.parse_args`.
    config : mapping or dataclass instance -- the full configuration; NumPy values are converted, NaN/inf
        become ``null``, unknown objects their ``repr``.

    Example
    -------
    >>> with RunRecord(args.out, "split_vs_ldpc", args, cfg) as record:
    ...     with record.stage("train"):
    ...         model.fit(...)
    ...     record.set("train_loss", history.history["loss"])

    Leaving the ``with`` block sets ``status`` to ``done``, or to ``failed`` with the
    exception in ``error`` (``{"type", "message"}``).
    """

    def __init__(self, out_dir: str | os.PathLike, name: str, args: Any = None,
                 config: Mapping[str, Any] | None = None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}")
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"`config` must be a mapping or a dataclass instance, got "
                            f"{type(config).__name__}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        shard = getattr(args, "shard", None)
        self.path = self.out_dir / record_name(tuple(shard) if shard else None)
        self._t0 = time.perf_counter()
        commit, dirty = git_commit()
        argv = getattr(args, "argv", None)
        self.data: dict[str, Any] = {
            "name": name,
            "argv": list(argv) if argv is not None else sys.argv[1:],
            "args": {k: v for k, v in vars(args).items() if k != "argv"} if args else {},
            "profile": getattr(args, "profile", None),
            "seed": getattr(args, "seed", None),
            "config": dict(config or {}),
            "versions": package_versions(),
            "git_commit": commit,
            "git_dirty": dirty,
            "host": host_info(),
            "start_time": _now(),
            "end_time": None,
            "status": "running",
            "wall_s": 0.0,
            "stages": {},
            "peak_rss_mib": {},
            "error": None,
            "failures": [],
            "notes": [],
            "previous_runs": self._previous_runs(bool(getattr(args, "resume", False))),
        }
        self.write()

    def _previous_runs(self, resume: bool) -> list[dict[str, Any]]:
        if not (resume and self.path.exists()):
            return []
        try:
            old = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            warnings.warn(f"{self.path}: cannot read the earlier run record ({err}); "
                          f"its stages are not kept", RuntimeWarning, stacklevel=3)
            return []
        runs = list(old.get("previous_runs", []))
        runs.append({k: old.get(k) for k in ("argv", "start_time", "end_time", "status",
                                              "wall_s", "stages", "failures", "notes",
                                              "git_commit")})
        return runs

    # -- public API ----------------------------------------------------------------------
    @property
    def stages(self) -> dict[str, float]:
        """Wall seconds per stage name."""
        return self.data["stages"]

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Failed sweep points, ``{"scheme", "point", "reason"}`` each."""
        return self.data["failures"]

    @property
    def notes(self) -> list[str]:
        """Free-text notes."""
        return self.data["notes"]

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage: ``with record.stage("train"): ...``; logs and writes at the end.

        The time is recorded (and the file written) also when the block raises; the
        exception then propagates and a note names it.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}")
        logger.info("[stage] %s ...", name)
        t0 = time.perf_counter()
        try:
            yield
        except BaseException as err:
            self._add_stage(name, time.perf_counter() - t0)
            self.note(f"stage {name} stopped by {type(err).__name__}: {err}")
            self.write()
            raise
        elapsed = time.perf_counter() - t0
        self._add_stage(name, elapsed)
        logger.info("[stage] %s ... done in %.1f s (peak RSS %s MiB)", name, elapsed,
                    self.data["peak_rss_mib"].get(name))
        self.write()

    def _add_stage(self, name: str, seconds: float) -> None:
        self.stages[name] = round(self.stages.get(name, 0.0) + seconds, 3)
        # the process peak at the end of the stage: stages run in order, so the first
        # stage whose value rises is the one that needed the memory
        self.data["peak_rss_mib"][name] = _peak_rss_mib()

    def add_failure(self, scheme: Any, point: Any, reason: str) -> None:
        """Append a failed point (not written until :meth:`write`)."""
        self.failures.append({"scheme": scheme, "point": point, "reason": str(reason)})

    def note(self, text: str) -> None:
        """Append a free-text note (not written until :meth:`write`)."""
        self.notes.append(str(text))

    def set(self, key: str, value: Any) -> None:
        """Set an extra top-level field (e.g. ``"train_history"``); not written until
        :meth:`write`. The standard fields cannot be replaced (``ValueError``)."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"`key` must be a non-empty string, got {key!r}")
        if key in _RESERVED:
            raise ValueError(f"`key` {key!r} is a standard run.json field; standard "
                             f"fields are {sorted(_RESERVED)}")
        self.data[key] = value

    def write(self) -> Path:
        """Write the file now (atomically); returns its path."""
        self.data["wall_s"] = round(time.perf_counter() - self._t0, 3)
        return atomic_write_json(self.path, self.data)

    def finish(self, status: str = "done") -> Path:
        """Set ``status`` (``"done"`` or ``"failed"``) and ``end_time`` and write."""
        if status not in ("done", "failed"):
            raise ValueError(f"`status` must be 'done' or 'failed', got {status!r}")
        self.data["status"] = status
        self.data["end_time"] = _now()
        return self.write()

    def __enter__(self) -> "RunRecord":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("done")
        else:
            self.note(f"run stopped by {exc_type.__name__}: {exc}")
            self.data["error"] = {"type": exc_type.__name__, "message": str(exc)}
            self.finish("failed")

    def to_dict(self) -> dict[str, Any]:
        """The record as written (plain JSON types)."""
        return to_jsonable(self.data)
