"""Readers: JSONL/CSV/TSV input with line-accurate errors; Parquet, Arrow and hub sentence tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import InputWarning, UserError
from newsroles.training.config import ColumnsConfig
from newsroles.training.data.readers import read_articles
from newsroles.training.data.sentence_tables import load_articles_dataset

FIXTURES = Path(__file__).parent / "fixtures"
ROLES = ["stance", "quote", "background", "fact"]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def jline(obj) -> str:
    return json.dumps(obj) + "\n"


GOOD = {"id": "x", "sentences": [{"text": "One.", "label": "fact"}]}


def error_of(path: Path, labels=None) -> UserError:
    with pytest.raises(UserError) as info:
        read_articles(path, labels)
    return info.value


def assert_error(path: Path, line: int | None, fragment: str, labels=None) -> None:
    err = error_of(path, labels)
    where = str(path) if line is None else f"{path}:{line}"
    assert str(err).startswith(where + ": "), str(err)
    assert err.path == str(path) and err.line == line
    assert fragment in err.message, err.message


# ------------------------------------------------------------------------------------- formats


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "tsv"])
def test_each_format_reads_the_same_articles(suffix):
    articles = read_articles(FIXTURES / f"articles.{suffix}", ROLES)
    assert [a.id for a in articles] == ["a1", "a2"]
    a1, a2 = articles
    assert a1.title == "Council approves new park"
    assert a2.title is None
    assert [s.label for s in a1.sentences] == ["fact", "quote", "background", None]
    assert [s.label for s in a2.sentences] == ["stance", None]
    assert a1.sentences[1].text == '"It is a great day for the neighborhood," the mayor said.'
    assert a1.sentences[2].text.replace("\n", " ") == "The site was a rail yard until 1990."


def test_the_import_paths_readme_gives_read_articles(tmp_path):
    """README's Python API names newsroles.training.readers and newsroles.training.brat."""
    from newsroles.training import brat, readers

    path = write(tmp_path, "a.jsonl", jline(GOOD))
    assert [s.label for a in readers.read_articles(path, ROLES) for s in a.sentences] == ["fact"]
    assert [a.id for a in readers.iter_articles(path)] == ["x"]
    assert callable(readers.load_articles_dataset) and callable(brat.iter_brat_articles) and callable(brat.convert_brat)


def test_jsonl_keeps_source_labels_paragraphs_and_meta():
    a1, a2 = read_articles(FIXTURES / "articles.jsonl")
    assert a1.sentences[1].source_labels == ["Distant_Evaluation", "Speech"]
    assert [s.paragraph for s in a1.sentences] == [0, 1, 1, 2]
    assert a2.meta == {"domain": "Politics"}
    assert a2.sentences[1].label is None and a2.sentences[1].paragraph is None


def test_jsonl_accepts_integer_ids_bare_string_sentences_blank_lines_and_bom(tmp_path):
    text = "\ufeff" + jline({"id": 7, "sentences": ["Just text.", {"text": "More.", "label": None}]}) + "\n  \n"
    (article,) = read_articles(write(tmp_path, "in.jsonl", text))
    assert article.id == "7"
    assert [s.text for s in article.sentences] == ["Just text.", "More."]
    assert all(s.label is None for s in article.sentences)


def test_csv_label_column_is_optional(tmp_path):
    path = write(tmp_path, "in.csv", "article_id,text\nz,Hello there.\nz,Second.\n")
    (article,) = read_articles(path, ROLES)
    assert [s.label for s in article.sentences] == [None, None]


def test_csv_paragraph_column(tmp_path):
    path = write(tmp_path, "in.csv", "article_id,text,paragraph\nz,One.,0\nz,Two.,1\n")
    (article,) = read_articles(path)
    assert [s.paragraph for s in article.sentences] == [0, 1]


# -------------------------------------------------------------------------------- file errors


def test_missing_file(tmp_path):
    assert_error(tmp_path / "nope.jsonl", None, "not found")


def test_empty_file(tmp_path):
    assert_error(write(tmp_path, "e.jsonl", ""), None, "empty")
    assert_error(write(tmp_path, "e.csv", ""), None, "empty")


def test_only_blank_lines(tmp_path):
    assert_error(write(tmp_path, "b.jsonl", "\n\n  \n"), None, "no articles")
    assert_error(write(tmp_path, "b.csv", "\n\n"), None, "empty")


def test_unsupported_suffix_and_folder(tmp_path):
    assert_error(write(tmp_path, "in.json", "{}"), None, "unsupported input format '.json'")
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    assert_error(folder, None, "is a folder")


def test_not_utf8_is_decoded_with_a_warning_naming_the_line(tmp_path):
    path = write(tmp_path, "in.jsonl", jline(GOOD).encode() + b'{"id": "y", "sentences": ["caf\xe9"]}\n')
    with pytest.warns(InputWarning, match=r"in\.jsonl:2: not valid UTF-8 \(byte 0xe9"):
        articles = read_articles(path)
    assert articles[1].sentences[0].text == "caf\ufffd"
    path = write(tmp_path, "in.csv", b"article_id,text\nq,fine\nq,caf\xe9\n")
    with pytest.warns(InputWarning, match=r"in\.csv:3: not valid UTF-8"):
        (article,) = read_articles(path)
    assert [s.text for s in article.sentences] == ["fine", "caf\ufffd"]


