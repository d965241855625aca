"""Where in the article does a model miss the main event? Fact recall and precision by position.

    python benchmarks/fact_by_position.py MODEL_FOLDER [MODEL_FOLDER ...]   # ~1 min a model on 2 cores

Labels the validation split with each model (as `newsroles label` does: argmax of the calibrated,
bias-adjusted probabilities) and prints, per band of sentence positions (index in the article, from
0), the scored sentences, their accuracy, and the gold and predicted `fact` sentences with fact
recall and precision: a lever aimed at fact should move the bands where recall is low. Then what
fact is confused with, and the corpus labels of the sentences wrongly called fact near the lead.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
BANDS = [(0, 1), (1, 3), (3, 9), (9, 20), (20, None)]


def band_name(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"


def position_rows(articles, probabilities, labels: list[str]) -> list[tuple[int, str, str, str]]:
    """(index in the article, gold label, predicted label, corpus labels) for every scored sentence."""
    rows = []
    for article, probs in zip(articles, probabilities):
        for k, (sentence, p) in enumerate(zip(article.sentences, probs)):
            if sentence.label is not None:
                rows.append((k, sentence.label, labels[int(p.argmax())], "+".join(sentence.source_labels or [])))
    return rows


def confusion_lines(rows, role: str = "fact", lead: int = 3) -> list[str]:
    """What gold `role` sentences are taken for, what is taken for `role`, and the corpus labels of
    the sentences wrongly taken for it among the first `lead`."""
    missed = Counter(r[2] for r in rows if r[1] == role)
    taken = Counter(r[1] for r in rows if r[2] == role)
    early = Counter(r[3] for r in rows if r[0] < lead and r[2] == role and r[1] != role)
    show = lambda c: ", ".join(f"{k} {v}" for k, v in c.most_common())  # noqa: E731
    return [f"gold {role} labeled as: {show(missed)}", f"labeled {role}, gold: {show(taken)}",
            f"labeled {role} wrongly in sentences 0-{lead - 1}, corpus labels: {show(early)}"]


def band_table(rows: list[tuple[int, str, str]], role: str = "fact") -> list[list[str]]:
    out = []
    for lo, hi in BANDS:
        band = [r for r in rows if r[0] >= lo and (hi is None or r[0] < hi)]
        if not band:
            continue
        gold = sum(r[1] == role for r in band)
        predicted = sum(r[2] == role for r in band)
        hits = sum(r[1] == r[2] == role for r in band)
        accuracy = sum(r[1] == r[2] for r in band) / len(band)
        out.append([
            band_name(lo, hi), str(len(band)), f"{accuracy:.3f}", str(gold), str(predicted),
            f"{hits / gold:.2f}" if gold else "n/a", f"{hits / predicted:.2f}" if predicted else "n/a",
        ])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse" / "validation.jsonl")
    args = parser.parse_args()

    from newsroles.inference.predictor import load_labeler
    from newsroles.training.readers import read_articles

    articles = read_articles(args.data)
    header = "| sentence index | scored | accuracy | gold fact | predicted fact | fact recall | fact precision |"
    for folder in args.models:
        labeler = load_labeler(folder, device="cpu")
        rows = position_rows(articles, labeler.predict(articles, batch_size=32), labeler.manifest["labels"])
        print(f"\n{folder.name}\n\n{header}\n|" + "---|" * 7)
        for cells in band_table(rows):
            print("| " + " | ".join(cells) + " |")
        print("\n" + "\n".join(f"- {line}" for line in confusion_lines(rows)))


if __name__ == "__main__":
    main()
