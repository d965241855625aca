"""`newsroles label`."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, is_tty, user_errors
from newsroles.inference.cli.grammar import (
    DEVICE_HELP, LABEL_INPUTS_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, OLD_MODELS_DIR, Device, Engine, LabelFormat, old_models_dir_flag,
    value,
)
from newsroles.model.errors import UserError


@app.command("label")
@user_errors
def label(
    inputs: list[str] = typer.Argument(
        ..., metavar="INPUT...", help=LABEL_INPUTS_HELP,
    ),
    model: str = typer.Option(
        None, "--model", "-m", help=f"Model: {MODEL_HELP_SHORT} (default: the newest in --models-dir)."
    ),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    output: str = typer.Option("-", "--output", "-o", help="Output file (.jsonl, .csv, .tsv, .parquet, .html) or - for the terminal; with --engine ray, the shards' folder."),
    fmt: LabelFormat = typer.Option(None, "--format", "-f", help="table, jsonl, csv, tsv, parquet, html or label-studio (Label Studio tasks with pre-annotations; the format of a .json output) (default: table on the terminal, else from --output; jsonl shards with --engine ray)."),
    device: Device = typer.Option(Device.auto, "--device", help=DEVICE_HELP),
    batch_size: int = typer.Option(None, "--batch-size", min=1, help="Windows per batch (default: 32 on CPU, 128 on GPU)."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip bad records (and count them) instead of stopping."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted JSONL run: skip articles already in --output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local (this process) or ray (a pool of labelers on a Ray cluster; JSONL/Parquet in, shards out)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster to join (e.g. ray://head:10001 or auto; default: start a local one)."),
    ray_workers: int = typer.Option(1, "--ray-workers", min=1, help="Labeler actors (each loads the model once)."),
    ray_cpus: float = typer.Option(1, "--ray-cpus-per-worker", min=0, help="CPUs reserved per labeler (its torch threads)."),
    ray_gpus: float = typer.Option(0, "--ray-gpus-per-worker", min=0, help="GPUs per labeler (1 for one labeler per GPU)."),
    shard_size: int = typer.Option(1000, "--shard-size", min=1, help="Articles per output shard with --engine ray (the unit of resume and retry)."),
    min_confidence: float = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Leave sentences whose confidence is below this unlabeled (label null, reason \"low confidence\", scores kept); the HTML view marks them."
    ),
    offsets: bool = typer.Option(
        False, "--offsets", help="Table format: show each sentence's start-end character offsets (every file format always has them)."
    ),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Split stories into sentences and tag each with a role and a confidence.

    Example: newsroles label story.txt --model models/default/<version> --format jsonl -o labels.jsonl

    Example (see them in a browser): newsroles label stories/ --model M --format html -o stories.html
    """
    models_dir = old_models_dir_flag(old_models_dir, models_dir)
    fmt, device = value(fmt), value(device)
    if engine == Engine.ray:
        return _label_on_ray(inputs, model, models_dir, output, fmt, device, batch_size, skip_bad, quiet,
                             ray_address, ray_workers, ray_cpus, ray_gpus, shard_size, min_confidence)

    # A plain import, not cli/lazy.py: the label path's frames stay its own files (tests/test_label_path.py).
    # startup: numpy, pydantic and rich would load at every TAB and --help
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
        min_confidence=min_confidence,
        offsets=offsets,
    )
    if not quiet:
        typer.echo(
            f"labeled {report.articles} articles, {report.sentences} sentences "
            f"in {report.seconds:.1f} s ({report.sentences_per_second:.0f} sentences/s)"
            + (f"; {report.resumed} already done" if report.resumed else "")
            + "".join(f"; {n} unlabeled ({reason})" for reason, n in sorted(report.unlabeled.items()))
            + (f"; skipped {len(report.skipped)} bad records" if report.skipped else ""),
            err=True,
        )
    # Even with --quiet: what was left out must not go unnoticed. One plain line each.
    for message in report.skipped:
        typer.echo(f"skipped: {message}", err=True)


def _label_on_ray(inputs, model, models_dir, output, fmt, device, batch_size, skip_bad, quiet, address, workers, cpus, gpus, shard_size,
                  min_confidence):
    # optional: Ray (the `ray` extra); ray_labeling.py imports it at its top
    from newsroles.inference.archive.ray_labeling import label_archive

    if output == "-":
        raise UserError("--engine ray writes shards to a folder: give --output FOLDER")
    report = label_archive(
        inputs, model, output, models_dir=models_dir, fmt=fmt or "jsonl", shard_size=shard_size, workers=workers, cpus_per_worker=cpus,
        gpus_per_worker=gpus, address=address, device=device, batch_size=batch_size, skip_bad=skip_bad,
        progress=not quiet and is_tty(), min_confidence=min_confidence,
    )
    if not quiet:
        typer.echo(
            f"labeled {len(report.labeled)} of {report.shards} shards ({report.done_before} already done): "
            f"{report.articles} articles, {report.sentences} sentences in {output}",
            err=True,
        )
    for message in report.skipped:
        typer.echo(f"skipped: {message}", err=True)
