"""`newsroles label`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, is_tty, user_errors


@app.command("label")
@user_errors
def label(
    inputs: list[str] = typer.Argument(
        ..., help="Text or HTML files, folders, .jsonl files ({id, text} per line), .csv/.tsv (article_id, text), or - for stdin."
    ),
    model: str = typer.Option(
        None, "--model", "-m", help="Model: folder, version id, name or name/version (default: the newest in --models-dir)."
    ),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", "-d", help="Where ids and names are looked up."),
    output: str = typer.Option("-", "--output", "-o", help="Output file (.jsonl, .csv, .tsv) or - for the terminal."),
    fmt: str = typer.Option(None, "--format", "-f", help="table, jsonl, csv or tsv (default: table on the terminal, else from --output)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (auto picks a GPU when there is one)."),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch (default: 32 on CPU, 128 on GPU)."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip bad records (and count them) instead of stopping."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted JSONL run: skip articles already in --output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
):
    """Split stories into sentences and tag each with a role and a confidence.

    Example: newsroles label story.txt --model models/default/<version> --format jsonl -o labels.jsonl
    """
    from newsroles.inference.label import label_inputs

    report = label_inputs(
        inputs,
        model or None,
        models_dir=models_dir,
        output=output,
        fmt=fmt,
        device=device,
        batch_size=batch_size,
        skip_bad=skip_bad,
        resume=resume,
        progress=not quiet and is_tty(),
    )
    if not quiet:
        typer.echo(
            f"labeled {report.articles} articles, {report.sentences} sentences "
            f"in {report.seconds:.1f} s ({report.sentences_per_second:.0f} sentences/s)"
            + (f"; {report.resumed} already done" if report.resumed else "")
            + (f"; skipped {len(report.skipped)} bad records" if report.skipped else ""),
            err=True,
        )
    # Even with --quiet: what was left out must not go unnoticed. One plain line each.
    for message in report.skipped:
        typer.echo(f"skipped: {message}", err=True)
