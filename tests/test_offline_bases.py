"""Split-archive base encoders (all-mpnet-base-v2): joined, unpacked once, weights checked."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from newsroles.model.network import offline_bases
from newsroles.model.network.base import resolve_base_model
from newsroles.model.errors import UserError

WEIGHTS = b"not really safetensors, but bytes with a known hash" * 100


def split_zip(tmp_path, weights: bytes = WEIGHTS, parts: int = 3, folder: str = "enc"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{folder}/config.json", '{"model_type": "bert"}')
        zf.writestr(f"{folder}/model.safetensors", weights)
        zf.writestr(f"{folder}/1_Pooling/config.json", "{}")
    blob = buf.getvalue()
    size = -(-len(blob) // parts)
    paths = []
    for i in range(parts):
        p = tmp_path / f"enc.zip.{i + 1:03d}"
        p.write_bytes(blob[i * size:(i + 1) * size])
        paths.append(p)
    return paths


def archive(sha: str = hashlib.sha256(WEIGHTS).hexdigest()):
    return offline_bases.SplitArchive("org/enc", ("p1", "p2", "p3"), "enc", sha, "install the parts")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSROLES_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_pieces_join_into_the_model_folder(tmp_path):
    dest = offline_bases.unpack_parts(split_zip(tmp_path), archive(), tmp_path / "out")
    assert (dest / "model.safetensors").read_bytes() == WEIGHTS
    assert (dest / "1_Pooling" / "config.json").is_file()


def test_a_weights_hash_mismatch_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(UserError, match="SHA-256.*refusing"):
        offline_bases.unpack_parts(split_zip(tmp_path), archive(sha="0" * 64), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_piece_is_a_clear_error(tmp_path):
    pieces = split_zip(tmp_path)
    with pytest.raises(UserError, match="do not join into a zip"):
        offline_bases.unpack_parts(pieces[1:], archive(), tmp_path / "out")


def test_resolution_unpacks_once_and_rechecks_a_changed_file(tmp_path, cache, monkeypatch):
    pieces = split_zip(tmp_path)
    calls = []
    monkeypatch.setitem(offline_bases.SPLIT_ARCHIVES, "org/enc", archive())
    monkeypatch.setattr(offline_bases, "installed_parts", lambda a: calls.append(a) or pieces)
    first = resolve_base_model("org/enc")
    assert first == str(cache / "bases" / "enc")
    assert resolve_base_model("org/enc") == first
    assert len(calls) == 1  # the second call found the verified copy
    (cache / "bases" / "enc" / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(UserError, match="refusing to load"):
        resolve_base_model("org/enc")


def test_without_the_parts_the_name_stays_a_hub_id(cache, monkeypatch):
    monkeypatch.setattr(offline_bases, "installed_parts", lambda a: None)
    assert resolve_base_model("sentence-transformers/all-mpnet-base-v2") == "sentence-transformers/all-mpnet-base-v2"
    assert offline_bases.offline_copy("bert-base-uncased") is None


def test_the_pinned_requirements_name_every_part_with_a_hash():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "model" / "offline" / "all-mpnet-base-v2.txt").read_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert [ln.split("==")[0] for ln in lines] == list(offline_bases.MPNET.parts)
    assert all("--hash=sha256:" in ln for ln in lines)
