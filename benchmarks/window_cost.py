"""Where labeling time goes: tokens encoded per sentence, and the encoder's speed per token.

    python benchmarks/window_cost.py SENTENCE_MODEL ARTICLE_MODEL "ARTICLE_MODEL,lead_context=false"

Each argument is a model folder, optionally followed by model settings to change at labeling time
(`key=value`, comma-separated: for example `lead_context=false`, `use_title=false`,
`max_length=512`). A model trained with other settings still labels, but it reads windows it was
not trained on: the macro-F1 column says what that costs.

For every variant, in one process and on the same validation articles: how many windows and
tokens the encoder reads, the tokens per sentence, the median over --repeats of the labeling time
(`predict`, as `newsroles label` calls it, without file reading and writing), and from those the
sentences/s and the encoder's tokens/s. A sentence model reads `[CLS] sentence [SEP]`; an article
model reads each sentence once plus a separator, and repeats the headline (and the lead sentence)
in every window, so its speed per sentence is set by those repeats and by attention over the
longer window. The table goes between the window-cost markers of BENCHMARKS.md (--no-write only
prints it).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import replace_section  # noqa: E402

DEFAULT_DATA = REPO / "data" / "newsdiscourse" / "validation.jsonl"


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """(folder, {model setting: value as written}) from `FOLDER[,key=value,...]`."""
    folder, *settings = text.split(",")
    changes: dict[str, str] = {}
    for item in settings:
        key, equals, value = item.partition("=")
        if not equals:
            raise SystemExit(f"{text!r}: settings are key=value, got {item!r}")
        changes[key.strip()] = value.strip()
    return folder, changes


def measure(folder: str, changes: dict, articles, repeats: int) -> dict:
    from model_comparison import timed_predict

    from newsroles.inference.predictor import load_labeler
    from newsroles.model.batching import article_windows
    from newsroles.training.config import load_config
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

    labeler = load_labeler(folder, device="cpu")
    model = labeler.runner.model
    # The config's own override parsing: typed and checked like `newsroles train --model.KEY VALUE`.
    checked = load_config(None, {f"model.{key}": value for key, value in changes.items()}).model
    typed = {key: getattr(checked, key) for key in changes}
    model.spec = dataclasses.replace(model.spec, **typed)
    windows, _ = article_windows(labeler.runner.tokenizer, articles, model.spec)
    tokens = sum(len(w.input_ids) for w in windows)
    labeler.predict(articles[:4])  # warm-up
    speed, probs = timed_predict(labeler, articles, repeats)
    sentences = sum(len(a.sentences) for a in articles)
    metrics = compute_metrics(*gold_and_predictions(articles, probs, labeler.labels), labeler.labels)
    return {
        "variant": "/".join(Path(folder).parts[-2:]) + ("" if not typed else " (" + ", ".join(f"{k}={v}" for k, v in typed.items()) + ")"),
        "type": model.spec.type,
        "windows": len(windows),
        "tokens": tokens,
        "tokens_per_sentence": tokens / sentences,
        "sentences_per_s": speed,
        "tokens_per_s": tokens * speed / sentences,
        "macro_f1": metrics["macro_f1"],
    }


def table(rows: list[dict], data: Path, repeats: int, threads: int) -> str:
    first = rows[0]
    lines = [
        "| variant | type | windows | tokens encoded | tokens per sentence | sentences/s | vs first row | encoder tokens/s | macro-F1 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['type']} | {r['windows']} | {r['tokens']} | {r['tokens_per_sentence']:.1f} | "
            f"{r['sentences_per_s']:.1f} | {r['sentences_per_s'] / first['sentences_per_s']:.2f}x | {r['tokens_per_s']:.0f} | {r['macro_f1']:.4f} |"
        )
    lines.append("")
    lines.append(
        f"{data.name}: median of {repeats} passes per variant, one process, {threads} threads, "
        f"{platform.machine()}; command: `python benchmarks/window_cost.py {' '.join(sys.argv[1:])}`."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="MODEL_FOLDER[,key=value,...]")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    import torch

    from newsroles.training.data.readers import read_articles

    articles = read_articles(args.data)
    rows = []
    from newsroles.model.errors import UserError

    for text in args.variants:
        folder, changes = parse_variant(text)
        try:
            rows.append(measure(folder, changes, articles, args.repeats))
        except UserError as exc:
            raise SystemExit(f"{text}: {exc}") from None
        print(rows[-1], flush=True)
    body = table(rows, args.data, args.repeats, torch.get_num_threads())
    print(body)
    if not args.no_write:
        replace_section(REPO / "BENCHMARKS.md", "window-cost", body)


if __name__ == "__main__":
    main()
