"""`newsroles distill-targets`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors


@app.command("distill-targets")
@user_errors
def distill_targets(
    teacher: str = typer.Argument(..., help="The teacher model: folder, version id, name or name/version."),
    data: list[Path] = typer.Argument(..., help="Labeled .jsonl, .csv or .tsv file(s) the student trains on."),
    output: Path = typer.Option(..., "--output", "-o", help="Targets file to write (.json.gz; plain JSON otherwise)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch."),
    decimals: int = typer.Option(4, "--decimals", min=1, max=8, help="Probabilities are rounded to this many decimals."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", "-d", help="Where ids and names are looked up."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    unlabeled: list[Path] = typer.Option(
        None, "--unlabeled", "-u", help="Split stories without gold labels (any file `data convert` writes), for a "
        "semi-supervised student (data.unlabeled); repeatable.",
    ),
):
    """Write a teacher model's per-sentence label probabilities on labeled data: the soft labels a
    student learns from with --train.distill_targets FILE (no corpus text is stored).

    Example: newsroles distill-targets models/accurate/<version> data/newsdiscourse/train.jsonl -o teacher.json.gz

    Example: newsroles distill-targets models/accurate/<version> data/newsdiscourse/train.jsonl data/newsdiscourse/validation.jsonl --unlabeled data/stories.jsonl -o teacher.json.gz
    """
    from newsroles.inference.distill_targets import write_teacher_targets
    from newsroles.model.registry import resolve_path

    folder = resolve_path(teacher, models_dir)
    written = write_teacher_targets(folder, data, output, device, batch_size, decimals, progress=not quiet, unlabeled=unlabeled or [])
    stderr_console().print(f"teacher targets written to {written}")
    typer.echo(str(written))
