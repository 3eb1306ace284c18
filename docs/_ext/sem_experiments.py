"""API page of ``sem_sionna.experiments``: one ``automodule`` per study module present.

The study modules are found at build time (``pkgutil``, without importing them), so the
page follows the package as modules are added. Writes ``api/_experiments_modules.rst.inc``,
included by ``api/experiments.rst``.
"""
from __future__ import annotations

import pkgutil
from pathlib import Path

INCLUDE = Path("api") / "_experiments_modules.rst.inc"


def study_modules(root: Path) -> list[str]:
    """Public module names under ``sem_sionna/experiments`` (sorted)."""
    path = root / "sem_sionna" / "experiments"
    return sorted(m.name for m in pkgutil.iter_modules([str(path)]) if not m.name.startswith("_"))


def write_include(app) -> None:
    srcdir = Path(app.srcdir)
    names = study_modules(srcdir.parent)
    lines = []
    if not names:
        lines += [".. note::", "", "   No study module is installed yet.", ""]
    for name in names:
        title = f"``sem_sionna.experiments.{name}``"
        lines += [title, "-" * len(title), "",
                  f".. automodule:: sem_sionna.experiments.{name}",
                  "   :members:", "   :show-inheritance:", ""]
    text = "\n".join(lines)
    target = srcdir / INCLUDE
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app):
    app.connect("builder-inited", write_include)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
