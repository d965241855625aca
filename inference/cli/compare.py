"""`newsroles compare A B [C ...] --data FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors
from newsroles.inference.cli.grammar import DATA_HELP, DEVICE_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, Device, models_and_data, value
from newsroles.inference.cli.lazy import lazy
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
record_evaluation = lazy("newsroles.model.cards.card", "record_evaluation")
significantly_worse, to_json = lazy("newsroles.training.evaluation.compare", "significantly_worse", "to_json")
compare_models = lazy("newsroles.inference.evaluation.compare", "compare_models")
write_report = lazy("newsroles.inference.evaluation.compare_report", "write_report")
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
    models, (data,), models_dir = models_and_data(models, data, models_dir, at_least=2)
    result = run_compare(models, data, output=output, report=report, models_dir=models_dir, samples=samples, seed=seed,
                         top=top, record=record, device=value(device), batch_size=batch_size)
    worse = significantly_worse(result)
    if fail_if_worse and worse:
        names = ", ".join(result["models"][c["b"]].get("ref") or str(result["models"][c["b"]].get("path")) for c in worse)
        typer.echo(f"worse than {models[0]} by the bootstrap interval: {names}", err=True)
        raise typer.Exit(1)


def run_compare(
    models: list[str],
    data: Path,
    *,
    output: Path | None = None,
    report: Path | None = None,
    models_dir: Path = Path("models"),
    samples: int = 1000,
    seed: int = 13,
    top: int = 15,
    record: bool = True,
    device: str = "auto",
    batch_size: int | None = None,
) -> dict:
    from rich.console import Console

    if len(models) < 2:
        raise UserError("compare needs at least two models (ids, names or folders)")
    result = compare_models(models, data, models_dir=models_dir, device=device, batch_size=batch_size, samples=samples, seed=seed)
    console = Console()
    for renderable in comparison_tables(result, top=top, width=console.width):
        console.print(renderable)
    notes = stderr_console()
    if record:
        record_evaluations(result, notes)
    if output is not None:
        with atomic_file(output) as fh:
            json.dump(to_json(result), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        notes.print(f"comparison written to {output}")
    if report is not None:
        write_report(result, report)
        notes.print(f"report written to {report}")
    return result


def record_evaluations(result: dict, console) -> None:
    """Record each model's evaluation in its folder; a folder that cannot be written is only a warning."""
    for row in result["models"]:
        try:
            record_evaluation(row["path"], row["evaluation"])
        except OSError as exc:
            console.print(f"warning: could not record the evaluation in {row['path']} ({exc})")
