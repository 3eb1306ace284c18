"""The floors of SPEC.md "Layout", checked from the source so that they cannot rot.

Every ``import`` of a ``sem_sionna`` module, at module level or inside a function,
counts. A floor may import itself, ``utils`` and the floors listed for it; the module
graph has no cycles.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sem_sionna"
LOWER = ("utils",)
ALLOWED = {
    "utils": set(),
    "phy": set(),
    "codecs": set(),
    "data": set(),
    "metrics": set(),
    "nets": {"phy"},
    "links": {"phy", "nets", "codecs", "metrics"},
    "train": {"links", "nets", "phy", "codecs", "data", "metrics"},
    "sweep": {"links", "phy", "codecs", "metrics"},
    "plot": {"metrics"},
    "experiments": {"phy", "codecs", "data", "metrics", "nets", "links", "train", "sweep",
                    "plot"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Names of the sem_sionna modules ``path`` imports (lazy ones included).

    ``from pkg import name`` imports the submodule ``pkg.name`` when that is a module,
    else (a name defined in ``pkg``) the package ``pkg`` itself.
    """
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                sub = f"{module}.{a.name}"
                found.add(sub if sub in modules else module)
    return {m for m in found if m.split(".")[0] == "sem_sionna"}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        deps = set()
        for target in _imports(path, set(modules)):
            # keep the longest prefix that is a module of the package
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != module:
                deps.add(".".join(parts))
        graph[module] = deps
    return graph


def _floor(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_subpackage_has_a_floor():
    floors = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert floors <= set(ALLOWED), f"subpackages without a floor: {floors - set(ALLOWED)}"


def test_imports_follow_the_floors():
    bad = []
    for module, deps in _graph().items():
        floor = _floor(module)
        if floor is None:  # sem_sionna/__init__.py
            continue
        allowed = ALLOWED[floor] | {floor} | set(LOWER)
        bad += [f"{module} -> {dep}" for dep in sorted(deps)
                if _floor(dep) is not None and _floor(dep) not in allowed]
    assert not bad, "imports against the floors:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = _graph()
    # the package root re-exports subpackages; cycles through it are not real
    graph = {m: {d for d in deps if d != "sem_sionna"} for m, deps in graph.items()
             if m != "sem_sionna"}

    def parent_packages(module):
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(2, len(parts))}

    # importing `a.b.c` runs `a.b/__init__` first: an edge to every parent package
    for module in list(graph):
        graph[module] |= {p for d in list(graph[module]) for p in parent_packages(d)
                          if p != module and p not in parent_packages(module)}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("limit", [600])
def test_no_module_over_the_line_limit(limit):
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > limit}
    assert not long, f"modules over {limit} lines: {long}"
