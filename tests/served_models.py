"""Tiny trained models for the view, service and browser tests, built once per test session."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from synthetic import synthetic_articles, write_jsonl

STORY = """Storm hits coast

WASHINGTON -- A storm killed 12 people on Monday, officials said. "We are doing everything we can," Gov. Smith told reporters.

The region was hit by a similar storm in 1998. Analysts expect rebuilding to take years.
"""

_built: dict[str, Path] = {}


def _invoke(*args) -> None:
    from newsroles.inference.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def _root() -> Path:
    if "root" not in _built:
        import atexit

        root = Path(tempfile.mkdtemp(prefix="newsroles-served-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        write_jsonl(synthetic_articles(24, seed=4), root / "train.jsonl")
        write_jsonl(synthetic_articles(4, seed=5), root / "dev.jsonl")
        _built["root"] = root
    return _built["root"]


def baseline_model() -> Path:
    """A TF-IDF baseline (fast: the load tests use it)."""
    if "baseline" not in _built:
        root = _root()
        _invoke("baseline", "--config", "configs/tiny.yaml", "--data.train", root / "train.jsonl",
                "--data.dev", root / "dev.jsonl", "--output", root / "baseline", "--baseline.C", "1.0")
        _built["baseline"] = root / "baseline"
    return _built["baseline"]


def transformer_model(tiny_base_model: Path) -> Path:
    """A tiny article transformer, trained one epoch."""
    if "transformer" not in _built:
        root = _root()
        _invoke("train", "--config", "configs/tiny.yaml", "--data.train", root / "train.jsonl",
                "--data.dev", root / "dev.jsonl", "--output", root / "model", "--quiet",
                "--model.base", tiny_base_model, "--train.epochs", "1")
        _built["transformer"] = root / "model"
    return _built["transformer"]


def onnx_model(tiny_base_model: Path) -> Path:
    """An ONNX copy of the tiny transformer, written by `newsroles export`."""
    if "onnx" not in _built:
        source = transformer_model(tiny_base_model)
        _invoke("export", source, "--runtime", "onnx", "--output", _root() / "model-onnx")
        _built["onnx"] = _root() / "model-onnx"
    return _built["onnx"]
