"""The commands that make copies of a model: `newsroles export` (an optimised CPU copy) and
`newsroles package` (a pip-installable wheel)."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, stderr_console, user_errors
from newsroles.inference.cli.grammar import (
    DATA_FORMATS, MODEL_HELP_SHORT, MODELS_DIR_HELP, OLD_MODELS_DIR, Runtime, deprecated, models_and_data, old_models_dir_flag, value,
)
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
export_model = lazy("newsroles.inference.export.exporter", "export_model")
package_model = lazy("newsroles.inference.packaging.project", "package_model")


@app.command("export")
@user_errors
def export(
    arguments: list[str] = typer.Argument(
        ..., metavar="MODEL [DATA]", help=f"Transformer model to optimise ({MODEL_HELP_SHORT}), then the data unless --data gives it."
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="Folder to write (default: beside MODEL, named MODEL-RUNTIME; for an installed package, under --models-dir)."
    ),
    runtime: Runtime = typer.Option(
        Runtime.onnx, "--runtime", help="onnx (fp32, same answers up to rounding), onnx-int8 (fastest, costs accuracy: check it with --data), bf16 (CPUs with native bf16) or int8 (PyTorch only)."
    ),
    data: list[str] = typer.Option(
        None, "--data", "-d", metavar="FILE", help=f"Labeled data ({DATA_FORMATS}): score both models on it and record the macro-F1 of each."
    ),
    max_f1_drop: float = typer.Option(0.5, "--max-f1-drop", help="With --data: refuse a copy that loses more macro-F1 points than this."),
    tune_bias: Path = typer.Option(
        None,
        "--tune-bias",
        help=f"Labeled dev data ({DATA_FORMATS}; the one the model's label biases were tuned on; never test data): tune the copy's "
        "biases again on its own outputs, which int8 or bf16 arithmetic moves a little.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    window_overlap: float = typer.Option(
        None,
        "--window-overlap",
        help="Replace the model's window overlap in the copy (0.0: each sentence encoded once, about twice as fast "
        "as the usual 0.5, with less context at window edges; measure it with --data).",
    ),
    old_check: str = typer.Option(None, "--check", hidden=True),
    old_runtime: Runtime = typer.Option(None, "-r", hidden=True),
):
    """Write an optimised CPU copy of a model folder; label and evaluate use it like any model folder.

    Example: newsroles export models/default/<version> data/newsdiscourse/validation.jsonl

    Example: newsroles export models/default/<version> --runtime onnx-int8 --tune-bias data/newsdiscourse/validation.jsonl
    """
    if old_runtime is not None:
        deprecated("-r", "--runtime (-r means --report)")
        runtime = old_runtime
    if old_check is not None:
        deprecated("--check", "--data")
        data = [*(data or []), old_check]
    (model,), data, models_dir = models_and_data(arguments, data, models_dir, at_most=1, need_data=False)
    runtime = value(runtime)
    console = stderr_console()
    report = export_model(
        model,
        output,
        runtime=runtime,
        check_data=data[0] if data else None,
        max_f1_drop=max_f1_drop,
        overwrite=overwrite,
        window_overlap=window_overlap,
        say=lambda message: console.print(message),
        tune_bias_data=tune_bias,
        models_dir=models_dir,
    )
    console.print(
        f"{report.runtime} copy written in {report.seconds:.0f} s: {report.size_bytes / 1e6:.0f} MB "
        f"(the original: {report.source_size_bytes / 1e6:.0f} MB); {probe_line(report.probe)}"
    )
    if report.check is not None:
        c = report.check
        console.print(
            f"on {c['data']} ({c['sentences']} sentences): macro-F1 {c['fp32_macro_f1']:.4f} (fp32) -> "
            f"{c['exported_macro_f1']:.4f} ({report.runtime}), {-c['macro_f1_drop_points']:+.2f} points; "
            f"same label for {100 * c['label_agreement']:.1f}% of sentences; "
            f"{c['fp32_seconds']:.1f} s -> {c['exported_seconds']:.1f} s"
        )
    print(report.folder)


@app.command("package")
@user_errors
def package(
    model: str = typer.Argument(..., metavar="MODEL", help=f"Model to package: {MODEL_HELP_SHORT}."),
    output_dir: Path = typer.Argument(..., help="Folder to write the package project and its wheel (dist/) into."),
    name: str = typer.Option(None, "--name", help="Package (distribution) name; default: newsroles-model-<model name>."),
    version: str = typer.Option(None, "--version", help="Package version (PEP 440); default: the model's creation time, YYYYMMDD.HHMMSS."),
    force: bool = typer.Option(False, "--force", help="Replace the package folder if it exists."),
    license: str = typer.Option(None, "--license", help="License for the card and the package metadata (a hub id such as apache-2.0)."),
    dataset: list[str] = typer.Option(None, "--dataset", help="Hub dataset id the model was trained on, for the card (repeatable)."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Build a pip-installable wheel holding a model; once installed, --model <package name> finds it.

    Example: newsroles package models/default/<version> packages/ --license apache-2.0

    Then: pip install packages/newsroles_model_default-<version>/dist/*.whl && newsroles label story.txt --model newsroles-model-default
    """
    models_dir = old_models_dir_flag(old_models_dir, models_dir)
    report = package_model(model, output_dir, name, version, force, license, dataset, models_dir=models_dir)
    typer.echo(
        f"package {report.name} {report.version} written to {report.project} ({report.size_bytes / 1e6:.1f} MB wheel); "
        f"install it with: pip install {report.wheel}",
        err=True,
    )
    print(report.wheel)


def probe_line(probe: dict) -> str:
    """How a copy did on its known-answer probe (model/probe.py), in words."""
    kernel = f"; int8 kernel {probe['int8_kernel']}" if probe.get("int8_kernel") else ""
    return (
        f"known-answer probe ({probe['sentences']} sentences): probabilities within {probe['max_prob_diff']:.4f} of the "
        f"original (tolerance {probe['tolerance']:.3f}), same label for {100 * probe['label_agreement']:.0f}%{kernel}"
    )
