"""Archive runs without Ray: deterministic shards, atomic shard files with done markers, resume;
Parquet in and out of `newsroles label` on one machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from newsroles.inference.archive.shards import (
    check_manifest,
    input_files,
    label_shard,
    marker_path,
    pending_shards,
    plan_shards,
    shard_articles,
    shard_path,
)
from newsroles.inference.io.inputs import LabelInputs
from newsroles.inference.label import label_inputs
from newsroles.inference.io.parquet import read_records
from newsroles.model.errors import UserError
from synthetic import synthetic_articles, write_jsonl


def jsonl_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_parquet(path: Path, rows: list[dict], row_group_size: int = 1024) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


class CountingLabeler:
    """Stands in for a Labeler: every sentence 'fact', and it counts the articles it labels."""

    labels = ["stance", "quote", "background", "fact"]

    def __init__(self):
        self.labeled: list[str] = []

    def label_stream(self, articles, batch_size=None):
        for article in articles:
            self.labeled.append(article.id)
            for s in article.sentences:
                s.label, s.confidence, s.scores = "fact", 1.0, {lab: float(lab == "fact") for lab in self.labels}
            yield article


@pytest.fixture
def two_files(tmp_path) -> list[tuple[str, str]]:
    """7 articles in a JSONL file with blank lines and no final newline, then 5 in a Parquet file
    of row groups of 2."""
    lines = [json.dumps(a.to_dict()) for a in synthetic_articles(7, seed=1)]
    text = lines[0] + "\n\n" + "\n".join(lines[1:4]) + "\n   \n" + "\n".join(lines[4:])
    (tmp_path / "a.jsonl").write_text(text, encoding="utf-8")
    rows = [{"id": f"p{i}", "text": f"Police said {i} people were hurt. Analysts expect talks."} for i in range(5)]
    write_parquet(tmp_path / "b.parquet", rows, row_group_size=2)
    return input_files([str(tmp_path / "a.jsonl"), str(tmp_path / "b.parquet")])


def shard_ids(shard) -> list[str]:
    return [a.id for part in shard_articles(shard) for a in part]


@pytest.mark.parametrize("size", [1, 3, 5, 12, 50])
def test_shards_cover_the_input_once_in_order(two_files, size):
    expected = [a.id for a in LabelInputs([uri for uri, _ in two_files])]
    shards = plan_shards(two_files, size)
    assert [len(shard_ids(s)) for s in shards] == [s.records for s in shards]
    assert all(s.records == size for s in shards[:-1]) and 0 < shards[-1].records <= size
    assert [i for s in shards for i in shard_ids(s)] == expected
    assert plan_shards(two_files, size) == shards  # the same input, the same shards


def test_a_bad_record_in_a_shard_is_named_by_its_file_and_line(tmp_path):
    good = [json.dumps({"id": f"a{i}", "text": "Police said so."}) for i in range(4)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(good[:3] + ['{"id": "x"}'] + good[3:]) + "\n", encoding="utf-8")
    last = plan_shards(input_files([str(path)]), 2)[1]
    with pytest.raises(UserError, match=r"in\.jsonl:4: record 'x' lacks 'text'"):
        shard_ids(last)
    skipping = list(shard_articles(last, skip_bad=True))
    assert [a.id for part in skipping for a in part] == ["a2"]
    assert "in.jsonl:4" in skipping[0].skipped[0]


def test_a_bad_parquet_row_is_named_by_its_row(tmp_path):
    path = write_parquet(tmp_path / "in.parquet", [{"id": "a", "text": "Fine."}, {"id": "b", "text": " "}])
    with pytest.raises(UserError, match=r"in\.parquet, row 2: record 'b': empty article"):
        list(LabelInputs([str(path)]))


def test_inputs_the_ray_engine_cannot_read_are_refused(tmp_path):
    (tmp_path / "story.txt").write_text("Police said so.", encoding="utf-8")
    with pytest.raises(UserError, match="reads JSONL .* or Parquet"):
        input_files([str(tmp_path / "story.txt")])
    with pytest.raises(UserError, match="no such file"):
        input_files([str(tmp_path / "missing.jsonl")])
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(UserError, match="empty file"):
        plan_shards(input_files([str(tmp_path / "empty.jsonl")]), 10)


def test_label_shard_writes_atomically_and_a_done_shard_is_not_redone(tmp_path, two_files):
    shards = plan_shards(two_files, 5)
    out = tmp_path / "out"
    labeler = CountingLabeler()
    for shard in shards:
        stats = label_shard(labeler, shard, out, "jsonl")
        assert stats["articles"] == shard.records
    assert pending_shards(out, shards, "jsonl") == []
    ids = [r["id"] for s in shards for r in jsonl_records(shard_path(out, s.index, "jsonl"))]
    assert ids == labeler.labeled and len(set(ids)) == 12
    # A lost shard (file gone) is pending again; only it is labeled on the rerun.
    shard_path(out, 1, "jsonl").unlink()
    assert [s.index for s in pending_shards(out, shards, "jsonl")] == [1]
    labeler.labeled.clear()
    for shard in shards:
        label_shard(labeler, shard, out, "jsonl")
    assert labeler.labeled == shard_ids(shards[1])


def test_a_shard_killed_mid_write_leaves_no_marker_and_is_redone_whole(tmp_path, two_files):
    shard = plan_shards(two_files, 5)[0]
    out = tmp_path / "out"

    def crash(written):
        if written == 3:
            raise RuntimeError("worker died")

    for fmt in ("jsonl", "parquet"):
        with pytest.raises(RuntimeError):
            label_shard(CountingLabeler(), shard, out, fmt, after_write=crash)
        assert not marker_path(out, 0).exists() and not shard_path(out, 0, fmt).exists()
    (out / ".shard-00000.parquet.x1y2.part").write_bytes(b"PAR1")  # what a killed process leaves
    for fmt in ("jsonl", "parquet"):
        label_shard(CountingLabeler(), shard, out, fmt)
        marker_path(out, 0).unlink()
    records = jsonl_records(shard_path(out, 0, "jsonl"))
    assert [r["id"] for r in records] == shard_ids(shard)
    assert read_records(str(shard_path(out, 0, "parquet"))) == records  # offsets included
    assert all(isinstance(s["start"], int) and s["end"] - s["start"] == len(s["text"]) for r in records for s in r["sentences"])
    assert sorted(p.name for p in out.iterdir()) == ["shard-00000.jsonl", "shard-00000.parquet"]


def test_a_rerun_with_other_settings_is_refused(tmp_path):
    out = tmp_path / "out"
    check_manifest(out, {"inputs": ["a.jsonl"], "shard_size": 10})
    check_manifest(out, {"inputs": ["a.jsonl"], "shard_size": 10})  # the same run: resumed
    with pytest.raises(UserError, match="other settings .*shard_size"):
        check_manifest(out, {"inputs": ["a.jsonl"], "shard_size": 20})


def test_the_ray_engine_without_ray_says_how_to_install_it(monkeypatch):
    from newsroles.inference.archive.ray_labeling import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UserError, match=r"pip install 'newsroles\[ray\]'"):
        import_ray()


def test_parquet_in_parquet_out_holds_the_jsonl_records(tmp_path, tiny_article_model):
    """One machine: a Parquet archive (id/text rows, and id/sentences rows) labeled to Parquet
    holds exactly the records the JSONL output holds."""
    rows = [{"id": f"t{i}", "text": f"Storm hits.\n\nPolice said {i} died. Analysts expect talks.", "desk": "metro"} for i in range(6)]
    rows += [{"id": a.id, "title": a.title, "sentences": [{"text": s.text, "paragraph": 0} for s in a.sentences]} for a in synthetic_articles(4)]
    columns = ["id", "title", "text", "sentences", "desk"]  # a null cell is an absent field
    source = write_parquet(tmp_path / "in.parquet", [{k: r.get(k) for k in columns} for r in rows], row_group_size=3)
    label_inputs([str(source)], tiny_article_model, output=str(tmp_path / "out.jsonl"), progress=False)
    label_inputs([str(source)], tiny_article_model, output=str(tmp_path / "out.parquet"), progress=False)
    expected = jsonl_records(tmp_path / "out.jsonl")
    assert [r["id"] for r in expected] == [r["id"] for r in rows]
    assert expected[0]["meta"] == {"desk": "metro"} and "scores" in expected[-1]["sentences"][0]
    for row, record in zip(rows, expected):  # offsets into the row's text, or its sentences joined
        original = row["text"] if "text" in row else "\n".join(s["text"] for s in row["sentences"])
        assert record["offsets_into"] == ("text" if "text" in row else "joined_sentences")
        assert [original[s["start"]:s["end"]] for s in record["sentences"]] == [s["text"] for s in record["sentences"]]
    assert read_records(str(tmp_path / "out.parquet")) == expected
    # A labeled Parquet file is itself an input: its sentences read back.
    again = list(LabelInputs([str(tmp_path / "out.parquet")]))
    assert [[s.text for s in a.sentences] for a in again] == [[s["text"] for s in r["sentences"]] for r in expected]


def test_uris_pyarrow_understands_read_like_local_paths(tmp_path, two_files):
    """file:// stands in for s3:// and gs:// here: the same pyarrow file-system calls."""
    local = [i for s in plan_shards(two_files, 4) for i in shard_ids(s)]
    files = input_files([tmp_path.as_uri()])  # a folder (prefix): its JSONL and Parquet files, sorted
    assert [uri for uri, _ in files] == [(tmp_path / "a.jsonl").as_uri(), (tmp_path / "b.parquet").as_uri()]
    assert [i for s in plan_shards(files, 4) for i in shard_ids(s)] == local


def test_cli_ray_engine_mistakes_get_one_line_and_exit_code_2(tmp_path, two_files, tiny_article_model):
    from typer.testing import CliRunner

    from newsroles.inference.cli import app

    source = two_files[0][0]
    for args, said in [
        (["--engine", "ray"], "give --output FOLDER"),
        (["--engine", "spark", "-o", str(tmp_path / "x.jsonl")], "'spark' is not one of 'local', 'ray'"),
        (["--engine", "ray", "-o", str(tmp_path / "out"), "--format", "csv"], "jsonl or parquet shards"),
    ]:
        result = CliRunner().invoke(app, ["label", source, "--model", str(tiny_article_model), *args])
        assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output


def test_a_file_that_is_not_parquet_is_said_in_one_line(tmp_path):
    fake = tmp_path / "in.parquet"
    fake.write_text('{"id": "a", "text": "not parquet"}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"in\.parquet: cannot read as Parquet"):
        list(LabelInputs([str(fake)]))
    with pytest.raises(UserError, match=r"in\.parquet: cannot read as Parquet"):
        plan_shards(input_files([str(fake)]), 10)
