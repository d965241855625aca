"""The `newsroles` command line: a thin layer over plain functions that tests call directly."""

from newsroles.inference.cli._app import app
from newsroles.inference.cli import compare, data, evaluate, export, label, models, select, serve, train  # noqa: F401  (registers the commands)


def main() -> None:
    app()
