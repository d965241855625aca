"""`newsroles select`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors


@app.command("select")
@user_errors
def select(
    pool: list[str] = typer.Option(..., "--pool", "-p", help="Unlabeled stories: text/HTML files, folders, .jsonl, .csv/.tsv or .parquet (as `label` reads them); repeat for several."),
    n: int = typer.Option(50, "--n", "-n", min=1, help="How many stories to pick."),
    model: str = typer.Option(None, "--model", "-m", help="Model: folder, version id, name or name/version (default: the newest in --models-dir)."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", "-d", help="Where ids and names are looked up."),
    output: str = typer.Option("next-batch.json", "--output", "-o", help="Label Studio tasks (with the model's pre-annotations) to import, or - for stdout."),
    exclude: list[Path] = typer.Option([], "--exclude", "-x", help="Labeled data (.jsonl, .csv) whose story ids are never picked, e.g. your training file; repeat for several."),
    measure: str = typer.Option("margin", "--measure", help="Sentence uncertainty: margin (1 - gap between the two likeliest roles) or entropy."),
    aggregate: str = typer.Option("mean", "--aggregate", help="A story's uncertainty from its sentences': mean, max or sum."),
    diversity: float = typer.Option(0.3, "--diversity", min=0.0, max=1.0, help="Weight of novelty (unlike the stories already picked) against uncertainty, 0..1."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip bad records (and count them) instead of stopping."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
):
    """Pick the stories whose labels would teach the model most, as Label Studio tasks.

    Example: newsroles select --model models/default/<version> --pool stories/ --n 50 --exclude data/mine/train.jsonl -o next-batch.json
    """
    from newsroles.inference.annotation.select import select_stories

    report = select_stories(pool, model, n, output, exclude=exclude, measure=measure, aggregate=aggregate,
                            diversity=diversity, models_dir=models_dir, device=device, skip_bad=skip_bad)
    if not quiet:
        typer.echo(
            f"picked {len(report.picked)} of {report.pool} stories"
            + (f" ({report.excluded} already labeled)" if report.excluded else "")
            + f" into {output}; {measure} uncertainty ({aggregate}) from {report.picked[0][1]:.3f} to {report.picked[-1][1]:.3f}"
            if report.picked else f"picked no story of {report.pool} ({report.excluded} already labeled)",
            err=True,
        )
    for message in report.skipped:
        typer.echo(f"skipped: {message}", err=True)
