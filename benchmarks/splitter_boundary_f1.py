"""Boundary precision/recall/F1 of the sentence splitter against the NewsDiscourse annotators.

For each paragraph of each article, the annotators' sentences (`S<n>` lines) are joined with one
space; our splitter, the well-kept libraries pysbd, syntok and blingfire, and a naive baseline split
that string, and the sets of boundary offsets (the start of every sentence but the first) are
compared. Boundaries are counted over all paragraphs of a split (micro-average). Prints a markdown
table. The libraries are the `benchmarks` extra (`pip install -e ".[benchmarks]"`); one that is
not installed is left out. NLTK's punkt is not measured: its model comes from `nltk.download`,
a download from a hub at run time.

    python benchmarks/splitter_boundary_f1.py [--data DIR] [--errors N] [--split NAME]

The splitter's rules were tuned on `train` only; `validation` is the held-out figure.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from newsroles.inference.splitter import sentence_spans

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "newsdiscourse"

_S_LINE = re.compile(r"^S(\d+)[ \t]+(.*?)\s*$")
_NAIVE = re.compile(r"[.!?][\"'”’)]*\s+(?=[\"'“‘(]?[A-Z])")


def read_paragraphs(path: Path) -> list[list[str]]:
    """The paragraphs of one NewsDiscourse .txt: lists of the annotators' sentences (S lines).

    The headline (H) and the URL/DATE lines are left out; blank lines separate paragraphs.
    """
    paragraphs: list[list[str]] = []
    cur: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.rstrip()
        if not line.strip():
            if cur:
                paragraphs.append(cur)
                cur = []
            continue
        m = _S_LINE.match(line)
        if m:
            if m.group(2):
                cur.append(m.group(2))
        # H, URL, DATE lines: not sentences of the body
    if cur:
        paragraphs.append(cur)
    return paragraphs


def gold_boundaries(sentences: list[str]) -> tuple[str, set[int]]:
    text = ""
    bounds: set[int] = set()
    for s in sentences:
        if text:
            text += " "
            bounds.add(len(text))
        text += s
    return text, bounds


def naive_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for m in _NAIVE.finditer(text):
        spans.append((pos, m.start() + len(m.group(0).rstrip())))
        pos = m.end()
    spans.append((pos, len(text)))
    return spans


def predicted_boundaries(spans: list[tuple[int, int]], text: str = "") -> set[int]:
    """Sentence starts but the first, moved past any leading white space (libraries differ there)."""
    starts = set()
    for a, _ in spans[1:]:
        while a < len(text) and text[a].isspace():
            a += 1
        starts.add(a)
    return starts


def library_splitters() -> dict[str, callable]:
    """Span functions of the splitter libraries that are installed, by name."""
    found = {}
    try:
        import pysbd

        segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
        found["pysbd"] = lambda text: [(span.start, span.end) for span in segmenter.segment(text)]
    except ImportError:
        pass
    try:
        from syntok import segmenter as syntok_segmenter

        found["syntok"] = lambda text: [
            (sentence[0].offset, sentence[-1].offset + len(sentence[-1].value))
            for paragraph in syntok_segmenter.analyze(text)
            for sentence in paragraph
        ]
    except ImportError:
        pass
    try:
        import blingfire

        found["blingfire"] = lambda text: list(blingfire.text_to_sentences_and_offsets(text)[1]) if text.strip() else []
    except ImportError:
        pass
    return found


class Score:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, gold: set[int], pred: set[int]) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


def _context(text: str, at: int, width: int = 60) -> str:
    left = text[max(0, at - width):at].replace("\n", " ")
    right = text[at:at + width].replace("\n", " ")
    return f"...{left}‖{right}..."


def evaluate(files: list[Path], errors: list[str] | None = None, libraries: dict | None = None) -> dict[str, Score]:
    libraries = libraries or {}
    scores = {"splitter": Score(), **{name: Score() for name in libraries}, "naive": Score()}
    for path in files:
        for para in read_paragraphs(path):
            text, gold = gold_boundaries(para)
            ours = predicted_boundaries(sentence_spans(text), text)
            scores["splitter"].add(gold, ours)
            for name, spans in libraries.items():
                scores[name].add(gold, predicted_boundaries(spans(text), text))
            scores["naive"].add(gold, predicted_boundaries(naive_spans(text), text))
            if errors is not None:
                for b in sorted(ours - gold):
                    errors.append(f"FP {path.name}: {_context(text, b)}")
                for b in sorted(gold - ours):
                    errors.append(f"FN {path.name}: {_context(text, b)}")
    return scores


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="folder with train/ and validation/ (default: %(default)s)")
    ap.add_argument("--split", action="append", help="split(s) to measure (default: train and validation)")
    ap.add_argument("--errors", type=int, default=0, metavar="N", help="also print up to N splitter errors per split")
    args = ap.parse_args(argv)

    data = Path(args.data)
    splits = args.split or ["train", "validation"]
    rows = []
    libraries = library_splitters()
    total = {"splitter": Score(), **{name: Score() for name in libraries}, "naive": Score()}
    t0 = time.perf_counter()
    for split in splits:
        files = sorted((data / split).rglob("*.txt"))
        if not files:
            print(f"error: no .txt files under {data / split}", file=sys.stderr)
            return 2
        errs: list[str] | None = [] if args.errors else None
        scores = evaluate(files, errs, libraries)
        for name, sc in scores.items():
            rows.append((split, len(files), name, sc))
            total[name].tp += sc.tp
            total[name].fp += sc.fp
            total[name].fn += sc.fn
        if errs:
            print(f"## {split}: {len(errs)} splitter errors (first {args.errors})", file=sys.stderr)
            for e in errs[: args.errors]:
                print(e, file=sys.stderr)
    if len(splits) > 1:
        n = sum(r[1] for r in rows) // len(total)
        for name, sc in total.items():
            rows.append(("overall", n, name, sc))

    print("| split | articles | method | gold boundaries | precision | recall | F1 |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for split, nfiles, name, sc in rows:
        p, r, f = sc.prf()
        method = {"splitter": "newsroles splitter", "naive": "naive baseline"}.get(name, name)
        print(f"| {split} | {nfiles} | {method} | {sc.tp + sc.fn} | {p:.4f} | {r:.4f} | {f:.4f} |")
    print(f"\n({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
