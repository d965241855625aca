"""The saved model folder: what every kind of model writes beside its weights, and how to check one.

A folder holds `newsroles.json` (kind, labels, versions), `labels.json`, `config.yaml` (exactly what
trained it), `metrics.json`, `data.json` (fingerprints of the training data) and the weights of its
kind: `model.safetensors` + tokenizer + `encoder/` for a transformer, `baseline.safetensors` +
`baseline.json` for TF-IDF (model/tfidf.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from newsroles.model.errors import UserError
from newsroles.model.store.packages import installed_packages

MANIFEST = "newsroles.json"
FORMAT_VERSION = 1
# Files each kind needs besides the manifest; loading names the first one missing.
REQUIRED_FILES = {
    "transformer": ["labels.json", "config.yaml", "model.safetensors", "encoder/config.json", "tokenizer_config.json"],
    "tfidf": ["labels.json", "config.yaml", "baseline.safetensors", "baseline.json"],
    # Optimised CPU copies written by `newsroles export` (model/network/runtimes.py), by the manifest's "runtime";
    # an "int8" copy keeps the fp32 files and is checked as a plain transformer.
    "transformer:onnx": ["labels.json", "config.yaml", "encoder.onnx", "head.safetensors", "encoder/config.json", "tokenizer.json"],
    "transformer:onnx-int8": ["labels.json", "config.yaml", "encoder.onnx", "head.safetensors", "encoder/config.json", "tokenizer.json"],
}
# Older versions saved the TF-IDF baseline as a pickle: loading such a folder is refused with this
# message, and the pickle is never opened (unpickling can run any code the file holds).
PICKLED_BASELINE = "baseline.joblib"
PICKLED_BASELINE_MESSAGE = (
    f"this TF-IDF baseline was made by an older newsroles ({PICKLED_BASELINE}, a pickle, which is never opened "
    "because loading it could run code); retrain it with `newsroles baseline`"
)


def package_version() -> str:
    try:
        return metadata.version("newsroles")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def file_fingerprint(path: str | Path) -> str:
    """sha256 of a file's bytes: says whether two runs saw the same data."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_common_files(
    folder: Path,
    *,
    kind: str,
    labels: list[str],
    config: dict,
    metrics: dict,
    data: dict,
    extra: dict | None = None,
) -> dict:
    """Write the manifest and the files every model kind shares; returns the manifest."""
    manifest = {
        "format": FORMAT_VERSION,
        "kind": kind,
        "labels": list(labels),
        "newsroles_version": package_version(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        **(extra or {}),
    }
    write_json(folder / MANIFEST, manifest)
    write_json(folder / "labels.json", list(labels))
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    write_json(folder / "metrics.json", metrics)
    write_json(folder / "data.json", data)
    return manifest


def read_manifest(path: str | Path) -> dict:
    """Check that `path` is a complete model folder and return its manifest, or say what is wrong."""
    folder = Path(path)
    if not folder.exists():
        raise UserError("model folder not found", folder)
    if not folder.is_dir():
        raise UserError("not a model folder (it is a file; give the folder that holds newsroles.json)", folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise UserError(f"not a newsroles model folder: {MANIFEST} is missing", folder)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"corrupt manifest ({exc})", manifest_path)
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind not in REQUIRED_FILES:
        raise UserError(f"unknown model kind {kind!r} in manifest", manifest_path)
    for name in REQUIRED_FILES.get(f"{kind}:{manifest.get('runtime')}", REQUIRED_FILES[kind]):
        if kind == "tfidf" and name.startswith("baseline.") and (folder / PICKLED_BASELINE).is_file():
            continue  # an older folder: listed like any other; loading its weights says to retrain it
        if not (folder / name).is_file():
            raise UserError(f"model folder is incomplete: {name} is missing", folder)
    labels = manifest.get("labels")
    if not isinstance(labels, list) or not labels:
        raise UserError("manifest has no label list", manifest_path)
    check_labels_file(folder, labels, MANIFEST)
    return manifest


def check_labels_file(folder: Path, labels: list, source: str) -> None:
    """The folder's labels.json, where it has one, must list `labels`, as `source` (a file name) does."""
    path = folder / "labels.json"
    if not path.is_file():
        return
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"corrupt label list ({str(exc)[:120]})", path) from None
    if listed != list(labels):
        raise UserError(f"labels.json lists {listed!r:.200} but {source} lists {list(labels)}; the folder is inconsistent", folder)


def read_config(path: str | Path) -> dict:
    """The folder's config.yaml; a corrupt one is a UserError naming it (and the line)."""
    config_path = Path(path) / "config.yaml"
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise UserError(f"corrupt config (not UTF-8 text: {exc.reason})", config_path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UserError(
            f"corrupt config (not valid YAML: {getattr(exc, 'problem', None) or exc})", config_path, mark.line + 1 if mark else None
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read the config ({exc.strerror or exc})", config_path) from None
    if not isinstance(config, dict):
        raise UserError("corrupt config (not a YAML mapping)", config_path)
    return config


def find_models(models_dir: str | Path = "models") -> list[tuple[Path, dict]]:
    """Complete model folders under `models_dir` (up to three levels down), newest first."""
    root = Path(models_dir)
    found = []
    if root.is_dir():
        for depth in ("*", "*/*", "*/*/*"):
            for manifest_path in root.glob(f"{depth}/{MANIFEST}"):
                try:
                    found.append((manifest_path.parent, read_manifest(manifest_path.parent)))
                except UserError:
                    continue  # an incomplete folder is not a model
    return sorted(found, key=lambda item: item[1].get("created", ""), reverse=True)


def latest_model(models_dir: str | Path = "models") -> Path:
    models = find_models(models_dir)
    if not models:
        raise no_models_error(models_dir)
    return models[0][0]


def no_models_error(models_dir: str | Path) -> UserError:
    """What to say when no model was given and `models_dir` holds none."""
    installed = ", ".join(p.name for p in installed_packages())
    hint = f"; installed model packages: {installed} (pass --model NAME)" if installed else ""
    return UserError(f"no model given and none found; pass --model PATH or train one with `newsroles train`{hint}", models_dir)
