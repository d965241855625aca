"""Training step time against the encoder's attention dropout (`train.attention_dropout`), side by side.

    python benchmarks/training_speed.py [--config configs/default.yaml] [--dropouts 0.1,0] [--steps 20] [--rounds 3]

One process builds the config's model and its first epoch's batches once, then takes `--steps`
optimizer steps (`train_step`, as `newsroles train` takes them: dropout on, the config's precision)
at each attention dropout in turn, `--rounds` times over, each round on the next batches. So every
setting meets the same mix of batch lengths and the same machine load, and the medians and their
ratio compare like with like. The weights go on learning across settings, which does not change
what a step costs. The table goes between the training-speed markers of BENCHMARKS.md (--no-write
only prints it); name the CPU beside it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import replace_section  # noqa: E402
from cli_completion import cpu_name  # noqa: E402


def set_attention_dropout(model, p: float) -> None:
    """Set every attention layer's dropout on the built model (BERT-style names, as MiniLM's): the
    layers read it at each step, so one model serves every setting."""
    for name, module in model.encoder.named_modules():
        if name.endswith("attention.self"):
            module.dropout.p = p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--dropouts", default="0.1,0", help="attention dropouts to compare, comma-separated")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per setting and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from newsroles.training import run as runs
    from newsroles.training.config import load_config
    from newsroles.training.trainer import make_setup, shuffled_batches, train_step

    dropouts = [float(p) for p in args.dropouts.split(",")]
    config = load_config(args.config)
    run = runs.prepare(config, args.config, None, False, None)
    data = runs.load_data(run)
    model, tokenizer = runs.build(run, data)
    setup = make_setup(
        config, model, tokenizer, data.batches_from, data.labels, data.aux_labels,
        data.distillation.soft if data.distillation else None, data.unlabeled, None, data.auxiliary,
    )
    plan = setup.plans[0]
    batches = shuffled_batches(plan.windows, config.train.batch_size, random.Random(config.seed), model.spec.article_context)
    needed = 2 + args.rounds * len(dropouts) * args.steps
    if len(batches) < needed:
        raise SystemExit(f"{args.config}: an epoch has {len(batches)} batches, fewer than the {needed} asked for")
    model.train()
    for batch in batches[:2]:  # warm-up: allocations, kernels chosen
        train_step(setup, batch, plan)
    at, seconds = 2, {p: [] for p in dropouts}
    tokens = {p: 0 for p in dropouts}
    for round_ in range(args.rounds):
        for p in dropouts:
            set_attention_dropout(model, p)
            for batch in batches[at : at + args.steps]:
                start = time.perf_counter()
                train_step(setup, batch, plan)
                seconds[p].append(time.perf_counter() - start)
                tokens[p] += len(batch) * max(len(plan.windows[i].input_ids) for i in batch)
            at += args.steps
        print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{p}: {statistics.median(seconds[p]):.3f} s" for p in dropouts),
              file=sys.stderr, flush=True)
    first = statistics.median(seconds[dropouts[0]])
    lines = [
        f"`python benchmarks/training_speed.py --config {args.config} --dropouts {args.dropouts} --steps {args.steps} "
        f"--rounds {args.rounds}`; {cpu_name()}; torch threads: {torch.get_num_threads()}; "
        f"precision: {str(setup.dtype or 'float32').replace('torch.', '')}; batch_size {config.train.batch_size}, model.max_length {config.model.max_length}.",
        "",
        "| attention dropout | steps | median s/step | padded tokens/s | speed-up |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in dropouts:
        median = statistics.median(seconds[p])
        lines.append(f"| {p:g} | {len(seconds[p])} | {median:.3f} | {tokens[p] / sum(seconds[p]):,.0f} | {first / median:.2f}x |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        replace_section(REPO / "BENCHMARKS.md", "training-speed", table)


if __name__ == "__main__":
    main()
