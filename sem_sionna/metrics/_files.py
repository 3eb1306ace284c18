"""Atomic file writes for the metrics package (temp file in the target folder + ``os.replace``)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

# Files get the permissions ``open()`` would give them (0o666 minus the umask), not
# mkstemp's 0o600. The umask can only be read by setting it; done once, at import.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None],
                 binary: bool = False) -> Path:
    """Fill a temp file next to ``path`` with ``write(f)``, sync it, move it over ``path``.

    On any error the temp file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
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
