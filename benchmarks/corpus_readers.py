"""How fast the corpus readers turn each shared corpus into Articles (read, split into sentences,
targets from spans), best of `--repeat` runs, one process.

    python benchmarks/corpus_readers.py [--shared ../shared] [--repeat 3] [--write]

Prints a markdown table (articles, sentences, seconds, sentences per second); `--write` also puts
it in BENCHMARKS.md between the `corpus-readers` markers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _markdown import replace_section

from newsroles.training.data.sources import read_source

SOURCES = [
    ("NewsDiscourse (brat, train + validation)", "data/newsdiscourse"),
    ("PolNeAR (brat standoff, 3 splits, spans to targets)", "data/polnear"),
    ("Webis editorials (JSON units to targets)", "data/webis-editorials"),
    ("unlabeled stories (JSONL, split with our splitter)", "data/news-unlabeled/annenberg-2024.jsonl"),
]


def cpu_line() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "unknown CPU")
    return f"{name}, {'with' if 'avx512_vnni' in info else 'without'} avx512_vnni"


def measure(path: Path, repeat: int) -> tuple[int, int, float]:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        articles = [a for _, part in read_source(path) for a in part]
        best = min(best, time.perf_counter() - started)
    return len(articles), sum(len(a.sentences) for a in articles), best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"), help="the shared folder (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per corpus; the best is kept (default: %(default)s)")
    ap.add_argument("--write", action="store_true", help="also write the table into BENCHMARKS.md")
    args = ap.parse_args(argv)
    lines = [
        f"Machine: {cpu_line()}; best of {args.repeat} runs, one process.",
        "",
        "| corpus | articles | sentences | seconds | sentences / s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, rel in SOURCES:
        articles, sentences, seconds = measure(args.shared / rel, args.repeat)
        lines.append(f"| {name} | {articles:,} | {sentences:,} | {seconds:.2f} | {sentences / seconds:,.0f} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        replace_section(Path(__file__).resolve().parent.parent / "BENCHMARKS.md", "corpus-readers", table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
