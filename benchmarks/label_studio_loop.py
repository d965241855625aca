"""The labeling loop, simulated on NewsDiscourse train: `newsroles select` against random choice.

    python benchmarks/label_studio_loop.py --data data/newsdiscourse --out docs/images/label_studio_loop.png

Start from 100 labeled training articles (a random draw per seed); each round, add 50 more, picked
either by `select`'s rule (inference/annotation/select.py: mean margin uncertainty per story under
the current model, diversity 0.3, the same code `newsroles select` runs) or at random from the rest
of the pool, retrain and score macro-F1 on the validation split. The model is the TF-IDF baseline
(`newsroles baseline`: word 1-2 grams, class_weight balanced, C=2, fixed: no CV per round) because
it has real probabilities and fits in seconds on a shared 2-core CPU; the gold labels of a picked
article stand in for an editor's. Prints the table, writes the plot and a JSON of every point.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def run_strategy(strategy, train, validation, labels, start, step, rounds, seed):
    from newsroles.inference.annotation.select import pick, story_uncertainty
    from newsroles.inference.annotation.tasks import story_text
    from newsroles.training.baseline import fit_baseline
    from newsroles.training.evaluate import compute_metrics, gold_and_predictions

    rng = random.Random(seed)
    order = list(range(len(train)))
    rng.shuffle(order)
    labeled = order[:start]
    points = []
    for r in range(rounds + 1):
        model = fit_baseline([train[i] for i in labeled], labels)
        gold, pred = gold_and_predictions(validation, model.predict_proba(validation), labels)
        points.append((len(labeled), compute_metrics(gold, pred, labels)["macro_f1"]))
        if r == rounds:
            break
        taken = set(labeled)
        rest = [i for i in range(len(train)) if i not in taken]
        if strategy == "random":
            labeled += rng.sample(rest, step)
        else:
            probs = model.predict_proba([train[i] for i in rest])
            scores = [story_uncertainty(p, "margin", "mean") for p in probs]
            labeled += [rest[k] for k in pick(scores, [story_text(train[i])[0] for i in rest], step, diversity=0.3)]
    return points


def articles_to_reach(points, target):
    """Labeled articles at which the (linearly interpolated) curve first reaches `target`."""
    for (n0, f0), (n1, f1) in zip(points, points[1:]):
        if f0 >= target:
            return n0
        if f1 >= target:
            return n0 + (target - f0) / (f1 - f0) * (n1 - n0)
    return points[-1][0] if points[-1][1] >= target else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse")
    parser.add_argument("--start", type=int, default=100)
    parser.add_argument("--step", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "label_studio_loop.png")
    args = parser.parse_args()

    import numpy as np

    from newsroles.model.labels import load_mapping
    from newsroles.training.readers import read_articles

    labels = list(load_mapping("roles").labels)
    train = read_articles(args.data / "train.jsonl", labels=labels)
    validation = read_articles(args.data / "validation.jsonl", labels=labels)
    print(f"pool: {len(train)} train articles; validation: {len(validation)} articles", file=sys.stderr)
    curves: dict[str, list] = {}
    started = time.perf_counter()
    for strategy in ("select", "random"):
        runs = [run_strategy(strategy, train, validation, labels, args.start, args.step, args.rounds, seed) for seed in range(args.seeds)]
        sizes = [n for n, _ in runs[0]]
        f1 = np.array([[f for _, f in run] for run in runs])
        curves[strategy] = {"articles": sizes, "mean": f1.mean(0).tolist(), "std": f1.std(0).tolist(), "runs": f1.tolist()}
        print(f"{strategy}: done after {time.perf_counter() - started:.0f} s", file=sys.stderr)

    target = curves["random"]["mean"][-1]
    reach = articles_to_reach(list(zip(curves["select"]["articles"], curves["select"]["mean"])), target)
    print("| labeled articles | select macro-F1 | random macro-F1 |\n|---:|---:|---:|")
    for n, s, sd, r, rd in zip(curves["select"]["articles"], curves["select"]["mean"], curves["select"]["std"],
                               curves["random"]["mean"], curves["random"]["std"]):
        print(f"| {n} | {s:.3f} ± {sd:.3f} | {r:.3f} ± {rd:.3f} |")
    final = curves["random"]["articles"][-1]
    if reach is None:
        print(f"\nselect does not reach random's final {target:.3f} within {final} articles")
    else:
        print(f"\nselect reaches random's final {target:.3f} ({final} articles) at {reach:.0f} articles: {final - reach:.0f} fewer")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for name, color in (("select", "#d63384"), ("random", "#6c757d")):
        c = curves[name]
        mean, std = np.array(c["mean"]), np.array(c["std"])
        ax.plot(c["articles"], mean, marker="o", color=color, label=f"{name} (mean of {args.seeds} seeds)")
        ax.fill_between(c["articles"], mean - std, mean + std, color=color, alpha=0.15)
    ax.axhline(target, color="#6c757d", linestyle=":", linewidth=1)
    ax.set_xlabel("labeled training articles")
    ax.set_ylabel("validation macro-F1 (TF-IDF baseline)")
    ax.set_title("NewsDiscourse: 50 articles a round, select vs random")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    args.out.with_suffix(".json").write_text(json.dumps({"config": vars(args) | {"data": str(args.data), "out": str(args.out)},
                                                          "curves": curves, "reach": reach}, indent=1, default=str) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
