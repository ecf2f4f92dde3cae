"""The engine's modules import each other without a cycle (deferred imports included), and
docs/ENGINE.md's module map names every one of them."""

import ast
from pathlib import Path

import autograder

AUTOGRADER = Path(autograder.__file__).parent
ENGINE_MD = AUTOGRADER.parent / "docs" / "ENGINE.md"


def engine_modules() -> dict[str, Path]:
    """``autograder.x.y`` -> its file, for every module of the engine (suites excluded)."""
    found = {}
    for path in sorted(AUTOGRADER.rglob("*.py")):
        rel = path.relative_to(AUTOGRADER.parent).with_suffix("")
        if "suites" in rel.parts or "__pycache__" in rel.parts:
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The engine modules ``name`` imports, anywhere in its file but under ``if
    TYPE_CHECKING`` (a package's own ``from . import x`` names the submodule x)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        else:
            continue
        out |= {t for t in targets if t in modules and t != name}
    return out


def test_no_import_cycle() -> None:
    modules = engine_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                cycle = trail[trail.index(dep):] + [dep] if dep in trail else [name, dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_engine_md_names_every_module() -> None:
    """Each file by its name, each package by ``name/``, in the map's code block."""
    text = ENGINE_MD.read_text()
    block = text[text.index("```\nautograder/\n") :]
    block = block[: block.index("```", 4)]
    missing = []
    for path in engine_modules().values():
        rel = path.relative_to(AUTOGRADER)
        shown = f"{rel.parent.name}/" if rel.name == "__init__.py" else rel.name
        if rel != Path("__init__.py") and shown not in block:
            missing.append(str(rel))
    assert not missing, f"docs/ENGINE.md's module map lacks {missing}"
