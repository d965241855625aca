"""The commands that train: `newsroles train`, `newsroles baseline` and `newsroles distill-targets` (a
teacher's soft labels for a student to train on)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from newsroles.inference.cli._app import app, parse_overrides, stderr_console, user_errors
from newsroles.inference.cli.grammar import (
    DATA_FORMATS, DEVICE_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, NEW_MODELS_DIR, OLD_MODELS_DIR, Device, models_and_data,
    old_models_dir_flag, value,
)
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
layer_cut_notice, train_from_config, baseline_from_config = lazy("newsroles.training.run", "layer_cut_notice", "train_from_config", "baseline_from_config")
load_config = lazy("newsroles.training.config", "load_config")
metrics_table = lazy("newsroles.training.evaluation.metrics", "metrics_table")
write_teacher_targets = lazy("newsroles.inference.distill_targets", "write_teacher_targets")
adapt_base_from_files, AdaptSettings = lazy("newsroles.training.recipes.domain_adapt", "adapt_base_from_files", "AdaptSettings")

OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("train", context_settings=OVERRIDES)
@user_errors
def train(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="YAML config (see configs/; default: the packaged default model's)."),
    output: Path = typer.Option(None, "--output", "-o", help="Model folder to write (default: <models_dir>/<name>/<timestamp>)."),
    models_dir: Path = NEW_MODELS_DIR,
    old_models_dir: Path = OLD_MODELS_DIR,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run of the same config from its last checkpoint."),
    final: str = typer.Option(
        None, "--final", help="Final fit: retrain the settings of this selection run's model (folder, id or name) on train + dev, for its best epoch count, with its label biases and temperature."
    ),
):
    """Fine-tune a transformer on labeled articles and write a self-contained model folder.

    Any config key can be overridden: --section.key value. A run saves resumable checkpoints
    (every train.checkpoint_steps steps and each epoch); after a kill, rerun with --resume.

    With --final SELECTION_MODEL it retrains that run's settings on train + dev (no dev scoring) for
    its best epoch count, with its dev-tuned label biases and temperature.

    On several GPUs or machines, start it with `accelerate launch` or `torchrun` (see README);
    train.batch_size is then the batch over all processes.

    Example: newsroles train --config configs/default.yaml --train.epochs 2
    """
    run_config = run_config_for(ctx, config, old_models_dir_flag(old_models_dir, models_dir))
    notice = layer_cut_notice(run_config) if final is None else None  # a final fit repeats its selection's choice
    if notice:
        stderr_console().print(notice, highlight=False)
    folder = train_from_config(run_config, config, output, progress=not quiet, resume=resume, final_from=final)
    if folder is not None:  # None: not the main process of a multi-process run, which reports
        report_model(folder)


@app.command("baseline", context_settings=OVERRIDES)
@user_errors
def baseline(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="YAML config: its data and baseline sections are used (default: the packaged one)."),
    output: Path = typer.Option(None, "--output", "-o", help="Model folder to write (default: <models_dir>/<name>-tfidf/<timestamp>)."),
    models_dir: Path = NEW_MODELS_DIR,
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Train the TF-IDF + logistic regression baseline on the same data, saved like any model.

    Example: newsroles baseline --config configs/default.yaml
    """
    report_model(baseline_from_config(run_config_for(ctx, config, old_models_dir_flag(old_models_dir, models_dir)), config, output))


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


@app.command("adapt-base")
@user_errors
def adapt_base(
    base_and_data: list[str] = typer.Argument(
        ..., metavar="BASE [DATA...]", help="The base encoder (a shipped name such as all-MiniLM-L6-v2, a hub id or a "
        "local folder), then the data unless --data gives it.",
    ),
    data: list[str] = typer.Option(
        None, "--data", "-d", metavar="FILE", help=f"Articles whose text it reads ({DATA_FORMATS}; labels are not read); repeatable."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write: a base for --model.base."),
    layers: int = typer.Option(4, "--layers", min=0, help="Keep the base's first N layers, as model.encoder_layers does (0: all)."),
    epochs: float = typer.Option(1.0, "--epochs", min=0.01, help="Passes over the text."),
    learning_rate: float = typer.Option(1e-4, "--learning-rate", min=0.0),
    block_size: int = typer.Option(256, "--block-size", min=16, help="Tokens per training block."),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    max_articles: int = typer.Option(None, "--max-articles", min=1, help="Read only the first N articles of DATA."),
    seed: int = typer.Option(13, "--seed"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
):
    """Train a base encoder further on news text (masked words): domain-adaptive pretraining, a base
    that `newsroles train --model.base FOLDER` fine-tunes like any other.

    Example: newsroles adapt-base all-MiniLM-L6-v2 -d data/newsdiscourse/train.jsonl -d data/stories.jsonl -o runs/minilm-news
    """
    base, files = base_and_data[0], [*base_and_data[1:], *(data or [])]
    settings = AdaptSettings(layers=layers or None, epochs=epochs, learning_rate=learning_rate, block_size=block_size,
                             batch_size=batch_size, seed=seed)
    report = adapt_base_from_files(base, files, output, settings, max_articles=max_articles, overwrite=overwrite,
                                   progress=not quiet)
    stderr_console().print(
        f"{report.articles:,} articles, {report.tokens:,} tokens, {report.steps:,} steps in {report.minutes:.1f} min; "
        f"held-out masked-word loss {report.heldout_loss_before:.3f} -> {report.heldout_loss_after:.3f}"
    )
    stderr_console().print(f"adapted base written to {output}")
    typer.echo(str(output))


def run_config_for(ctx: typer.Context, config: Path, models_dir: Path | None):
    """The config file with the command line's --section.key overrides and --models-dir applied."""

    run_config = load_config(config, parse_overrides(ctx.args))
    if models_dir is not None:
        run_config.models_dir = str(models_dir)
    return run_config


def report_model(folder: Path) -> None:
    console = stderr_console()
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    if "dev" in metrics:
        console.print(metrics_table(metrics["dev"], title="dev (of the selection run)" if "final_fit" in metrics else "dev"))
    console.print(f"model written to {folder}")
    typer.echo(str(folder))
