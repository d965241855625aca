"""Made-up miniatures of PolNeAR (brat standoff) and of a Webis editorial (JSON units), written by the
tests (no corpus text is tracked).

PolNeAR: one text, `bridge`, a headline and five sentences in two paragraphs, and three annotators:
a1 marks "Residents said the bridge was overdue." (source, cue, content) and a quote whose content is
a discontinuous span over "Traffic was light." and the quote sentence, with its cue there; a2 marks
only the first attribution; a3 the first and, alone, a content in the council sentence.
Webis: one editorial, a title unit and three sentences (two units in the first).
"""

from __future__ import annotations

import json
from pathlib import Path

TEXT = (
    "Mayor opens new bridge.\n"
    "\n"
    "The mayor opened the bridge on Monday. Traffic was light.\n"
    "\n"
    "Residents said the bridge was overdue. \"It took ten years,\" one of them added.\n"
    "The council will vote on tolls next week.\n"
)


def off(fragment: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(fragment, start + 1)
    return start, start + len(fragment)


def t_line(k: int, label: str, *fragments: str) -> str:
    spans = [off(f) for f in fragments]
    offsets = ";".join(f"{a} {b}" for a, b in spans)
    return f"T{k}\t{label} {offsets}\t{' '.join(fragments)}\n"


# Annotator a1: "Residents said the bridge was overdue." (source, cue, content) and a quote whose
# content runs over two sentences as a discontinuous span, with its cue in the second.
A1 = (
    t_line(1, "Source", "Residents")
    + t_line(2, "Cue", "said")
    + t_line(3, "Content", "the bridge was overdue")
    + t_line(4, "Attribution", "said")
    + "E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1\n"
    + t_line(5, "Content", '"It took ten years,"', "Traffic was light.")
    + t_line(6, "Cue", "added")
    + "#1\tAnnotatorNotes T5\tcheck this one\n"
)
# a2 marks only the first attribution; a3 marks the first and, alone, the council sentence.
A2 = t_line(1, "Source", "Residents") + t_line(2, "Cue", "said") + t_line(3, "Content", "the bridge was overdue")
A3 = A2 + t_line(4, "Content", "The council will vote on tolls")


def write_polnear(root: Path, annotators: dict[str, str] | None = None, split: str = "train") -> Path:
    folder = root / split
    (folder / "text").mkdir(parents=True, exist_ok=True)
    (folder / "attributions").mkdir(exist_ok=True)
    (folder / "text" / "bridge.txt").write_text(TEXT, encoding="utf-8")
    for who, ann in (annotators or {"a1": A1}).items():
        (folder / "attributions" / f"bridge_{who}.ann").write_text(ann, encoding="utf-8")
    return folder


def webis_units():
    return {
        "paragraphs": [
            [{"number": 1, "text": "Bridges matter", "label": "title"}],
            [
                {"number": 2, "text": "The city built a bridge", "label": "anecdote"},
                {"number": 3, "text": ",", "label": "no-unit"},
                {"number": 4, "text": "and it was the right call", "label": "assumption"},
                {"number": 5, "text": ".", "label": "no-unit"},
                {"number": 6, "text": "Forty percent of residents cross it daily", "label": "statistics"},
                {"number": 7, "text": ".", "label": "no-unit"},
            ],
            [
                {"number": 8, "text": "\"We needed it,\" the mayor said", "label": "testimony"},
                {"number": 9, "text": ".", "label": "no-unit"},
            ],
        ]
    }


def write_webis(root: Path, units=None, name="guardian/001-bridges.json", indent=2) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(units or webis_units(), indent=indent), encoding="utf-8")
    return path


