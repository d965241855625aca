"""`newsroles data convert` and `newsroles data stats`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors
from newsroles.inference.cli.grammar import DATA_FORMATS, Annotators, CorpusFormat, deprecated, value

data_app = typer.Typer(
    help="Convert and inspect corpora and data files.\n\nExample: newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


FORMAT_HELP = (
    "Source format: newsdiscourse, polnear, webis, unlabeled (stories {id, text}) or articles (our data files); "
    "default: told from the source."
)
ANNOTATORS_HELP = "PolNeAR texts with several annotators: majority (default), union, first or mean (a soft target)."
MIN_WORDS_HELP = "Unlabeled stories with fewer words are skipped (and counted)."


@data_app.command("convert")
@user_errors
def convert(
    source: Path = typer.Argument(
        ..., help="A corpus folder (NewsDiscourse brat, PolNeAR, Webis editorials), a stories .jsonl/.parquet file, "
        f"or a data file ({DATA_FORMATS})."
    ),
    dest: Path = typer.Argument(..., help="Output .jsonl file, or a folder for one .jsonl per split."),
    fmt: CorpusFormat = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    mapping: str = typer.Option("roles", "--mapping", help="NewsDiscourse label mapping: a bundled name (roles, content-types) or a YAML path."),
    annotators: Annotators = typer.Option(Annotators.majority, "--annotators", help=ANNOTATORS_HELP),
    min_words: int = typer.Option(50, "--min-words", min=0, help=MIN_WORDS_HELP),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip articles with problems and count them instead of stopping."),
    old_mapping: str = typer.Option(None, "-m", hidden=True),
):
    """Convert a corpus to JSONL: NewsDiscourse with its labels mapped to roles, PolNeAR and Webis
    sentences with auxiliary targets, unlabeled stories split into sentences.

    Example: newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse

    Example: newsroles data convert ../shared/data/polnear data/polnear --format polnear
    """
    from newsroles.training.data.sources import ReadOptions, convert_source, detect_format

    if old_mapping is not None:
        deprecated("-m for the label mapping", "--mapping (-m is short for --model now)")
        mapping = old_mapping
    fmt, annotators = value(fmt), value(annotators)
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
    from newsroles.training.brat import convert_brat

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


@data_app.command("stats")
@user_errors
def stats(
    source: Path = typer.Argument(
        ..., help=f"A data file ({DATA_FORMATS}), a corpus folder (NewsDiscourse brat, PolNeAR, Webis editorials) "
        "or a stories .jsonl/.parquet file."
    ),
    fmt: CorpusFormat = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
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
    import json

    from rich.console import Console

    from newsroles.training.data.sources import ReadOptions, detect_format, read_source
    from newsroles.training.stats import compute_stats, stats_table

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
