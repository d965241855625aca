"""Would an ensemble make a better next teacher? Validation macro-F1 of the shipped teacher's
probabilities, of student models, and of every average of them.

    python benchmarks/teacher_ensemble.py runs/ablation/default-s13 runs/ablation/semi250-s13

Each model labels NewsDiscourse validation (`load_labeler(...).predict`, its own label biases and
temperature applied); the teacher's rows come from the targets file it shipped
(configs/teacher/mpnet6-roles-unlabeled-1000.json.gz). An ensemble is the mean of the members'
probabilities and its argmax, with no bias tuning of its own. A teacher is only worth a
noisy-student round if it beats the one there is.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from newsroles.inference.predictor import load_labeler
from newsroles.training.data.readers import read_articles
from newsroles.training.recipes.teacher_targets import aligned_targets, read_targets

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "configs" / "teacher" / "mpnet6-roles-unlabeled-1000.json.gz"
VALIDATION = ROOT / "data" / "newsdiscourse" / "validation.jsonl"


def scores(probs: np.ndarray, gold: np.ndarray, labels: list[str]) -> str:
    mask = gold >= 0
    predicted = probs.argmax(axis=1)[mask]
    per_label = f1_score(gold[mask], predicted, average=None, labels=range(len(labels)))
    return f"{f1_score(gold[mask], predicted, average='macro'):.4f} | " + " | ".join(f"{x:.3f}" for x in per_label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("students", nargs="*", help="Model folders (or references) to label validation with.")
    args = parser.parse_args()
    targets = read_targets(TARGETS)
    labels = list(targets.header["labels"])
    articles = read_articles(VALIDATION)
    gold = np.array([labels.index(s.label) if s.label in labels else -1 for a in articles for s in a.sentences])
    members = {"teacher": np.concatenate(aligned_targets(targets, articles, labels))}
    for reference in args.students:
        members[Path(reference).name] = np.concatenate(load_labeler(reference, "cpu").predict(articles))
    print("| members | macro-F1 | " + " | ".join(labels) + " |")
    print("|---|---:|" + "---:|" * len(labels))
    for size in range(1, len(members) + 1):
        for combo in itertools.combinations(members, size):
            print(f"| {' + '.join(combo)} | {scores(np.mean([members[m] for m in combo], axis=0), gold, labels)} |")


if __name__ == "__main__":
    main()
