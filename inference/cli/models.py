"""`newsroles models` / `newsroles models list` (the versions in a models directory and the
installed model packages) and `newsroles models show ID`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors
from newsroles.inference.cli.export import probe_line
from newsroles.inference.cli.grammar import MODEL_HELP_SHORT, OLD_MODELS_DIR, old_models_dir_flag
from newsroles.inference.cli.lazy import lazy
from newsroles.model.store.registry import list_packages, list_versions, resolve

models_app = typer.Typer(
    help="List model versions and show their model cards.\n\nExample: newsroles models show default",
    invoke_without_command=True,
)

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
load_labeler = lazy("newsroles.inference.predictor", "load_labeler")
app.add_typer(models_app, name="models")

MODELS_DIR_HELP = "Folder holding the model versions."


@models_app.callback()
@user_errors
def models(
    ctx: typer.Context,
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    name: str = typer.Option(None, "--name", "-n", help="Only versions of this name."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """List model versions, newest first, with their key metrics.

    Example: newsroles models --models-dir models
    """
    if ctx.invoked_subcommand is not None:
        return
    list_models(old_models_dir_flag(old_models_dir, models_dir), name, as_json)


@models_app.command("list")
@user_errors
def list_command(
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    name: str = typer.Option(None, "--name", "-n", help="Only versions of this name."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """List model versions, newest first, with their key metrics, then the installed model packages.

    Example: newsroles models list --models-dir models
    """
    list_models(old_models_dir_flag(old_models_dir, models_dir), name, as_json)


def list_models(models_dir: Path, name: str | None = None, as_json: bool = False) -> None:
    """The versions in `models_dir`, then the installed model packages (`package` set in JSON)."""
    from rich.console import Console

    versions = list_versions(models_dir, name)
    packages = [v for v in list_packages() if name is None or v.name == name]
    if as_json:
        typer.echo(json.dumps([v.summary() for v in versions + packages], indent=2))
        return
    console = Console()
    if versions:
        console.print(versions_table(versions, title=f"Model versions in {models_dir} (newest first)"))
    else:
        console.print(f"no model versions in {models_dir}" + (f" named {name}" if name else "") + "; train one with `newsroles train`")
    if packages:
        console.print(packages_table(packages))


def versions_table(versions, title: str = "Model versions"):
    from rich.table import Table

    table = Table(title=title)
    for column, justify in (
        ("id", "left"), ("name", "left"), ("version", "left"), ("kind", "left"), ("created", "left"),
        ("parent", "left"), ("dev macro-F1", "right"), ("dev acc.", "right"), ("evals", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=column in ("id", "created"))
    for v in versions:
        s = v.summary()
        kind = s["kind"] if s["kind"] == "tfidf" else f"{s['kind']} ({v.manifest.get('model_type', '?')})"
        table.add_row(
            s["id"],
            s["name"],
            v.ref,
            kind,
            s["created"].replace("T", " ").replace("+00:00", "Z"),
            s["parent"] or "",
            f"{s['dev_macro_f1']:.3f}" if s["dev_macro_f1"] is not None else "–",
            f"{s['dev_accuracy']:.3f}" if s["dev_accuracy"] is not None else "–",
            str(s["evaluations"]),
        )
    return table


def packages_table(packages):
    """Installed model packages: what `--model` takes, the package's version, and the model inside."""
    from rich.table import Table

    table = Table(title="Installed model packages (--model PACKAGE)")
    for column, justify in (("package", "left"), ("version", "left"), ("id", "left"), ("name", "left"), ("kind", "left"),
                            ("dev macro-F1", "right"), ("dev acc.", "right")):
        table.add_column(column, justify=justify, no_wrap=column in ("package", "id"))
    for v in packages:
        s = v.summary()
        table.add_row(
            v.ref, v.package.rsplit(" ", 1)[-1], s["id"], s["name"], s["kind"],
            f"{s['dev_macro_f1']:.3f}" if s["dev_macro_f1"] is not None else "–",
            f"{s['dev_accuracy']:.3f}" if s["dev_accuracy"] is not None else "–",
        )
    return table


@models_app.command("show")
@user_errors
def show(
    ref: str = typer.Argument(..., metavar="MODEL", help=f"The model ({MODEL_HELP_SHORT}; a name means its newest version)."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print model_card.json instead of the card (README.md)."),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Print a version's model card.

    Example: newsroles models show default
    """
    # startup: huggingface_hub's model cards (model/cards/markdown.py imports them at its top)
    from newsroles.model.cards.card import CARD_JSON, build_card, read_card_markdown, read_card_text

    version = resolve(ref, old_models_dir_flag(old_models_dir, models_dir))
    if as_json:
        path = version.path / CARD_JSON
        text = read_card_text(path) if path.is_file() else None
        typer.echo(text.rstrip("\n") if text is not None else json.dumps(build_card(version.path), indent=2))
    else:
        typer.echo(read_card_markdown(version.path).rstrip("\n"))
        if (version.manifest.get("runtime") or "fp32") != "fp32":
            typer.echo("\n" + probe_here(version.path))


def probe_here(folder: Path) -> str:
    """An exported copy's known-answer probe, labeled on this machine (model/probe.py), in words."""

    probe = load_labeler(folder, "cpu", verify=False).probe
    if probe is None:
        return "Known-answer probe: none in this folder (exported before newsroles stored one; export it again to have it checked)."
    verdict = "passes" if probe["passed"] else "FAILS: this copy gives wrong answers here; export it again on this machine or use --runtime onnx"
    return f"Known-answer probe on this machine: {verdict}; {probe_line(probe)}"
