"""Docstring conventions of sem_sionna, made readable by napoleon.

The docstrings follow Sionna's sections (Parameters / Input / Output / Note) and write an
entry on one line as ``name : type -- description`` (or ``name -- description``).
Napoleon's numpy parser expects the description on the following, indented line; this
hook, which runs before napoleon, moves it there. Constants re-exported by a package get
the attribute docstring (``#:`` comment or string after the assignment) of the module that
defines them instead of the docstring of their type.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from sphinx.pycode import ModuleAnalyzer, PycodeError

SECTIONS = {"parameters", "input", "output", "returns", "yields", "attributes",
            "other parameters", "keyword arguments", "raises", "fields"}
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_ENTRY = re.compile(r"^(?P<head>\S.*?)\s+--\s+(?P<desc>\S.*)$")


def _split_entries(lines: list[str]) -> list[str]:
    out: list[str] = []
    section = None  # base indent of the current section's entries
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        head = line.strip()
        if head.lower().startswith("fields ") and _UNDERLINE.match(nxt):
            # a typed config's "Fields (and those of X)": the note, then the section
            indent = line[:len(line) - len(line.lstrip())]
            out += [indent + head + ":", ""]
            line, nxt = indent + "Fields", indent + "------"
        if line.strip().lower() in SECTIONS and _UNDERLINE.match(nxt):
            section = len(line) - len(line.lstrip())
            out += [line, nxt]
            i += 2
            continue
        if line.strip() and _UNDERLINE.match(nxt):  # another section (Note, Example, ...)
            section = None
        if section is not None and line.strip():
            indent = len(line) - len(line.lstrip())
            if indent < section:
                section = None
            elif indent == section:
                # "a, b,\n c -- desc": one entry naming several arguments over two lines
                while line.rstrip().endswith(",") and i + 1 < len(lines) and \
                        len(nxt) - len(nxt.lstrip()) == section and nxt.strip():
                    line = line.rstrip() + " " + nxt.strip()
                    i += 1
                    nxt = lines[i + 1] if i + 1 < len(lines) else ""
                m = _ENTRY.match(line.strip())
                if m and "``" not in m.group("head").split(" : ")[0]:
                    pad = " " * indent
                    out += [pad + m.group("head").rstrip(" :"), pad + "    " + m.group("desc")]
                    i += 1
                    continue
        out.append(line)
        i += 1
    return out


_ATTR_DOCS: dict[str, dict] = {}


def _package_attr_doc(package: str, name: str) -> list[str] | None:
    """Attribute docstring of ``name`` in ``package`` or one of its submodules."""
    if package not in _ATTR_DOCS:
        docs = {}
        try:
            pkg = importlib.import_module(package)
        except ImportError:
            return None
        modnames = [package] + [f"{package}.{m.name}" for m in
                                pkgutil.iter_modules(getattr(pkg, "__path__", []))]
        for modname in modnames:
            try:
                found = ModuleAnalyzer.for_module(modname).find_attr_docs()
            except PycodeError:
                continue
            for (cls, attr), doc in found.items():
                if not cls:
                    docs.setdefault(attr, list(doc))
        _ATTR_DOCS[package] = docs
    return _ATTR_DOCS[package].get(name)


def process_docstring(app, what, name, obj, options, lines):
    if what == "data":
        package, _, attr = name.rpartition(".")
        doc = _package_attr_doc(package, attr)
        if doc is not None:
            lines[:] = [ln.rstrip("\n") for ln in doc]
        elif not _own_doc(lines, obj):
            lines[:] = []
        return
    lines[:] = _split_entries(lines)


def _own_doc(lines, obj) -> bool:
    # a constant without its own docstring would show the docstring of its type
    text = " ".join(" ".join(lines).split())
    type_doc = " ".join((type(obj).__doc__ or "").split())
    return bool(text) and text != type_doc


def process_signature(app, what, name, obj, options, signature, return_annotation):
    """Keras layers define ``__new__(cls, *args, **kwargs)``, which autodoc prefers to
    ``__init__``: show the constructor's own arguments instead."""
    if what != "class" or signature not in ("(*args, **kwargs)", "(*args, **kwds)"):
        return None
    try:
        sig = inspect.signature(obj.__init__)
    except (TypeError, ValueError):
        return None
    params = [p.replace(annotation=inspect.Parameter.empty)  # types go in the description
              for p in list(sig.parameters.values())[1:]]  # drop self
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty)), \
        return_annotation


def setup(app):
    from sphinx.ext import autosummary

    app.connect("autodoc-process-docstring", process_docstring, priority=400)
    app.connect("autodoc-process-signature", process_signature)
    autosummary.extract_summary = _robust_extract_summary(autosummary.extract_summary)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _robust_extract_summary(extract):
    """autosummary's first sentence, or the first paragraph when the sentence split cuts
    an inline literal (``"S1 Fig. 7"`` splits after ``Fig.``)."""
    from docutils import nodes
    from sphinx.ext import autosummary

    def extract_summary(doc, settings):
        summary = extract(doc, settings)
        node = autosummary._parse_summary([summary], settings)
        if not any(node.findall(nodes.system_message)):
            return summary
        stanza = []
        for line in doc:
            if not line.strip():
                if stanza:
                    break
                continue
            stanza.append(line.strip())
        return " ".join(stanza)
    return extract_summary
