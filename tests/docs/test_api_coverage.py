"""The API reference lists every public name, so it cannot fall behind the packages.

Reads each subpackage's ``__all__`` from its ``__init__.py`` (``ast``, nothing imported)
and the directives of ``docs/api/<subpackage>.rst``; the docs are not built.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api"
PACKAGES = ("phy", "codecs", "links", "nets", "metrics", "sweep", "train", "data", "utils",
            "plot", "experiments")
_DIRECTIVE = re.compile(r"^\.\. auto(?:class|function|data|exception|attribute)::\s+(\S+)",
                        re.M)
_TOCTREE_ENTRY = re.compile(r"^\s{3}(\w+)\s*$", re.M)


def public_names(package: str) -> list[str] | None:
    """The literal ``__all__`` of ``sem_sionna/<package>/__init__.py`` (None if absent)."""
    tree = ast.parse((ROOT / "sem_sionna" / package / "__init__.py").read_text())
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return list(ast.literal_eval(node.value))
    return None


def documented(package: str) -> list[str]:
    """Names given to autodoc directives on the package's page (module prefix removed)."""
    text = (API / f"{package}.rst").read_text()
    prefix = f"sem_sionna.{package}."
    return [n[len(prefix):] if n.startswith(prefix) else n for n in _DIRECTIVE.findall(text)]


def study_modules() -> list[str]:
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from sem_experiments import study_modules as find
    finally:
        sys.path.pop(0)
    return find(ROOT)


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "experiments"])
def test_every_public_name_is_on_its_api_page(package):
    names = public_names(package)
    assert names, f"sem_sionna.{package} has no literal __all__"
    missing = sorted(set(names) - set(documented(package)))
    assert not missing, f"docs/api/{package}.rst does not document {missing}"


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "experiments"])
def test_api_pages_document_only_public_names_once(package):
    names = documented(package)
    stale = sorted(set(names) - set(public_names(package)))
    assert not stale, f"docs/api/{package}.rst documents names not in __all__: {stale}"
    repeated = sorted({n for n in names if names.count(n) > 1})
    assert not repeated, f"docs/api/{package}.rst documents {repeated} more than once"


def test_experiments_page_covers_every_study_module():
    # the page includes one automodule per module found at build time
    text = (API / "experiments.rst").read_text()
    assert ".. include:: _experiments_modules.rst.inc" in text
    modules = study_modules()
    names = public_names("experiments") or []
    explicit = set(documented("experiments"))
    missing = sorted(n for n in names if n not in explicit and n not in modules)
    assert not missing, f"sem_sionna.experiments.__all__ names not documented: {missing}"


def test_every_api_page_is_in_the_index():
    text = (API / "index.rst").read_text()
    listed = set(_TOCTREE_ENTRY.findall(text))
    assert set(PACKAGES) <= listed, f"docs/api/index.rst misses {sorted(set(PACKAGES) - listed)}"
