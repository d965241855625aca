"""Does decoding the roles jointly (label transitions, as a CRF would) help an article model?

    python benchmarks/transition_decoding.py MODEL_FOLDER     # ~1 min on 2 cores

Scores the model's own per-sentence probabilities on the validation split once, then decodes each
article's labeled sentences with Viterbi: the score of a label sequence is the sum of the
sentences' log-probabilities plus `weight` times the transitions' pointwise mutual information,
log P(next | previous) - log P(next), counted on the train split (NA sentences skipped). Weight 0
is the model as it labels; a gain at some weight would say the head misses what neighbouring
roles tell. Prints a table of macro-F1 and per-role F1 for each weight.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0]


def transition_pmi(articles, labels: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    counts = np.ones((len(labels), len(labels)))  # add-one: no transition is impossible
    for article in articles:
        sequence = [index[s.label] for s in article.sentences if s.label is not None]
        for a, b in zip(sequence, sequence[1:]):
            counts[a, b] += 1
    prior = counts.sum(0) / counts.sum()
    return np.log(counts / counts.sum(1, keepdims=True)) - np.log(prior)[None, :]


def viterbi(log_probs: np.ndarray, transitions: np.ndarray, weight: float) -> list[int]:
    score = log_probs[0].copy()
    back = np.zeros(log_probs.shape, dtype=int)
    for k in range(1, len(log_probs)):
        candidates = score[:, None] + weight * transitions + log_probs[k][None, :]
        back[k], score = candidates.argmax(0), candidates.max(0)
    path = [int(score.argmax())]
    for k in range(len(log_probs) - 1, 0, -1):
        path.append(int(back[k][path[-1]]))
    return path[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--train", type=Path, default=REPO / "data" / "newsdiscourse" / "train.jsonl")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse" / "validation.jsonl")
    args = parser.parse_args()

    from sklearn.metrics import f1_score

    from newsroles.inference.predictor import load_labeler
    from newsroles.training.data.readers import read_articles

    labeler = load_labeler(args.model, device="cpu")
    labels = labeler.labels
    transitions = transition_pmi(read_articles(args.train), labels)
    articles = read_articles(args.data)
    probs = labeler.predict(articles)
    index = {name: i for i, name in enumerate(labels)}
    print("| transition weight | macro-F1 | " + " | ".join(f"{name} F1" for name in labels) + " |")
    print("| ---: | ---: |" + " ---: |" * len(labels))
    for weight in WEIGHTS:
        gold, pred = [], []
        for article, p in zip(articles, probs):
            keep = [k for k, s in enumerate(article.sentences) if s.label is not None]
            if not keep:
                continue
            pred += viterbi(np.log(p[keep] + 1e-12), transitions, weight)
            gold += [index[article.sentences[k].label] for k in keep]
        f1 = f1_score(gold, pred, labels=list(range(len(labels))), average=None, zero_division=0)
        print(f"| {weight} | {f1.mean():.4f} | " + " | ".join(f"{x:.3f}" for x in f1) + " |")
    print(f"\n{args.data.name}; transitions counted on {args.train.name}; command: "
          f"`python benchmarks/transition_decoding.py {args.model}`")


if __name__ == "__main__":
    main()
