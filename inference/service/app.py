"""The HTTP service of `newsroles serve` (FastAPI): label stories, describe the model, a web page.

    POST /v1/label   {"text": ...} | {"html": ...} | {"articles": [{"id", "text"}, ...]}
                     -> {"model": {...}, "articles": [records as `newsroles label --format jsonl`]}
                     (each sentence's `start` and `end` index the text sent, or an HTML story's
                     `extracted_text`: the record's `offsets_into` says which; schema.py)
    GET  /v1/model   name, version, labels, kind, the model card's metrics (metrics.json)
    GET  /healthz    {"status": "ok"} while the labeling thread lives
    GET  /           paste a story, see it labeled (the HTML view)
    GET  /docs       OpenAPI docs

Every error is JSON, `{"error": "...", "field": ...}`: 400 malformed JSON, 401 no or wrong API key,
413 body or article count over the limit, 415 not JSON or binary, 422 wrong shape (naming the
field), 504 past the time limit.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from newsroles.inference.io.inputs import read_story
from newsroles.inference.service.limits import ApiError, BodyLimits, error_response
from newsroles.inference.service.schema import LabelAnswer
from newsroles.inference.service.worker import LabelWorker
from newsroles.inference.views.pages import render_service_page
from newsroles.model.errors import UserError
from newsroles.model.store.registry import version_id


@dataclass
class ServiceSettings:
    max_body_bytes: int = 2 * 1024 * 1024
    max_articles: int = 64
    timeout_s: float = 60.0
    api_key: str | None = None
    max_batch_articles: int = 64


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=500, description="The article's id, kept in the answer.")
    text: str = Field(min_length=1, description="The story: plain text, or an HTML page.")


class LabelRequest(BaseModel):
    """Exactly one of `text`, `html` or `articles`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "WASHINGTON -- A storm killed 12 people on Monday, officials said."}]},
    )
    text: str | None = Field(None, min_length=1, description="One story as plain text (markup in it is read as HTML).")
    html: str | None = Field(None, min_length=1, description="One story as an HTML page: its main text, title and publication date (meta.date) are found by trafilatura.")
    id: str | None = Field(None, min_length=1, max_length=500, description="Id of the story given as text or html (default: text / html).")
    articles: list[ArticleIn] | None = Field(None, min_length=1, description="Several stories, each {id, text}.")

    @model_validator(mode="after")
    def one_kind(self) -> "LabelRequest":
        given = [name for name in ("text", "html", "articles") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, html or articles (got {', '.join(given) or 'none'})")
        if self.articles is not None and self.id is not None:
            raise ValueError("id goes inside each of articles, not beside them")
        return self


def model_info(labeler) -> dict[str, Any]:
    """What GET /v1/model answers: from the folder's manifest and metrics.json."""
    folder = Path(labeler.path)
    manifest = labeler.manifest
    metrics = None
    if (folder / "metrics.json").is_file():
        try:
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metrics = None  # a damaged card does not stop the service; the answer says there is none
    return {
        "name": manifest.get("name") or folder.name,
        "version": version_id(folder, manifest),
        "folder": folder.name,
        "kind": manifest.get("kind"),
        "runtime": manifest.get("runtime") or ("fp32" if manifest.get("kind") == "transformer" else None),
        "labels": list(labeler.labels),
        "created": manifest.get("created"),
        "newsroles_version": manifest.get("newsroles_version"),
        "metrics": metrics,
    }


def request_articles(request: LabelRequest, max_articles: int):
    """The request's stories as Articles, read as `newsroles label` reads a text or HTML file."""
    if request.articles is not None:
        if len(request.articles) > max_articles:
            raise ApiError(413, f"too many articles: {len(request.articles)} (the limit is {max_articles} per request)", "articles")
        items = [(f"articles.{i}.text", a.id, a.text, False) for i, a in enumerate(request.articles)]
        ids = [a.id for a in request.articles]
        if len(set(ids)) != len(ids):
            raise ApiError(422, "articles: ids must be unique", "articles")
    elif request.text is not None:
        items = [("text", request.id or "text", request.text, False)]
    else:
        items = [("html", request.id or "html", request.html, True)]
    articles, notes = [], []
    for field, article_id, text, is_html in items:
        if "\x00" in text:
            raise ApiError(415, f"{field}: binary content (NUL characters), not text", field)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                articles.append(read_story(text, article_id, field, html=is_html))
            except UserError as exc:
                raise ApiError(422, str(exc), field) from None
        notes.extend(str(w.message) for w in caught)
    return articles, notes


def create_app(labeler, settings: ServiceSettings | None = None) -> FastAPI:
    """The service around a loaded labeler (newsroles.inference.predictor.load_labeler)."""
    settings = settings or ServiceSettings()
    info = model_info(labeler)
    worker = LabelWorker(labeler, settings.max_batch_articles)

    async def lifespan(app: FastAPI):
        yield
        worker.close()

    # FastAPIOffline: /docs serves Swagger UI's files from the package itself, not from a CDN, so the
    # docs page works where the service has no internet (as in most newsroom networks' back ends).
    app = FastAPIOffline(
        title="newsroles",
        summary="Tag every sentence of a news story as stance, quote, background or fact.",
        version=str(info.get("newsroles_version") or "0"),
        lifespan=lifespan,
    )
    app.state.worker = worker
    app.state.settings = settings
    app.add_middleware(BodyLimits, max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.field, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_shape(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            ctx = next((e.get("ctx") or {} for e in errors if e.get("type") == "json_invalid"), {})
            return error_response(400, f"malformed JSON: {ctx.get('error', 'cannot parse the body')}", None)
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        field = ".".join(loc) or None
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        return error_response(422, f"{field}: {message}" if field else message, field,
                              extra={"errors": [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg")} for e in errors[:20]]})

    async def check_key(request: Request) -> None:
        if settings.api_key is None:
            return
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None or not secrets.compare_digest(given.encode(), settings.api_key.encode()):
            raise ApiError(401, "missing or wrong API key: send it as X-API-Key or Authorization: Bearer", None,
                           {"WWW-Authenticate": "Bearer"})

    @app.post("/v1/label", dependencies=[Depends(check_key)],
              summary="Label stories: the same records as `newsroles label --format jsonl`.",
              responses={200: {"model": LabelAnswer, "description": "Each story's sentences with their roles and offsets."}})
    async def label(body: LabelRequest) -> JSONResponse:
        articles, notes = request_articles(body, settings.max_articles)
        try:
            labeled = await worker.label(articles, settings.timeout_s)
        except asyncio.TimeoutError:
            raise ApiError(504, f"labeling took longer than the limit of {settings.timeout_s:g} s", None) from None
        except Exception as exc:
            raise ApiError(500, f"labeling failed: {type(exc).__name__}: {exc}"[:500], None) from None
        answer: dict[str, Any] = {
            "model": {"name": info["name"], "version": info["version"]},
            "articles": [a.to_dict() for a in labeled],
        }
        if notes:
            answer["warnings"] = notes
        return JSONResponse(answer)

    @app.get("/v1/model", dependencies=[Depends(check_key)], summary="The model: name, version, labels, metrics.")
    async def model() -> dict:
        return info

    @app.get("/healthz", summary="ok while the model's thread runs.")
    async def healthz() -> JSONResponse:
        if not worker.alive:
            return error_response(503, "the labeling thread has stopped", None)
        return JSONResponse({"status": "ok", "model": info["name"], "version": info["version"]})

    page = render_service_page(info, api_key_required=settings.api_key is not None)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> HTMLResponse:
        return HTMLResponse(page)

    return app
