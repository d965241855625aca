"""`newsroles serve`: the model behind an HTTP API and a web page (needs the `serve` extra)."""

from __future__ import annotations

import typer

from newsroles.inference.cli._app import app, user_errors

SERVE_EXTRA = "`newsroles serve` needs FastAPI and uvicorn: pip install newsroles[serve]"


def serve_modules():
    """Import the service stack, or say in one line how to install it."""
    from newsroles.model.errors import UserError

    try:
        import fastapi  # noqa: F401
        import uvicorn

        from newsroles.inference.service.app import ServiceSettings, create_app
    except ImportError:
        raise UserError(SERVE_EXTRA) from None
    return uvicorn, ServiceSettings, create_app


def check_address(host: str, port: int) -> None:
    """Say in one line, before the model loads, that the address cannot be listened on."""
    import socket

    from newsroles.model.errors import UserError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"cannot listen on host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") from None


@app.command("serve")
@user_errors
def serve(
    model: str = typer.Option(
        None, "--model", "-m", help="Model folder (or a copy made by `newsroles export`), version id, name or installed package (default: the newest under --models-dir)."
    ),
    models_dir: str = typer.Option("models", "--models-dir", "-d", help="Where ids and names are looked up."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, help="Port to listen on."),
    api_key: str = typer.Option(
        None, "--api-key", envvar="NEWSROLES_API_KEY", show_envvar=True,
        help="Answer /v1/* only with this key (X-API-Key or Authorization: Bearer).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    max_body_mb: float = typer.Option(2.0, "--max-body-mb", min=0.001, help="Largest request body, in MiB (413 above)."),
    max_articles: int = typer.Option(64, "--max-articles", min=1, help="Most articles in one request (413 above)."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1, help="Seconds a request may take (504 past it)."),
):
    """Serve the model over HTTP: POST /v1/label, GET /v1/model, /healthz, /docs, and a page at /.

    Example: newsroles serve --model models/default/<version> --port 8000
    """
    uvicorn, ServiceSettings, create_app = serve_modules()
    check_address(host, port)
    from newsroles.inference.predictor import load_labeler
    from newsroles.model.folder import latest_model
    from newsroles.model.registry import resolve_path

    labeler = load_labeler(resolve_path(model, models_dir) if model else latest_model(models_dir), device)
    settings = ServiceSettings(
        max_body_bytes=int(max_body_mb * 1024 * 1024), max_articles=max_articles, timeout_s=timeout, api_key=api_key or None
    )
    service = create_app(labeler, settings)
    typer.echo(f"serving {labeler.path} on http://{host}:{port}/ (docs at /docs); Ctrl-C stops", err=True)
    uvicorn.run(service, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
