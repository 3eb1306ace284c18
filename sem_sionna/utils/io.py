"""Atomic files, stable value formatting and CSV/JSON helpers for sweep outputs.

Every file a sweep writes goes through :func:`atomic_write_text`: the content is
written to a temporary file in the same directory (``.<name>.<random>.tmp``), synced,
and moved over the target with :func:`os.replace`, so a reader (or a resumed run after
``kill -9``) only ever sees the old or the new complete file. A killed writer may leave
a ``*.tmp`` file behind; it is never read.

Values are formatted once, by :func:`format_value`, both when a row is written and when
a resumed run compares grid points with finished rows, so identical runs give
byte-identical CSV files.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "FLOAT_FORMAT",
    "format_value",
    "to_scalar",
    "parse_value",
    "atomic_write",
    "atomic_write_text",
    "atomic_write_json",
    "remove_stale_temp_files",
    "write_csv",
    "read_csv_raw",
    "read_csv",
    "to_jsonable",
]

#: Format of floats in CSV files and point keys: 6 significant digits.
FLOAT_FORMAT = ".6g"


def to_scalar(value: Any, name: str = "value") -> Any:
    """Return ``value`` as a Python scalar (``None``, bool, int, float or str).

    NumPy scalars, 0-d/size-1 arrays and eager tensors (anything with ``.numpy()``)
    are unwrapped; a larger array raises ``TypeError`` naming ``name``.
    """
    if isinstance(value, np.generic):  # before the Python types: np.float64 is a float
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError(f"`{name}` must be a scalar, got an array of shape "
                            f"{value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"`{name}` must be a number, string or None, got "
                    f"{type(value).__name__}: {value!r}")


def format_value(value: Any) -> str:
    """Format one CSV cell: ``None`` -> ``""``, ints as ``str``, floats with
    :data:`FLOAT_FORMAT` (``nan``, ``inf``, ``-inf`` for non-finite values)."""
    value = to_scalar(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = format(value, FLOAT_FORMAT)
        return "0" if text == "-0" else text
    return value


def parse_value(text: str) -> Any:
    """Inverse of :func:`format_value` for reading: ``""`` -> ``None``, numbers to
    ``int``/``float``, ``True``/``False`` to bool, anything else stays a string."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


# Files get the permissions ``open()`` would give them (0o666 minus the umask), not
# mkstemp's 0o600. The umask can only be read by setting it; done once, at import.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None],
                 binary: bool = False) -> Path:
    """Write ``path`` atomically: ``write(f)`` fills a temp file in the same directory,
    which is synced and moved over ``path`` with ``os.replace``.

    Parameters
    ----------
    path : str or os.PathLike -- target file; its directory must exist.
    write : callable ``(file) -> None`` -- writes the content.
    binary : bool -- open the temp file in binary mode (else UTF-8 text, no newline
        translation).

    Output
    ------
    path : pathlib.Path -- the target.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        if binary:
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: temp file + ``os.replace``."""
    return atomic_write(path, lambda f: f.write(text))


def remove_stale_temp_files(path: str | os.PathLike) -> int:
    """Delete temp files left by an interrupted :func:`atomic_write_text` of ``path``.

    Only call it while no other process writes ``path``. Returns how many were removed.
    """
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(_temp_prefix(path) + "*.tmp"):
        try:
            tmp.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types.

    NumPy scalars/arrays and tensors become numbers/lists, paths and unknown objects
    strings, tuples/sets lists, mapping keys strings; NaN/inf become ``None`` so the
    output is strict JSON.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "numpy") and callable(obj.numpy):
        try:
            obj = obj.numpy()
        except Exception:  # noqa: BLE001 - symbolic tensors have no value
            return repr(obj)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    return repr(obj)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented strict JSON (see :func:`to_jsonable`) atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def write_csv(path: str | os.PathLike, columns: Sequence[str],
              rows: Iterable[Mapping[str, str]]) -> Path:
    """Write already formatted rows (``{column: str}``) atomically, ``\\n`` line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return atomic_write_text(path, buf.getvalue())


def read_csv_raw(path: str | os.PathLike) -> tuple[list[str], list[dict[str, str]]]:
    """Return ``(columns, rows)`` of a CSV file, cells as the strings written.

    Raises ``ValueError`` naming the file when a row has a different number of
    cells than the header.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            columns = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: empty CSV file (no header)") from None
        rows = []
        for line, cells in enumerate(reader, start=2):
            if len(cells) != len(columns):
                raise ValueError(f"{path}:{line}: {len(cells)} cells, header has "
                                 f"{len(columns)}")
            rows.append(dict(zip(columns, cells)))
    return columns, rows


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a sweep CSV into a list of dicts, numbers converted (empty cell -> None).

    Parameters
    ----------
    path : str or os.PathLike -- a ``metrics.csv`` written by a sweep.

    Output
    ------
    rows : list of dict -- one dict per row, in file order.
    """
    _, rows = read_csv_raw(path)
    return [{k: parse_value(v) for k, v in row.items()} for row in rows]
