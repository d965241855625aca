"""Shared fixtures: a tiny randomly initialised BERT built in code, so no test downloads weights."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny models run fastest on one thread, and two processes each spinning two OpenMP threads on a
# 2-core machine slow each other down many times over.
os.environ.setdefault("OMP_NUM_THREADS", "1")

FIXTURES = Path(__file__).parent / "fixtures"


def write_file(path: Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes at `path`, making its folder: the tests' bad and odd input files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def wait_for(marker: Path, process, limit: float) -> None:
    """Wait until a run held by NEWSROLES_HOLD_AFTER_CHECKPOINT (training/checkpoint.py) writes
    `marker`: it then waits, alive, to be killed. Fails if the run ends first; `limit` seconds only
    bound a hung run (no assertion rests on how long it took)."""
    import time

    deadline = time.monotonic() + limit
    while not marker.exists():
        assert process.poll() is None, f"the run ended (exit code {process.returncode}) before its first checkpoint"
        assert time.monotonic() < deadline, f"no checkpoint after {limit} s"
        time.sleep(0.05)


def _brat_miniature() -> Path:
    """The brat miniature corpus (tests/brat_miniature.py), written once per test session."""
    import atexit
    import shutil
    import tempfile

    from brat_miniature import write_brat_miniature

    root = Path(tempfile.mkdtemp(prefix="newsroles-brat-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return write_brat_miniature(root)


BRAT_MINIATURE = _brat_miniature()

WORDS = (
    "the a an of to in on and said says was is will would could may be by for with at from that this it he she "
    "they we i you his her their its president minister police officials official company shares market year "
    "years ago last week month monday tuesday wednesday thursday friday government killed people attack "
    "expected analysts believe likely future talks war earlier history since 2018 1998 percent billion million "
    "reuters told reporters according spokesman statement court judge fire earthquake storm election vote"
).split()


def build_tiny_base_model(folder: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS
    vocab = list(dict.fromkeys(vocab))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    import inspect

    # transformers 5 takes the vocabulary as `vocab`; 4.x as `vocab_file` (and silently ignores `vocab`).
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    assert tokenizer.unk_token_id not in tokenizer("the said", add_special_tokens=False)["input_ids"]
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    import torch

    with torch.random.fork_rng():  # the same tiny weights in every session, whatever ran before
        torch.manual_seed(0)
        BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory) -> Path:
    return build_tiny_base_model(tmp_path_factory.mktemp("tiny-bert"))


def build_tiny_article_model(folder: Path, base: Path, labels=("stance", "quote", "background", "fact")) -> Path:
    """An untrained fp32 article-model folder over the tiny BERT; its head is scaled so that
    labels are not near ties (labels compared across processes must not flip on rounding)."""
    from dataclasses import asdict

    import torch
    from transformers import AutoModel, AutoTokenizer

    from newsroles.model.network.classifier import SentenceRoleModel
    from newsroles.model.network.saved import save_transformer
    from newsroles.model.spec import ModelSpec

    torch.manual_seed(0)
    # The settings these tests were written with, where today's default model differs.
    spec = ModelSpec(base=str(base), max_length=64, max_sentence_tokens=24, max_title_tokens=8, context_hidden=16,
                     window_overlap=0.5, lead_context=True, headline_features=False, paragraph_features=False)
    model = SentenceRoleModel(AutoModel.from_pretrained(base), spec, len(labels), 2)
    with torch.no_grad():
        model.head.weight.mul_(20.0)
    folder.mkdir(parents=True, exist_ok=True)
    save_transformer(
        folder,
        model.eval(),
        AutoTokenizer.from_pretrained(base),
        labels=list(labels),
        aux_labels=["A", "B"],
        config={"model": asdict(spec)},
        metrics={},
        data={},
        extra={"id": "0badc0de", "name": "tiny"},
    )
    return folder


@pytest.fixture(scope="session")
def tiny_article_model(tiny_base_model, tmp_path_factory) -> Path:
    return build_tiny_article_model(tmp_path_factory.mktemp("tiny-article") / "fp32", tiny_base_model)
