"""Labeling speed: newsroles against a Hugging Face `pipeline("text-classification")`, one run, one table.

    python benchmarks/labeling_speed.py --model MODEL_FOLDER        # ~10 min on 2 quiet cores

On the same machine, base model and validation sentences, in one run:

  (a) transformers `pipeline("text-classification")` called once per sentence (the usual way);
  (b) the same pipeline called on the list of sentences with batch_size=32;
  (c) newsroles, the fp32 model folder: `load_labeler(folder).predict(articles)`;
  (d) newsroles, its optimised copy from `newsroles export` (default runtime onnx: fused fp32
      ONNX Runtime graph, the same answers);
  (e) newsroles, its `newsroles export --runtime onnx-int8 --tune-bias DATA` copy (int8: faster;
      its label biases tuned again on --data, the split the fp32 model's were tuned on);
  (g) newsroles, its `newsroles export --runtime bf16` copy (on CPUs with native bf16);
  (h) the `newsroles label` command itself on the stories (a)-(e) label, as raw text ({id, title,
      text} JSONL): a new process per run, so process start-up, imports, model loading, sentence
      splitting and writing are all in its time (the copy --e2e-runtime names; onnx-int8 by default);
      its sentences are those our splitter finds, counted in its output;
  (s) `newsroles label` on a one-sentence story: process start to labels written (start-up);
  (f) the `newsroles label` command itself on an archive of --archive-articles stories (10,000 by
      default) in one JSONL file of raw text, with the copy --archive-runtime names: sentence splitting,
      streaming and writing included. Its peak RSS is the memory a user needs for an archive.
      The stories are the validation articles' first --archive-sentences sentences, repeated with
      new ids (short, so that the run takes minutes: memory does not grow with the article count).

The copies are MODEL-onnx, MODEL-onnx-int8 and MODEL-bf16 beside MODEL when those exist (or
--optimised / --int8 / --bf16), else they are exported into a temporary folder first.

(a)/(b) run an `AutoModelForSequenceClassification` built from the model's base encoder (MiniLM by
default) with a 4-label head. Its head weights are random: that changes no timing, and the pipeline
is there as the speed reference, not for its answers. (c)-(e) label whole articles (the articles
whose sentences (a)/(b) label), windows included, so they do all the work `newsroles label` does
except reading and writing files.

Each variant runs in its own subprocess, so its peak memory (peak RSS, model loading included) is
its own. Throughput is the median of --repeats timed runs after one warm-up call; all variants use
the same number of threads (PyTorch's default: one per core; --threads to change). The macro-F1 of
(c)-(g) on the whole --data file says what the optimised copies cost in accuracy.

The numbers are only as quiet as the machine: the script measures the CPU time other processes
used during the run and says so when something else was running. It writes its table between the
labeling-speed markers of BENCHMARKS.md (and prints it); --no-write only prints.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import replace_section  # noqa: E402

DEFAULT_DATA = REPO / "data" / "newsdiscourse" / "validation.jsonl"
VARIANTS = {
    "a": "transformers pipeline, one call per sentence",
    "b": "transformers pipeline, batch_size=32",
    "c": "newsroles fp32",
    "d": "newsroles optimised (default export)",
    "e": "newsroles int8",
    "g": "newsroles bf16",
    "f": "`newsroles label` on an archive",
    "h": "`newsroles label` end to end, a process per run",
    "s": "`newsroles label` start-up to a one-sentence story's labels",
}
NEWSROLES_VARIANTS = {"c": "model", "d": "optimised", "e": "int8", "g": "bf16"}
ARCHIVE_COPIES = {"onnx": "optimised", "onnx-int8": "int8", "bf16": "bf16", "fp32": "model"}


# ---------------------------------------------------------------------------------------------
# Worker: one variant, in its own process


def select_articles(data: Path, min_sentences: int):
    """The first articles of `data` holding at least `min_sentences` sentences (all with 0)."""
    from newsroles.training.data.readers import read_articles

    articles = read_articles(data)
    if min_sentences <= 0:
        return articles
    chosen, n = [], 0
    for article in articles:
        if n >= min_sentences:
            break
        chosen.append(article)
        n += len(article.sentences)
    return chosen


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """The process's peak resident memory (VmHWM) in MiB, or None where /proc is missing.

    Not getrusage's ru_maxrss: on Linux that survives exec, so a child started by a parent that
    once held 2 GB reports at least 2 GB, whatever the child itself used.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError):
        pass
    return None


