"""Issue 24's ablation: what more text adds to the default's macro-F1 on NewsDiscourse validation.

Each variant is the default config (configs/default.yaml) plus command-line overrides, trained as a
selection run (train split, scored on validation at each epoch, best epoch kept) for each seed.
Runs go one at a time (two at once make both slower) in the order given, so a queue cut short still
has paired results; a finished (variant, seed) is read back from its metrics.json and not retrained,
and an interrupted one resumes from its checkpoint.

    python benchmarks/more_signal_ablation.py --variants default,semi250 --seeds 13,14,15
    python benchmarks/more_signal_ablation.py --report [--write] # the table of what has finished

Needs data/newsdiscourse (make demo converts it), data/stories-1000.jsonl (make unlabeled-targets,
or `newsroles data convert` of the stories and `head -n 1000`) and ../shared/data for the corpora.
Results: the models in runs/ablation/<variant>-s<seed>/ (ignored), and one JSON line per run in
benchmarks/results/more_signal_ablation.jsonl, kept in git: a machine's runs/ folder does not outlive it
(the rows of sessions 11-13 were lost with theirs; their tables in BENCHMARKS.md stand as written).

The ct-* variants are the same recipe on the paper's eight content types (configs/content-types.yaml;
`make content-types-data` first). Their teacher is ct-default itself (self-training: no eight-label
mpnet teacher was affordable): once ct-default-s13 has trained, write its targets with
    newsroles distill-targets runs/ablation/ct-default-s13 data/newsdiscourse-content-types/train.jsonl \
        data/newsdiscourse-content-types/validation.jsonl --unlabeled data/stories-1000.jsonl -o CT_TARGETS
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import read_section, replace_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "runs" / "ablation"
SHARED = ROOT.parent / "shared" / "data"
TARGETS = "configs/teacher/mpnet6-roles-unlabeled-1000.json.gz"
STORIES = "data/stories-1000.jsonl"


# Noisy student, round 2: the semi250 student of seed 13 as the teacher, its probabilities on the same files:
# newsroles distill-targets runs/ablation/semi250-s13 data/newsdiscourse/train.jsonl \
#     data/newsdiscourse/validation.jsonl --unlabeled data/stories-1000.jsonl -o runs/noisy/<this file>
STUDENT_TARGETS = "runs/noisy/student-semi250-s13-roles-unlabeled-1000.json.gz"
# A stronger teacher (session 14): the accurate-semi250 student of seed 13 (validation 0.700), shipped.
ACCURATE_TARGETS = "configs/teacher/accurate-semi250-roles-unlabeled-1000.json.gz"
# Noisy student on make demo's recipe (session 18): make demo's selection model (all-ad0, seed 13; validation
# 0.685) as the teacher, its probabilities on train, validation and all 4,051 converted stories:
# newsroles export runs/demo-s13 --runtime onnx, then
# newsroles distill-targets runs/demo-s13-onnx data/newsdiscourse/train.jsonl \
#     data/newsdiscourse/validation.jsonl --unlabeled data/stories-4051.jsonl -o <this file>
DEMO_STUDENT_TARGETS = "runs/noisy/all-ad0-s13-roles-unlabeled-4051.json.gz"
CT_CONFIG = "configs/content-types.yaml"
CT_TARGETS = "runs/noisy/ct-default-s13-content-types-unlabeled-1000.json.gz"
# make demo's recipe on the content types (session 18): the teacher is ct-default-ad0 of seed 13, its
# targets written as CT_TARGETS' (newsroles distill-targets runs/ablation/ct-default-ad0-s13 ...).
CT_AD0_TARGETS = "runs/noisy/ct-default-ad0-s13-content-types-unlabeled-1000.json.gz"
# The learning curve: the first N of the 1,000 stories, 250 drawn per epoch in 3 epochs as in semi250-e3
# (configs/student.yaml; the same cost per epoch, so what changes is how many different stories the
# student meets: 250, 500, or 750 of the 1,000).
CURVE_STORIES = (250, 500)


# make demo's setting since session 17 (train.attention_dropout 0: fused attention on the CPU); the -ad0
# variants add it, the older ones keep MEASURED_WITH (below).
AD0 = ["--train.attention_dropout", "0"]


def _semi(per_epoch: int, targets: str = TARGETS, stories: str = STORIES) -> list[str]:
    return ["--train.distill_targets", targets, "--data.unlabeled", stories, "--train.unlabeled_per_epoch", str(per_epoch)]


def _first_stories(n: int) -> str:
    """data/stories-<n>.jsonl: the first n converted stories, made by the Makefile's rule when missing."""
    subprocess.run(["make", "-s", f"data/stories-{n}.jsonl"], cwd=ROOT, check=True)
    return f"data/stories-{n}.jsonl"


