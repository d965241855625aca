"""`newsroles evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors


@app.command("evaluate")
@user_errors
def evaluate(
    model: Path = typer.Argument(..., help="Model folder (transformer or TF-IDF baseline)."),
    data: Path = typer.Argument(..., help="Labeled .jsonl, .csv or .tsv file."),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the metrics as JSON here."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch."),
):
    """Report per-label precision, recall and F1, macro/micro F1, accuracy and the confusion matrix.

    Example: newsroles evaluate models/default/<version> data/newsdiscourse/validation.jsonl -o eval.json
    """
    import json

    from rich.console import Console

    from newsroles.model.fileio import atomic_file
    from newsroles.training.evaluate import confusion_table, evaluate_model, metrics_table

    result = evaluate_model(model, data, device, batch_size)
    console = Console()
    console.print(metrics_table(result, title=f"{model} on {data}"))
    console.print(confusion_table(result))
    if output is not None:
        with atomic_file(output) as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
        console.print(f"metrics written to {output}")
