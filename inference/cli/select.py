"""`newsroles select`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors
from newsroles.inference.cli.grammar import (
    DATA_FORMATS, DEVICE_HELP, LABEL_INPUTS_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, OLD_MODELS_DIR, Device, deprecated,
    old_models_dir_flag, value,
)
from newsroles.inference.cli.lazy import lazy
from newsroles.model.errors import UserError

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
select_stories = lazy("newsroles.inference.annotation.select", "select_stories")


class Measure(str, Enum):
    """select --measure (inference/annotation/select.py MEASURES)."""

    margin = "margin"
    entropy = "entropy"


class Aggregate(str, Enum):
    """select --aggregate (inference/annotation/select.py AGGREGATES)."""

    mean = "mean"
    max = "max"
    sum = "sum"


@app.command("select")
@user_errors
def select(
    pool: list[str] = typer.Argument(None, metavar="POOL...", help="The unlabeled stories to pick from. " + LABEL_INPUTS_HELP),
    n: int = typer.Option(50, "--n", min=1, help="How many stories to pick."),
    model: str = typer.Option(None, "--model", "-m", help=f"Model: {MODEL_HELP_SHORT} (default: the newest in --models-dir)."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    output: str = typer.Option("next-batch.json", "--output", "-o", help="Label Studio tasks (with the model's pre-annotations) to import, or - for stdout."),
    exclude: list[str] = typer.Option(
        [], "--exclude", "-x", help=f"Labeled data ({DATA_FORMATS}) whose story ids are never picked, e.g. your training file; repeatable."
    ),
    measure: Measure = typer.Option(Measure.margin, "--measure", help="Sentence uncertainty: margin (1 - gap between the two likeliest roles) or entropy."),
    aggregate: Aggregate = typer.Option(Aggregate.mean, "--aggregate", help="A story's uncertainty from its sentences': mean, max or sum."),
    diversity: float = typer.Option(0.3, "--diversity", min=0.0, max=1.0, help="Weight of novelty (unlike the stories already picked) against uncertainty, 0..1."),
    device: Device = typer.Option(Device.auto, "--device", help=DEVICE_HELP),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip bad records (and count them) instead of stopping."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
    old_pool: list[str] = typer.Option(None, "--pool", "-p", hidden=True),
    old_n: int = typer.Option(None, "-n", hidden=True, min=1),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Pick the stories whose labels would teach the model most, as Label Studio tasks.

    Example: newsroles select stories/ --model models/default/<version> --n 50 --exclude data/mine/train.jsonl -o next-batch.json
    """
    if old_pool:
        deprecated("--pool", "the stories as arguments: newsroles select POOL...")
        pool = [*(pool or []), *old_pool]
    if old_n is not None:
        deprecated("-n", "--n (-n is short for --name)")
        n = old_n
    if not pool:
        raise UserError("give the stories to pick from: newsroles select POOL... --model MODEL")
    models_dir = old_models_dir_flag(old_models_dir, models_dir)
    measure, aggregate = value(measure), value(aggregate)
    report = select_stories(pool, model, n, output, exclude=exclude, measure=measure, aggregate=aggregate,
                            diversity=diversity, models_dir=models_dir, device=value(device), skip_bad=skip_bad)
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
