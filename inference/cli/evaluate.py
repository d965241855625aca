"""`newsroles evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors


@app.command("evaluate")
@user_errors
def evaluate(
    models: list[str] = typer.Argument(..., help="One or more models: folder, version id, name or name/version."),
    data: Path = typer.Argument(..., help="Labeled .jsonl, .csv, .tsv, .parquet or .arrow file (sentence tables: default column names)."),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the metrics as JSON here (a list for several models)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", "-d", help="Where ids and names are looked up."),
    record: bool = typer.Option(True, "--record/--no-record", help="Record the evaluation in each model's folder (evaluations/)."),
    plot: Path = typer.Option(None, "--plot", help="Write a reliability diagram (confidence against accuracy) here: .png, .svg or .pdf."),
):
    """Report per-label precision, recall and F1, macro/micro F1, accuracy and the confusion matrix.

    Each evaluation is recorded in the model's folder (evaluations/<data fingerprint>.json) and its
    model card; evaluating on the same data again replaces that record.

    Example: newsroles evaluate models/default/<version> data/newsdiscourse/validation.jsonl -o eval.json
    """
    import json

    from rich.console import Console

    from newsroles.inference.reliability_plot import check_plot_path, write_reliability_plot
    from newsroles.model.card_evaluations import record_evaluation
    from newsroles.model.fileio import atomic_file
    from newsroles.model.registry import resolve_path
    from newsroles.inference.evaluate import evaluate_model
    from newsroles.training.evaluate import confusion_table, metrics_table
    from newsroles.training.withheld import summary_lines

    if plot is not None:
        check_plot_path(plot)  # before the models run
    console = Console()
    results = []
    for ref in models:
        folder = resolve_path(ref, models_dir)
        result = evaluate_model(folder, data, device, batch_size)
        results.append(result)
        console.print(metrics_table(result, title=f"{ref} on {data}"))
        console.print(confusion_table(result))
        for line in summary_lines(result):
            console.print(line)
        if record:
            try:
                record_evaluation(folder, result)
            except OSError as exc:
                stderr_console().print(f"warning: could not record the evaluation in {folder} ({exc})")
    if plot is not None:
        write_reliability_plot(results, plot, names=list(models))
        console.print(f"reliability diagram written to {plot}")
    if output is not None:
        with atomic_file(output) as fh:
            json.dump(results[0] if len(results) == 1 else results, fh, indent=2)
            fh.write("\n")
        console.print(f"metrics written to {output}")
