"""`newsroles data convert` and `newsroles data stats`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from newsroles.inference.annotation.tasks import labeling_config
from newsroles.inference.cli._app import app, user_errors
from newsroles.inference.cli.grammar import (
    DATA_FORMATS, MODEL_HELP_SHORT, MODELS_DIR_HELP, OLD_MODELS_DIR, Annotators, ConvertFormat, CorpusFormat, model_or_old_mapping,
    old_models_dir_flag, value,
)
from newsroles.inference.cli.lazy import lazy
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file
from newsroles.model.store.folder import read_manifest
from newsroles.model.labels import load_mapping
from newsroles.model.store.registry import resolve_path

# What the commands run, imported when they run (cli/lazy.py: a TAB or --help loads none of it).
convert_label_studio, is_label_studio_export, summary = lazy(
    "newsroles.inference.annotation.convert", "convert_label_studio", "is_label_studio_export", "summary"
)
convert_brat = lazy("newsroles.training.data.brat", "convert_brat")
ReadOptions, convert_source, detect_format, read_source = lazy(
    "newsroles.training.data.sources", "ReadOptions", "convert_source", "detect_format", "read_source"
)
compute_stats, stats_table = lazy("newsroles.training.data.stats", "compute_stats", "stats_table")

data_app = typer.Typer(
    help="Convert and inspect corpora and data files.\n\nExample: newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


FORMAT_HELP = (
    "Source format: newsdiscourse, polnear, webis, unlabeled (stories {id, text}), articles (our data files) or "
    "label-studio (an export); default: told from the source (.json: a Label Studio export)."
)
STATS_FORMAT_HELP = (
    "Source format: newsdiscourse, polnear, webis, unlabeled (stories {id, text}) or articles (our data files); "
    "default: told from the source."
)
ANNOTATORS_HELP = "PolNeAR texts with several annotators: majority (default), union, first or mean (a soft target)."
MIN_WORDS_HELP = "Unlabeled stories with fewer words are skipped (and counted)."


@data_app.command("convert")
@user_errors
def convert(
    source: Path = typer.Argument(
        ..., help="A corpus folder (NewsDiscourse brat: a split or the root holding train/ and validation/; PolNeAR; Webis "
        f"editorials), a stories .jsonl/.parquet file, a Label Studio export (.json: JSON or JSON-MIN) or a data file ({DATA_FORMATS}).",
    ),
    dest: Path = typer.Argument(..., help="Output .jsonl file, or a folder for one .jsonl per split."),
    fmt: ConvertFormat = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    mapping: str = typer.Option(
        "roles", "--mapping", help="Label mapping: a bundled name (roles, content-types) or a YAML path (NewsDiscourse; for a Label Studio export, its label set)."
    ),
    annotators: Annotators = typer.Option(Annotators.majority, "--annotators", help=ANNOTATORS_HELP),
    min_words: int = typer.Option(50, "--min-words", min=0, help=MIN_WORDS_HELP),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip articles with problems and count them instead of stopping."),
    merge: Path = typer.Option(None, "--merge", help="Label Studio: start from this training .jsonl; a story of the export replaces the one with its id, new stories are added (DEST may be the same file)."),
    use_predictions: bool = typer.Option(False, "--use-predictions", help="Label Studio: take a task's prediction when nobody annotated it (default: leave it out)."),
    model: str = typer.Option(None, "--model", "-m", help=f"Label Studio: take the label set from this model ({MODEL_HELP_SHORT}) instead of --mapping."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Convert a corpus to JSONL: NewsDiscourse with its labels mapped to roles, PolNeAR and Webis
    sentences with auxiliary targets, unlabeled stories split into sentences, a Label Studio export
    into training data.

    Example: newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse

    Example: newsroles data convert ../shared/data/polnear data/polnear --format polnear

    Example: newsroles data convert export.json data/mine/train.jsonl --merge data/mine/train.jsonl
    """
    model, mapping = model_or_old_mapping(model, mapping)
    models_dir = old_models_dir_flag(old_models_dir, models_dir)
    fmt, annotators = value(fmt), value(annotators)
    if fmt == "label-studio" or (fmt is None and is_label_studio_export(source)):
        return _convert_label_studio(source, dest, mapping, merge, use_predictions, model, models_dir)
    if merge is not None or use_predictions or model is not None:
        raise UserError("--merge, --use-predictions and --model are for a Label Studio export (.json)", source)
    fmt = fmt or detect_format(source, default="newsdiscourse")
    if fmt == "newsdiscourse":
        return _convert_newsdiscourse(source, dest, mapping, skip_bad)
    options = ReadOptions(skip_bad=skip_bad, annotators=annotators, min_words=min_words)
    for report, out in convert_source(source, dest, fmt, options):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.targets.items()))
        typer.echo(
            f"{out}: {report.articles} articles, {report.sentences} sentences"
            + (f" (targets: {counts})" if counts else "")
            + (f", skipped {len(report.skipped)}" if report.skipped else ""),
            err=True,
        )
        _echo_skipped(report.skipped)


