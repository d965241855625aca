"""`newsroles package MODEL OUTPUT_DIR`: a model folder as a pip-installable Python package.

As `spacy package` does, it writes a small project, `OUTPUT_DIR/<module>-<version>/`:

    pyproject.toml          # the same package for standard tools (`python -m build`, `pip wheel .`)
    README.md               # the model card (Hugging Face front matter)
    <module>/__init__.py    # model_path(), load(); the entry point newsroles finds it by
    <module>/model/         # the model folder, its card naming the package
    dist/<module>-<version>-py3-none-any.whl

The wheel is written by inference/packaging/wheel.py with the standard library, offline. Once it
is installed, every command that takes a model finds it by its name (model/store/packages.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from newsroles.inference.packaging.wheel import Distribution, write_wheel
from newsroles.model.cards.card import CARD_MD, write_card
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir, atomic_file
from newsroles.model.store.folder import MANIFEST, package_version
from newsroles.model.store.packages import ENTRY_POINT_GROUP
from newsroles.model.store.registry import Version, resolve, safe_name

# PEP 508 names; PEP 440 public versions in their normal form (what pip shows back).
_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", re.IGNORECASE)
_VERSION = re.compile(r"^(\d+!)?(0|[1-9]\d*)(\.(0|[1-9]\d*))*((a|b|rc)(0|[1-9]\d*))?(\.post(0|[1-9]\d*))?(\.dev(0|[1-9]\d*))?$")

INIT = '''"""The newsroles model {name!r} (id {id}), packaged by `newsroles package`."""

from pathlib import Path

MODEL_NAME = {name!r}
MODEL_ID = {id!r}
PACKAGE = {package!r}


def model_path() -> Path:
    """The installed model folder (what `newsroles label --model {package}` loads)."""
    return Path(__file__).resolve().parent / "model"


def load(device: str = "auto"):
    """The model as a labeler: `load().label_text(text)`."""
    from newsroles.inference.predictor import load_labeler

    return load_labeler(model_path(), device)
'''

PYPROJECT = """[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = {name}
version = {version}
description = {summary}
readme = "README.md"
requires-python = ">=3.10"
dependencies = {requires}

[project.entry-points.{group}]
{name} = {target}

[tool.setuptools]
packages = [{module}]
include-package-data = false

[tool.setuptools.package-data]
{module} = ["model/*", "model/**/*"]
"""


@dataclass
class PackageReport:
    name: str
    version: str
    project: Path  # the generated project folder
    wheel: Path
    size_bytes: int


def default_name(version: Version) -> str:
    return f"newsroles-model-{safe_name(version.name).lower()}"


def default_version(manifest: dict) -> str:
    """The model's creation time as a version that sorts like it: `YYYYMMDD.HHMMSS` (UTC,
    without the leading zeros PEP 440 drops), `0.0.0` when the manifest has no time."""
    try:
        created = dt.datetime.fromisoformat(str(manifest.get("created"))).astimezone(dt.timezone.utc)
    except ValueError:
        return "0.0.0"
    return f"{created:%Y%m%d}.{int(created.strftime('%H%M%S'))}"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(f"package name {name!r} is not a valid Python package name (letters, digits, '-', '_', '.'; starting and ending with a letter or digit)")
    module = re.sub(r"[-_.]+", "_", name).lower()
    if not module.isidentifier():
        raise UserError(f"package name {name!r} gives the import name {module!r}, which Python cannot import; start it with a letter")
    return module


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise UserError(f"package version {version!r} is not a PEP 440 version in normal form (e.g. 1.0.0, 2026.12.6, 1.0rc1)")
    return version


def package_model(
    model: str | Path | Version,
    output_dir: str | Path,
    name: str | None = None,
    pkg_version: str | None = None,
    force: bool = False,
    license: str | None = None,
    datasets: list[str] | None = None,
    *,
    models_dir: str | Path = "models",
) -> PackageReport:
    """Write the package project and its wheel for `model` (a folder, id, name, name/version or
    installed package, looked up in `models_dir`; or a `Version` already resolved); see the module doc."""
    version = model if isinstance(model, Version) else resolve(model, models_dir)
    name = name or default_name(version)
    module = check_name(name)
    pkg_version = check_version(pkg_version or default_version(version.manifest))
    project = Path(output_dir) / f"{module}-{pkg_version}"
    if project.exists() and not force:
        raise UserError("package folder already exists (pass --force to replace it)", project)
    if (version.path.resolve() / "").as_posix().startswith(project.resolve().as_posix() + "/"):
        raise UserError("the model folder is inside the package folder it would replace; package it somewhere else", project)
    dist = Distribution(
        name=name,
        version=pkg_version,
        summary=f"newsroles model {version.name} (id {version.id}): tags every sentence of a news article as {', '.join(version.manifest['labels'])}",
        module=module,
        requires=[newsroles_requirement()],
        entry_points={ENTRY_POINT_GROUP: {name: f"{module}:model_path"}},
        license=license,
        generator=f"newsroles {package_version()}",
    )
    with atomic_dir(project, overwrite=force) as tmp:
        model = tmp / module / "model"
        shutil.copytree(version.path, model, ignore=_hidden)  # links followed: the package holds real files
        _mark_packaged(model, dist, license, datasets)
        card = (model / CARD_MD).read_text(encoding="utf-8")
        (tmp / CARD_MD).write_text(card, encoding="utf-8")
        dist.description = _body(card)
        (tmp / module / "__init__.py").write_text(INIT.format(name=version.name, id=version.id, package=name), encoding="utf-8")
        (tmp / "pyproject.toml").write_text(_pyproject(dist), encoding="utf-8")
        wheel = write_wheel(tmp, dist, tmp / "dist", _zip_time(version.manifest))
        size = wheel.stat().st_size
    return PackageReport(name, pkg_version, project, project / "dist" / wheel.name, size)


def newsroles_requirement() -> str:
    """`newsroles>=X.Y`: at least the minor version that packaged it (the folder format it reads)."""
    parts = package_version().split(".")
    return f"newsroles>={parts[0]}.{parts[1]}" if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() else "newsroles"


def _hidden(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(".") or n == "__pycache__"]  # temporary files of an interrupted write


def _mark_packaged(model: Path, dist: Distribution, license: str | None, datasets: list[str] | None) -> None:
    """The copy's manifest says it is a package (evaluations are then not written into an install)
    and carries the card's license and datasets; its card is written again to show them."""
    manifest = json.loads((model / MANIFEST).read_text(encoding="utf-8"))
    manifest["package"] = {"name": dist.name, "version": dist.version, "module": dist.module, "wheel": dist.filename}
    if license:
        manifest["license"] = license
    if datasets:
        manifest["datasets"] = list(datasets)
    with atomic_file(model / MANIFEST) as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    write_card(model)


def _body(card: str) -> str:
    """The card without its YAML front matter: what a package index shows as the description."""
    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end != -1:
            return card[end + 5 :].lstrip("\n")
    return card


def _pyproject(dist: Distribution) -> str:
    q = json.dumps  # TOML basic strings are JSON strings for these values
    return PYPROJECT.format(
        name=q(dist.name), version=q(dist.version), summary=q(dist.summary), requires=q(dist.requires), group=q(ENTRY_POINT_GROUP),
        target=q(f"{dist.module}:model_path"), module=q(dist.module),
    )


def _zip_time(manifest: dict) -> tuple:
    """The wheel's file times: the model's creation time (the same bytes for the same model)."""
    try:
        created = dt.datetime.fromisoformat(str(manifest.get("created"))).astimezone(dt.timezone.utc)
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)
    return created.timetuple()[:6] if created.year >= 1980 else (1980, 1, 1, 0, 0, 0)
