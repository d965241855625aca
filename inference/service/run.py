"""`newsroles serve` as one function: the model resolved and loaded, the address checked, the app run.

`serve_model(...)` is what the command does, for a Python user too; it blocks until the server
stops. FastAPI and uvicorn are the optional `serve` extra: without them, one line says how to
install them, before anything loads.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Callable

from newsroles.inference.predictor import load_labeler
from newsroles.model.errors import UserError

SERVE_EXTRA = "`newsroles serve` needs FastAPI and uvicorn: pip install newsroles[serve]"


def serve_model(
    model: str | Path | None = None,
    *,
    models_dir: str | Path = "models",
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    device: str = "auto",
    max_body_mb: float = 2.0,
    max_articles: int = 64,
    timeout: float = 60.0,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve `model` (a folder, id, name, installed package or export; None: the newest in
    `models_dir`) on http://host:port/ until stopped. `announce` gets the one line saying where."""
    try:
        import uvicorn

        # optional: FastAPI (the `serve` extra); service/app.py imports it at its top
        from newsroles.inference.service.app import ServiceSettings, create_app
    except ImportError:
        raise UserError(SERVE_EXTRA) from None
    check_address(host, port)
    labeler = load_labeler(model or None, device, models_dir=models_dir)
    settings = ServiceSettings(
        max_body_bytes=int(max_body_mb * 1024 * 1024), max_articles=max_articles, timeout_s=timeout, api_key=api_key or None
    )
    service = create_app(labeler, settings)
    announce(f"serving {labeler.path} on http://{host}:{port}/ (docs at /docs); Ctrl-C stops")
    uvicorn.run(service, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


def check_address(host: str, port: int) -> None:
    """Say in one line, before the model loads, that the address cannot be listened on."""
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
