"""A real `newsroles serve` (uvicorn, 127.0.0.1, a free port) under a bounded load: 300 requests,
16 at a time, good and bad mixed. Every good one gets the labels the model gives in-process, every
bad one its 4xx; afterwards the server is healthy and its memory has not grown with the requests."""

from __future__ import annotations

import os
import random
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx", reason="the serve extra (fastapi, uvicorn, httpx) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn, httpx) is not installed")

from newsroles.inference.io.inputs import read_story  # noqa: E402
from newsroles.inference.predictor import load_labeler  # noqa: E402
from live_server import Server  # noqa: E402
from served_models import STORY, baseline_model  # noqa: E402

# Reading an HTML story warns that markup was taken out; expected here.
pytestmark = pytest.mark.filterwarnings("ignore::newsroles.model.errors.InputWarning")

WORDS = "the police said officials told reporters analysts expect talks in 1998 a storm killed people on monday".split()


@pytest.fixture(scope="module")
def server():
    s = Server(baseline_model(), "--max-articles", "4", "--max-body-mb", "0.05")
    yield s
    s.stop()


def story(rng: random.Random) -> str:
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))).capitalize() + "."
        for _ in range(rng.randint(1, 8))
    )


def make_requests(n: int, seed: int):
    """(kind, request kwargs, what the answer must be) for n requests, about a third of them bad."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["text", "text", "articles", "html", "malformed", "too_many", "not_json", "shape", "too_big"])
        if kind == "text":
            out.append((kind, {"json": {"text": story(rng), "id": f"t{i}"}}, 200))
        elif kind == "articles":
            arts = [{"id": f"a{i}-{k}", "text": story(rng)} for k in range(rng.randint(1, 4))]
            out.append((kind, {"json": {"articles": arts}}, 200))
        elif kind == "html":
            out.append((kind, {"json": {"html": f"<h1>Head {i}</h1><p>{story(rng)}</p><p>{story(rng)}</p>"}}, 200))
        elif kind == "malformed":
            out.append((kind, {"content": b'{"text": ', "headers": {"content-type": "application/json"}}, 400))
        elif kind == "too_many":
            out.append((kind, {"json": {"articles": [{"id": str(k), "text": "He said."} for k in range(5)]}}, 413))
        elif kind == "not_json":
            out.append((kind, {"content": story(rng).encode(), "headers": {"content-type": "text/plain"}}, 415))
        elif kind == "shape":
            out.append((kind, {"json": {"articles": [{"id": "x", "txt": "y"}]}}, 422))
        else:
            out.append((kind, {"json": {"text": "word " * 12_000}}, 413))
    return out


def expected_records(labeler, kwargs) -> list[dict]:
    body = kwargs["json"]
    if "articles" in body:
        stories = [read_story(a["text"], a["id"], "test") for a in body["articles"]]
    elif "html" in body:
        stories = [read_story(body["html"], "html", "test", html=True)]
    else:
        stories = [read_story(body["text"], body["id"], "test")]
    return [a.to_dict() for a in labeler.label(stories)]


def run_load(server: Server, requests, concurrency: int = 16):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        def send(item):
            kind, kwargs, _ = item
            r = client.post("/v1/label", **kwargs)
            return r.status_code, r.json()

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(send, requests))


def check(labeler, requests, answers) -> None:
    for (kind, kwargs, status), (got_status, body) in zip(requests, answers):
        assert got_status == status, (kind, body)
        if status == 200:
            assert body["articles"] == expected_records(labeler, kwargs), kind
        else:
            assert body["error"], kind


def test_load_good_and_bad_requests(server):
    labeler = load_labeler(baseline_model())
    warm = make_requests(60, seed=1)
    check(labeler, warm, run_load(server, warm))
    before = server.rss_kib()
    load = make_requests(240, seed=2)
    assert {kind for kind, _, _ in load} >= {"text", "articles", "html", "malformed", "too_many", "not_json", "shape", "too_big"}
    check(labeler, load, run_load(server, load))
    grown_mib = (server.rss_kib() - before) / 1024
    assert grown_mib < 40, f"the server's memory grew by {grown_mib:.0f} MiB over 240 requests"
    health = httpx.get(server.url + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_server_listens_on_localhost_only(server):
    listening = [
        line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{server.port:04X}") and line.split()[3] == "0A"
    ]
    assert listening == [f"0100007F:{server.port:04X}"], "bound to 127.0.0.1, not to every address"
    assert httpx.get(server.url + "/v1/model", timeout=5).json()["kind"] == "tfidf"


def test_api_key_from_the_environment():
    env_server = None
    os.environ["NEWSROLES_API_KEY"] = "k-123"
    try:
        env_server = Server(baseline_model())
        assert httpx.post(env_server.url + "/v1/label", json={"text": STORY}, timeout=30).status_code == 401
        r = httpx.post(env_server.url + "/v1/label", json={"text": STORY}, headers={"X-API-Key": "k-123"}, timeout=30)
        assert r.status_code == 200 and r.json()["articles"][0]["sentences"]
    finally:
        del os.environ["NEWSROLES_API_KEY"]
        if env_server is not None:
            assert env_server.stop() in (0, -signal.SIGINT, 130)
