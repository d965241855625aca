"""What share of sentences does `newsroles label --min-confidence P` keep, and how accurate are they?

    python benchmarks/confidence_coverage.py MODEL_FOLDER [--data data/newsdiscourse/validation.jsonl]

Labels the file's gold-role sentences once and prints, for thresholds 0.0 ... 0.9, the share of
sentences whose confidence reaches the threshold and the accuracy of those, as a markdown table,
then the expected calibration error (top label, 15 bins). Boilerplate is left out: it has no role.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse" / "validation.jsonl")
    args = parser.parse_args()

    from newsroles.inference.predictor import load_labeler
    from newsroles.model.cards.extras import coverage_markdown
    from newsroles.training.data.readers import read_articles
    from newsroles.training.evaluation.calibration import coverage_table, expected_calibration_error
    from newsroles.training.recipes.label_bias import labeled_log_probs

    labeler = load_labeler(args.model, device="cpu")
    articles = read_articles(args.data, labeler.labels, labels_name="the model's labels")
    log_probs, gold = labeled_log_probs(articles, labeler.predict(articles), labeler.labels)
    probs = np.exp(log_probs)
    print(coverage_markdown(coverage_table(probs, gold)))
    print(f"\n{len(gold)} gold-role sentences of {args.data.name}; ECE (15 bins) {expected_calibration_error(probs, gold):.4f}; "
          f"temperature in the model: {_temperature(getattr(labeler, 'model', None)):.3f}")
    print(f"command: `python benchmarks/confidence_coverage.py {args.model}`")


def _temperature(model) -> float:
    inner = getattr(model, "inner", model)  # an exported runtime wraps the classifier; TF-IDF has none
    return float(inner.temperature) if hasattr(inner, "temperature") else 1.0


if __name__ == "__main__":
    main()
