"""`newsroles distill-targets`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors
from newsroles.inference.cli.grammar import DATA_FORMATS, DEVICE_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, Device, models_and_data, value
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
write_teacher_targets = lazy("newsroles.inference.distill_targets", "write_teacher_targets")


@app.command("distill-targets")
@user_errors
def distill_targets(
    arguments: list[str] = typer.Argument(
        ..., metavar="MODEL [DATA...]", help=f"The teacher model ({MODEL_HELP_SHORT}), then the data unless --data gives it."
    ),
    data: list[str] = typer.Option(
        None, "--data", "-d", metavar="FILE", help=f"Labeled data the student trains on ({DATA_FORMATS}); repeatable."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Targets file to write (.json.gz; plain JSON otherwise)."),
    device: Device = typer.Option(Device.auto, "--device", help=DEVICE_HELP),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch."),
    decimals: int = typer.Option(4, "--decimals", min=1, max=8, help="Probabilities are rounded to this many decimals."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    unlabeled: list[Path] = typer.Option(
        None, "--unlabeled", "-u", help="Split stories without gold labels (any file `data convert` writes), for a "
        "semi-supervised student (data.unlabeled); repeatable.",
    ),
):
    """Write a teacher model's per-sentence label probabilities on labeled data: the soft labels a
    student learns from with --train.distill_targets FILE (no corpus text is stored).

    Example: newsroles distill-targets models/accurate/<version> data/newsdiscourse/train.jsonl -o teacher.json.gz

    Example: newsroles distill-targets accurate -d data/newsdiscourse/train.jsonl -d data/newsdiscourse/validation.jsonl --unlabeled data/stories.jsonl -o teacher.json.gz
    """
    (teacher,), data, models_dir = models_and_data(arguments, data, models_dir, at_most=1, many_data=True)
    written = write_teacher_targets(teacher, data, output, value(device), batch_size, decimals, progress=not quiet,
                                    unlabeled=unlabeled or [], models_dir=models_dir)
    stderr_console().print(f"teacher targets written to {written}")
    typer.echo(str(written))