def _aux(entries: str) -> list[str]:
    return ["--data.auxiliary", entries]


POLNEAR = f"{{source: polnear, path: {SHARED / 'polnear' / 'train'}, weight: 0.3, max_articles: 250}}"
WEBIS = f"{{source: webis, path: {SHARED / 'webis-editorials'}, weight: 0.1}}"


def polnear_drawn(per_epoch: int) -> str:
    """PolNeAR's whole train split (840 articles), `per_epoch` of them drawn anew each epoch."""
    return f"{{source: polnear, path: {SHARED / 'polnear' / 'train'}, weight: 0.3, per_epoch: {per_epoch}}}"


def webis_drawn(per_epoch: int) -> str:
    return f"{{source: webis, path: {SHARED / 'webis-editorials'}, weight: 0.1, per_epoch: {per_epoch}}}"


VARIANTS: dict[str, list[str]] = {
    "default": [],
    "semi125": _semi(125),
    "semi250": _semi(250),
    "semi500": _semi(500),
    "semi250-c9": _semi(250) + ["--train.pseudo_min_confidence", "0.9"],
    # Class-balanced: each role keeps at least half the sentences the teacher gives it (fact: 20% reach 0.7).
    "semi250-cb50": _semi(250) + ["--train.pseudo_min_class_fraction", "0.5"],
    # semi250 in 3 epochs: its third epoch scored as its fourth in every seed, and 3 epochs bring a
    # selection run plus final fit inside make demo's 45 minutes on the 2-core CPU (4 take about 50).
    "semi250-e3": _semi(250) + ["--train.epochs", "3"],
    "noisy-round2": _semi(250, STUDENT_TARGETS),
    # Noisy student with a bigger teacher: the default learns from the accurate-semi250 student.
    "semi250-acc-teacher": _semi(250, ACCURATE_TARGETS),
    "distill-only": ["--train.distill_targets", TARGETS],
    "polnear": _aux(f"[{POLNEAR}]"),
    "webis": _aux(f"[{WEBIS}]"),
    "semi250-polnear": _semi(250) + _aux(f"[{POLNEAR}]"),
    # Part 5's "all": the stories and both auxiliary corpora.
    "all": _semi(250) + _aux(f"[{POLNEAR}, {WEBIS}]"),
    # "all" cut to make demo's 45 minutes: 3 epochs, and a new draw of 90 PolNeAR articles (of all
    # 840) and 40 editorials each epoch, about 50 steps an epoch against all's 205 (an epoch of about
    # 300 steps against 455), so that the model still meets about 240 and 100 different ones.
    "all-e3": _semi(250) + ["--train.epochs", "3"] + _aux(f"[{polnear_drawn(90)}, {webis_drawn(40)}]"),
    # all's own mix scaled to the same budget: its stories and auxiliary articles (98 and 205 steps of
    # its 455) both cut to about half, 125 stories and 160 + 100 auxiliary articles an epoch (about
    # 50 + 100 steps), so that the auxiliary corpora keep their share of the batches.
    "all-e3-mix": _semi(125) + ["--train.epochs", "3"] + _aux(f"[{polnear_drawn(160)}, {webis_drawn(100)}]"),
    # all itself in 3 epochs (its best epoch was the third in two seeds of three), to tell whether
    # all's gain needs its fourth epoch or its volume: a 29-minute selection run, about 60 with the final fit.
    "all-e3-full": _semi(250) + _aux(f"[{POLNEAR}, {WEBIS}]") + ["--train.epochs", "3"],
    # Attention dropout 0 (train.attention_dropout, the default's since session 17): fused attention
    # on the CPU, steps twice as fast.
    "default-ad0": AD0,
    "all-ad0": _semi(250) + _aux(f"[{POLNEAR}, {WEBIS}]") + AD0,
    # Each source alone in make demo's setting (session 19): the stories with their teacher, PolNeAR, Webis,
    # so that the ablation's default / + each source / all rows have three seeds at one attention dropout.
    "semi250-ad0": _semi(250) + AD0,
    "polnear-ad0": _aux(f"[{POLNEAR}]") + AD0,
    "webis-ad0": _aux(f"[{WEBIS}]") + AD0,
    "ct-default": [],
    "ct-self250": _semi(250, CT_TARGETS),
    "ct-default-ad0": AD0,
    # make demo's recipe (all-ad0: the stories, PolNeAR, Webis, 4 epochs) with a content-type teacher.
    "ct-all-ad0": _semi(250, CT_AD0_TARGETS) + _aux(f"[{POLNEAR}, {WEBIS}]")
    + AD0 + ["--train.epochs", "4"],
    # Part 5's "accurate preset with the same data": configs/accurate.yaml (all-mpnet-base-v2, 12 layers;
    # `make mpnet` first) alone and with semi250's stories and teacher.
    "accurate": [],
    "accurate-semi250": _semi(250),
}


