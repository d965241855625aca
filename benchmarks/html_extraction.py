"""How much of a real news page's article does the HTML extractor keep, and how much clutter?

    python benchmarks/html_extraction.py [--pages ../shared/data/html-pages] [--variants] [--misses N]
        [--write-benchmarks]

The pages are 68 saved English web pages (19 from news sites) with human-chosen snippets (see the
folder's README): per page, `with` snippets a good extraction must keep and `without` snippets
(menus, teasers, footers, cookie notes, dates) it must leave out. A `with` snippet found in the
extracted text is a hit, a `without` one found is a leak; both sides are compared with runs of
whitespace made one space. The extracted text is the article body as `newsroles label` splits it
into sentences (the title is kept apart and is not counted).

Reported per extractor, over all pages and over the news-site pages: recall of `with` snippets,
share of `without` snippets kept, pages with at least one miss / one leak, pages where it crashed
(an exception) or found no text, and CPU milliseconds per page (process time, median and mean,
one warm-up call first; one thread: CPU time, not wall time, as the machine may be shared).
Extractors: the stdlib `<p>` parser newsroles used before (benchmarks/stdlib_html_parser.py, kept
here only as the baseline) and trafilatura as
`newsroles.inference.io.html.extract_html` calls it; `--variants` adds trafilatura's other settings
(the measurement the chosen one came from). `--write-benchmarks` rewrites the table in BENCHMARKS.md.

trafilatura's authors tuned it on a superset of these pages (its evaluation set), which favours it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DEFAULT_PAGES = REPO.parent / "shared" / "data" / "html-pages"

Extractor = Callable[[str], "str | None"]


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Tally:
    pages: int = 0
    hits: int = 0
    wanted: int = 0
    leaks: int = 0
    unwanted: int = 0
    pages_missing: int = 0
    pages_leaking: int = 0
    crashes: int = 0
    empty: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, text: str | None, crashed: bool, seconds: float, keep: list[str], drop: list[str]) -> tuple[list[str], list[str]]:
        """Count one page; returns its missed and leaked snippets."""
        flat = _squash(text or "")
        missed = [s for s in keep if _squash(s) not in flat]
        leaked = [s for s in drop if _squash(s) in flat]
        self.pages += 1
        self.wanted += len(keep)
        self.hits += len(keep) - len(missed)
        self.unwanted += len(drop)
        self.leaks += len(leaked)
        self.pages_missing += bool(missed)
        self.pages_leaking += bool(leaked)
        self.crashes += crashed
        self.empty += not crashed and not flat
        self.seconds.append(seconds)
        return missed, leaked

    def row(self) -> dict:
        ms = [s * 1000 for s in self.seconds]
        return {
            "pages": self.pages,
            "recall_with": self.hits / self.wanted if self.wanted else 0.0,
            "kept_without": self.leaks / self.unwanted if self.unwanted else 0.0,
            "pages_missing": self.pages_missing,
            "pages_leaking": self.pages_leaking,
            "crashes": self.crashes,
            "empty": self.empty,
            "ms_median": statistics.median(ms) if ms else 0.0,
            "ms_mean": statistics.fmean(ms) if ms else 0.0,
        }


def stdlib_parser(html: str) -> str | None:
    from stdlib_html_parser import extract_article

    return "\n".join(extract_article(html).paragraphs)


def newsroles_extractor(html: str) -> str | None:
    from newsroles.inference.io.html import extract_html

    return extract_html(html).text


def trafilatura_variant(**options) -> Extractor:
    def run(html: str) -> str | None:
        from trafilatura import bare_extraction

        doc = bare_extraction(html, **options)
        return None if doc is None else doc.text

    return run


VARIANTS: dict[str, dict] = {
    "trafilatura defaults (comments kept)": {},
    "trafilatura, no comments": {"include_comments": False},
    "trafilatura, no comments, favor_precision": {"include_comments": False, "favor_precision": True},
    "trafilatura, no comments, favor_recall": {"include_comments": False, "favor_recall": True},
    "trafilatura, no comments, no tables": {"include_comments": False, "include_tables": False},
    "trafilatura, no comments, fast (no fallback)": {"include_comments": False, "fast": True},
}


def extractors(variants: bool) -> dict[str, Extractor]:
    out: dict[str, Extractor] = {"stdlib `<p>` parser (before)": stdlib_parser, "trafilatura, as newsroles uses it": newsroles_extractor}
    if variants:
        out.update({name: trafilatura_variant(**opts) for name, opts in VARIANTS.items()})
    return out


def measure(pages_dir: Path, chosen: dict[str, Extractor], misses: int = 0) -> list[dict]:
    gold = [json.loads(line) for line in (pages_dir / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for name, extract in chosen.items():
        extract("<html><body><article><p>Warm-up paragraph.</p></article></body></html>")
        tallies = {"all pages": Tally(), "news sites": Tally()}
        shown = 0
        for page in gold:
            html = (pages_dir / page["file"]).read_text(encoding="utf-8", errors="replace")
            start = time.process_time()
            try:
                text, crashed = extract(html), False
            except Exception as exc:  # a crash is a finding, counted and named
                text, crashed = None, True
                print(f"{name}: {page['file']}: crashed: {type(exc).__name__}: {exc}", file=sys.stderr)
            seconds = time.process_time() - start
            missed, leaked = tallies["all pages"].add(text, crashed, seconds, page["with"], page["without"])
            if page["news_site"]:
                tallies["news sites"].add(text, crashed, seconds, page["with"], page["without"])
            if (missed or leaked) and shown < misses:
                shown += 1
                print(f"{name}: {page['file']} ({page['url']}): missed {missed}, leaked {leaked}", file=sys.stderr)
        for subset, tally in tallies.items():
            rows.append({"extractor": name, "subset": subset, **tally.row()})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| pages | extractor | must-keep found | must-drop kept | pages with a miss | pages with a leak | crashes | no text | CPU ms/page (median, mean) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        note = " *" if "trafilatura" in r["extractor"] else ""
        lines.append(
            f"| {r['subset']} ({r['pages']}) | {r['extractor']}{note} | {r['recall_with']:.3f} | {r['kept_without']:.3f} | "
            f"{r['pages_missing']} | {r['pages_leaking']} | {r['crashes']} | {r['empty']} | {r['ms_median']:.1f}, {r['ms_mean']:.1f} |"
        )
    lines.append("")
    lines.append("\\* trafilatura's authors tuned it on a superset of these pages (its own evaluation set), which favours it.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="folder with gold.jsonl and pages/")
    parser.add_argument("--variants", action="store_true", help="also measure trafilatura's other settings")
    parser.add_argument("--misses", type=int, default=0, help="print up to N pages per extractor with a miss or a leak")
    parser.add_argument("--write-benchmarks", action="store_true", help="rewrite the table in BENCHMARKS.md")
    args = parser.parse_args()
    if not (args.pages / "gold.jsonl").is_file():
        parser.error(f"{args.pages}: no gold.jsonl (give --pages, the folder of the real pages)")
    table = markdown(measure(args.pages, extractors(args.variants), args.misses))
    print(table)
    if args.write_benchmarks:
        from _markdown import replace_section

        replace_section(REPO / "BENCHMARKS.md", "html-extraction", table)


if __name__ == "__main__":
    main()
