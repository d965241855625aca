"""`newsroles label --engine ray`: label an archive with a pool of labeler actors on Ray Data.

    report = label_archive(["archive/"], "models/default/<version>", "labeled/", workers=4)

The driver cuts the input into shards (`shards.plan_shards`: deterministic, by input order) and
skips those already done; a Ray dataset of the remaining shard descriptions flows through a pool of
`ShardLabeler` actors, each loading the model once and labeling and writing whole shards
(`shards.label_shard`). A killed actor is restarted and its shard retried: Ray Data gives its actor
pools max_restarts=-1 and max_task_retries=-1 (without limit; Ray 2.60 deprecates setting them,
and an exception raised in a labeler is not retried, it ends the run). The retry starts the shard's
file afresh, so nothing is lost or written twice.
Workers read the input and write the output folder themselves, so on a cluster both (and the model
folder) must be where every node can reach them: a shared file system, or object-store URIs for the
input.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from newsroles.inference.archive.shards import (
    SHARD_FORMATS,
    Shard,
    check_manifest,
    input_files,
    label_shard,
    pending_shards,
    plan_shards,
    read_marker,
    write_success,
)
from newsroles.inference.predictor import load_labeler
from newsroles.model.errors import UserError
from newsroles.model.store.folder import read_manifest
from newsroles.model.store.registry import newest_version, resolve

RAY_MISSING = "the ray engine needs Ray: pip install 'newsroles[ray]'"
# Fault injection for the retry tests: the path of a marker file; the first actor to write an
# article creates it and kills its own process, once.
DIE_ONCE_ENV = "NEWSROLES_RAY_DIE_ONCE"


@dataclass
class ArchiveReport:
    shards: int = 0
    done_before: int = 0  # shards a previous run finished (resume)
    labeled: list[int] = field(default_factory=list)  # shards labeled by this run
    articles: int = 0
    sentences: int = 0
    seconds: float = 0.0
    busy_seconds: float = 0.0  # the labelers' time on the shards of this run (no start-up)
    busy_sentences: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UserError(RAY_MISSING) from None
    return ray


class ShardLabeler:
    """A Ray Data actor: loads the model once, then labels and writes whole shards."""

    def __init__(self, model: str, device: str, out: str, fmt: str, batch_size, skip_bad: bool, threads: int, die_once,
                 min_confidence: float | None = None):
        if device == "cpu" or not _has_cuda():
            import torch

            torch.set_num_threads(max(1, threads))
        self.labeler = load_labeler(model, device, min_confidence=min_confidence)  # as `newsroles label` (inference/withhold.py)
        self.out, self.fmt, self.batch_size, self.skip_bad = Path(out), fmt, batch_size, skip_bad
        self.die_once = die_once

    def __call__(self, batch: dict) -> dict:
        results = []
        for spec in batch["shard"]:
            shard = Shard.from_json(str(spec))
            try:
                stats = label_shard(
                    self.labeler, shard, self.out, self.fmt, self.batch_size, self.skip_bad, self._fault
                )
            except UserError as exc:  # bad input: said by the driver, not retried
                stats = {"shard": shard.index, "error": str(exc)}
            results.append(json.dumps(stats))
        return {"result": results}

    def _fault(self, written: int) -> None:
        if self.die_once and written == 2 and not os.path.exists(self.die_once):
            Path(self.die_once).touch()
            os._exit(1)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def label_archive(
    inputs: list[str],
    model: str | Path | None,
    output: str | Path,
    fmt: str = "jsonl",
    shard_size: int = 1000,
    workers: int = 1,
    cpus_per_worker: float = 1,
    gpus_per_worker: float = 0,
    address: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    skip_bad: bool = False,
    progress: bool = False,
    min_confidence: float | None = None,
    models_dir: str | Path = "models",
) -> ArchiveReport:
    """Label every article of `inputs` into shards under `output`; resumes a run left unfinished.
    `model`: a folder, id, name or installed package (None: the newest in `models_dir`); the
    workers load it by its folder."""
    if fmt not in SHARD_FORMATS:
        raise UserError(f"the ray engine writes jsonl or parquet shards, not '{fmt}'")
    if workers < 1:
        raise UserError(f"--ray-workers must be at least 1, not {workers}")
    ray = import_ray()
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UserError("--output must be a folder for the shards with --engine ray", out)
    model = str((resolve(model, models_dir) if model else newest_version(models_dir)).path.resolve())
    read_manifest(Path(model))  # a bad model folder is said before any cluster starts
    started = time.perf_counter()
    files = input_files(inputs)
    shards = plan_shards(files, shard_size)
    check_manifest(out, {"inputs": [uri for uri, _ in files], "shard_size": shard_size, "format": fmt, "model": model, "shards": len(shards), "min_confidence": min_confidence})
    todo = pending_shards(out, shards, fmt)
    report = ArchiveReport(shards=len(shards), done_before=len(shards) - len(todo))

    if todo:
        own_cluster = _connect(ray, address, workers * cpus_per_worker)
        try:
            results = _run(ray, todo, model, out, fmt, workers, cpus_per_worker, gpus_per_worker, device, batch_size, skip_bad, progress,
                           min_confidence)
        finally:
            if own_cluster:
                ray.shutdown()
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise UserError(errors[0])
        report.labeled = sorted(r["shard"] for r in results)
        report.busy_seconds = sum(r["seconds"] for r in results)
        report.busy_sentences = sum(r["sentences"] for r in results)
    for shard in shards:
        stats = read_marker(out, shard.index, fmt)
        if stats is None:  # cannot happen unless the folder changed under us: say so, never report success
            raise UserError(f"shard {shard.index} was not written; rerun to resume", out)
        report.articles += stats["articles"]
        report.sentences += stats["sentences"]
        report.skipped += stats["skipped"]
    report.seconds = time.perf_counter() - started
    write_success(out, {"shards": report.shards, "articles": report.articles, "sentences": report.sentences})
    return report


def _connect(ray, address: str | None, cpus: float) -> bool:
    """Join the cluster at `address`, or start a quiet local one; True when we started it."""
    if ray.is_initialized():
        return False
    common = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False, configure_logging=True)
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, int(round(cpus))), **common)
    except ConnectionError as exc:
        raise UserError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return True


def _run(ray, todo, model, out, fmt, workers, cpus_per_worker, gpus_per_worker, device, batch_size, skip_bad, progress, min_confidence):
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = progress
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # not its plan and "progress bars disabled"
    out.mkdir(parents=True, exist_ok=True)
    if gpus_per_worker > 0 and device == "auto":
        device = "cuda"
    elif gpus_per_worker == 0 and device == "auto":
        device = "cpu"  # a worker without a GPU reserved must not take one that is there
    dataset = ray.data.from_items([{"shard": s.to_json()} for s in todo], override_num_blocks=len(todo))
    labeled = dataset.map_batches(
        ShardLabeler,
        batch_size=1,
        # A shard at a time per labeler: even load, and a dead labeler takes only one shard with it.
        compute=ray.data.ActorPoolStrategy(size=min(workers, len(todo)), max_tasks_in_flight_per_actor=1),
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
        fn_constructor_kwargs=dict(
            model=model, device=device, out=str(out.resolve()), fmt=fmt, batch_size=batch_size,
            skip_bad=skip_bad, threads=int(max(1, cpus_per_worker)), die_once=os.environ.get(DIE_ONCE_ENV),
            min_confidence=min_confidence,
        ),
    )  # Ray Data restarts a dead labeler and retries its shard (max_restarts, max_task_retries: -1)
    return [json.loads(row["result"]) for row in labeled.take_all()]
