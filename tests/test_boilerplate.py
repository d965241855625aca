"""Boilerplate rules: wire tags, credits and bylines are caught; story sentences like them are not."""

from __future__ import annotations

import numpy as np
import pytest

from newsroles.model.text.boilerplate import DEFAULT_THRESHOLD, boilerplate_mask, matches_rule, na_column

BOILERPLATE = [
    "(Yonhap)",
    "(Reuters)",
    "Reporting by Jane Doe; Editing by John Roe",
    "Additional reporting by Jane Doe in Seoul",
    "REUTERS/Jane Doe/File Photo",
    "Handout photo via REUTERS",
    "(Xinhua/Wang Wei)",
    "Source: Xinhua| 2018-10-02 23:25:50|Editor: yan",
    "Video Player Close",
    "Slideshow (3 Images)",
    "FILE PHOTO: A view of the harbour in 2015.",
    "($1 = 0.7649 pounds)",
    "(The story was refiled to correct a typo in the headline)",
    "By Jane Doe",
    "By Jane Doe and John Roe",
    "Picture taken June 15, 2018.",
    "[nyti.ms/2NnLG66]",
    "Back To Top",
]

STORY = [
    "Reuters reported that the talks had stalled.",
    "By the end of the week the river had risen two metres.",
    "by the way he said it",
    "Yonhap news agency said the ministers met on Monday.",
    "The file photo showed the mayor at the scene.",
    "Police said the video player was stolen.",
    "The refiled lawsuit names three companies.",
    "Editing the law will take years, officials said.",
]


@pytest.mark.parametrize("text", BOILERPLATE)
def test_boilerplate_lines_match_a_rule(text):
    assert matches_rule(text) and matches_rule(f"  {text} ")


@pytest.mark.parametrize("text", STORY)
def test_story_sentences_do_not(text):
    assert not matches_rule(text)


def test_mask_combines_the_models_p_na_with_the_rules():
    texts = ["(Yonhap)", "A storm hit.", "Caption of a photo.", "He said."]
    na = np.array([0.1, 0.2, 0.8, 0.5])
    assert boilerplate_mask(texts, None).tolist() == [True, False, False, False]
    assert boilerplate_mask(texts, na, threshold=0.5).tolist() == [True, False, True, True]
    assert boilerplate_mask(texts, na, threshold=0.9).tolist() == [True, False, False, False]
    assert boilerplate_mask(texts, na, threshold=0.5, rules=False).tolist() == [False, False, True, True]
    assert boilerplate_mask(texts, na).tolist() == boilerplate_mask(texts, na, threshold=DEFAULT_THRESHOLD).tolist()


def test_na_column_finds_the_corpus_label_or_says_there_is_none():
    assert na_column(["Main", "NA", "Speech"]) == 1
    assert na_column(["Main"]) is None and na_column(None) is None