# The learning curve's variants: semi250-e3 on the first N stories, a file made when the variant runs.
CURVE_VARIANTS = {f"semi250-e3-n{n}": n for n in CURVE_STORIES}


# make demo's recipe taught by its own seed-13 model (DEMO_STUDENT_TARGETS) instead of the mpnet-6 teacher,
# and the learning curve of part 5 on it: the first N stories, N/4 drawn per epoch, so that the 4 epochs
# meet each about once (an epoch grows with N: about 98 steps per 250 stories). The file is made when
# the variant runs.
NOISY_DEMO_VARIANTS = {f"noisy-all-ad0-n{n}": n for n in (1000, 2000, 4051)}


# Every variant up to session 16 was measured with the base's attention dropout (MiniLM's 0.1), the
# default's until configs/default.yaml set train.attention_dropout to 0: they keep it, so that a rerun
# repeats what their rows say. The -ad0 variants name 0 themselves.
MEASURED_WITH = ["--train.attention_dropout", "null"]


# Domain-adaptive pretraining (session 21): make demo's recipe (all-ad0) on a base that first read the
# train split and the first N stories with masked words (`newsroles adapt-base`, 4 layers, 1 pass),
# so that the stories reach the encoder as text, not only through a teacher's labels.
DAPT_VARIANTS = {f"dapt{n}-all-ad0": n for n in (1000, 4051)}