def test_binary_files_are_refused(tmp_path):
    assert_error(write(tmp_path, "b.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00"), None, "binary file (a PNG image)")
    assert_error(write(tmp_path, "b.csv", bytes(range(1, 32)) * 20), None, "binary file (control characters)")
    assert_error(write(tmp_path, "n.jsonl", jline(GOOD).encode() + b"\x00\x00\n"), 2, "binary file (NUL bytes)")


# ------------------------------------------------------------------------------- JSONL errors


def test_line_not_json(tmp_path):
    path = write(tmp_path, "in.jsonl", jline(GOOD) + "\n" + '{"id": "y", "sentences": [}\n')
    assert_error(path, 3, "not valid JSON")


@pytest.mark.parametrize(
    "obj, fragment",
    [
        (["a list"], "expected a JSON object"),
        ({"sentences": [{"text": "t"}]}, "has no `id`"),
        ({"id": None, "sentences": [{"text": "t"}]}, "`id` must be a string or an integer"),
        ({"id": True, "sentences": [{"text": "t"}]}, "`id` must be a string or an integer"),
        ({"id": " ", "sentences": [{"text": "t"}]}, "`id` is empty"),
        ({"id": "y"}, "article 'y' has no `sentences`"),
        ({"id": "y", "sentences": "text"}, "`sentences` must be a list"),
        ({"id": "y", "sentences": []}, "has no sentences"),
        ({"id": "y", "title": 3, "sentences": [{"text": "t"}]}, "`title` must be a string or null"),
        ({"id": "y", "meta": [], "sentences": [{"text": "t"}]}, "`meta` must be an object"),
        ({"id": "y", "sentences": [{"text": "t"}, 5]}, "sentence 2: expected an object"),
        ({"id": "y", "sentences": [{"label": "fact"}]}, "sentence 1 has no `text`"),
        ({"id": "y", "sentences": [{"text": 1}]}, "sentence 1: `text` must be a string"),
        ({"id": "y", "sentences": [{"text": "ok"}, {"text": "  "}]}, "sentence 2: `text` is empty"),
        ({"id": "y", "sentences": [{"text": "t", "label": 1}]}, "`label` must be a string or null"),
        ({"id": "y", "sentences": [{"text": "t", "source_labels": "NA"}]}, "`source_labels` must be a list"),
        ({"id": "y", "sentences": [{"text": "t", "paragraph": -1}]}, "`paragraph` must be an integer >= 0"),
        ({"id": "y", "sentences": [{"text": "t", "paragraph": "2"}]}, "`paragraph` must be an integer >= 0"),
        ({"id": "y", "sentences": [{"text": "t", "confidence": "high"}]}, "`confidence` must be a number"),
        ({"id": "y", "sentences": [{"text": "t", "scores": {"fact": "x"}}]}, "`scores` must be an object"),
    ],
)
def test_jsonl_field_errors_name_the_line(tmp_path, obj, fragment):
    path = write(tmp_path, "in.jsonl", jline(GOOD) + jline(obj))
    assert_error(path, 2, fragment)


def test_jsonl_label_not_in_label_set(tmp_path):
    bad = {"id": "y", "sentences": [{"text": "t", "label": "fact"}, {"text": "u", "label": "opinion"}]}
    path = write(tmp_path, "in.jsonl", jline(GOOD) + jline(bad))
    assert_error(path, 2, "article 'y', sentence 2: label 'opinion' is not one of the labels", ROLES)
    assert read_articles(path)[1].sentences[1].label == "opinion"  # no label set: anything goes


def test_jsonl_duplicate_ids(tmp_path):
    path = write(tmp_path, "in.jsonl", jline(GOOD) + jline({**GOOD, "id": "z"}) + jline(GOOD))
    assert_error(path, 3, "duplicate article id 'x' (first on line 1)")


# --------------------------------------------------------------------------------- CSV errors


def test_csv_missing_columns(tmp_path):
    assert_error(write(tmp_path, "in.csv", "id,text,label\nx,t,fact\n"), 1, "lacks column(s) article_id")
    # a tab-separated file named .csv gets a hint
    err = error_of(write(tmp_path, "t.csv", "article_id\ttext\nx\tt\n"))
    assert err.line == 1 and "name it .tsv" in err.message


def test_csv_header_only(tmp_path):
    assert_error(write(tmp_path, "in.csv", "article_id,text,label\n"), None, "header but no rows")


