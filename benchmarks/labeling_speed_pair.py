"""Labeling speed of two or more models side by side: does a new recipe label as fast as the old one?

    python benchmarks/labeling_speed_pair.py --models OLD NEW [--copies none,onnx-int8] [--rounds 7]

Each model (a model folder, or an exported copy of one) is loaded once in this process; then, for
--rounds rounds, each labels the same --data articles in turn (`Labeler.label`: windows, the
encoder, the head, label biases and confidences; what `newsroles label` does but reading and writing
files), so that whatever else the machine does falls on all of them alike. A model's time is the
median of its rounds; the ratio is against the first model. `--copies` names what labels, a table
each: `none` the model folders themselves, `onnx-int8` (or onnx, bf16) each model's MODEL-<copy>
beside it, exported first where it is missing. The tables go between the labeling-speed-pair
markers of BENCHMARKS.md (--no-write only prints them), with the CPU named.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _in_turn import timed_in_turn  # noqa: E402
from _markdown import replace_section  # noqa: E402
from cli_completion import cpu_name  # noqa: E402

COPIES = ("none", "onnx", "onnx-int8", "bf16")


def copy_of(model: Path, runtime: str) -> Path:
    """The folder that labels for `model`: itself (`none`), or its `runtime` copy beside it (exported when missing)."""
    if runtime == "none":
        return model
    copy = model.with_name(f"{model.name}-{runtime}")
    if not copy.exists():
        from newsroles.inference.export.exporter import export_model

        export_model(model, copy, runtime=runtime)
    return copy


def timed_rounds(labelers: dict, articles, rounds: int) -> dict[str, list[float]]:
    """Seconds per round for each labeler labeling `articles`, the labelers taking turns in every round."""
    for labeler in labelers.values():  # warm-up: first-call allocations and caches out of the figures
        labeler.label(articles[:2])
    timed = timed_in_turn({name: partial(labeler.label, articles) for name, labeler in labelers.items()}, rounds)
    return {name: seconds for name, (_, seconds) in timed.items()}


def table(seconds: dict[str, list[float]], sentences: int) -> str:
    first = statistics.median(next(iter(seconds.values())))
    lines = ["| model | seconds (median) | sentences / s | against the first |", "|---|---:|---:|---:|"]
    for name, times in seconds.items():
        median = statistics.median(times)
        lines.append(f"| {name} | {median:.2f} | {sentences / median:.0f} | {first / median:.3f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+", required=True, help="model folders; the first is the reference")
    parser.add_argument("--copies", default="none", help="comma-separated, a table each: none (the folders), onnx, onnx-int8, bf16")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse" / "validation.jsonl")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from newsroles.inference.predictor import load_labeler
    from newsroles.training.data.readers import read_articles

    copies = args.copies.split(",")
    wrong = [c for c in copies if c not in COPIES]
    if wrong:
        parser.error(f"--copies: {', '.join(wrong)}: not one of {', '.join(COPIES)}")
    articles = read_articles(args.data)
    sentences = sum(len(a.sentences) for a in articles)
    tables = []
    for runtime in copies:
        labelers = {}
        for model in args.models:
            folder = copy_of(model, runtime)
            labelers[str(folder)] = load_labeler(folder, "cpu")  # the path as given: two versions may share a name
        tables.append(table(timed_rounds(labelers, articles, args.rounds), sentences))
    shown = " ".join(str(m) for m in args.models)
    body = ("\n\n".join(tables) + f"\n\n{cpu_name()}; {len(articles)} articles, {sentences:,} sentences of "
            f"{args.data.name}, {args.rounds} rounds taken in turn. Command: "
            f"`python benchmarks/labeling_speed_pair.py --models {shown} --copies {args.copies} --rounds {args.rounds}`")
    print(body)
    if not args.no_write:
        replace_section(REPO / "BENCHMARKS.md", "labeling-speed-pair", body)


if __name__ == "__main__":
    main()
