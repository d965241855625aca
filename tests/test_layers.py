"""Imports point down the layers: model/ <- training/ <- inference/, never up, not even inside a function.

And no hidden imports: a module imports the modules of ours it uses at its top, where a reader sees
them. An import of ours inside a function is kept only for a reason its comment gives (see
`test_every_import_of_ours_inside_a_function_says_why`), and there are few of them.
"""

from __future__ import annotations

import ast
import re
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


# Imports of our modules inside functions, over model/, training/ and inference/ together.
MAX_INNER_IMPORTS = 14
# The reasons an import of ours may sit inside a function, as a comment `# <reason>: <what, naming the
# module of ours that makes it so>` on the import's line or on the line above the block of import lines
# it is part of:
#   optional:    the module needs an optional dependency (ray, fastapi, uvicorn, ...)
#   torch-free:  it would bring torch (or transformers, sklearn, onnx, matplotlib) into a path that runs
#                without them: the CLI's start (`newsroles --help`, each TAB), the ONNX label path
#   startup:     it would bring a slower library (numpy, pydantic, huggingface_hub's model cards) into the
#                CLI's start
#   cycle:       the two modules import each other; the comment names the other one
REASON = re.compile(r"#\s*(optional|torch-free|startup|cycle):")


def inner_imports(tree: ast.AST) -> list[ast.stmt]:
    """The import statements of our modules (`newsroles.` or relative) inside function bodies."""
    found = []

    def ours(node: ast.stmt) -> bool:
        if isinstance(node, ast.Import):
            return any(alias.name == "newsroles" or alias.name.startswith("newsroles.") for alias in node.names)
        if isinstance(node, ast.ImportFrom):
            return node.level > 0 or (node.module or "").split(".")[0] == "newsroles"
        return False

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and ours(child):
                found.append(child)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def import_reasons(source: str, where: str) -> tuple[list[str], list[str]]:
    """(every inner import of ours as `where:line: statement`, those without a reason comment)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    import_lines = {n for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                    for n in range(node.lineno, node.end_lineno + 1)}
    found, unexplained = [], []
    for node in inner_imports(tree):
        shown = f"{where}:{node.lineno}: {lines[node.lineno - 1].strip()}"
        found.append(shown)
        above = node.lineno - 1  # the line above the run of import lines this one is in
        while above in import_lines:
            above -= 1
        own = lines[node.lineno - 1:node.end_lineno]
        if not any(REASON.search(line) for line in own) and not (above >= 1 and REASON.search(lines[above - 1])):
            unexplained.append(shown)
    return found, unexplained


def package_imports() -> tuple[dict[str, list[str]], list[str]]:
    """Inner imports of ours per layer, and those without a reason."""
    per_layer, unexplained = {}, []
    for layer in LAYERS:
        per_layer[layer] = []
        for path in sorted((ROOT / layer).rglob("*.py")):
            found, missing = import_reasons(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
            per_layer[layer] += found
            unexplained += missing
    return per_layer, unexplained


def test_few_imports_of_ours_hide_inside_functions():
    """An import inside a function hides a dependency from the reader of the module's top and
    runs on every call; ours are imported at the top. The libraries that make a start slow
    (torch, transformers, sklearn, onnxruntime, matplotlib, ...) are the ones imported inside
    the functions that need them."""
    per_layer, _ = package_imports()
    found = [line for layer in LAYERS for line in per_layer[layer]]
    counts = ", ".join(f"{layer}/ {len(per_layer[layer])}" for layer in LAYERS)
    assert len(found) <= MAX_INNER_IMPORTS, (
        f"{len(found)} imports of our modules inside functions ({counts}); at most {MAX_INNER_IMPORTS}. "
        "Import our modules at the top of the module; keep inside a function only an import that needs an "
        "optional dependency or keeps torch out of a torch-free path, with a comment saying so:\n" + "\n".join(found)
    )


def test_every_import_of_ours_inside_a_function_says_why():
    _, unexplained = package_imports()
    assert not unexplained, (
        "imports of our modules inside functions without a `# optional: / torch-free: / startup: / cycle: ...` "
        "comment on their line or the line above their block (tests/test_layers.py, REASON):\n" + "\n".join(unexplained)
    )


def test_the_hidden_import_checks_count_ours_only_and_read_the_comments():
    source = (
        "import os\n"
        "from newsroles.model.errors import UserError\n"
        "def f():\n"
        "    import json\n"
        "    from newsroles.model.store.folder import read_manifest\n"
        "    # torch-free: model/network/saved.py imports torch at its top\n"
        "    from newsroles.model.network.saved import load_transformer\n"
        "    from newsroles.model.network.forward import article_probabilities\n"
        "\n"
        "    from . import sibling  # cycle: sibling imports this module\n"
        "    class Inner:\n"
        "        def g(self):\n"
        "            import newsroles.training.run\n"
        "class Top:\n"
        "    from newsroles.model import labels\n"
    )
    found, unexplained = import_reasons(source, "m.py")
    assert [line.split(":")[1] for line in found] == ["5", "7", "8", "10", "13"]
    assert unexplained == ["m.py:5: from newsroles.model.store.folder import read_manifest", "m.py:13: import newsroles.training.run"]


def test_readmes_layers_drawing_is_the_codes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("layers_drawing", ROOT / "docs" / "layers.py")
    drawing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(drawing)
    arrows, _ = drawing.layer_imports()
    assert arrows and all(RANK[source] > RANK[target] for source, target in arrows), "an arrow points up"
    assert drawing.readme_drawing() == drawing.mermaid(), "README's Layout drawing is stale: run python docs/layers.py"
