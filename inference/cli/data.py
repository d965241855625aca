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
    source: Path = typer.Argument(..., help="NewsDiscourse brat folder (a split, or the root holding train/ and validation/), or a Label Studio export (.json: JSON or JSON-MIN)."),
    dest: Path = typer.Argument(..., help="Output .jsonl file, or a folder for one .jsonl per split."),
    mapping: str = typer.Option("roles", "--mapping", "-m", help="Label mapping: a bundled name (roles, content-types) or a YAML path; for a Label Studio export, its label set."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip articles with problems and count them instead of stopping."),
    merge: Path = typer.Option(None, "--merge", help="Label Studio: start from this training .jsonl; a story of the export replaces the one with its id, new stories are added (DEST may be the same file)."),
    use_predictions: bool = typer.Option(False, "--use-predictions", help="Label Studio: take a task's prediction when nobody annotated it (default: leave it out)."),
    model: str = typer.Option(None, "--model", help="Label Studio: take the label set from this model (folder, id or name) instead of --mapping."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", "-d", help="Where model ids and names are looked up."),
):
    """Convert the NewsDiscourse brat corpus, or a Label Studio export, to training JSONL.

    Example: newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse

    Example: newsroles data convert export.json data/mine/train.jsonl --merge data/mine/train.jsonl
    """
    from newsroles.inference.annotation.convert import is_label_studio_export

    if is_label_studio_export(source):
        return _convert_label_studio(source, dest, mapping, merge, use_predictions, model, models_dir)
    if merge is not None or use_predictions or model is not None:
        from newsroles.model.errors import UserError

        raise UserError("--merge, --use-predictions and --model are for a Label Studio export (.json)", source)
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


def _convert_label_studio(source, dest, mapping, merge, use_predictions, model, models_dir):
    from newsroles.inference.annotation.convert import convert_label_studio, summary

    labels = _label_set(model, models_dir, mapping)
    report = convert_label_studio(source, dest, labels, merge=merge, use_predictions=use_predictions)
    for line in summary(report, dest):
        typer.echo(line, err=True)
    for note in report.shown_notes():
        typer.echo(f"note: {note}", err=True)


def _label_set(model: str | None, models_dir: Path, mapping: str) -> list[str]:
    if model is not None:
        from newsroles.model.folder import read_manifest
        from newsroles.model.registry import resolve_path

        return list(read_manifest(resolve_path(model, models_dir))["labels"])
    from newsroles.model.labels import load_mapping

    return list(load_mapping(mapping).labels)


@data_app.command("label-studio-config")
@user_errors
def label_studio_config(
    model: str = typer.Option(None, "--model", help="Model (folder, id or name) whose label set to use; default: the --mapping's labels."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", "-d", help="Where model ids and names are looked up."),
    mapping: str = typer.Option("roles", "--mapping", "-m", help="Label mapping whose labels to use when no --model is given."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the config to this file (default: print it)."),
):
    """Print the Label Studio labeling config for tasks from `newsroles label --format label-studio`.

    Example: newsroles data label-studio-config --model models/default/<version> -o config.xml
    """
    from newsroles.inference.annotation.tasks import labeling_config

    config = labeling_config(_label_set(model, models_dir, mapping))
    if output is None:
        typer.echo(config, nl=False)
        return
    from newsroles.model.fileio import atomic_file

    with atomic_file(output) as fh:
        fh.write(config)


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
