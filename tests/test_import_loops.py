"""No two of our modules import each other, directly or through others, counting imports inside
functions: a loop hidden in a function makes the code read in circles (issue 25)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("model", "training", "inference")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(["newsroles", *(parts[:-1] if parts[-1] == "__init__" else parts)])


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports anywhere in its source (`from a import b` counts
    as importing a.b when b is a module of ours, else a)."""
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        deps = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    whole = f"{node.module}.{alias.name}"
                    deps.add(whole if whole in sources else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in sources and d != name}
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_loop_between_our_modules():
    sources = {
        module_name(path): path.read_text(encoding="utf-8") for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert len(sources) > 30, "the layer folders were not found"
    assert not loops(import_graph(sources)), loops(import_graph(sources))


def test_the_check_finds_a_loop_hidden_in_a_function():
    sources = {
        "newsroles.model.a": "from newsroles.model.b import f\n",
        "newsroles.model.b": "def f():\n    from newsroles.model import c\n",
        "newsroles.model.c": "def g():\n    import newsroles.model.a\n",
        "newsroles.model.d": "from newsroles.model.a import x\n",
    }
    assert loops(import_graph(sources)) == [["newsroles.model.a", "newsroles.model.b", "newsroles.model.c"]]
