"""`newsroles evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors
from newsroles.inference.cli.grammar import DATA_HELP, DEVICE_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, Device, models_and_data, value
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
evaluate_models = lazy("newsroles.inference.evaluation.evaluate", "evaluate_models")
confusion_table, metrics_table = lazy("newsroles.training.evaluation.metrics", "confusion_table", "metrics_table")
summary_lines = lazy("newsroles.training.evaluation.withheld", "summary_lines")


@app.command("evaluate")
@user_errors
def evaluate(
    models: list[str] = typer.Argument(
        ..., metavar="MODEL... [DATA]", help=f"One or more models ({MODEL_HELP_SHORT}), then the data unless --data gives it."
    ),
    data: list[str] = typer.Option(None, "--data", "-d", metavar="FILE", help=DATA_HELP),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the metrics as JSON here (a list for several models)."),
    device: Device = typer.Option(Device.auto, "--device", help=DEVICE_HELP),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    record: bool = typer.Option(True, "--record/--no-record", help="Record the evaluation in each model's folder (evaluations/)."),
    plot: Path = typer.Option(None, "--plot", help="Write a reliability diagram (confidence against accuracy) here: .png, .svg or .pdf."),
):
    """Report per-label precision, recall and F1, macro/micro F1, accuracy and the confusion matrix.

    Each evaluation is recorded in the model's folder (evaluations/<data fingerprint>.json) and its
    model card; evaluating on the same data again replaces that record.

    Reads labeled data as .jsonl, .csv, .tsv, .parquet or .arrow files, or hf:ORG/NAME:SPLIT.

    Example: newsroles evaluate models/default/<version> data/newsdiscourse/validation.jsonl -o eval.json

    Example: newsroles evaluate default 3f9c2a1b --data data/newsdiscourse/validation.jsonl --plot reliability.png
    """
    from rich.console import Console

    models, (data,), models_dir = models_and_data(models, data, models_dir)
    console = Console()

    def show(ref: str, result: dict) -> None:
        console.print(metrics_table(result, title=f"{ref} on {data}"))
        console.print(confusion_table(result))
        for line in summary_lines(result):
            console.print(line)

    done = evaluate_models(models, data, models_dir=models_dir, device=value(device), batch_size=batch_size, record=record,
                           output=output, plot=plot, on_result=show)
    for warning in done.warnings:
        stderr_console().print(f"warning: {warning}")
    if plot is not None:
        console.print(f"reliability diagram written to {plot}")
    if output is not None:
        console.print(f"metrics written to {output}")
