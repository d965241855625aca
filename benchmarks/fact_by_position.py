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
    from newsroles.model.article import labeled_sentences

    return [
        (item.position, item.label, labels[int(probabilities[item.article][item.position].argmax())], "+".join(item.sentence.source_labels or []))
        for item in labeled_sentences(articles, labels, "the model's labels")
    ]


def scores(rows, labels: list[str]) -> dict:
    from newsroles.training.evaluation.metrics import compute_metrics

    return compute_metrics([r[1] for r in rows], [r[2] for r in rows], labels)


def band_table(rows, labels: list[str], role: str = "fact") -> list[list[str]]:
    out = []
    k = labels.index(role)
    for lo, hi in BANDS:
        band = [r for r in rows if r[0] >= lo and (hi is None or r[0] < hi)]
        if not band:
            continue
        m = scores(band, labels)
        gold = m["per_label"][role]["support"]
        predicted = sum(row[k] for row in m["confusion_matrix"])
        out.append([
            band_name(lo, hi), str(len(band)), f"{m['accuracy']:.3f}", str(gold), str(predicted),
            f"{m['per_label'][role]['recall']:.2f}" if gold else "n/a",
            f"{m['per_label'][role]['precision']:.2f}" if predicted else "n/a",
        ])
    return out


def confusion_lines(rows, labels: list[str], role: str = "fact", lead: int = 3) -> list[str]:
    """What gold `role` sentences are taken for, what is taken for `role`, and the corpus labels of
    the sentences wrongly taken for it among the first `lead`."""
    cm, k = scores(rows, labels)["confusion_matrix"], labels.index(role)
    missed = Counter({label: cm[k][j] for j, label in enumerate(labels) if cm[k][j]})
    taken = Counter({label: cm[j][k] for j, label in enumerate(labels) if cm[j][k]})
    early = Counter(r[3] for r in rows if r[0] < lead and r[2] == role and r[1] != role)
    show = lambda c: ", ".join(f"{name} {n}" for name, n in c.most_common())  # noqa: E731
    return [f"gold {role} labeled as: {show(missed)}", f"labeled {role}, gold: {show(taken)}",
            f"labeled {role} wrongly in sentences 0-{lead - 1}, corpus labels: {show(early)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse" / "validation.jsonl")
    args = parser.parse_args()

    from newsroles.inference.predictor import load_labeler
    from newsroles.training.data.readers import read_articles

    articles = read_articles(args.data)
    header = "| sentence index | scored | accuracy | gold fact | predicted fact | fact recall | fact precision |"
    for folder in args.models:
        labeler = load_labeler(folder, device="cpu")
        labels = list(labeler.manifest["labels"])
        rows = position_rows(articles, labeler.predict(articles, batch_size=32), labels)
        print(f"\n{folder.name}\n\n{header}\n|" + "---|" * 7)
        for cells in band_table(rows, labels):
            print("| " + " | ".join(cells) + " |")
        print("\n" + "\n".join(f"- {line}" for line in confusion_lines(rows, labels)))


if __name__ == "__main__":
    main()
