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


def run_strategy(strategy, train, validation, labels, start, step, rounds, seed, aggregate="mean", diversity=0.3, score=True):
    """[(labeled articles, labeled sentences, validation macro-F1)] after each round; `score=False`
    (random choice only, which needs no model) replays the picks without training (F1 None)."""
    from newsroles.inference.annotation.select import pick, story_uncertainty
    from newsroles.inference.annotation.tasks import story_text
    from newsroles.training.baseline import fit_baseline
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

    rng = random.Random(seed)
    order = list(range(len(train)))
    rng.shuffle(order)
    labeled = order[:start]
    points = []
    for r in range(rounds + 1):
        f1 = model = None
        if score:
            model = fit_baseline([train[i] for i in labeled], labels)
            gold, pred = gold_and_predictions(validation, model.predict_proba(validation), labels)
            f1 = compute_metrics(gold, pred, labels)["macro_f1"]
        points.append((len(labeled), sum(len(train[i].labeled_sentences) for i in labeled), f1))
        if r == rounds:
            break
        taken = set(labeled)
        rest = [i for i in range(len(train)) if i not in taken]
        if strategy == "random":
            labeled += rng.sample(rest, step)
        else:
            probs = model.predict_proba([train[i] for i in rest])
            scores = [story_uncertainty(p, "margin", aggregate) for p in probs]
            labeled += [rest[k] for k in pick(scores, [story_text(train[i])[0] for i in rest], step, diversity=diversity)]
    return points


def _sentences(curve: dict, k: int) -> str:
    return f"{curve['sentences'][k]:.0f}" if "sentences" in curve else "n/a"


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
    parser.add_argument("--select", nargs="+", default=["mean:0.3"], metavar="AGGREGATE:DIVERSITY",
                        help="select's variants: a story's uncertainty (mean, max or sum of its sentences' margins) and the diversity weight")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "label_studio_loop.png")
    args = parser.parse_args()

    import numpy as np

    from newsroles.model.labels import load_mapping
    from newsroles.training.data.readers import read_articles

    labels = list(load_mapping("roles").labels)
    train = read_articles(args.data / "train.jsonl", labels=labels)
    validation = read_articles(args.data / "validation.jsonl", labels=labels)
    print(f"pool: {len(train)} train articles; validation: {len(validation)} articles", file=sys.stderr)
    setting = {"start": args.start, "step": args.step, "rounds": args.rounds, "seeds": args.seeds}
    results = args.out.with_suffix(".json")
    # Curves of an earlier run with the same setting are kept (each variant costs minutes on a shared CPU).
    old = json.loads(results.read_text()) if results.is_file() else {}
    curves: dict[str, dict] = old.get("curves", {}) if old.get("setting") == setting else {}
    variants = {"random": ("random", "mean", 0.0)}
    for spec in args.select:
        aggregate, diversity = spec.split(":")
        variants[f"select ({aggregate}, diversity {float(diversity):g})"] = ("select", aggregate, float(diversity))
    started = time.perf_counter()
    for name, (strategy, aggregate, diversity) in variants.items():
        if name in curves:
            if "sentences" not in curves[name] and strategy == "random":  # an older run's: replay its picks
                curves[name]["sentences"] = np.mean([[n for _, n, _ in run_strategy(
                    strategy, train, validation, labels, args.start, args.step, args.rounds, seed, score=False)]
                    for seed in range(args.seeds)], axis=0).tolist()
            continue
        runs = [run_strategy(strategy, train, validation, labels, args.start, args.step, args.rounds, seed, aggregate, diversity)
                for seed in range(args.seeds)]
        f1 = np.array([[f for _, _, f in run] for run in runs])
        curves[name] = {"articles": [n for n, _, _ in runs[0]], "sentences": np.mean([[n for _, n, _ in run] for run in runs], 0).tolist(),
                        "mean": f1.mean(0).tolist(), "std": f1.std(0).tolist(), "runs": f1.tolist()}
        print(f"{name}: done after {time.perf_counter() - started:.0f} s", file=sys.stderr)
    curves = {name: curves[name] for name in variants}

    target = curves["random"]["mean"][-1]
    final = curves["random"]["articles"][-1]
    names = list(curves)
    print("| labeled articles | " + " | ".join(f"{n}: macro-F1 (sentences)" for n in names) + " |")
    print("|---:|" + "---:|" * len(names))
    for k, n in enumerate(curves["random"]["articles"]):
        print(f"| {n} | " + " | ".join(f"{curves[v]['mean'][k]:.3f} ± {curves[v]['std'][k]:.3f} ({_sentences(curves[v], k)})" for v in names) + " |")
    print()
    reach = {}
    for name in names[1:]:
        reach[name] = articles_to_reach(list(zip(curves[name]["articles"], curves[name]["mean"])), target)
        if reach[name] is None:
            print(f"{name} does not reach random's final {target:.3f} within {final} articles")
        else:
            print(f"{name} reaches random's final {target:.3f} ({final} articles) at {reach[name]:.0f} articles: {final - reach[name]:.0f} fewer")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for name, color in zip(names, ("#6c757d", "#d63384", "#0d6efd", "#fd7e14", "#198754")):
        c = curves[name]
        mean, std = np.array(c["mean"]), np.array(c["std"])
        ax.plot(c["articles"], mean, marker="o", color=color, label=name)
        ax.fill_between(c["articles"], mean - std, mean + std, color=color, alpha=0.12)
    ax.axhline(target, color="#6c757d", linestyle=":", linewidth=1)
    ax.set_xlabel("labeled training articles")
    ax.set_ylabel("validation macro-F1 (TF-IDF baseline)")
    ax.set_title(f"NewsDiscourse: {args.step} articles a round, mean of {args.seeds} seeds (band: ± 1 sd)", fontsize=10)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    results.write_text(json.dumps({"setting": setting, "curves": curves, "reach": reach}, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
