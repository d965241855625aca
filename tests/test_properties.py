"""Properties of everything that reads user input: no crash but a UserError, nothing lost.

* the readers: JSONL and CSV written by the writers read back the same, whatever the text and the
  labels; arbitrary bytes give articles or a UserError, never another exception;
* the label inputs, the brat reader, the config loader and the HTML extractor, fed the same way;
* the sentence splitter stays linear-time on adversarial inputs (tests/test_splitter.py has the
  nothing-lost properties on arbitrary text);
* bounded memory on huge articles, and out-of-memory errors that say what to do.
"""

from __future__ import annotations

import html
import io
import sys
import unicodedata
import warnings
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newsroles.inference.cli._app import one_line
from newsroles.inference.io.html import extract_html, looks_like_html
from newsroles.inference.io.inputs import iter_label_inputs
from newsroles.inference.splitter import article_from_text, split_sentences
from newsroles.inference.io.writers import ArticleWriter, write_csv, write_jsonl
from newsroles.model.article import Article, Sentence
from newsroles.model.errors import InputWarning, UserError
from newsroles.model.text.textio import binary_reason
from newsroles.training.data.readers import read_articles

ROLES = ["stance", "quote", "background", "fact"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _squash(text: str) -> str:
    return "".join(text.split())


# ------------------------------------------------------------------------------ readers: round trip

# Anything a JSON string holds (no surrogates: they are not text), non-blank.
any_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(str.strip)
# CSV cells: no control characters but tab and line ends (a NUL byte is a binary file).
cell_chars = st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(list("\t\n\r ,;\"'"))
cell_text = st.text(cell_chars, min_size=1, max_size=60).filter(str.strip)
labels = st.one_of(st.none(), st.sampled_from(ROLES), any_text)


@st.composite
def articles(draw, text=any_text, label=labels, with_titles=True):
    ids = draw(st.lists(text.map(str.strip).filter(bool), min_size=1, max_size=4, unique=True))
    out = []
    for art_id in ids:
        sentences = [
            Sentence(text=t, label=draw(label), paragraph=draw(st.one_of(st.none(), st.integers(0, 5))))
            for t in draw(st.lists(text, min_size=1, max_size=5))
        ]
        title = draw(st.one_of(st.none(), text)) if with_titles else None
        out.append(Article(id=art_id, sentences=sentences, title=title))
    return out


@FAST
@given(articles())
def test_jsonl_round_trip(tmp_path_factory, arts):
    path = tmp_path_factory.mktemp("rt") / "a.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        write_jsonl(arts, fh)
    back = read_articles(path)
    assert [a.to_dict() for a in back] == [a.to_dict() for a in arts]


@FAST
@given(articles(text=cell_text, label=st.one_of(st.none(), st.sampled_from(ROLES), cell_text.map(str.strip).filter(bool)), with_titles=False))
def test_csv_round_trip(tmp_path_factory, arts):
    path = tmp_path_factory.mktemp("rt") / "a.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_csv(arts, fh)
    back = read_articles(path)
    assert [a.id for a in back] == [a.id for a in arts]
    for got, want in zip(back, arts):
        assert [s.text for s in got.sentences] == [s.text for s in want.sentences]
        assert [s.label for s in got.sentences] == [s.label.strip() if s.label else None for s in want.sentences]


@FEW
@given(articles(label=st.sampled_from(ROLES)))
def test_article_writer_output_reads_back_with_the_label_set(tmp_path_factory, arts):
    path = tmp_path_factory.mktemp("rt") / "out.jsonl"
    with ArticleWriter(path) as writer:
        writer.write_all(arts)
    assert [a.to_dict() for a in read_articles(path, ROLES)] == [a.to_dict() for a in arts]


# --------------------------------------------------------------------- readers: arbitrary bytes

JSONISH = [
    b'{"id": "a", "sentences": [{"text": "One.", "label": "fact"}]}', b'{"id": 1, "sentences": ["x"]}', b"{", b"}",
    b'"sentences"', b"[", b"]", b'"label": null', b"\n", b"\r\n", b"\x00", b"\xff", b"\xe9", b"\xef\xbb\xbf", b",",
    b"article_id,text,label", b"a,Hello.,quote", b"\t", b'"', b"<html><p>x</p>", b"S1 Text.", b"T1\tMain 0 2\tS1", b"NaN",
]
messy_bytes = st.one_of(st.binary(max_size=300), st.lists(st.sampled_from(JSONISH), max_size=25).map(b"".join))


def _only_user_errors(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        try:
            return fn()
        except UserError as err:
            shown = one_line(f"error: {err}")  # what the CLI prints
            assert err.message.strip() and not any(unicodedata.category(c) == "Cc" for c in shown), repr(shown)
            return None


@FAST
@given(messy_bytes, st.sampled_from([".jsonl", ".csv", ".tsv"]))
def test_readers_raise_only_user_errors_on_any_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("bytes") / f"in{suffix}"
    path.write_bytes(data)
    got = _only_user_errors(lambda: read_articles(path, ROLES))
    if got is not None:
        assert all(a.sentences and all(s.text.strip() for s in a.sentences) for a in got)


@FAST
@given(messy_bytes, st.sampled_from([".txt", ".jsonl", ".html", ".csv", ".md"]), st.booleans())
def test_label_inputs_raise_only_user_errors_on_any_bytes(tmp_path_factory, data, suffix, skip_bad):
    path = tmp_path_factory.mktemp("bytes") / f"in{suffix}"
    path.write_bytes(data)
    inputs = iter_label_inputs([str(path)], skip_bad=skip_bad)
    got = _only_user_errors(lambda: list(inputs))
    if got is not None:
        assert all(a.sentences and all(s.text.strip() for s in a.sentences) for a in got)
        if skip_bad:
            assert len(got) + len(inputs.skipped) >= 1 or not data.strip()


@FAST
@given(messy_bytes)
def test_stdin_raises_only_user_errors_on_any_bytes(data):
    _only_user_errors(lambda: list(iter_label_inputs(["-"], stdin=io.BytesIO(data))))


@FAST
@given(messy_bytes, messy_bytes)
def test_brat_reader_raises_only_user_errors_on_any_bytes(tmp_path_factory, txt, ann):
    from newsroles.model.labels import load_mapping
    from newsroles.training.data.brat import read_brat_article

    folder = tmp_path_factory.mktemp("brat")
    (folder / "a.txt").write_bytes(txt)
    (folder / "a.ann").write_bytes(ann)
    _only_user_errors(lambda: read_brat_article(folder / "a.txt", "a", load_mapping("roles"), on_warning=lambda w: None))


yamlish = st.lists(
    st.sampled_from(["train:", "model:", "data:", "  epochs: 2", "  epochs: x", "  learning_rate: 1e9", "seed: 1", "- a",
                     "  batch_size: -1", "name: [", "\t", ": :", "train: 3", "  device: tpu", "  max_length: 1e99", "baseline:",
                     "  C: .nan", "  ngram_max: 2.5", "  mapping: null", "x: {a: 1}"]),
    max_size=8,
).map("\n".join)


@FAST
@given(st.one_of(yamlish.map(str.encode), messy_bytes))
def test_config_loader_raises_only_user_errors(tmp_path_factory, data):
    from newsroles.training.config import load_config

    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_bytes(data)
    _only_user_errors(lambda: load_config(path))


# ------------------------------------------------------------------------------------------ HTML

# Prose as pages hold it: words of letters (any script), digits and punctuation, some escaped.
word = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd")), min_size=1, max_size=12)
prose = st.lists(word, min_size=4, max_size=30).map(" ".join).map(lambda s: s + ".")


@FAST
@given(st.lists(prose, min_size=1, max_size=6, unique=True), st.one_of(st.none(), st.lists(word, min_size=2, max_size=8).map(" ".join)))
def test_html_paragraphs_come_back_word_for_word_one_a_line(paras, title):
    head = "<head><script>var s = '<p>not this</p>';</script><style>p { color: red }</style></head>"
    h1 = f"<h1>{html.escape(title)}</h1>" if title is not None else ""
    body = "".join(f"<p class='x'>{html.escape(p)}</p>" for p in paras)
    page = (
        f"<!doctype html><html>{head}<body><nav><p>Menu item one</p></nav><article>{h1}{body}</article>"
        "<footer><p>Copyright notice of the site</p></footer></body></html>"
    )
    assert looks_like_html(page)
    got = extract_html(page)
    assert got.paragraphs == paras  # the title is kept apart, not repeated as a first line
    assert got.text == "\n".join(paras)
    if title is not None:
        assert got.title == title


@FAST
@given(st.text(max_size=300) | st.lists(st.sampled_from(["<p>", "</p>", "<div>", "<script>", "</script>", "<nav>", "x. ", "&amp;", "<h1>", "<!--", "-->", "<br/>", "<table><td>", "<?xml ", "<![CDATA["]), max_size=30).map("".join))
def test_html_extraction_never_crashes(text):
    got = extract_html(text)
    assert all(p == " ".join(p.split()) and p for p in got.paragraphs)
    assert got.date is None or len(got.date) == 10


# ------------------------------------------------------------------------------ text vs. binary


def test_binary_reason():
    assert binary_reason("Der Café öffnet. \ufffd is fine.".encode()) is None
    assert binary_reason("Le café ouvre à huit heures, dit-il.".encode("latin-1")) is None  # decoded, with a warning
    assert binary_reason("Новости дня: в Москве прошёл дождь.".encode("cp1251")).startswith("mostly bytes that are not UTF-8")
    assert binary_reason(b"\x89PNG\r\n\x1a\n") == "a PNG image"
    assert binary_reason(b"%PDF-1.4\n") == "a PDF document"
    assert binary_reason(b"text\x00more") == "NUL bytes"
    assert binary_reason(bytes(range(1, 32)) * 3) == "control characters"
    assert binary_reason("Hello".encode("utf-16")).startswith("UTF-16")


def test_utf16_text_file_is_decoded_with_a_warning(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes("Der Regen hört auf. Die Sonne scheint.".encode("utf-16"))
    with pytest.warns(InputWarning, match="UTF-16 text, decoded"):
        (article,) = iter_label_inputs([str(path)])
    assert [s.text for s in article.sentences] == ["Der Regen hört auf.", "Die Sonne scheint."]


# ---------------------------------------------------------------------- splitter: linear work

BLOCKS = [".", "!", "?", "…", ". ", ".. ", "... ", ". . ", "?\" ", "\"", "'", ")", " ", "\n", "\n\n", "a", "A", "U.S.", "Mr. ",
          "word ", "The ", "said ", "\"Why?\" ", "a.m. ", "-", "1", "\t", "- a\n"]


def calls_made(function, *args) -> int:
    """How many Python and C function calls `function(*args)` makes: a count of work, not a clock."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return count


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=4).map("".join))
def test_splitter_work_is_linear_on_long_runs(block):
    """A pattern repeated twice as often costs at most about twice the calls (a quadratic scan, such as
    looking ahead to the end of the text from every candidate, would cost four times)."""
    text = block * (30_000 // len(block))
    short, long = calls_made(article_from_text, text[: len(text) // 2], "x"), calls_made(article_from_text, text, "x")
    assert long <= 2.5 * short + 200, (block, short, long)
    article = article_from_text(text, "x")
    kept = Counter(_squash("".join(s.text for s in article.sentences) + (article.title or "")))
    assert kept - Counter(_squash(text)) == Counter() and set(Counter(_squash(text)) - kept) <= {"#"}


def test_splitter_work_grows_linearly():
    base = "Officials said the storm killed 12 people. ... \"Why?\" he asked. U.S. officials . . . agreed!! "
    counts = [calls_made(split_sentences, base * n) for n in (500, 2_000)]
    assert counts[1] < 4.5 * counts[0], counts  # 4x the text: about 4x the work


# ------------------------------------------------------------------------- bounded memory


class SpyTokenizer:
    """Records how many texts each call tokenizes."""

    cls_token_id, sep_token_id, pad_token_id = 1, 2, 0

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, texts, add_special_tokens=False, truncation=False, max_length=None):
        self.calls.append(len(texts))
        return {"input_ids": [[5] * min(len(t.split()), max_length or 10**9) for t in texts]}


def test_a_huge_article_is_tokenized_in_slices():
    from newsroles.model.spec import ModelSpec
    from newsroles.model.windows import TOKENIZE_SLICE, tokenize_articles

    article = Article("big", [Sentence(f"sentence {i} here") for i in range(5_000)], title="Big")
    tokenizer = SpyTokenizer()
    (title_ids, ids), = tokenize_articles(tokenizer, [article], ModelSpec())
    assert len(ids) == 5_000 and ids[0] == [5, 5, 5]
    assert max(tokenizer.calls) <= TOKENIZE_SLICE


def test_label_stream_chunks_are_bounded_in_sentences():
    from pathlib import Path
    from types import SimpleNamespace

    from newsroles.inference.predictor import Labeler
    from newsroles.model.loading import Loaded
    from newsroles.model.store.registry import Version

    chunks: list[tuple[int, int]] = []

    class Counting:  # a runner (model/loading.py) that counts what each call is given
        device, int8_kernel = SimpleNamespace(type="cpu"), None

        def predict(self, articles, batch_size=None, progress=None, aux_out=None):
            chunks.append((len(articles), sum(len(a.sentences) for a in articles)))
            return [np.full((len(a.sentences), 4), 0.25) for a in articles]

    sizes = [3] * 100 + [10_000] + [1_500] * 6 + [3] * 10
    stream = (Article(f"a{i}", [Sentence("x.")] * n) for i, n in enumerate(sizes))
    version = Version(Path("counting"), {"labels": ROLES}, "c0ffee00", "counting", "counting")
    labeler = Labeler(Loaded(version, Counting()))
    done = [a.id for a in labeler.label_stream(stream)]
    assert done == [f"a{i}" for i in range(len(sizes))]
    assert all(n_articles <= 64 for n_articles, _ in chunks)
    assert all(n_sentences <= 4096 or n_articles == 1 for n_articles, n_sentences in chunks), chunks


# --------------------------------------------------------------------------- out of memory


class _Oom(torch.nn.Module):
    """A SentenceRoleModel stand-in whose forward pass runs out of memory."""

    def __init__(self, exc: BaseException):
        super().__init__()
        from newsroles.model.spec import ModelSpec

        self.exc = exc
        self.spec = ModelSpec()
        self.head = torch.nn.Linear(2, 4)

    def forward(self, batch):
        raise self.exc


class _Tokenizer(SpyTokenizer):
    pass


@pytest.mark.parametrize(
    "exc",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"),
        RuntimeError("CUDA error: out of memory"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:114] DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"),
        MemoryError(),
    ],
    ids=["cuda-oom", "runtime-oom", "cpu-allocator", "memory-error"],
)
def test_out_of_memory_in_the_forward_pass_is_a_user_error_with_half_the_batch(exc):
    from newsroles.model.network.forward import article_probabilities

    articles = [Article("a", [Sentence("One two three."), Sentence("Four five.")])]
    with pytest.raises(UserError, match=r"ran out of memory labeling with batch size 32; retry with a smaller batch: --batch-size 16"):
        article_probabilities(_Oom(exc), _Tokenizer(), articles, torch.device("cpu"), batch_size=32)


def test_other_runtime_errors_are_not_taken_for_out_of_memory():
    from newsroles.model.network.forward import article_probabilities

    articles = [Article("a", [Sentence("One two three.")])]
    with pytest.raises(RuntimeError, match="shape mismatch"):
        article_probabilities(_Oom(RuntimeError("shape mismatch")), _Tokenizer(), articles, torch.device("cpu"), batch_size=8)


def test_out_of_memory_messages():
    from newsroles.model.network.forward import out_of_memory_error

    gpu = out_of_memory_error(torch.device("cuda"), 128)
    assert str(gpu) == "the GPU ran out of memory labeling with batch size 128; retry with a smaller batch: --batch-size 64"
    training = out_of_memory_error(torch.device("cuda"), 8, "--train.batch_size", "training")
    assert "training with batch size 8; retry with a smaller batch: --train.batch_size 4" in str(training)
    assert "already 1" in str(out_of_memory_error(torch.device("cpu"), 1))
