"""`newsroles data convert EXPORT.json OUT.jsonl`: a Label Studio export to training JSONL,
optionally merged into an existing training file (by story id, without duplicates)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from newsroles.inference.annotation.export import ConvertReport, convert_export, merge_into
from newsroles.inference.io.writers import write_jsonl
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file
from newsroles.training.data.readers import read_articles


def is_label_studio_export(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".json"


def convert_label_studio(
    src: str | Path,
    dest: str | Path,
    labels: Sequence[str],
    merge: str | Path | None = None,
    use_predictions: bool = False,
) -> ConvertReport:
    """Write the export's articles to `dest` (.jsonl); with `merge`, that file's articles first, each
    replaced by the export's story of the same id (a corrected story wins), new stories after them."""
    dest = Path(dest)
    if dest.suffix.lower() != ".jsonl" or dest.is_dir():
        raise UserError("a Label Studio export converts to one .jsonl file; give OUT.jsonl", dest)
    articles, report = convert_export(src, labels, use_predictions)
    if not articles:
        raise UserError(
            f"no annotated story to convert ({_left_out(report) or 'the export is empty'}); "
            "submit annotations in Label Studio, or pass --use-predictions", src
        )
    if merge is not None:
        existing = read_articles(merge)
        articles, report.replaced, report.added = merge_into(existing, articles)
        report.kept = len(existing) - report.replaced
    with atomic_file(dest) as fh:
        write_jsonl(articles, fh)
    return report


def _left_out(report: ConvertReport) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(report.counts.items()))


def summary(report: ConvertReport, dest: str | Path) -> list[str]:
    """What the CLI prints: one line of totals, the merge, then each kind of case with its count."""
    counts = ", ".join(f"{k} {v}" for k, v in report.labels.most_common())
    lines = [f"{dest}: {report.articles} stories from Label Studio, {report.sentences} sentences ({counts}; unlabeled {report.unlabeled})"]
    if report.replaced is not None:
        lines.append(f"merged: {report.replaced} stories replaced, {report.added} added, {report.kept} kept")
    lines += [f"{kind}: {n}" for kind, n in sorted(report.counts.items())]
    return lines
