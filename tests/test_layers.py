"""Imports point down the layers: model/ <- training/ <- inference/, never up, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A module may import its own layer and the ones below it (a lower rank); configs/ is data anyone reads.
RANK = {"configs": 0, "model": 0, "training": 1, "inference": 2}
LAYERS = ("model", "training", "inference")


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in the tree, at any depth (functions, branches, try blocks)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from newsroles import training` names the layer in the imported names
            if node.module == "newsroles":
                found.extend((node.lineno, f"newsroles.{alias.name}") for alias in node.names)
    return found


def upward_imports(source: str, layer: str, where: str) -> list[str]:
    problems = []
    for line, module in imported_modules(ast.parse(source)):
        parts = module.split(".")
        if parts[0] != "newsroles" or len(parts) < 2 or parts[1] not in RANK:
            continue
        if RANK[parts[1]] > RANK[layer]:
            problems.append(f"{where}:{line}: {layer}/ imports {module}")
    return problems


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    checked = 0
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            problems += upward_imports(path.read_text(encoding="utf-8"), layer, str(path.relative_to(ROOT)))
            checked += 1
    assert checked > 30, "the layer folders were not found"
    assert not problems, "imports that run up the layers:\n" + "\n".join(problems)


def test_the_check_sees_imports_inside_functions_and_branches():
    source = (
        "import os\n"
        "from newsroles.model.errors import UserError\n"
        "def f():\n"
        "    if True:\n"
        "        from newsroles.inference.predictor import load_labeler\n"
        "    try:\n"
        "        import newsroles.training.data.readers\n"
        "    except ImportError:\n"
        "        pass\n"
        "text = 'from newsroles.inference.predictor import load_labeler'  # a string, not an import\n"
    )
    assert upward_imports(source, "model", "m.py") == [
        "m.py:5: model/ imports newsroles.inference.predictor",
        "m.py:7: model/ imports newsroles.training.data.readers",
    ]
    assert upward_imports(source, "training", "t.py") == ["t.py:5: training/ imports newsroles.inference.predictor"]
    assert upward_imports(source, "inference", "i.py") == []
    assert upward_imports("from newsroles import inference\n", "training", "t.py") == ["t.py:1: training/ imports newsroles.inference"]
