"""Train and evaluate, in one run on one split: TF-IDF baseline, sentence model, article model.

    python benchmarks/model_comparison.py                     # all three, ~35 min on 2 CPU cores
    python benchmarks/model_comparison.py --reuse article=models/default/20261129-120000

Writes the table between the model-comparison markers of BENCHMARKS.md (and prints it). Labeling
speed is measured on the validation split, each model on the same machine, median of 3 passes:
the model folder as trained (fp32 on a CPU) and, for the transformers on a CPU with native bf16,
its `newsroles export --runtime bf16` copy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import replace_section  # noqa: E402

SYSTEMS = {
    "tfidf": ("TF-IDF + logistic regression", None),
    "sentence": ("MiniLM, one sentence at a time", {"model.type": "sentence", "train.batch_size": "32", "name": "bench-sentence"}),
    "article": ("MiniLM, whole article (default)", {"name": "bench-article"}),
}


def train_system(key: str, config_path: str, out_root: Path) -> tuple[Path, float]:
    from newsroles.training.config import load_config
    from newsroles.training.run import baseline_from_config, train_from_config

    started = time.perf_counter()
    if key == "tfidf":
        folder = baseline_from_config(load_config(config_path), config_path, out_root / key)
    else:
        folder = train_from_config(load_config(config_path, SYSTEMS[key][1]), config_path, out_root / key)
    return folder, time.perf_counter() - started


def labeling_speed(folder: Path, articles, repeats: int = 3) -> tuple[float, list, list[str]]:
    """(sentences/s, median of `repeats` passes; the last pass's probabilities; the labels)."""
    from newsroles.inference.predictor import load_labeler

    labeler = load_labeler(folder, device="cpu")
    speed, probs = timed_predict(labeler, articles, repeats)
    return speed, probs, labeler.labels


def timed_predict(labeler, articles, repeats: int) -> tuple[float, list]:
    """(sentences/s over the median of `repeats` `predict` passes, the last pass's probabilities)."""
    n = sum(len(a.sentences) for a in articles)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        probs = labeler.predict(articles)
        times.append(time.perf_counter() - started)
    return n / statistics.median(times), probs


def bf16_speed(folder: Path, articles) -> tuple[float, float] | None:
    """(sentences/s, macro-F1) of the model's bf16 copy, for a transformer on a CPU with native bf16."""
    import tempfile

    import torch

    from newsroles.inference.export.exporter import export_model
    from newsroles.model.network.device import native_bf16
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

    manifest = json.loads((folder / "newsroles.json").read_text())
    if manifest["kind"] != "transformer" or not native_bf16(torch.device("cpu")):
        return None
    with tempfile.TemporaryDirectory() as work:
        copy = export_model(folder, Path(work) / "bf16", runtime="bf16").folder
        speed, probs, labels = labeling_speed(copy, articles)
        return speed, compute_metrics(*gold_and_predictions(articles, probs, labels), labels)["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--out", default="runs/benchmark", help="where the trained model folders go")
    parser.add_argument("--reuse", action="append", default=[], help="KEY=FOLDER: score an already trained model")
    parser.add_argument("--only", nargs="*", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    os.chdir(ROOT)

    from newsroles.inference.evaluation.evaluate import evaluate_model
    from newsroles.training.config import load_config
    from newsroles.training.data.readers import read_articles

    config = load_config(args.config)
    dev_path = config.data.dev
    dev = read_articles(dev_path)
    reuse = dict(item.split("=", 1) for item in args.reuse)
    out_root = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for key in args.only:
        title = SYSTEMS[key][0]
        if key in reuse:
            folder = Path(reuse[key])
            manifest = json.loads((folder / "newsroles.json").read_text())
            seconds = manifest.get("training_seconds")
        else:
            folder, seconds = train_system(key, args.config, out_root)
        metrics = evaluate_model(folder, dev_path, device="cpu")
        speed, _, _ = labeling_speed(folder, dev)
        bf16 = bf16_speed(folder, dev)
        rows.append((title, metrics, seconds, speed, bf16))
        print(f"{title}: macro-F1 {metrics['macro_f1']:.3f}, {speed:.0f} sentences/s", file=sys.stderr, flush=True)

    labels = rows[0][1]["labels"]
    head = (
        "| system | macro-F1 | accuracy | " + " | ".join(f"{r} F1" for r in labels)
        + " | training time | labeling, sentences/s | bf16 copy: sentences/s (macro-F1) |"
    )
    lines = [head, "|" + " --- |" * (len(labels) + 6)]
    for title, m, seconds, speed, bf16 in rows:
        per = " | ".join(f"{m['per_label'][r]['f1']:.3f}" for r in labels)
        took = f"{seconds / 60:.1f} min" if seconds is not None else "n/a"
        fast = f"{bf16[0]:.0f} ({bf16[1]:.3f})" if bf16 else "n/a"
        lines.append(f"| {title} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | {per} | {took} | {speed:.0f} | {fast} |")
    import torch

    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    note = (
        f"NewsDiscourse validation split ({metrics['n']} scored sentences in {len(dev)} articles), "
        f"trained on the train split with `{args.config}`; {machine}. Training time is the whole "
        f"`train` call's (dev scoring after each epoch included). Command: "
        f"`python benchmarks/model_comparison.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`."
    )
    table = "\n".join(lines)
    print(table)
    print(note)
    if not args.no_write:
        replace_section(ROOT / "BENCHMARKS.md", "model-comparison", table + "\n\n" + note)


if __name__ == "__main__":
    main()