def _echo_skipped(lines: list[str], shown: int = 10) -> None:
    """What a reader skipped, one line each (the first `shown`; the rest counted)."""
    for line in lines[:shown]:
        typer.echo(f"skipped: {line}", err=True)
    if len(lines) > shown:
        typer.echo(f"skipped: ... and {len(lines) - shown} more", err=True)


def _convert_newsdiscourse(source: Path, dest: Path, mapping: str, skip_bad: bool) -> None:
    report = convert_brat(source, dest, mapping, skip_bad=skip_bad)
    for split in report.splits:
        counts = ", ".join(f"{k} {v}" for k, v in split.labels.most_common())
        typer.echo(
            f"{split.output}: {split.articles} articles, {split.sentences} sentences "
            f"({counts}; unlabeled {split.unlabeled})" + (f", skipped {len(split.skipped)} bad articles" if split.skipped else ""),
            err=True,
        )
        for skipped in split.skipped:
            typer.echo(f"skipped: {skipped.reason}", err=True)  # the reason names the file (and line)


def _convert_label_studio(source, dest, mapping, merge, use_predictions, model, models_dir):
    labels = _label_set(model, models_dir, mapping)
    report = convert_label_studio(source, dest, labels, merge=merge, use_predictions=use_predictions)
    for line in summary(report, dest):
        typer.echo(line, err=True)
    for note in report.shown_notes():
        typer.echo(f"note: {note}", err=True)


def _label_set(model: str | None, models_dir: Path, mapping: str) -> list[str]:
    if model is not None:
        return list(read_manifest(resolve_path(model, models_dir))["labels"])
    return list(load_mapping(mapping).labels)


@data_app.command("label-studio-config")
@user_errors
def label_studio_config(
    model: str = typer.Option(None, "--model", "-m", help=f"Model ({MODEL_HELP_SHORT}) whose label set to use; default: the --mapping's labels."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    mapping: str = typer.Option("roles", "--mapping", help="Label mapping whose labels to use when no --model is given."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the config to this file (default: print it)."),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Print the Label Studio labeling config for tasks from `newsroles label --format label-studio`.

    Example: newsroles data label-studio-config --model models/default/<version> -o config.xml
    """
    model, mapping = model_or_old_mapping(model, mapping)
    config = labeling_config(_label_set(model, old_models_dir_flag(old_models_dir, models_dir), mapping))
    if output is None:
        typer.echo(config, nl=False)
        return
    with atomic_file(output) as fh:
        fh.write(config)


@data_app.command("stats")
@user_errors
def stats(
    source: Path = typer.Argument(
        ..., help=f"A data file ({DATA_FORMATS}), a corpus folder (NewsDiscourse brat, PolNeAR, Webis editorials) "
        "or a stories .jsonl/.parquet file."
    ),
    fmt: CorpusFormat = typer.Option(None, "--format", "-f", help=STATS_FORMAT_HELP),
    annotators: Annotators = typer.Option(Annotators.majority, "--annotators", help=ANNOTATORS_HELP),
    min_words: int = typer.Option(50, "--min-words", min=0, help=MIN_WORDS_HELP),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip articles with problems and count them instead of stopping."),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
):
    """Print articles, sentences, the label distribution, auxiliary targets and skipped items of a
    data file or a corpus (all its splits together).

    Example: newsroles data stats data/newsdiscourse/validation.jsonl

    Example: newsroles data stats ../shared/data/polnear
    """
    from rich.console import Console

    fmt, annotators = value(fmt), value(annotators)
    fmt = fmt or detect_format(source, default="articles")
    options = ReadOptions(skip_bad=skip_bad, annotators=annotators, min_words=min_words)
    parts = read_source(source, fmt, options)
    articles = [a for _, part in parts for a in part]
    skipped = [line for report, _ in parts for line in report.skipped]
    # Our own data files have nothing to skip: their table stays as it was.
    result = compute_stats(articles, skipped=None if fmt == "articles" else skipped)
    names = [r.name for r, _ in parts if r.name]
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    Console().print(stats_table(result, title=str(source) + (f" ({', '.join(names)})" if names else "")))
    _echo_skipped(skipped)
