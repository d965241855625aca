"""`newsroles data convert` and `newsroles data stats`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors

data_app = typer.Typer(help="Convert and inspect labeled data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("convert")
@user_errors
def convert(
    source: Path = typer.Argument(..., help="NewsDiscourse brat folder (a split, or the root holding train/ and validation/)."),
    dest: Path = typer.Argument(..., help="Output .jsonl file, or a folder for one .jsonl per split."),
    mapping: str = typer.Option("roles", "--mapping", "-m", help="Label mapping: a bundled name (roles, content-types) or a YAML path."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip articles with problems and count them instead of stopping."),
):
    """Convert the NewsDiscourse brat corpus to JSONL, mapping its labels with a mapping file.

    Example: newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse
    """
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
    file: Path = typer.Argument(..., help="A .jsonl, .csv or .tsv file of labeled articles."),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
):
    """Print articles, sentences and the label distribution of a data file.

    Example: newsroles data stats data/newsdiscourse/validation.jsonl
    """
    import json

    from rich.console import Console

    from newsroles.training.readers import read_articles
    from newsroles.training.stats import compute_stats, stats_table

    result = compute_stats(read_articles(file))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        Console().print(stats_table(result, title=str(file)))
