"""Archive labeling on Ray: sentences/s with 1 and 2 (or --workers) labelers, one markdown table.

    python benchmarks/ray_labeling.py --model MODEL_FOLDER --input ARCHIVE.jsonl [--workers 1 2]

Each worker count runs `newsroles label --engine ray` (`label_archive`) on a fresh local Ray
instance of workers x --cpus-per-worker CPUs (or joins --address), into a temporary folder, so no
run resumes another. Two rates per run:

  * end to end: all sentences / wall time, cluster and labeler start-up (model loading) included;
  * per labeler: sentences / the labelers' busy time on their shards (reading, labeling, writing,
    no start-up): the rate to plan capacity with (a job of S sentences on W such labelers takes
    about S / (W x rate) seconds, plus start-up).

--limit takes the first N articles of the input (written to a temporary JSONL file). The numbers
are only as quiet as the machine; this script prints its table and writes nothing else.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder")
    parser.add_argument("--input", required=True, nargs="+", help="JSONL or Parquet files (or folders)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="labeler counts to compare")
    parser.add_argument("--cpus-per-worker", type=float, default=1)
    parser.add_argument("--gpus-per-worker", type=float, default=0)
    parser.add_argument("--shard-size", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles of the input")
    parser.add_argument("--address", default=None, help="a Ray cluster to join instead of a local one")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from newsroles.inference.archive.ray_labeling import label_archive

    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        inputs = _first_articles(args.input, args.limit, Path(tmp)) if args.limit else args.input
        rows = []
        for workers in args.workers:
            started = time.perf_counter()
            report = label_archive(
                inputs, args.model, Path(tmp) / f"out-{workers}", shard_size=args.shard_size, workers=workers,
                cpus_per_worker=args.cpus_per_worker, gpus_per_worker=args.gpus_per_worker,
                address=args.address, batch_size=args.batch_size,
            )
            wall = time.perf_counter() - started
            per_labeler = report.busy_sentences / report.busy_seconds if report.busy_seconds else 0.0
            rows.append((workers, report.articles, report.sentences, report.shards, wall, report.sentences / wall, per_labeler))
            print(f"{workers} labeler(s): {wall:.1f} s", file=sys.stderr)
    print(table(rows, args))


def _first_articles(inputs: list[str], limit: int, tmp: Path) -> list[str]:
    from newsroles.inference.archive.shards import input_files
    from newsroles.inference.io.inputs import LabelInputs

    path = tmp / "input.jsonl"
    articles = LabelInputs([uri for uri, _ in input_files(inputs)])
    with open(path, "w", encoding="utf-8") as fh:
        for article in itertools.islice(articles, limit):
            fh.write(json.dumps({"id": article.id, "title": article.title, "sentences": [s.text for s in article.sentences]}) + "\n")
    return [str(path)]


def table(rows, args) -> str:
    device = f"{args.gpus_per_worker:g} GPU" if args.gpus_per_worker else f"{args.cpus_per_worker:g} CPU"
    lines = [
        f"Ray labeling, {Path(args.model).name}, {device} per labeler, shards of {args.shard_size} articles",
        "",
        "| labelers | articles | sentences | shards | wall s | sentences/s (end to end) | sentences/s per labeler (busy) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for workers, articles, sentences, shards, wall, rate, per_labeler in rows:
        lines.append(f"| {workers} | {articles} | {sentences} | {shards} | {wall:.1f} | {rate:.0f} | {per_labeler:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
