"""`newsroles package`: a model folder as a pip-installable wheel."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors
from newsroles.inference.cli.grammar import MODEL_HELP_SHORT, MODELS_DIR_HELP, old_models_dir_flag
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
package_model = lazy("newsroles.inference.packaging.project", "package_model")


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
    old_models_dir: Path = typer.Option(None, "-d", hidden=True),
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
