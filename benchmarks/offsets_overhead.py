"""What the character offsets cost the splitter: `article_from_text` on every NewsDiscourse story
(as given, with CRLF line ends, and hard-wrapped at 70 columns), this checkout against the splitter
of an earlier git revision (one without offsets), and whether both give the same sentences.

    python benchmarks/offsets_overhead.py [--data ../shared/data/newsdiscourse] [--rev b19d24a~1] [--repeat 5]

Prints a markdown table: stories, sentences, the best of `--repeat` runs for each splitter.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from newsroles.inference.splitter import article_from_text

ROOT = Path(__file__).resolve().parents[1]


def old_splitter(rev: str):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:inference/splitter.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_splitter.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_splitter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.article_from_text


def stories(folder: Path) -> list[str]:
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*.txt"))]
    wrapped = ["\n\n".join(textwrap.fill(p, 70) for p in t.split("\n")) for t in texts]
    return texts + [t.replace("\n", "\r\n") for t in texts] + wrapped


def best_seconds(splitters, texts: list[str], repeat: int) -> list[float]:
    """The best time of each splitter, their runs interleaved (a busy machine slows both alike)."""
    best = [float("inf")] * len(splitters)
    for _ in range(repeat):
        for k, split in enumerate(splitters):
            started = time.perf_counter()
            for t in texts:
                split(t, "x")
            best[k] = min(best[k], time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "newsdiscourse")
    ap.add_argument("--rev", default="b19d24a~1", help="a revision without offsets (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    texts = stories(args.data)
    before = old_splitter(args.rev)
    same = all(
        [(s.text, s.paragraph) for s in before(t, "x").sentences] == [(s.text, s.paragraph) for s in article_from_text(t, "x").sentences]
        for t in texts
    )
    sentences = sum(len(article_from_text(t, "x").sentences) for t in texts)
    old, new = best_seconds([before, article_from_text], texts, args.repeat)
    print(f"| splitter | stories | sentences | seconds (best of {args.repeat}) | sentences/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| {args.rev} (no offsets) | {len(texts)} | {sentences} | {old:.2f} | {sentences / old:,.0f} |")
    print(f"| this checkout (offsets) | {len(texts)} | {sentences} | {new:.2f} | {sentences / new:,.0f} |")
    print(f"\nspans cost {100 * (new / old - 1):+.0f}% splitting time; same sentences and paragraphs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