def _adapted_base(n: int) -> str:
    """runs/dapt/minilm4-train-stories<n>: made here (its minutes printed) when missing."""
    folder = ROOT / "runs" / "dapt" / f"minilm4-train-stories{n}"
    if not folder.exists():
        command = [str(ROOT / ".venv" / "bin" / "newsroles"), "adapt-base", "all-MiniLM-L6-v2",
                   "data/newsdiscourse/train.jsonl", _first_stories(n), "-o", str(folder), "--layers", "4"]
        print("$", " ".join(command), flush=True)
        subprocess.check_call(command, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return str(folder.relative_to(ROOT))


def overrides(variant: str) -> list[str]:
    if variant in DAPT_VARIANTS:
        return VARIANTS["all-ad0"] + ["--model.base", _adapted_base(DAPT_VARIANTS[variant])]
    if variant in CURVE_VARIANTS:
        return MEASURED_WITH + _semi(250, stories=_first_stories(CURVE_VARIANTS[variant])) + ["--train.epochs", "3"]
    if variant in NOISY_DEMO_VARIANTS:
        n = NOISY_DEMO_VARIANTS[variant]
        return (_semi(n // 4, DEMO_STUDENT_TARGETS, _first_stories(n)) + _aux(f"[{POLNEAR}, {WEBIS}]")
                + AD0)
    own = VARIANTS[variant]
    return own if MEASURED_WITH[0] in own else MEASURED_WITH + own


LABELS = ("stance", "quote", "background", "fact")
CONTENT_TYPES = ("Main", "Main_Consequence", "Cause_Specific", "Cause_General", "Distant_Historical",
                 "Distant_Anecdotal", "Distant_Evaluation", "Distant_Expectations_Consequences")

# Each family of variants, by name prefix: its config, its BENCHMARKS.md marker (its own tables, written
# only from its own rows), the baseline its rows are paired with and its labels. The first match wins.
FAMILIES = (("ct-", CT_CONFIG, "ablation-ct", "ct-default", CONTENT_TYPES),
            ("accurate", "configs/accurate.yaml", "ablation-accurate", "accurate", LABELS),
            ("", "configs/default.yaml", "ablation", "default", LABELS))


def family_of(variant: str) -> tuple:
    return next(family for family in FAMILIES if variant.startswith(family[0]))


def config_of(variant: str) -> str:
    return family_of(variant)[1]


def run_one(variant: str, seed: int) -> dict:
    folder = OUT / f"{variant}-s{seed}"
    metrics_file = folder / "metrics.json"
    if not metrics_file.exists():
        command = [str(ROOT / ".venv" / "bin" / "newsroles"), "train", "--config", config_of(variant),
                   "--seed", str(seed), "--output", str(folder), "--quiet", *overrides(variant)]
        if folder.with_name(f".{folder.name}.checkpoint").exists():  # training/run.py checkpoint_dir
            command.append("--resume")
        log = OUT / f"{variant}-s{seed}.log"
        started = time.time()
        with open(log, "a") as handle:
            handle.write(f"$ {' '.join(command)}\n")
            handle.flush()
            code = subprocess.call(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if code != 0:
            raise SystemExit(f"{variant} seed {seed} failed (exit {code}); see {log}")
        minutes = (time.time() - started) / 60
    else:
        minutes = None
    metrics = json.loads(metrics_file.read_text())
    dev = metrics["dev"]
    row = {"variant": variant, "seed": seed, "macro_f1": round(dev["macro_f1"], 4),
           **{label: round(scores["f1"], 4) for label, scores in dev["per_label"].items()},
           "best_epoch": metrics.get("best_epoch"),
           "epochs": [round(h["dev_macro_f1"], 4) for h in metrics.get("history", []) if "dev_macro_f1" in h],
           "minutes": round(minutes, 1) if minutes else None}
    return row


RESULTS = ROOT / "benchmarks" / "results" / "more_signal_ablation.jsonl"


def read_results() -> list[dict]:
    if not RESULTS.exists():
        return []
    return [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]


def f3(value: float) -> str:
    """A score stored to 4 decimals shown to 3, halves rounded up (0.5245 -> 0.525, as a reader rounds it)."""
    return str(Decimal(str(value)).quantize(Decimal("0.001"), ROUND_HALF_UP))


def report(rows: list[dict], baseline: str = "default", labels: tuple[str, ...] = LABELS) -> str:
    """The table of `rows` (one per run), each variant against `baseline` on the same seeds."""
    by_variant: dict[str, list[dict]] = {}
    for row in rows:
        by_variant.setdefault(row["variant"], []).append(row)
    lines = ["| variant | seeds | macro-F1 (each) | mean | against " + baseline + ", same seeds | "
             + " | ".join(label.replace("_", " ") for label in labels) + " | min/run |",
             "|---|---|---|---|---|" + "---|" * len(labels) + "---|"]
    default = {r["seed"]: r["macro_f1"] for r in by_variant.get(baseline, [])}
    for variant, runs in by_variant.items():
        runs.sort(key=lambda r: r["seed"])
        each = "/".join(f3(r["macro_f1"]) for r in runs)
        mean = lambda key: statistics.mean(r[key] for r in runs)  # noqa: E731
        minutes = [r["minutes"] for r in runs if r.get("minutes")]
        median_minutes = f"{statistics.median(minutes):.0f}" if minutes else ""
        # Paired by seed: a seed moves a run by 1.3-2 points, more than most variants do.
        paired = [r["macro_f1"] - default[r["seed"]] for r in runs if r["seed"] in default]
        against = "" if variant == baseline or not paired else f"{100 * statistics.mean(paired):+.1f} points ({len(paired)})"
        lines.append(f"| {variant} | {','.join(str(r['seed']) for r in runs)} | {each} | {f3(mean('macro_f1'))} | {against} | "
                     + " | ".join(f3(mean(label)) for label in labels) + f" | {median_minutes} |")
    return "\n".join(lines)


def epochs_report(rows: list[dict]) -> str:
    """Validation macro-F1 before the label biases after each epoch, a column per seed."""
    seeds = sorted({r["seed"] for r in rows})
    cells: dict[str, dict[int, str]] = {}
    for r in rows:
        cells.setdefault(r["variant"], {})[r["seed"]] = " / ".join(f3(f) for f in r["epochs"])
    lines = ["| variant | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|---|" + "---|" * len(seeds)]
    lines += [f"| {variant} | " + " | ".join(by_seed.get(s, "") for s in seeds) + " |" for variant, by_seed in cells.items()]
    return "\n".join(lines)


def reports(rows: list[dict]) -> dict[str, str]:
    """{BENCHMARKS.md marker: table}: each family's runs against its baseline, and their epochs."""
    tables = {}
    for family in FAMILIES:
        _, _, marker, baseline, labels = family
        runs = [r for r in rows if family_of(r["variant"]) == family]
        if runs:
            tables[marker] = report(runs, baseline, labels)
            tables[f"{marker}-epochs"] = epochs_report(runs)
    return tables


def table_variants(table: str) -> set[str]:
    """The first cells of a markdown table's rows, header and rule left out."""
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("|")]
    return set(rows[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="default,semi250")
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--report", action="store_true", help="print the table of finished runs and stop")
    parser.add_argument("--write", action="store_true", help="with --report: also put the table between BENCHMARKS.md's ablation markers")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.report:
        for marker, table in reports(read_results()).items():
            print(table, end="\n\n")
            if args.write:
                dropped = sorted(table_variants(read_section(ROOT / "BENCHMARKS.md", marker)) - table_variants(table))
                if dropped:  # rows whose runs are not in the results file (e.g. lost with a machine)
                    print(f"not written: BENCHMARKS.md's {marker} table has rows for {dropped}, which these results lack")
                else:
                    replace_section(ROOT / "BENCHMARKS.md", marker, table)
        return
    variants = args.variants.split(",")
    known = [*VARIANTS, *CURVE_VARIANTS, *NOISY_DEMO_VARIANTS, *DAPT_VARIANTS]
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; known: {sorted(known)}")
    done = {(r["variant"], r["seed"]) for r in read_results()}
    # Seed-major order: every variant's seed 13, then every variant's seed 14, so a cut-short queue is paired.
    for seed in (int(s) for s in args.seeds.split(",")):
        for variant in variants:
            if (variant, seed) in done:
                continue
            row = run_one(variant, seed)
            RESULTS.parent.mkdir(exist_ok=True)
            with open(RESULTS, "a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    for table in reports(read_results()).values():
        print(table, end="\n\n")


if __name__ == "__main__":
    sys.exit(main())
