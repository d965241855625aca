"""`newsroles label --engine ray` on a local Ray instance (num_cpus=2): the same records as the
in-process labeler, every article once and in order, a killed labeler retried without loss, resume
that redoes only the missing shard, Parquet in and out."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'newsroles[ray]' (the test extra has it)")

from newsroles.inference.archive.ray_labeling import DIE_ONCE_ENV, label_archive  # noqa: E402
from newsroles.inference.archive.shards import marker_path, shard_path  # noqa: E402
from newsroles.inference.cli import app  # noqa: E402
from newsroles.inference.io.inputs import LabelInputs  # noqa: E402
from newsroles.inference.io.parquet import read_records  # noqa: E402
from newsroles.inference.predictor import load_labeler  # noqa: E402
from synthetic import synthetic_articles, write_jsonl  # noqa: E402

STORIES = 240
SHARD = 60


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray instance for the module; label_archive joins it instead of starting its own."""
    import logging

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return write_jsonl(synthetic_articles(STORIES, seed=3), tmp_path_factory.mktemp("archive") / "in.jsonl")


@pytest.fixture(scope="module")
def labeled(archive, tiny_article_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("labeled") / "out"
    report = label_archive([str(archive)], tiny_article_model, out, shard_size=SHARD, workers=2)
    return out, report


def in_process(paths, model) -> list[dict]:
    labeler = load_labeler(model, "cpu")
    return [a.to_dict() for a in labeler.label(list(LabelInputs([str(p) for p in paths])))]


def shard_records(out: Path, fmt: str = "jsonl") -> list[list[dict]]:
    shards = sorted(out.glob(f"shard-*.{fmt}"))
    if fmt == "parquet":
        return [read_records(str(p)) for p in shards]
    return [[json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()] for p in shards]


def assert_same_records(got: list[dict], expected: list[dict]) -> None:
    """Equal records; probabilities equal to 1e-5 (another batch pads windows otherwise)."""
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for g, e in zip(got, expected):
        assert {k: v for k, v in g.items() if k != "sentences"} == {k: v for k, v in e.items() if k != "sentences"}
        assert [(s["text"], s["label"], s["start"], s["end"]) for s in g["sentences"]] == [
            (s["text"], s["label"], s["start"], s["end"]) for s in e["sentences"]]
        for gs, es in zip(g["sentences"], e["sentences"]):
            assert math.isclose(gs["confidence"], es["confidence"], abs_tol=1e-5)
            assert gs["scores"].keys() == es["scores"].keys()
            assert all(math.isclose(gs["scores"][k], es["scores"][k], abs_tol=1e-5) for k in es["scores"])


def test_ray_labels_match_the_in_process_labeler(labeled, archive, tiny_article_model):
    out, report = labeled
    got = [r for shard in shard_records(out) for r in shard]
    assert_same_records(got, in_process([archive], tiny_article_model))
    assert report.articles == STORIES and report.sentences == sum(len(r["sentences"]) for r in got)
    assert (out / "_SUCCESS").exists()


def test_each_shard_holds_its_slice_of_the_input_in_order(labeled, archive):
    out, report = labeled
    ids = [a.id for a in LabelInputs([str(archive)])]
    shards = shard_records(out)
    assert len(shards) == report.shards == STORIES // SHARD
    for k, records in enumerate(shards):
        assert [r["id"] for r in records] == ids[k * SHARD : (k + 1) * SHARD]
        assert json.loads(marker_path(out, k).read_text())["articles"] == SHARD


def test_a_killed_labeler_is_retried_with_nothing_lost_or_duplicated(tmp_path, monkeypatch, archive, tiny_article_model):
    died = tmp_path / "died"
    monkeypatch.setenv(DIE_ONCE_ENV, str(died))  # the first labeler to write 2 articles kills itself
    small = write_jsonl(synthetic_articles(40, seed=8), tmp_path / "in.jsonl")
    report = label_archive([str(small)], tiny_article_model, tmp_path / "out", shard_size=10, workers=2)
    assert died.exists()  # it did die, mid-shard
    ids = [r["id"] for shard in shard_records(tmp_path / "out") for r in shard]
    assert ids == [a.id for a in LabelInputs([str(small)])]
    assert report.articles == 40 and sorted(report.labeled) == [0, 1, 2, 3]
    assert not list((tmp_path / "out").glob("*.partial"))


def test_resume_relabels_only_the_missing_shard(labeled, tmp_path, tiny_article_model, archive):
    original, _ = labeled
    out = tmp_path / "out"
    shutil.copytree(original, out)
    shard_path(out, 1, "jsonl").unlink()
    marker_path(out, 1).unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*")}
    report = label_archive([str(archive)], tiny_article_model, out, shard_size=SHARD, workers=2)
    assert report.labeled == [1] and report.done_before == report.shards - 1
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*") if p.name in kept} == kept
    assert shard_path(out, 1, "jsonl").read_bytes() == shard_path(original, 1, "jsonl").read_bytes()
    assert report.articles == STORIES


def test_cli_parquet_in_parquet_out(tmp_path, tiny_article_model):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": f"s{i}", "text": f"Storm hits.\n\nPolice said {i} died on monday. Analysts expect talks."} for i in range(30)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=7)
    args = ["label", str(tmp_path / "in.parquet"), "--model", str(tiny_article_model), "--engine", "ray",
            "--output", str(tmp_path / "out"), "--format", "parquet", "--shard-size", "12", "--ray-workers", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "labeled 3 of 3 shards" in result.output
    shards = shard_records(tmp_path / "out", "parquet")
    assert [len(s) for s in shards] == [12, 12, 6]
    assert_same_records([r for s in shards for r in s], in_process([tmp_path / "in.parquet"], tiny_article_model))
    again = CliRunner().invoke(app, args)  # everything done: nothing to label, no cluster work
    assert again.exit_code == 0 and "labeled 0 of 3 shards (3 already done)" in again.output


def test_min_confidence_withholds_as_the_local_path_does(archive, tiny_article_model, tmp_path):
    out = tmp_path / "out"
    label_archive([str(archive)], tiny_article_model, out, shard_size=4 * SHARD, workers=1, min_confidence=0.9)
    got = [r for shard in shard_records(out) for r in shard]
    labeler = load_labeler(tiny_article_model, "cpu", min_confidence=0.9)
    expected = [a.to_dict() for a in labeler.label(list(LabelInputs([str(archive)])))]
    assert_same_records(got, expected)
    low = [s for r in got for s in r["sentences"] if s["confidence"] < 0.9]
    assert low and all(s["label"] is None and s["reason"] == "low confidence" for s in low)


def test_label_archive_resolves_a_model_reference_itself(tmp_path):
    """Like `newsroles label --engine ray`: the model is any reference, resolved before a cluster starts."""
    from newsroles.model.errors import UserError

    story = tmp_path / "story.txt"
    story.write_text("Police said two people were hurt.\n", encoding="utf-8")
    with pytest.raises(UserError, match="nope"):
        label_archive([str(story)], "nope", tmp_path / "out", models_dir=tmp_path / "models")
    assert not (tmp_path / "out").exists(), "nothing written for a model that does not resolve"
