"""What the service refuses before any parsing, and the JSON shape of every error it answers.

`BodyLimits` (ASGI middleware) reads a request body once, up to the limit: over it -> 413 (from
Content-Length at once, or as soon as a streamed body passes it); a POST that is not JSON -> 415;
bytes that are not UTF-8 text (or hold NUL bytes) -> 415. The body is then handed on unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An answer with a 4xx/5xx status and a one-line message (and the request field it is about)."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers


def error_response(status: int, message: str, field: str | None, headers: dict | None = None,
                   extra: dict | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "field": field, **(extra or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _json_error(status: int, message: str) -> bytes:
    return json.dumps({"error": message, "field": None}).encode()


class BodyLimits:
    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = self.max_body_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            return await _answer(send, 413, f"body of {int(length)} bytes is over the limit of {limit} bytes")
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            return await _answer(send, 415, f"send JSON (Content-Type: application/json), not {ctype or 'no content type'}")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await _answer(send, 413, f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body:
            return await _answer(send, 415, "binary body (NUL bytes), not JSON text")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return await _answer(send, 415, f"body is not UTF-8 text (byte {exc.start}): binary content is not accepted")
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _answer(send, status: int, message: str) -> None:
    payload = _json_error(status, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
