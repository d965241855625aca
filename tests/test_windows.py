"""The windowing shared by training and inference."""

from __future__ import annotations

import dataclasses
import functools

import pytest

from newsroles.model.spec import ModelSpec as DefaultSpec
from newsroles.model.windows import assign_owners, build_windows, collate_windows

# These tests were written for windows with half overlap and the lead as context (the default model has neither).
ModelSpec = functools.partial(DefaultSpec, window_overlap=0.5, lead_context=True, headline_features=False)

CLS, SEP = 101, 102


def sentences(lengths):
    return [[1000 + i] * n for i, n in enumerate(lengths)]


def test_short_article_is_one_window_with_title_and_separators():
    spec = ModelSpec(max_length=64)
    windows = build_windows(0, [7, 8], sentences([3, 2]), spec, CLS, SEP)
    assert len(windows) == 1
    w = windows[0]
    assert w.input_ids == [CLS, 7, 8, SEP, 1000, 1000, 1000, SEP, 1001, 1001, SEP]
    assert w.spans == [(4, 7), (8, 10)]
    assert [w.input_ids[hi] for _, hi in w.spans] == [SEP, SEP]


def test_long_article_windows_overlap_fit_and_cover_every_sentence():
    spec = ModelSpec(max_length=40, window_overlap=0.5)
    lengths = [5, 9, 3, 7, 6, 4, 8, 5, 2, 6, 7, 3]
    windows = build_windows(0, [], sentences(lengths), spec, CLS, SEP)
    assert len(windows) > 2
    assert all(len(w.input_ids) <= spec.max_length for w in windows)
    covered = {k for w in windows for k in range(w.start, w.end)}
    assert covered == set(range(len(lengths)))
    assert all(b.start < a.end for a, b in zip(windows, windows[1:])), "consecutive windows must overlap"


def test_each_sentence_is_owned_by_the_window_where_it_has_most_context():
    # 4 sentences of 5 tokens + separator per window
    spec = ModelSpec(max_length=6 * 4 + 1, window_overlap=0.5, lead_context=False)
    windows = build_windows(0, [], sentences([5] * 10), spec, CLS, SEP)
    assert [(w.start, w.end) for w in windows] == [(0, 4), (2, 6), (4, 8), (6, 10)]
    owners = assign_owners(windows, 10)
    # Sentence 3 sits at the edge of window 0 but inside window 1.
    assert owners[3] == (1, 1)
    # The first sentences keep the window that starts at the article's start.
    assert owners[0] == (0, 0) and owners[1] == (0, 1)
    assert owners[9] == (3, 3)
    for k, (w, j) in enumerate(owners):
        assert windows[w].start + j == k


def test_sentence_model_has_one_sentence_and_no_title_per_window():
    spec = ModelSpec(type="sentence", max_length=16)
    windows = build_windows(0, [], sentences([3, 40, 2]), spec, CLS, SEP)
    assert [(w.start, w.end) for w in windows] == [(0, 1), (1, 2), (2, 3)]
    assert all(len(w.input_ids) <= 16 for w in windows)
    assert windows[1].input_ids[0] == CLS and windows[1].input_ids[-1] == SEP


def test_overlong_sentence_is_truncated_to_fit_the_window():
    spec = ModelSpec(max_length=12)
    windows = build_windows(0, [], sentences([30, 2]), spec, CLS, SEP)
    assert all(len(w.input_ids) <= 12 for w in windows)
    assert {k for w in windows for k in range(w.start, w.end)} == {0, 1}


def test_collate_pads_and_masks():
    spec = ModelSpec(max_length=64)
    a = build_windows(0, [], sentences([3, 2]), spec, CLS, SEP)[0]
    b = build_windows(1, [], sentences([4]), spec, CLS, SEP)[0]
    batch = collate_windows([a, b], pad_id=0, labels=[[1, -100], [2]])
    assert batch["input_ids"].shape == (2, len(a.input_ids))
    assert batch["attention_mask"][1].sum().item() == len(b.input_ids)
    assert batch["sentence_mask"].tolist() == [[True, True], [True, False]]
    assert batch["labels"].tolist() == [[1, -100], [2, -100]]
    # Mean pooling weights of a sentence sum to one over exactly its tokens.
    assert batch["pool"][0, 0].sum().item() == pytest.approx(1.0)
    assert (batch["pool"][0, 0] > 0).nonzero().flatten().tolist() == [1, 2, 3]


