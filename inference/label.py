"""`newsroles label` as a plain function: stories in, labeled sentences out, streamed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from newsroles.inference.annotation.tasks import TaskWriter, model_version
from newsroles.inference.io.inputs import LabelInputs
from newsroles.inference.predictor import load_labeler
from newsroles.inference.io.progress import sentence_bar
from newsroles.inference.io.writers import ArticleWriter, render_terminal
from newsroles.model.errors import UserError


@dataclass
class LabelReport:
    articles: int = 0
    sentences: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    resumed: int = 0  # articles already in the output of an interrupted run
    unlabeled: dict[str, int] = field(default_factory=dict)  # sentences left unlabeled, per reason

    def count(self, article) -> None:
        self.articles += 1
        self.sentences += len(article.sentences)
        for s in article.sentences:
            if s.reason is not None:
                self.unlabeled[s.reason] = self.unlabeled.get(s.reason, 0) + 1

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0


FORMATS = ("table", "jsonl", "csv", "tsv", "parquet", "html", "label-studio")


def label_inputs(
    paths: list[str],
    model: str | Path | None,
    output: str = "-",
    fmt: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    skip_bad: bool = False,
    resume: bool = False,
    progress: bool = True,
    min_confidence: float | None = None,
    stdin: IO | None = None,
    console=None,
    models_dir: str | Path = "models",
    offsets: bool = False,
) -> LabelReport:
    """Label every article of `paths` with `model`, writing `output` as it goes.

    `model` is a folder, version id, name or name/version (looked up in `models_dir`, as
    `evaluate` and `compare` do), or None for the newest model there.
    `min_confidence`: sentences below it are left unlabeled (label None, reason "low confidence");
    the HTML view also takes it as its low-confidence mark (default 0.5).
    `offsets`: the table shows each sentence's start-end (files always hold them).
    """
    fmt = fmt or ("table" if output == "-" else None)
    if fmt is None and str(output).lower().endswith(".json"):
        fmt = "label-studio"  # the one .json (not .jsonl) output: a Label Studio task list
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    if fmt == "table" and output != "-":
        raise UserError("the table format is for the terminal; write files as jsonl, csv, tsv, parquet or html", output)
    inputs = LabelInputs(paths, stdin=stdin, skip_bad=skip_bad)  # checks paths before the model loads
    # below min_confidence a sentence is left unlabeled (inference/withhold.py)
    labeler = load_labeler(model, device, models_dir=models_dir, min_confidence=min_confidence)
    report = LabelReport()
    bar = sentence_bar(progress, "labeling")
    started = time.perf_counter()

    def count(n_sentences: int) -> None:
        if bar is not None:
            bar.update(n_sentences)

    try:
        if fmt == "table":
            from rich.console import Console

            console = console or Console()
            for article in labeler.label_stream(inputs, batch_size=batch_size, progress=count):
                render_terminal([article], console, labeler.labels, offsets=offsets)
                report.count(article)
                _show_articles(bar, report.articles, started)
        else:
            with _writer(labeler, output, fmt, resume, min_confidence) as writer:
                report.resumed = len(writer.completed)
                todo = (a for a in inputs if a.id not in writer.completed)
                for article in labeler.label_stream(todo, batch_size=batch_size, progress=count):
                    writer.write(article)
                    report.count(article)
                    _show_articles(bar, report.articles, started)
    finally:
        if bar is not None:
            bar.close()
    report.seconds = time.perf_counter() - started
    report.skipped = list(inputs.skipped)
    return report


def _writer(labeler, output, fmt, resume, min_confidence):
    """The output file's writer: Label Studio tasks (one JSON array), or any format of ArticleWriter."""
    if fmt == "label-studio":
        if resume:
            raise UserError("--resume needs a JSONL output; Label Studio tasks are written in one go", output)
        return TaskWriter(output, model_version(labeler.path, labeler.manifest))
    return ArticleWriter(output, fmt, labels=labeler.labels, resume=resume, min_confidence=min_confidence)


def _show_articles(bar, articles: int, started: float, now: float | None = None) -> None:
    """The bar counts sentences (its rate is sentences/s); the articles and their rate go beside it.
    `now`: the clock reading to use (default: time.perf_counter())."""
    if bar is not None:
        rate = articles / max((time.perf_counter() if now is None else now) - started, 1e-9)
        bar.set_postfix({"articles": articles, "articles/s": f"{rate:.1f}"}, refresh=False)
