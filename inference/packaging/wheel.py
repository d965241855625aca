"""A pure-Python wheel (PEP 427) written with the standard library: no build backend, no network.

`write_wheel(tree, dist, ...)` zips the files under `tree` with the `.dist-info` folder a wheel
needs (METADATA, WHEEL, entry_points.txt, top_level.txt and RECORD with each file's sha256 and
size), so `pip install --no-index` installs it offline. Entries are sorted and time-stamped from
the model, so packaging the same folder twice gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from newsroles.model.fileio import atomic_file

TAG = "py3-none-any"


@dataclass
class Distribution:
    name: str  # the distribution name, as written (`newsroles-model-default`)
    version: str  # a PEP 440 version
    summary: str
    module: str  # the import package inside (`newsroles_model_default`)
    requires: list[str] = field(default_factory=list)
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> name -> "module:attr"
    description: str = ""  # Markdown, shown by package indexes
    license: str | None = None
    generator: str = "newsroles"

    @property
    def escaped(self) -> str:
        """The name as a wheel's file name writes it (PEP 427 / binary distribution format)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    @property
    def filename(self) -> str:
        return f"{self.escaped}-{self.version}-{TAG}.whl"

    @property
    def dist_info(self) -> str:
        return f"{self.escaped}-{self.version}.dist-info"

    def metadata(self) -> str:
        lines = [
            "Metadata-Version: 2.1",
            f"Name: {self.name}",
            f"Version: {self.version}",
            f"Summary: {self.summary}",
            *([f"License: {self.license}"] if self.license else []),
            "Requires-Python: >=3.10",
            *(f"Requires-Dist: {r}" for r in self.requires),
            "Description-Content-Type: text/markdown",
        ]
        return "\n".join(lines) + "\n\n" + self.description

    def wheel(self) -> str:
        return f"Wheel-Version: 1.0\nGenerator: {self.generator}\nRoot-Is-Purelib: true\nTag: {TAG}\n"

    def entry_points_txt(self) -> str:
        return "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()) + "\n"
            for group, points in self.entry_points.items()
        )


def write_wheel(tree: Path, dist: Distribution, dest_dir: Path, date_time: tuple = (1980, 1, 1, 0, 0, 0)) -> Path:
    """Zip `tree/<dist.module>/` and the metadata into `dest_dir/<dist.filename>` (atomically)."""
    package_root = tree / dist.module
    files = sorted(p for p in package_root.rglob("*") if p.is_file())
    meta = {
        "METADATA": dist.metadata(),
        "WHEEL": dist.wheel(),
        "entry_points.txt": dist.entry_points_txt(),
        "top_level.txt": dist.module + "\n",
    }
    record = []  # RECORD: path, `sha256=` and the urlsafe base64 digest without padding, size
    dest = dest_dir / dist.filename
    with atomic_file(dest, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:

        def add(arcname: str, chunks) -> None:
            info = zipfile.ZipInfo(arcname, date_time)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            digest, size = hashlib.sha256(), 0
            with zf.open(info, "w", force_zip64=True) as out:  # streamed: weights can be hundreds of MB
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            hashed = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
            record.append(f"{arcname},sha256={hashed},{size}")

        for path in files:
            with open(path, "rb") as src:
                add(path.relative_to(tree).as_posix(), iter(lambda: src.read(1 << 20), b""))
        for name, text in meta.items():
            add(f"{dist.dist_info}/{name}", [text.encode("utf-8")])
        record_name = f"{dist.dist_info}/RECORD"
        info = zipfile.ZipInfo(record_name, date_time)
        info.external_attr = 0o644 << 16
        zf.writestr(info, "\n".join(record + [f"{record_name},,"]) + "\n")
    return dest
