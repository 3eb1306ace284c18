"""``.. scenario-results:: NAME``: the committed results of ``results/NAME/``.

Shows, when present, ``CLAIMS.md`` (the claims table written by the scenario run),
``SUMMARY.md`` and every ``*.png`` figure; otherwise a note that the results have not been
generated yet, so the build passes either way. The Markdown is converted to docutils nodes
directly (tables, headings, paragraphs, lists, ``**bold**``, ```code```); nothing is parsed
as reStructuredText, so the text of a run can never produce a build warning.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

_INLINE = re.compile(r"(\*\*[^*]+\*\*|`[^`]+`)")
_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")


def inline(text: str) -> list[nodes.Node]:
    """``**bold**`` and ```code``` of a Markdown line as docutils nodes; the rest as text."""
    out: list[nodes.Node] = []
    for part in _INLINE.split(text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**") and len(part) > 4:
            out.append(nodes.strong(text=part[2:-2]))
        elif part.startswith("`") and part.endswith("`") and len(part) > 2:
            out.append(nodes.literal(text=part[1:-1]))
        else:
            out.append(nodes.Text(part))
    return out


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [c.strip().replace("\\|", "|") for c in cells]


def _table(rows: list[list[str]]) -> nodes.table:
    ncol = max(len(r) for r in rows)
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    table = nodes.table(classes=["sem-results-table"])
    group = nodes.tgroup(cols=ncol)
    table += group
    for _ in range(ncol):
        group += nodes.colspec(colwidth=1)
    head, body = nodes.thead(), nodes.tbody()
    for i, cells in enumerate(rows):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", *inline(cell))
            row += entry
        (head if i == 0 else body).append(row)
    group += head
    group += body
    return table


def markdown_nodes(text: str) -> list[nodes.Node]:
    """A small Markdown subset (what the scenario scripts write) as docutils nodes."""
    out: list[nodes.Node] = []
    lines = text.splitlines()
    i = 0
    para: list[str] = []

    def flush():
        if para:
            out.append(nodes.paragraph("", "", *inline(" ".join(para))))
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip() or _COMMENT.match(line) or _IMAGE.match(line):
            flush()
            i += 1
            continue
        if line.lstrip().startswith("#"):
            flush()
            out.append(nodes.rubric("", "", *inline(line.lstrip("# ").strip())))
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            flush()
            rows = [_cells(line)]
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out.append(_table(rows))
            continue
        if re.match(r"^\s*[-*] ", line):
            flush()
            items = nodes.bullet_list()
            while i < len(lines) and re.match(r"^\s*[-*] ", lines[i]):
                item = [lines[i].strip()[2:]]
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() \
                        and not re.match(r"^\s*[-*] ", lines[i]):
                    item.append(lines[i].strip())
                    i += 1
                items += nodes.list_item("", nodes.paragraph("", "", *inline(" ".join(item))))
            out.append(items)
            continue
        para.append(line.strip())
        i += 1
    flush()
    return out


class ScenarioResults(SphinxDirective):
    """Committed results of one scenario, or a note when there are none yet."""

    required_arguments = 1
    option_spec = {"figures": directives.unchanged}

    def run(self):
        name = self.arguments[0]
        root = Path(self.env.srcdir).parent / "results" / name
        out: list[nodes.Node] = []
        found = False
        for fname, title in (("CLAIMS.md", "Claims tested by the run"),
                             ("SUMMARY.md", "Summary of the committed run")):
            path = root / fname
            if fname == "CLAIMS.md" and not path.is_file():
                note = nodes.note()
                note += nodes.paragraph(text=f"results/{name}/CLAIMS.md not generated yet: "
                                             f"the scenario run writes it.")
                out.append(note)
            if path.is_file():
                found = True
                self.env.note_dependency(str(path))
                out.append(nodes.rubric(text=title))
                out += markdown_nodes(path.read_text(encoding="utf-8"))
        figures = sorted(root.glob("*.png")) if root.is_dir() else []
        if figures:
            found = True
            dest = Path(self.env.srcdir) / "scenarios" / "_generated" / name
            dest.mkdir(parents=True, exist_ok=True)
            rst = []
            for fig in figures:
                self.env.note_dependency(str(fig))
                target = dest / fig.name
                if not target.exists() or target.stat().st_mtime < fig.stat().st_mtime:
                    shutil.copy2(fig, target)
                rst += [f".. figure:: /scenarios/_generated/{name}/{fig.name}",
                        "   :width: 90%", "", f"   ``results/{name}/{fig.name}``", ""]
            out.append(nodes.rubric(text="Figures"))
            body = nodes.container()
            self.state.nested_parse(StringList(rst, source=f"results/{name}"),
                                    self.content_offset, body)
            out += body.children
        if not found:
            note = nodes.note()
            note += nodes.paragraph(text=f"Results not generated yet: run "
                                         f"python scenarios/{name}.py to write "
                                         f"results/{name}/.")
            out.append(note)
        return out


def setup(app):
    app.add_directive("scenario-results", ScenarioResults)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
