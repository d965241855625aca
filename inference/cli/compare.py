"""`newsroles compare A B [C ...] --data FILE`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors
from newsroles.inference.cli.grammar import DATA_HELP, DEVICE_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, Device, models_and_data, value
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
significantly_worse = lazy("newsroles.training.evaluation.compare", "significantly_worse")
run_comparison = lazy("newsroles.inference.evaluation.compare", "run_comparison")
comparison_tables = lazy("newsroles.inference.evaluation.compare_tables", "comparison_tables")


@app.command("compare")
@user_errors
def compare(
    models: list[str] = typer.Argument(
        ..., metavar="MODEL MODEL... [DATA]",
        help=f"Two or more models ({MODEL_HELP_SHORT}); the first is the reference. Then the data unless --data gives it.",
    ),
    data: list[str] = typer.Option(None, "--data", "-d", metavar="FILE", help=DATA_HELP + " Every model is scored on it."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the comparison as JSON here."),
    report: Path = typer.Option(None, "--report", "-r", help="Write a self-contained HTML report here."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    samples: int = typer.Option(1000, "--samples", min=1, help="Bootstrap resamples."),
    seed: int = typer.Option(13, "--seed", help="Bootstrap seed."),
    top: int = typer.Option(15, "--top", min=0, help="Changed sentences to print (all go to --output/--report)."),
    record: bool = typer.Option(True, "--record/--no-record", help="Record each evaluation in its model folder."),
    device: Device = typer.Option(Device.auto, "--device", help=DEVICE_HELP),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch."),
    fail_if_worse: bool = typer.Option(
        False, "--fail-if-worse", help="Exit with code 1 when a model is worse than the first by the bootstrap interval (for CI jobs)."
    ),
):
    """Score models on the same data and say whether the difference is real.

    Prints macro-F1, accuracy and per-role F1 side by side with deltas, a 95% confidence interval of
    the macro-F1 difference (paired bootstrap over articles), McNemar's test on per-sentence
    correctness and the sentences whose label changed, worst first. More than two models are
    compared against the first. Reads labeled data as .jsonl, .csv, .tsv, .parquet or .arrow files,
    or hf:ORG/NAME:SPLIT.

    Example: newsroles compare 3f9c2a1b default data/newsdiscourse/validation.jsonl --report compare.html

    Example (a CI gate): newsroles compare models/released models/candidate --data dev.jsonl --fail-if-worse
    """
    from rich.console import Console

    models, (data,), models_dir = models_and_data(models, data, models_dir, at_least=2)
    console = Console()

    def show(result: dict) -> None:
        for renderable in comparison_tables(result, top=top, width=console.width):
            console.print(renderable)

    compared = run_comparison(models, data, models_dir=models_dir, device=value(device), batch_size=batch_size, samples=samples,
                              seed=seed, record=record, output=output, report=report, on_result=show)
    result = compared.result
    notes = stderr_console()
    for warning in compared.warnings:
        notes.print(f"warning: {warning}")
    if output is not None:
        notes.print(f"comparison written to {output}")
    if report is not None:
        notes.print(f"report written to {report}")
    worse = significantly_worse(result)
    if fail_if_worse and worse:
        names = ", ".join(result["models"][c["b"]].get("ref") or str(result["models"][c["b"]].get("path")) for c in worse)
        typer.echo(f"worse than {models[0]} by the bootstrap interval: {names}", err=True)
        raise typer.Exit(1)
