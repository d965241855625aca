"""What POST /v1/label answers, as pydantic models: documentation in the OpenAPI schema only (the
answer is built from `Article.to_dict`, the records of `newsroles label --format jsonl`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SentenceOut(BaseModel):
    text: str = Field(description="The sentence, as the splitter gives it (wrapped lines joined).")
    label: str | None = Field(description="Its role; null when left unlabeled (see `reason`).")
    paragraph: int | None = Field(None, description="Index of its paragraph, from 0.")
    confidence: float | None = Field(None, description="Probability of the best role.")
    scores: dict[str, float] | None = Field(None, description="Probability of every role.")
    reason: str | None = Field(None, description='Why it has no label: "boilerplate" or "low confidence".')
    start: int = Field(description=(
        "Where the sentence starts in the text its article's `offsets_into` names: a Python str index (a Unicode "
        "code point; JavaScript strings count UTF-16 units, so characters beyond U+FFFF, emoji, count twice there)."))
    end: int = Field(description=(
        "Where it ends (exclusive). text[start:end] is the sentence; where the sentence runs over line breaks, "
        "the slice holds them, and each run of whitespace with a line break is one space in `text` (nothing after "
        'a hyphenated word: "well-\\nknown" is "well-known").'))


class ArticleOut(BaseModel):
    id: str
    title: str | None = Field(description="The headline: the request's, an HTML page's <h1>, or a leading headline line.")
    sentences: list[SentenceOut]
    offsets_into: Literal["text", "extracted_text"] = Field(description=(
        "What the sentences' `start` and `end` index: `text`, the story exactly as sent (its headline line "
        "included); `extracted_text`, the text taken from an HTML story (given here as `extracted_text`)."))
    extracted_text: str | None = Field(None, description=(
        "For an HTML story: the article text taken from the page, its paragraphs joined with a blank line."))


class ModelRef(BaseModel):
    name: str
    version: str


class LabelAnswer(BaseModel):
    model: ModelRef
    articles: list[ArticleOut]
    warnings: list[str] | None = Field(None, description="Notes on the input, e.g. that markup was taken out of HTML.")
