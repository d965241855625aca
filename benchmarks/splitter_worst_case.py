"""Seconds the splitter takes on long runs of one repeated pattern (the inputs that once made a regex
backtrack quadratically: 4,000 periods took minutes). The test suite checks that the work grows
linearly by counting calls; this script keeps the clock out of the tests.

    python benchmarks/splitter_worst_case.py [--chars N]

Prints a markdown table, slowest pattern first.
"""

from __future__ import annotations

import argparse
import time

from newsroles.inference.splitter import article_from_text

BLOCKS = [".", "!", "?", "…", ". ", ".. ", "... ", ". . ", "?\" ", "\"", "'", ")", " ", "\n", "\n\n", "a", "A", "U.S.", "Mr. ",
          "word ", "The ", "said ", "\"Why?\" ", "a.m. ", "-", "1", "\t", "- a\n"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chars", type=int, default=60_000, help="length of each repeated text (default: %(default)s)")
    args = ap.parse_args(argv)
    rows = []
    for block in BLOCKS:
        text = block * (args.chars // len(block))
        started = time.perf_counter()
        article_from_text(text, "x")
        rows.append((time.perf_counter() - started, block))
    print(f"| pattern (repeated to {args.chars:,} characters) | seconds |")
    print("| --- | ---: |")
    for seconds, block in sorted(rows, reverse=True):
        print(f"| `{block!r}` | {seconds:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
