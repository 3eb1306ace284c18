"""Locate libbpg's reference binaries (``bpgenc``, ``bpgdec``) for tests and benchmarks.

The codecs never need them. Search order: the folder in the environment variable
``SEM_SIONNA_LIBBPG``, then ``PATH``, then ``<repo root>/../shared/tools/libbpg/``.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

__all__ = ["find_libbpg", "bpgenc", "bpgdec"]

ENV_VAR = "SEM_SIONNA_LIBBPG"
_REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def find_libbpg() -> tuple[pathlib.Path, pathlib.Path] | None:
    """``(bpgenc, bpgdec)`` paths, or None when either is missing."""
    folders = []
    if os.environ.get(ENV_VAR):
        folders.append(pathlib.Path(os.environ[ENV_VAR]))
    for folder in folders:
        enc, dec = folder / "bpgenc", folder / "bpgdec"
        if enc.is_file() and dec.is_file():
            return enc, dec
    found = [shutil.which("bpgenc"), shutil.which("bpgdec")]
    if all(found):
        return pathlib.Path(found[0]), pathlib.Path(found[1])
    folders.append(_REPO_ROOT.parent / "shared" / "tools" / "libbpg")
    for folder in folders:
        enc, dec = folder / "bpgenc", folder / "bpgdec"
        if enc.is_file() and dec.is_file() and os.access(enc, os.X_OK) and os.access(dec, os.X_OK):
            return enc, dec
    return None


def bpgenc(png_path, out_path, qp: int, chroma_format: str = "420") -> bytes:
    """Run ``bpgenc -q qp -f chroma_format -o out_path png_path``; return the file."""
    enc, _ = _require()
    subprocess.run([str(enc), "-q", str(qp), "-f", chroma_format, "-o", str(out_path),
                    str(png_path)], check=True, capture_output=True, timeout=60)
    return pathlib.Path(out_path).read_bytes()


def bpgdec(bpg_path, out_path):
    """Run ``bpgdec -o out_path bpg_path``; return the decoded RGB as ``uint8 [H, W, 3]``."""
    import numpy as np
    from PIL import Image
    _, dec = _require()
    subprocess.run([str(dec), "-o", str(out_path), str(bpg_path)], check=True,
                   capture_output=True, timeout=60)
    with Image.open(out_path) as image:
        return np.asarray(image.convert("RGB"))


def _require():
    paths = find_libbpg()
    if paths is None:
        raise FileNotFoundError(f"bpgenc/bpgdec not found (set {ENV_VAR}, PATH, or "
                                "../shared/tools/libbpg/)")
    return paths
