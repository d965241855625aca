"""training/ in folders that name their jobs, each shipped in the wheel, and no hidden imports of our modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"newsroles.model": "model", "newsroles.training": "training", "newsroles.inference": "inference", "newsroles.configs": "configs"}
MAX_MODULES = 12  # a folder's modules, its __init__ not counted


def our_imports_inside_functions(source: str, where: str) -> list[str]:
    """`where:line: module` for each import of a newsroles module (or a relative one) inside a function body."""
    inside = {
        id(node): node
        for fn in ast.walk(ast.parse(source))
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(fn)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    }
    found = []
    for node in sorted(inside.values(), key=lambda n: n.lineno):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "newsroles"):
            found.append(f"{where}:{node.lineno}: {'.' * node.level}{node.module or ''}")
        elif isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno}: {a.name}" for a in node.names if a.name.split(".")[0] == "newsroles"]
    return found


def test_the_check_sees_imports_in_nested_functions_and_methods():
    source = (
        "from newsroles.model.errors import UserError\n"
        "import json\n"
        "def f():\n"
        "    import json\n"
        "    def g():\n"
        "        from newsroles.training.config import RunConfig\n"
        "class C:\n"
        "    def m(self):\n"
        "        import newsroles.training.trainer\n"
        "        from . import losses\n"
    )
    assert our_imports_inside_functions(source, "t.py") == [
        "t.py:6: newsroles.training.config",
        "t.py:9: newsroles.training.trainer",
        "t.py:10: .",
    ]


def test_training_imports_our_modules_at_the_top_only():
    found = []
    for path in sorted((ROOT / "training").rglob("*.py")):
        found += our_imports_inside_functions(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "imports of our modules inside functions (move them to the module's top):\n" + "\n".join(found)


def test_every_sub_package_is_in_the_wheel_and_says_what_it_is_for():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.findall(r'"([\w.]+)"', re.search(r"^packages\s*=\s*\[(.*?)\]", pyproject, re.M | re.S).group(1)))
    assert "newsroles.training" in listed
    on_disk = {
        ".".join([root, *init.parent.relative_to(ROOT / folder).parts])
        for root, folder in FOLDERS.items()
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert sorted(on_disk - listed) == [], "sub-packages missing from pyproject.toml's [tool.setuptools] packages"
    for init in (ROOT / "training").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "\n" not in doc.strip(), f"{init.relative_to(ROOT)}: one line saying what the folder is for"


def test_no_training_folder_holds_more_than_about_a_dozen_modules():
    for folder in [ROOT / "training", *(p.parent for p in (ROOT / "training").rglob("*/__init__.py"))]:
        modules = [p.name for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES, f"{folder.relative_to(ROOT)} holds {len(modules)} modules: {sorted(modules)}"
