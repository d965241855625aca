"""`newsroles serve`: the model behind an HTTP API and a web page (needs the `serve` extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from newsroles.inference.cli._app import app, user_errors
from newsroles.inference.cli.grammar import (
    DEVICE_HELP, MODEL_HELP_SHORT, MODELS_DIR_HELP, OLD_MODELS_DIR, Device, deprecated, old_models_dir_flag, value,
)
from newsroles.inference.cli.lazy import lazy

# What the command runs, imported when it runs (cli/lazy.py: a TAB or --help loads none of it).
serve_model = lazy("newsroles.inference.service.run", "serve_model")


@app.command("serve")
@user_errors
def serve(
    model: str = typer.Argument(
        None, metavar="[MODEL]", help=f"Model: {MODEL_HELP_SHORT}, or a copy made by `newsroles export` (default: the newest in --models-dir)."
    ),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help=MODELS_DIR_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, help="Port to listen on."),
    api_key: str = typer.Option(
        None, "--api-key", envvar="NEWSROLES_API_KEY", show_envvar=True,
        help="Answer /v1/* only with this key (X-API-Key or Authorization: Bearer).",
    ),
    device: Device = typer.Option(Device.auto, "--device", help=DEVICE_HELP),
    max_body_mb: float = typer.Option(2.0, "--max-body-mb", min=0.001, help="Largest request body, in MiB (413 above)."),
    max_articles: int = typer.Option(64, "--max-articles", min=1, help="Most articles in one request (413 above)."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, help="Seconds a request may take (504 past it)."),
    old_model: str = typer.Option(None, "--model", "-m", hidden=True),
    old_models_dir: Path = OLD_MODELS_DIR,
):
    """Serve the model over HTTP: POST /v1/label, GET /v1/model, /healthz, /docs, and a page at /.

    Example: newsroles serve models/default/<version> --port 8000
    """
    if old_model is not None:
        deprecated("--model", "the model as the first argument: newsroles serve MODEL")
        model = model or old_model
    serve_model(
        model or None, models_dir=old_models_dir_flag(old_models_dir, models_dir), host=host, port=port, api_key=api_key,
        device=value(device), max_body_mb=max_body_mb, max_articles=max_articles, timeout=timeout,
        announce=lambda line: typer.echo(line, err=True),
    )