def test_headline_span_is_pooled_in_every_window_and_absent_without_a_headline():
    spec = ModelSpec(max_length=30, window_overlap=0.0)
    windows = build_windows(0, [7, 8], sentences([4, 5, 5, 5, 5, 5]), spec, CLS, SEP)
    assert len(windows) > 1
    assert all(w.input_ids[slice(*w.title_span)] == [7, 8] for w in windows)
    untitled = build_windows(1, [], sentences([4, 5]), spec, CLS, SEP)[0]
    assert untitled.title_span is None
    batch = collate_windows([windows[1], untitled], pad_id=0)
    assert (batch["title_pool"][0, 0] > 0).nonzero().flatten().tolist() == [1, 2]
    assert batch["title_pool"][0, 0].sum().item() == pytest.approx(1.0)
    assert batch["title_pool"][1].abs().sum().item() == 0.0


def test_later_windows_see_the_lead_sentence_as_unclassified_context():
    spec = ModelSpec(max_length=30, window_overlap=0.0)
    windows = build_windows(0, [7], sentences([4, 5, 5, 5, 5, 5]), spec, CLS, SEP)
    assert windows[0].input_ids[:3] == [CLS, 7, SEP] and windows[0].start == 0
    later = windows[1]
    assert later.input_ids[:8] == [CLS, 7, SEP, 1000, 1000, 1000, 1000, SEP]
    assert later.spans[0][0] == 8, "the lead is context only: the first classified span follows it"
    assert all(len(w.input_ids) <= 30 for w in windows)
    assert [k for w in windows for k in range(w.start, w.end)] == list(range(6))


def test_paragraph_features_mark_paragraph_starts_and_ends():
    from newsroles.model.windows import paragraph_features

    rows = paragraph_features([0, 1, 1, 2])
    assert [r[0] for r in rows] == [1.0] * 4  # paragraphs known
    assert [r[1] for r in rows] == [0.0, 0.5, 0.5, 1.0]
    assert [r[2] for r in rows] == [1.0, 0.0, 0.0, 0.0]  # in the first paragraph
    assert [r[3] for r in rows] == [1.0, 1.0, 0.0, 1.0]  # first sentence of its paragraph
    assert [r[4] for r in rows] == [1.0, 0.0, 1.0, 1.0]  # last sentence of its paragraph
    assert paragraph_features([0, None]) == [[0.0] * 5, [0.0] * 5]


def test_first_share_cuts_the_first_window_and_shifts_the_rest():
    spec = ModelSpec(max_length=6 * 4 + 1, window_overlap=0.0, lead_context=False)
    plain = build_windows(0, [], sentences([5] * 10), spec, CLS, SEP)
    assert [(w.start, w.end) for w in plain] == [(0, 4), (4, 8), (8, 10)]
    shifted = build_windows(0, [], sentences([5] * 10), spec, CLS, SEP, first_share=0.5)
    assert [(w.start, w.end) for w in shifted] == [(0, 2), (2, 6), (6, 10)]
    first = shifted[0]
    assert first.input_ids == [CLS] + [1000] * 5 + [SEP] + [1001] * 5 + [SEP]
    assert first.spans == [(1, 6), (7, 12)]
    # Any share keeps at least one sentence and covers every sentence exactly once.
    for share in (0.0, 0.01, 0.3, 0.99):
        windows = build_windows(0, [], sentences([5] * 10), spec, CLS, SEP, first_share=share)
        assert [k for w in windows for k in range(w.start, w.end)] == list(range(10))
        assert all(w.input_ids[hi] == SEP for w in windows for _, hi in w.spans)
