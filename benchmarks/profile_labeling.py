"""Where the time of `newsroles label` goes, with an ONNX export: one run, one breakdown.

    python benchmarks/profile_labeling.py --model MODEL-onnx-int8 [--data VALIDATION.jsonl] [--sentences 1000 (0: all)]

Stages, timed in one process on the first stories of --data holding --sentences sentences, given
as raw text (as `newsroles label` reads an archive):

  import       the CLI and the labeling modules (a fresh interpreter, `python -X importtime`);
  load         the model folder: ONNX Runtime session, tokenizer, head weights;
  read+split   reading the JSONL and splitting the stories into sentences;
  tokenize     the tokenizer over every sentence and headline;
  windows      building windows from the token ids, sorting them into batches;
  collate      padding each batch into arrays (to the batch's longest window);
  encoder      ONNX Runtime;
  head         the numpy head (pooling, features, BiGRU, classifier, auxiliary head, softmax);
  withhold     boilerplate rules with P(NA), setting each sentence's label, scores and reason;
  write        JSONL output.

Also (--threads-modes) the encoder's three thread modes (model/onnx_runtime.py) and batch sizes,
timed side by side on the same windows. Prints a markdown table; --json writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def import_seconds() -> tuple[float, list[tuple[float, str]]]:
    """Wall time of a fresh interpreter importing what `newsroles label` with an ONNX folder needs,
    and the heaviest top-level imports (`-X importtime`, cumulative microseconds)."""
    code = "import newsroles.inference.cli, newsroles.inference.label, newsroles.inference.predictor, newsroles.model.onnx_runtime, onnxruntime, tokenizers"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if not name.startswith("  "):  # a top-level import, not one inside another
                rows.append((int(parts[1]) / 1e6, name.strip()))
    return wall, sorted(rows, reverse=True)[:8]


class Timers:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, owner, name: str, stage: str):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="an onnx or onnx-int8 export")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "newsdiscourse" / "validation.jsonl")
    parser.add_argument("--sentences", type=int, default=1000, help="profile the first stories holding at least this many sentences (0: all), as labeling_speed.py")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads-modes", action="store_true", help="also time the encoder's thread modes and batch sizes")
    parser.add_argument("--sizes", default="16,32,64", help="batch sizes for --threads-modes (comma-separated)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    wall_import, heaviest = import_seconds()

    from newsroles.inference.io.inputs import LabelInputs
    from newsroles.inference.predictor import load_labeler
    from newsroles.inference.io.writers import ArticleWriter
    from newsroles.model import batching, onnx_runtime
    from newsroles.training.data.readers import read_articles

    source, n = [], 0
    for article in read_articles(args.data):
        if 0 < args.sentences <= n:
            break
        source.append(article)
        n += len(article.sentences)
    work = Path(tempfile.mkdtemp(prefix="newsroles-profile-"))
    stories = work / "stories.jsonl"
    with stories.open("w", encoding="utf-8") as out:
        for a in source:
            out.write(json.dumps({"id": a.id, "title": a.title or "", "text": " ".join(s.text for s in a.sentences)}) + "\n")

    timers = Timers()
    timers.wrap(batching, "tokenize_articles", "tokenize")
    timers.wrap(batching, "batches_by_length", "windows")
    timers.wrap(onnx_runtime, "collate_arrays", "collate")
    timers.wrap(onnx_runtime.OrtEncoder, "__call__", "encoder")
    timers.wrap(onnx_runtime.NumpyHead, "__call__", "head")
    timers.wrap(batching, "article_windows", "_windows_with_tokenize")
    from newsroles.inference import predictor

    timers.wrap(predictor.Labeler, "predict_with_na", "_predict")

    started = time.perf_counter()
    labeler = load_labeler(args.model, "cpu")
    load = time.perf_counter() - started
    labeler.label(read_articles(args.data)[:2])  # warm-up: the session's first run allocates
    timers.seconds.clear()

    started = time.perf_counter()
    articles = list(LabelInputs([str(stories)]))
    split = time.perf_counter() - started
    started = time.perf_counter()
    labeled = labeler.label(articles, batch_size=args.batch_size)
    label_total = time.perf_counter() - started
    started = time.perf_counter()
    with ArticleWriter(str(work / "out.jsonl"), "jsonl", labels=labeler.labels) as writer:
        for a in labeled:
            writer.write(a)
    write = time.perf_counter() - started

    t = timers.seconds
    sentences = sum(len(a.sentences) for a in articles)
    stages = {
        "import (fresh interpreter)": wall_import,
        "load": load,
        "read+split": split,
        "tokenize": t.get("tokenize", 0.0),
        "windows": t.get("_windows_with_tokenize", 0.0) - t.get("tokenize", 0.0) + t.get("windows", 0.0),
        "collate": t.get("collate", 0.0),
        "encoder": t.get("encoder", 0.0),
        "head": t.get("head", 0.0),
        "withhold + scores": label_total - t.get("_predict", 0.0),
        "write": write,
    }
    accounted = sum(v for k, v in stages.items() if k not in ("import (fresh interpreter)", "load", "read+split", "write"))
    stages["other (labeling loop)"] = max(0.0, label_total - accounted)
    total = sum(stages.values())
    lines = ["| stage | seconds | share |", "|---|---:|---:|"]
    for name, seconds in stages.items():
        lines.append(f"| {name} | {seconds:.3f} | {100 * seconds / total:.1f}% |")
    lines.append(f"| **total** | **{total:.3f}** | {sentences / total:.0f} sentences/s end to end |")
    notes = [
        f"{len(articles)} stories, {sentences} sentences after splitting, batch size {args.batch_size}, "
        f"runtime {labeler.manifest.get('runtime')}, encoder threads {labeler.runner.model.encoder.threads} ({labeler.runner.model.encoder.mode}); "
        f"load average {os.getloadavg()[0]:.2f} at the end.",
        "Heaviest top-level imports (cumulative s): " + ", ".join(f"{name} {s:.2f}" for s, name in heaviest) + ".",
    ]
    result = {"stages": stages, "sentences": sentences, "heaviest_imports": heaviest}
    if args.threads_modes:
        lines_modes, result["modes"] = modes_table(labeler, articles, [int(x) for x in args.sizes.split(",")])
        notes.append("\n" + lines_modes)
    notes.append(f"Command: `python benchmarks/profile_labeling.py {' '.join(sys.argv[1:])}`.")
    text = "\n".join(lines) + "\n\n" + "\n\n".join(notes)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def modes_table(labeler, articles, sizes: list[int]) -> tuple[str, dict]:
    """The encoder alone over the same batches: thread modes x batch sizes, medians of 3, run
    round-robin so load changes hit every cell alike. (Padding every window to max_length is no
    longer a variant: OrtEncoder reads each call at its windows' own length, whatever the padding.)"""
    from newsroles.model.batching import article_windows, batches_by_length
    from newsroles.model.onnx_runtime import ENCODER_FILE, OrtEncoder
    from newsroles.model.windows import collate_arrays

    windows, _ = article_windows(labeler.runner.tokenizer, articles, labeler.runner.model.spec)
    pad = labeler.runner.tokenizer.pad_token_id or 0
    sentences = sum(len(w.spans) for w in windows)
    encoders = {mode: OrtEncoder(labeler.path / ENCODER_FILE, mode=mode) for mode in ("split", "intra", "nospin")}
    cells: dict[tuple[str, int], list[float]] = {}
    for _ in range(3):
        for size in sizes:
            batches = [collate_arrays([windows[i] for i in ids], pad) for ids in batches_by_length(windows, size, max_batch_tokens=size * 128)]
            for mode, encoder in encoders.items():
                started = time.perf_counter()
                for arrays in batches:
                    encoder(arrays["input_ids"], arrays["attention_mask"])
                cells.setdefault((mode, size), []).append(time.perf_counter() - started)
    lines = ["| encoder mode | batch size | sentences/s (median of 3) |", "|---|---:|---:|"]
    out = {}
    for (mode, size), seconds in cells.items():
        rate = sentences / statistics.median(seconds)
        out[f"{mode}/{size}"] = rate
        lines.append(f"| {mode} | {size} | {rate:.0f} |")
    return "\n".join(lines), out


if __name__ == "__main__":
    main()
