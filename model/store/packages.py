"""Installed model packages: wheels made by `newsroles package`, found through an entry-point group.

A model package (`pip install newsroles_model_default-....whl`) declares one entry point in the
group `newsroles.models`, named by its distribution name (`newsroles-model-default`), pointing to
a function that returns its model folder. `find_package` looks a reference up by that name (any
spelling pip accepts: `newsroles_model_default` too); `installed_packages` lists them all.
Finding them reads only the installed packages' metadata; a package is imported (a few lines of
its own `__init__`, no dependency) only when its folder is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from newsroles.model.errors import UserError

ENTRY_POINT_GROUP = "newsroles.models"


def normalize(name: str) -> str:
    """A distribution name as pip compares it (PEP 503): lower case, runs of `-_.` as one `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class InstalledModel:
    name: str  # the entry point's name: the package's distribution name
    version: str  # the installed distribution's version
    entry_point: metadata.EntryPoint

    def folder(self) -> Path:
        """The installed model folder; a package whose entry point fails is one clear error."""
        try:
            path = Path(self.entry_point.load()())
        except Exception as exc:  # a broken install: whatever its code raised, say which package
            raise UserError(f"installed model package '{self.name}' is broken ({type(exc).__name__}: {exc}); reinstall it") from None
        if not path.is_dir():
            raise UserError(f"installed model package '{self.name}' has no model folder at {path}; reinstall it")
        return path


def installed_packages() -> list[InstalledModel]:
    """Every installed model package, by name (one per distribution name: the first on sys.path)."""
    found: dict[str, InstalledModel] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        found.setdefault(normalize(ep.name), InstalledModel(ep.name, dist.version if dist is not None else "?", ep))
    return sorted(found.values(), key=lambda p: normalize(p.name))


def find_package(ref: str) -> InstalledModel | None:
    """The installed model package `ref` names (its distribution or import name), or None."""
    key = normalize(ref)
    return next((p for p in installed_packages() if normalize(p.name) == key), None)
