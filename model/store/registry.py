"""Model versions: ids, names, parent links, listing a models directory and resolving a reference.

Every model `newsroles train` or `newsroles baseline` writes is a new *version*: a folder
`<models_dir>/<name>/<timestamp>` that is never overwritten. Its manifest (`newsroles.json`)
records

* `id`: 8 hex digits, random, unique for practical purposes (`3f9c2a1b`);
* `name`: the model's name (`config.name`, or the config file's stem; `-tfidf` for a baseline);
* `parent` / `parent_path`: the id and folder of the model it was fine-tuned from, when
  `model.base` in its config was a newsroles model folder (else null).

A *reference* to a version, as `newsroles models show`, `compare` and `evaluate` accept it, is
(tried in this order):

1. a path to a model folder;
2. `latest`: the newest version in the models directory;
3. an id (`3f9c2a1b`);
4. `name/timestamp`, the folder relative to the models directory (`default/20261129-120000`);
5. a name (`default`): the newest version of that name;
6. a unique prefix of an id, at least 4 characters (`3f9c`);
7. an installed model package (`newsroles-model-default`, made by `newsroles package`; model/store/packages.py).

A folder written before versions existed has no `id` in its manifest; it gets a stable one derived
from its manifest's bytes, so it can still be listed and referred to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from newsroles.model.errors import UserError
from newsroles.model.store.folder import MANIFEST, find_models, no_models_error, read_manifest
from newsroles.model.store.packages import InstalledModel, find_package, installed_packages

ID_LENGTH = 8
MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")


def new_version_id() -> str:
    """A fresh random id: 8 hex digits."""
    return secrets.token_hex(ID_LENGTH // 2)


def safe_name(name: str) -> str:
    """A model name as it appears as a folder name (the same rule as training/run.py's default_output)."""
    return re.sub(r"[^\w.-]+", "-", name).strip("-") or "model"


def derived_id(folder: str | Path) -> str:
    """The id of a folder whose manifest has none: a hash of the manifest's bytes (stable while it is untouched)."""
    data = (Path(folder) / MANIFEST).read_bytes()
    return hashlib.sha256(data).hexdigest()[:ID_LENGTH]


def version_id(folder: str | Path, manifest: dict | None = None) -> str:
    manifest = manifest if manifest is not None else read_manifest(folder)
    vid = manifest.get("id")
    return str(vid) if vid else derived_id(folder)


def parent_of(base: str | None) -> dict:
    """`{"parent": id, "parent_path": folder}` when `base` is a newsroles model folder, else nulls."""
    if base:
        path = Path(str(base)).expanduser()
        if (path / MANIFEST).is_file():
            # Called once training is done: never fail here, whatever state the parent folder is in.
            try:
                manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = {}
            manifest = manifest if isinstance(manifest, dict) else {}
            return {"parent": version_id(path, manifest), "parent_path": str(path.resolve())}
    return {"parent": None, "parent_path": None}


def version_info(name: str, base: str | None = None, version_id_: str | None = None) -> dict:
    """What a new version records in its manifest (pass it in `extra=`): id, name, parent link."""
    return {"id": version_id_ or new_version_id(), "name": name, **parent_of(base)}


def next_free_dir(path: str | Path) -> Path:
    """`path` if nothing is there, else `path-2`, `path-3`, ...: a new version never lands on an old one."""
    path = Path(path)
    if not path.exists():
        return path
    k = 2
    while path.with_name(f"{path.name}-{k}").exists():
        k += 1
    return path.with_name(f"{path.name}-{k}")


# ---------------------------------------------------------------------------------------------
# Listing


@dataclass
class Version:
    path: Path
    manifest: dict
    id: str
    name: str
    ref: str  # folder relative to the models directory (`name/timestamp`), the path itself, or a package name
    metrics: dict = field(default_factory=dict)
    package: str | None = None  # an installed model package's name and version (`newsroles-model-default 1.0.0`)

    @property
    def created(self) -> str:
        return str(self.manifest.get("created", ""))

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def parent(self) -> str | None:
        return self.manifest.get("parent")

    def key_metrics(self) -> dict:
        """dev macro-F1 / accuracy / n from metrics.json, and the number of recorded evaluations."""
        dev = self.metrics.get("dev") or {}
        return {
            "dev_macro_f1": dev.get("macro_f1"),
            "dev_accuracy": dev.get("accuracy"),
            "dev_n": dev.get("n"),
            "evaluations": count_evaluations(self.path),
        }

    def summary(self) -> dict:
        """A plain-JSON row for `newsroles models --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "ref": self.ref,
            "path": str(self.path),
            "kind": self.kind,
            "created": self.created,
            "parent": self.parent,
            "base_model": self.manifest.get("base_model") or ("tfidf" if self.kind == "tfidf" else None),
            "package": self.package,
            **self.key_metrics(),
        }


def count_evaluations(folder: Path) -> int:
    evals = Path(folder) / "evaluations"
    return sum(1 for _ in evals.glob("*.json")) if evals.is_dir() else 0


def _read_metrics(folder: Path) -> dict:
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metrics if isinstance(metrics, dict) else {}


def _version(folder: Path, manifest: dict, models_dir: Path | None) -> Version:
    ref, inside = str(folder), False
    if models_dir is not None:
        try:
            ref, inside = folder.resolve().relative_to(models_dir.resolve()).as_posix(), True
        except ValueError:
            pass
    # A folder from before versions had names: `<models_dir>/<name>/<timestamp>` names it.
    name = manifest.get("name") or (folder.parent.name if inside and "/" in ref else folder.name)
    return Version(folder, manifest, version_id(folder, manifest), str(name), ref, _read_metrics(folder))


def _sort_key(v: Version) -> tuple:
    # `created` has one-second resolution; the manifest's mtime orders versions made within a second.
    try:
        mtime = (v.path / MANIFEST).stat().st_mtime_ns
    except OSError:
        mtime = 0
    return (_created_utc(v.created), mtime)


def _created_utc(created: str) -> str:
    try:
        return dt.datetime.fromisoformat(created).astimezone(dt.timezone.utc).isoformat()
    except (TypeError, ValueError):
        return ""


def list_versions(models_dir: str | Path = "models", name: str | None = None) -> list[Version]:
    """Every complete model version under `models_dir`, newest first (optionally only one name)."""
    root = Path(models_dir)
    versions = [_version(path, manifest, root) for path, manifest in find_models(root)]
    if name is not None:
        versions = [v for v in versions if v.name == name]
    return sorted(versions, key=_sort_key, reverse=True)


def load_version(folder: str | Path, models_dir: str | Path | None = None) -> Version:
    folder = Path(folder)
    return _version(folder, read_manifest(folder), Path(models_dir) if models_dir is not None else None)


def package_version(package: InstalledModel) -> Version:
    """The version an installed model package holds, referred to by the package's name."""
    version = load_version(package.folder())
    version.ref, version.package = package.name, f"{package.name} {package.version}"
    return version


def list_packages() -> list[Version]:
    """The installed model packages' versions, by package name; a broken one is left out."""
    out = []
    for package in installed_packages():
        try:
            out.append(package_version(package))
        except UserError:
            continue  # resolving it by name says what is wrong
    return out


# ---------------------------------------------------------------------------------------------
# Resolving a reference


def resolve(ref: str | Path, models_dir: str | Path = "models") -> Version:
    """The version a reference names (see the module doc for the forms, tried in that order), or a
    UserError saying what was tried."""
    text = str(ref)
    path = Path(text).expanduser()
    if path.exists():
        return load_version(path, models_dir if Path(models_dir).is_dir() else None)
    if text.startswith(("/", "./", "../", "~")):
        raise UserError("model folder not found", text)  # plainly a path, not an id or a name
    versions = list_versions(models_dir)
    found = _in_models_dir(text, versions)
    if found is not None:
        return found
    package = find_package(text)
    if package is not None:
        return package_version(package)
    if not Path(models_dir).is_dir():
        tried = f"no model folder '{text}', and the models directory does not exist"
    elif not versions:
        tried = f"no model folder '{text}', and no model versions found in the models directory"
    else:
        tried = f"no model version '{text}' (not a folder, nor an id, name or name/version of the {len(versions)} in the models directory)"
    installed = ", ".join(p.name for p in installed_packages()) or "none"
    raise UserError(
        f"{tried}; not an installed model package either (installed: {installed}); `newsroles models list` lists them",
        models_dir,
    )


def _in_models_dir(text: str, versions: list[Version]) -> Version | None:
    """The version in the models directory `text` names (latest, id, name/version, name, id prefix), or None."""
    if not versions:
        return None
    if text == "latest":
        return versions[0]
    for v in versions:
        if v.id == text:
            return v
    for v in versions:
        if v.ref == text.strip("/"):
            return v
    named = [v for v in versions if v.name == text]
    if named:
        return named[0]
    if len(text) >= MIN_PREFIX and _HEX.match(text):
        matches = [v for v in versions if v.id.startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(f"{v.id} ({v.ref})" for v in matches[:5])
            raise UserError(f"id prefix '{text}' is ambiguous: {ids}; give more characters")
    return None


def newest_version(models_dir: str | Path = "models") -> Version:
    """The newest model in `models_dir` (what `newsroles label` uses without --model), or a
    UserError saying there is none."""
    found = find_models(models_dir)
    if not found:
        raise no_models_error(models_dir)
    path, manifest = found[0]
    return _version(path, manifest, Path(models_dir))


def resolve_path(ref: str | Path, models_dir: str | Path = "models") -> Path:
    return resolve(ref, models_dir).path
