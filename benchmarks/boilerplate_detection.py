"""How well are boilerplate lines (bylines, photo credits, "Reporting by ...") found?

    python benchmarks/boilerplate_detection.py [MODEL_FOLDER] [--data data/newsdiscourse/validation.jsonl]

The truth is the corpus's NA lines (unlabeled sentences whose source labels include NA). Prints
precision and recall of the rules alone (model/text/boilerplate.py), of the model's P(NA) (its
auxiliary head) at several thresholds, and of both combined (what `newsroles label` does), plus
the gold-role sentences each would withhold. Without a model folder: the rules alone.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


def detection_rows(texts: list[str], na_probs: np.ndarray | None, gold: np.ndarray, has_role: np.ndarray) -> list[dict]:
    """One row per detector: its name, precision, recall and the gold-role sentences it withholds."""
    from newsroles.model.text.boilerplate import boilerplate_mask
    from newsroles.training.evaluation.calibration import detection_scores

    detectors = {"rules": boilerplate_mask(texts, None)}
    if na_probs is not None:
        for t in THRESHOLDS:
            detectors[f"P(NA) >= {t}"] = boilerplate_mask(texts, na_probs, threshold=t, rules=False)
            detectors[f"P(NA) >= {t} or rules"] = boilerplate_mask(texts, na_probs, threshold=t)
    rows = []
    for name, mask in detectors.items():
        scores = detection_scores(mask, gold)
        rows.append({"detector": name, **scores, "withheld_roles": int((mask & has_role).sum())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, nargs="?", help="model folder (left out: the rules alone)")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse" / "validation.jsonl")
    args = parser.parse_args()

    from newsroles.inference.predictor import load_labeler
    from newsroles.training.data.readers import read_articles
    from newsroles.training.evaluation.withheld import is_gold_boilerplate

    labeler = load_labeler(args.model, device="cpu") if args.model else None
    if labeler is None:
        articles, na = read_articles(args.data), None
    else:
        articles = read_articles(args.data, labeler.labels, labels_name="the model's labels")
        na = labeler.predict_with_na(articles)[1] if hasattr(labeler, "predict_with_na") else None
    sentences = [s for a in articles for s in a.sentences]
    texts = [s.text for s in sentences]
    gold = np.array([is_gold_boilerplate(s) for s in sentences])
    has_role = np.array([s.label is not None for s in sentences])
    rows = detection_rows(texts, np.concatenate(na) if na else None, gold, has_role)
    print("| detector | precision | recall | F1 | gold-role sentences withheld |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['detector']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['withheld_roles']} |")
    print(f"\n{int(gold.sum())} NA lines among {len(sentences)} sentences of {args.data.name}; "
          f"command: `python benchmarks/boilerplate_detection.py {args.model or ''}`")


if __name__ == "__main__":
    main()
