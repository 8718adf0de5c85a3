"""The package's import graph: no cycles, and every module importable on its own.

Deferred imports (inside functions) hide cycles from a plain ``import clinicalner.x``: the
static graph below counts them, so ``api`` importing ``benchmark.runner`` while the runner
imports ``api`` back fails here even when no import order happens to trip on it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import clinicalner

SRC = Path(clinicalner.__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package is its ``__init__``)."""
    out: dict[str, Path] = {}
    for path in sorted((SRC / "clinicalner").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """The module a dotted import name lands in (``a.b.func`` -> ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def import_graph() -> dict[str, set[str]]:
    """Module -> the clinicalner modules it imports anywhere in its body, deferred imports included."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                deps.update(_resolve(a.name, modules) for a in node.names if a.name.startswith("clinicalner"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import: resolve against this module's package
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if not base.startswith("clinicalner"):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    deps.add(full if full in modules else _resolve(base, modules))
        deps.discard(name)
        deps.discard("")
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_deferred_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_deferred_and_from_imports() -> None:
    graph = import_graph()
    # api imports the engine inside a function only: the graph must still see it.
    assert "clinicalner.predict.engine" in graph["clinicalner.api"]
    assert "clinicalner.document" in graph["clinicalner"]


def test_no_import_cycles_counting_deferred_imports() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (deferred imports included): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_library_code_never_imports_api() -> None:
    graph = import_graph()
    cli = {m for m in graph if m == "clinicalner.cli" or m.startswith("clinicalner.cli_")}
    importers = sorted(m for m, deps in graph.items() if "clinicalner.api" in deps and m not in cli)
    assert not importers, (
        f"only the CLI (cli, cli_*) sits on top of clinicalner.api; these import it: {importers}"
    )


_IMPORT_EACH = """
import importlib, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "clinicalner" or m.startswith("clinicalner.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("clinicalner"):
            continue  # an optional extra that is not installed: not an import-order problem
        failed[name] = repr(exc)
    except Exception as exc:
        failed[name] = repr(exc)
print(json.dumps(failed))
"""


def test_each_module_imports_alone_in_a_fresh_interpreter() -> None:
    """Each module imported first, with no other clinicalner module loaded (third-party ones stay cached)."""
    names = sorted(_modules())
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}