def test_csv_errors_name_the_row_line(tmp_path):
    head = "article_id,text,label\n"
    assert_error(write(tmp_path, "a.csv", head + "x,One.,fact\n,Two.,fact\n"), 3, "`article_id` is empty")
    assert_error(write(tmp_path, "b.csv", head + "x,One.,fact\nx, ,fact\n"), 3, "`text` is empty")
    assert_error(write(tmp_path, "c.csv", head + "x,One.,fact\nx,Two.\n"), 3, "row has 2 fields, the header has 3")
    assert_error(write(tmp_path, "d.csv", head + "x,One.,fact\nx,Two.,Fact\n"), 3, "label 'Fact' is not one", ROLES)
    assert_error(write(tmp_path, "e.csv", "article_id,text,paragraph\nx,One.,a\n"), 2, "`paragraph` must be")


def test_csv_line_numbers_count_multiline_fields(tmp_path):
    # the fixture's third row spans lines 4-5, so the fourth row starts on line 6
    text = (FIXTURES / "articles.csv").read_text(encoding="utf-8").replace("(Reporting by Jane Doe),", "(Reporting),bad")
    assert_error(write(tmp_path, "in.csv", text), 6, "label 'bad' is not one", ROLES)


def test_csv_rows_of_an_article_must_be_contiguous(tmp_path):
    path = write(tmp_path, "in.csv", "article_id,text\nx,One.\ny,Two.\n\nx,Three.\n")
    assert_error(path, 5, "rows of article 'x' are not contiguous (its first row is on line 2)")


def test_tsv_errors_too(tmp_path):
    path = write(tmp_path, "in.tsv", "article_id\ttext\tlabel\nx\tOne.\tquote\nx\tTwo.\tnope\n")
    assert_error(path, 3, "label 'nope'", ROLES)


# ------------------------------------------------------------------------------------ sentence tables


def sentence_rows() -> dict[str, list]:
    """Two articles, their rows shuffled: the order column puts the sentences back."""
    return {
        "doc": ["b", "a", "a", "b", "a"],
        "pos": [1, 2, 0, 0, 1],
        "body": ["B two.", "A three.", "A one.", "B one.", "A two."],
        "role": ["fact", None, "quote", "stance", "background"],
    }


MAPPED = ColumnsConfig(article_id="doc", text="body", label="role", order="pos")


def test_parquet_sentence_table_with_mapped_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "sentences.parquet"
    pq.write_table(pa.table(sentence_rows()), path)
    articles = read_articles(path, ROLES, columns=MAPPED)
    assert [a.id for a in articles] == ["b", "a"]  # first appearance
    assert [(s.text, s.label) for s in articles[1].sentences] == [("A one.", "quote"), ("A two.", "background"), ("A three.", None)]
    assert [s.text for s in articles[0].sentences] == ["B one.", "B two."]


def test_arrow_file_reads_like_parquet(tmp_path):
    from datasets import Dataset

    Dataset.from_dict(sentence_rows()).save_to_disk(tmp_path / "saved")
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    articles = read_articles(arrow, ROLES, columns=MAPPED)
    assert [[s.text for s in a.sentences] for a in articles] == [["B one.", "B two."], ["A one.", "A two.", "A three."]]


def test_table_column_errors_name_the_column_and_file(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "sentences.parquet"
    pq.write_table(pa.table(sentence_rows()), path)
    with pytest.raises(UserError) as err:
        read_articles(path, ROLES, columns=ColumnsConfig(article_id="doc", text="sentence", order="pos"))
    assert str(err.value).startswith(str(path)) and "no column 'sentence' (data.columns.text)" in str(err.value)
    assert "doc, pos, body, role" in str(err.value)
    # A default name missing is an error only for a required column; a label column asked for by name must be there.
    with pytest.raises(UserError, match="no column 'article_id' \\(data.columns.article_id\\)"):
        read_articles(path)
    with pytest.raises(UserError, match="no column 'tag' \\(data.columns.label\\)"):
        read_articles(path, columns=ColumnsConfig(article_id="doc", text="body", label="tag"))
    pq.write_table(pa.table({**sentence_rows(), "role": ["fact", "nope", "quote", "stance", "fact"]}), path)
    with pytest.raises(UserError, match="row 2: article 'a': label 'nope' is not one of"):
        read_articles(path, ROLES, columns=MAPPED)


def test_csv_columns_are_mapped_too(tmp_path):
    path = write(tmp_path, "in.csv", "doc,body,role\nx,One.,quote\nx,Two.,fact\n")
    columns = ColumnsConfig(article_id="doc", text="body", label="role")
    [article] = read_articles(path, ROLES, columns=columns)
    assert [(s.text, s.label) for s in article.sentences] == [("One.", "quote"), ("Two.", "fact")]
    with pytest.raises(UserError) as err:
        read_articles(path, ROLES, columns=ColumnsConfig(article_id="doc", text="sentence"))
    assert str(err.value).startswith(f"{path}:1: no column 'sentence' (data.columns.text)")


def test_hub_id_offline_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        load_articles_dataset("hf:no-such-org/no-such-dataset:train")
    message = str(err.value)
    assert message.startswith("hf:no-such-org/no-such-dataset:train: cannot load hub dataset 'no-such-org/no-such-dataset' split 'train'")
    assert "\n" not in message