def time_repeats(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def run_pipeline(args, articles) -> dict:
    import logging
    import warnings

    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    from newsroles.model.network.base import resolve_base_model
    from newsroles.model.store.folder import read_config

    hf_logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    base = resolve_base_model((read_config(args.model).get("model") or {}).get("base") or "all-MiniLM-L6-v2")
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=4)  # head: random weights
    tokenizer = AutoTokenizer.from_pretrained(base)
    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)
    texts = [s.text for a in articles for s in a.sentences]
    loaded = time.perf_counter()
    if args.worker == "a":
        pipe(texts[:8], truncation=True)

        def once():
            for text in texts:
                pipe(text, truncation=True)

    else:
        pipe(texts[:64], batch_size=32, truncation=True)

        def once():
            pipe(texts, batch_size=32, truncation=True)

    seconds = time_repeats(once, args.repeats)
    return {"sentences": len(texts), "seconds": seconds, "peak_rss_mib": peak_rss_mib() or float("nan"), "ready_at": loaded}


def run_newsroles(args, articles) -> dict:
    from newsroles.inference.predictor import load_labeler

    folder = getattr(args, NEWSROLES_VARIANTS[args.worker])
    labeler = load_labeler(folder, "cpu")
    loaded = time.perf_counter()
    labeler.predict(articles[:2])  # warm-up
    seconds = time_repeats(lambda: labeler.predict(articles), args.repeats)
    out = {
        "sentences": sum(len(a.sentences) for a in articles),
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib() or float("nan"),  # before the accuracy pass below, which holds more articles
        "ready_at": loaded,
        "runtime": labeler.manifest.get("runtime") or "fp32",
        "window_overlap": labeler.runner.model.spec.window_overlap,
        "folder": str(folder),
    }
    if not args.no_f1:
        from newsroles.training.data.readers import read_articles
        from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

        everything = read_articles(args.data, labeler.labels)
        probs = labeler.predict(everything)
        gold, pred = gold_and_predictions(everything, probs, labeler.labels)
        metrics = compute_metrics(gold, pred, labeler.labels)
        out["macro_f1"] = metrics["macro_f1"]
        out["accuracy"] = metrics["accuracy"]
        out["f1_sentences"] = metrics["n"]
        out["argmax"] = [int(i) for p in probs for i in p.argmax(axis=1)]
    return out


