"""The three layers as a drawing: each layer's folders and how many imports go from one layer to
another, read from the code (every import of ours, inside functions too).

    python docs/layers.py           # the Mermaid drawing README's Layout shows (GitHub draws it)
    python docs/layers.py --check   # exit 1 when README's drawing is not the code's

Imports only point down (model/ <- training/ <- inference/: tests/test_layers.py); the drawing
shows that as three arrows and the count of imports on each, so a newcomer sees at a glance what
depends on what. An arrow pointing up would be drawn too, and the test fails before it lands.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("inference", "training", "model")  # top to bottom
JOBS = {"model": "what a model is", "training": "how one is made", "inference": "how one is used"}
START, END = "<!-- layers:start -->", "<!-- layers:end -->"


def imports_of_ours(path: Path) -> list[str]:
    """The layer (`model`, `training`, `inference`) of each `newsroles` import in a file, at any depth."""
    layers = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        layers += [n.split(".")[1] for n in names if n.startswith("newsroles.") and n.split(".")[1] in LAYERS]
    return layers


def layer_imports(root: Path = ROOT) -> tuple[Counter, dict[str, list[str]]]:
    """(imports from one layer to another, counted; each layer's folders with their module counts)."""
    arrows: Counter = Counter()
    folders: dict[str, list[str]] = {}
    for layer in LAYERS:
        modules = sorted((root / layer).rglob("*.py"))
        for path in modules:
            for target in imports_of_ours(path):
                if target != layer:
                    arrows[(layer, target)] += 1
        by_folder = Counter(str(p.parent.relative_to(root)) for p in modules if p.name != "__init__.py")
        folders[layer] = [f"{folder}/ ({n})" for folder, n in sorted(by_folder.items())]
    return arrows, folders


def mermaid(root: Path = ROOT) -> str:
    arrows, folders = layer_imports(root)
    lines = ["```mermaid", "flowchart TB"]
    for layer in LAYERS:
        lines.append(f'  subgraph {layer}["{layer}/: {JOBS[layer]}"]')
        lines.append(f'    {layer}_folders["{"<br>".join(folders[layer])}"]')
        lines.append("  end")
    for (source, target), count in sorted(arrows.items(), key=lambda kv: (LAYERS.index(kv[0][0]), LAYERS.index(kv[0][1]))):
        lines.append(f'  {source} -- "{count} imports" --> {target}')
    lines.append("```")
    return "\n".join(lines)


def readme_drawing(readme: Path = ROOT / "README.md") -> str | None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="Exit 1 when README's drawing differs from the code's.")
    args = parser.parse_args()
    drawing = mermaid()
    if args.check:
        if readme_drawing() != drawing:
            print(f"README's layers drawing is not the code's: run python docs/layers.py and paste it between {START} and {END}",
                  file=sys.stderr)
            return 1
        return 0
    print(drawing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