def write_archive(data: Path, n_articles: int, n_sentences: int, path: Path) -> int:
    """A JSONL archive of `n_articles` raw-text stories ({id, title, text}); returns its sentence count."""
    from newsroles.training.data.readers import read_articles

    source = [a for a in read_articles(data) if a.sentences]
    total = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(n_articles):
            article = source[i % len(source)]
            sentences = [s.text for s in article.sentences[:n_sentences]]
            total += len(sentences)
            record = {"id": f"{article.id}-{i}", "title": article.title or "", "text": " ".join(sentences)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return total


def run_archive(args) -> dict:
    """(f): the `newsroles label` CLI in its own process, its peak RSS from the kernel's accounting."""
    with tempfile.TemporaryDirectory(prefix="newsroles-archive-") as work:
        archive, output = Path(work) / "archive.jsonl", Path(work) / "labels.jsonl"
        source_sentences = write_archive(args.data, args.archive_articles, args.archive_sentences, archive)
        folder = getattr(args, ARCHIVE_COPIES[args.archive_runtime])
        command = [sys.executable, "-m", "newsroles.inference.cli", "label", str(archive), "--model", str(folder),
                   "--output", str(output), "--quiet"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        started = time.perf_counter()
        stderr_file = Path(work) / "stderr.txt"
        with stderr_file.open("w") as err:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
            peak = 0.0
            while process.poll() is None:  # the high-water mark only grows: the last reading is the peak
                peak = max(peak, peak_rss_mib(process.pid) or 0.0)
                time.sleep(0.05)
        seconds = time.perf_counter() - started
        stderr = stderr_file.read_text()
        if process.returncode != 0:
            sys.exit(f"variant f failed:\n{stderr[-3000:]}")
        articles = sentences = 0
        with output.open(encoding="utf-8") as labeled:
            for line in labeled:
                articles += 1
                sentences += len(json.loads(line)["sentences"])
    if articles != args.archive_articles:
        sys.exit(f"variant f: {articles} articles in the output, {args.archive_articles} expected")
    return {
        "sentences": sentences,
        "source_sentences": source_sentences,
        "articles": articles,
        "seconds": [seconds],  # one run: process start, model loading and writing included
        "peak_rss_mib": peak,
        "load_seconds": float("nan"),
        "threads": args.threads or None,
        "runtime": "label CLI",
    }


def run_cli(folder, inputs: Path, output: Path, threads: int, extra: tuple[str, ...] = ()) -> float:
    """Seconds for one `newsroles label` process, start to exit (`extra`: more of its options)."""
    command = [sys.executable, "-m", "newsroles.inference.cli", "label", str(inputs), "--model", str(folder),
               "--output", str(output), "--quiet", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`newsroles label` failed:\n{done.stderr[-3000:]}")
    return seconds


def run_end_to_end(args, startup: bool) -> dict:
    """(h) and (s): the CLI in a new process per run, on the stories of (a)-(e) or one sentence."""
    articles = select_articles(args.data, args.sentences)
    if startup:
        articles = [articles[0]]
        articles[0].sentences = articles[0].sentences[:1]
    folder = getattr(args, ARCHIVE_COPIES[args.e2e_runtime])
    with tempfile.TemporaryDirectory(prefix="newsroles-e2e-") as work:
        inputs, output = Path(work) / "stories.jsonl", Path(work) / "labels.jsonl"
        with inputs.open("w", encoding="utf-8") as out:
            for a in articles:
                record = {"id": a.id, "title": a.title or "", "text": " ".join(s.text for s in a.sentences)}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        seconds = [run_cli(folder, inputs, output, args.threads) for _ in range(args.repeats)]
        written = sum(len(json.loads(line)["sentences"]) for line in output.open(encoding="utf-8"))
    return {
        "sentences": written,
        "source_sentences": sum(len(a.sentences) for a in articles),
        "articles": len(articles),
        "seconds": seconds,
        "peak_rss_mib": float("nan"),
        "load_seconds": float("nan"),
        "threads": args.threads or None,
        "runtime": f"label CLI, {args.e2e_runtime}",
    }


def worker(args) -> None:
    started = time.perf_counter()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    articles = select_articles(args.data, args.sentences)
    result = run_pipeline(args, articles) if args.worker in ("a", "b") else run_newsroles(args, articles)
    result["load_seconds"] = result.pop("ready_at") - started
    result["threads"] = torch.get_num_threads()
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Parent: run the variants, print the table


def run_variant(variant: str, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        variant,
        "--model",
        str(args.model),
        "--data",
        str(args.data),
        "--sentences",
        str(args.sentences),
        "--repeats",
        str(args.repeats),
    ]
    for option in ("optimised", "int8", "bf16"):
        if getattr(args, option):
            command += [f"--{option}", str(getattr(args, option))]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.no_f1:
        command.append("--no-f1")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM", "false")}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"variant {variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def ensure_copies(args) -> list[str]:
    """The folders (d) and (e) time: given, beside MODEL, or exported now into a temporary folder."""
    from newsroles.inference.export.exporter import export_model

    notes, tmp = [], None
    wanted = {"d": ("optimised", "onnx"), "e": ("int8", "onnx-int8"), "g": ("bf16", "bf16")}
    for variant, (option, suffix) in wanted.items():
        needed = (
            variant in args.variants
            or ("f" in args.variants and suffix == args.archive_runtime)
            or (bool(set("hs") & set(args.variants)) and suffix == args.e2e_runtime)
        )
        if not needed or getattr(args, option):
            continue
        beside = args.model.with_name(f"{args.model.name}-{suffix}")
        if (beside / "newsroles.json").is_file():
            setattr(args, option, beside)
            continue
        tmp = tmp or Path(tempfile.mkdtemp(prefix="newsroles-bench-"))
        print(f"exporting {args.model} ({suffix}) into {tmp} ...", file=sys.stderr, flush=True)
        tune = args.data if suffix == "onnx-int8" else None  # see (e) above
        report = export_model(args.model, tmp / suffix, runtime=suffix, tune_bias_data=tune)
        setattr(args, option, report.folder)
        notes.append(f"({variant}) exported for this run in {report.seconds:.0f} s")
    return notes


def cpu_busy_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (all cores, all processes)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    import resource

    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def display(path) -> str:
    """A path as the table shows it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for name in ("torch", "transformers", "onnxruntime"):
        try:
            from importlib import metadata

            versions.append(f"{name} {metadata.version(name)}")
        except Exception:
            pass
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, " + ", ".join(versions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="fp32 transformer model folder")
    parser.add_argument("--optimised", type=Path, help="its default export (default: MODEL-onnx, else exported now)")
    parser.add_argument("--int8", type=Path, help="its onnx-int8 export (default: MODEL-onnx-int8, else exported now)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labeled .jsonl (default: the validation split)")
    parser.add_argument("--sentences", type=int, default=1000, help="time the first articles holding at least this many sentences (0: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="PyTorch threads in every variant (default: PyTorch's own)")
    parser.add_argument("--bf16", type=Path, help="its bf16 export (default: MODEL-bf16, else exported now)")
    parser.add_argument("--variants", default="abcdegf", help="which of a, b, c, d, e, g, f, h, s to run")
    parser.add_argument("--archive-runtime", default="bf16", choices=sorted(ARCHIVE_COPIES), help="the copy (f) labels with")
    parser.add_argument("--e2e-runtime", default="onnx-int8", choices=sorted(ARCHIVE_COPIES), help="the copy (h) and (s) label with")
    parser.add_argument("--archive-articles", type=int, default=10_000, help="stories in the archive of (f)")
    parser.add_argument("--archive-sentences", type=int, default=5, help="sentences per story in the archive of (f)")
    parser.add_argument("--no-f1", action="store_true", help="skip the macro-F1 pass of (c) and (d)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--worker", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    export_notes = ensure_copies(args)
    wall, busy, own = time.perf_counter(), cpu_busy_seconds(), own_cpu_seconds()
    results = {}
    for variant in args.variants:
        print(f"running ({variant}) {VARIANTS[variant]} ...", file=sys.stderr, flush=True)
        if variant in "hs":
            results[variant] = run_end_to_end(args, startup=variant == "s")
        else:
            results[variant] = run_archive(args) if variant == "f" else run_variant(variant, args)
    wall = time.perf_counter() - wall
    others = max(0.0, (cpu_busy_seconds() - busy) - (own_cpu_seconds() - own))  # CPU time of other processes

    for r in results.values():
        r["per_second"] = [r["sentences"] / s for s in r["seconds"]]
        r["median"] = statistics.median(r["per_second"])
    first = next(iter(results.values()))
    lines = [
        f"| variant | sentences/s (median of {args.repeats}) | each run | vs (a) | vs (b) | peak RSS (MiB) | start-up (s) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for variant, r in results.items():
        if variant == "f":
            continue  # its own line below: a different workload
        if variant == "s":
            runs = ", ".join(f"{x:.2f}" for x in r["seconds"])
            lines.append(f"| ({variant}) {VARIANTS[variant]} ({r['runtime']}) | **{statistics.median(r['seconds']):.2f} s** | {runs} s | | | | |")
            continue
        ratios = [f"{r['median'] / results[ref]['median']:.2f}x" if ref in results else "" for ref in ("a", "b")]
        runs = ", ".join(f"{x:.0f}" for x in r["per_second"])
        name = VARIANTS[variant] + (f" ({r['runtime']})" if variant in ("d", "e", "g") else "")
        lines.append(
            f"| ({variant}) {name} | {r['median']:.1f} | {runs} | {ratios[0]} | {ratios[1]} | "
            f"{r['peak_rss_mib']:.0f} | {r['load_seconds']:.1f} |"
        )
    notes = [
        f"Machine: {machine_line()}; {first['threads']} threads in every variant. "
        f"Speed on the first {first['sentences']} sentences of `{display(args.data)}` "
        f"(whole articles); start-up = process start to model ready; peak RSS includes loading.",
    ]
    for variant in ("d", "e", "g"):
        if variant in results:
            r = results[variant]
            notes.append(f"({variant}): `{display(r['folder'])}`, runtime {r['runtime']}, window overlap {r['window_overlap']}.")
    if "h" in results:
        r = results["h"]
        notes.append(
            f"(h) labels the {r['articles']} stories of (a)-(e) given as raw text: our splitter finds {r['sentences']} sentences "
            f"in them ({r['source_sentences']} in the data); each run is a new process, start-up, imports, loading, splitting "
            f"and writing included."
        )
    if "f" in results:
        r = results["f"]
        notes.append(
            f"(f) `newsroles label` on an archive of {r['articles']:,} stories ({r['sentences']:,} sentences after our splitter; "
            f"the stories' first {args.archive_sentences} sentences from the validation split, as raw text in one JSONL file) "
            f"with the {args.archive_runtime} copy: peak RSS **{r['peak_rss_mib']:.0f} MiB**, {r['median']:.0f} sentences/s "
            f"end to end (process start, model loading, splitting and writing included)."
        )
    if export_notes:
        notes.append("; ".join(export_notes) + ".")
    if "macro_f1" in results.get("c", {}):
        c = results["c"]
        scores = [f"macro-F1 {c['macro_f1']:.4f} for (c) fp32 (accuracy {c['accuracy']:.4f})"]
        for variant in ("d", "e", "g"):
            if "macro_f1" in results.get(variant, {}):
                r = results[variant]
                agree = sum(x == y for x, y in zip(c["argmax"], r["argmax"])) / max(1, len(c["argmax"]))
                scores.append(
                    f"{r['macro_f1']:.4f} for ({variant}) ({100 * (r['macro_f1'] - c['macro_f1']):+.2f} points; "
                    f"accuracy {r['accuracy']:.4f}; the same label as (c) for {100 * agree:.1f}% of sentences)"
                )
        notes.append(f"Accuracy on all of `{display(args.data)}` ({c['f1_sentences']} scored sentences): " + ", ".join(scores) + ".")
    quiet = others / wall <= 0.1
    notes.append(
        f"Other processes used {others:.0f} CPU-seconds during the {wall:.0f} s run ({others / wall:.2f} cores on average): "
        + ("the machine was quiet." if quiet else "**something else was running, so these figures are noisy**; re-run on a quiet machine.")
    )
    notes.append(f"Command: `python benchmarks/labeling_speed.py {' '.join(sys.argv[1:])}`.")
    text = "\n".join(lines) + "\n\n" + "\n\n".join(notes)
    print("\n" + text)
    if not args.no_write:
        replace_section(REPO / "BENCHMARKS.md", "labeling-speed", text)
    if args.json:
        for r in results.values():
            r.pop("argmax", None)
        args.json.write_text(json.dumps({"machine": machine_line(), "other_cpu_seconds": others, "wall_seconds": wall, "results": results}, indent=2))


if __name__ == "__main__":
    main()
