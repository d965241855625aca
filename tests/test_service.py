"""`newsroles serve`: every endpoint and every bad request through FastAPI's TestClient; the
labeling thread (never blocking the event loop, sharing batches, timing out); the CLI without the
`serve` extra. A real uvicorn server under load: tests/test_service_load.py."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, httpx) is not installed")
from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from newsroles.inference.cli import app as cli_app  # noqa: E402
from newsroles.inference.io.inputs import read_story  # noqa: E402
from newsroles.inference.predictor import load_labeler  # noqa: E402
from newsroles.inference.service.app import ServiceSettings, create_app  # noqa: E402
from served_models import STORY, baseline_model, onnx_model  # noqa: E402

# Reading an HTML story warns that markup was taken out; expected here.
pytestmark = pytest.mark.filterwarnings("ignore::newsroles.model.errors.InputWarning")

PAGE = """<html><head><title>x</title><script>var a = 1;</script>
<meta property="article:published_time" content="2024-03-05T10:00:00Z"></head><body><nav>Home | World</nav>
<h1>Storm hits coast</h1><p>A storm killed 12 people on Monday, officials said.</p>
<p>The region was hit by a similar storm in 1998.</p></body></html>"""
LIMITS = ServiceSettings(max_body_bytes=20_000, max_articles=3, timeout_s=30)


@pytest.fixture(scope="module")
def labeler():
    return load_labeler(baseline_model())


@pytest.fixture(scope="module")
def client(labeler):
    with TestClient(create_app(labeler, LIMITS)) as c:
        yield c


def expected(labeler, text, article_id, html=False):
    return labeler.label([read_story(text, article_id, "test", html=html)])[0].to_dict()


# ------------------------------------------------------------------------------------ endpoints


def test_label_text_answers_the_records_of_label_jsonl(client, tmp_path):
    story = tmp_path / "storm.txt"
    story.write_text(STORY, encoding="utf-8")
    out = tmp_path / "storm.jsonl"
    ran = CliRunner().invoke(cli_app, ["label", str(story), "--model", str(baseline_model()), "-o", str(out), "-q"])
    assert ran.exit_code == 0, ran.output
    r = client.post("/v1/label", json={"text": STORY, "id": "storm"})
    assert r.status_code == 200, r.text
    assert r.json()["articles"] == [json.loads(out.read_text(encoding="utf-8"))]
    assert r.json()["model"]["name"] == "tiny-tfidf"


def test_label_html_and_articles(client, labeler):
    r = client.post("/v1/label", json={"html": PAGE})
    assert r.status_code == 200, r.text
    (record,) = r.json()["articles"]
    assert record == expected(labeler, PAGE, "html", html=True)
    assert record["title"] == "Storm hits coast" and "var a" not in json.dumps(record)
    assert record["meta"] == {"date": "2024-03-05"}
    assert [s["text"] for s in record["sentences"]][0] == "A storm killed 12 people on Monday, officials said."
    assert any("HTML" in w for w in r.json()["warnings"])
    r = client.post("/v1/label", json={"articles": [{"id": "b", "text": "He said so. Analysts expect talks."}, {"id": "a", "text": STORY}]})
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["articles"]] == ["b", "a"]
    assert r.json()["articles"][1] == expected(labeler, STORY, "a")


def test_sentences_carry_offsets_into_what_was_sent(client):
    text = "  Storm hits Zürich 🙂\r\n\r\nA storm killed 12 people on Monday, officials\r\nsaid.\tIt was the worst in years.\r\n"
    r = client.post("/v1/label", json={"articles": [{"id": "t", "text": text}, {"id": "h", "text": PAGE}]})
    assert r.status_code == 200, r.text
    plain, page = r.json()["articles"]
    assert plain["offsets_into"] == "text" and "extracted_text" not in plain
    assert [text[s["start"]:s["end"]] for s in plain["sentences"]] == [
        "A storm killed 12 people on Monday, officials\r\nsaid.", "It was the worst in years."]
    assert plain["sentences"][0]["text"] == "A storm killed 12 people on Monday, officials said."
    assert page["offsets_into"] == "extracted_text"
    assert page["extracted_text"] == "A storm killed 12 people on Monday, officials said.\n\nThe region was hit by a similar storm in 1998."
    assert [page["extracted_text"][s["start"]:s["end"]] for s in page["sentences"]] == [s["text"] for s in page["sentences"]]


def test_the_api_schema_documents_the_offsets(client):
    schema = client.get("/openapi.json").json()
    answer = schema["paths"]["/v1/label"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/LabelAnswer")
    parts = schema["components"]["schemas"]
    assert {"start", "end"} <= set(parts["SentenceOut"]["required"])
    assert "Python str index" in parts["SentenceOut"]["properties"]["start"]["description"]
    assert parts["ArticleOut"]["properties"]["offsets_into"]["enum"] == ["text", "extracted_text"]


def test_model_health_docs_and_page(client, labeler):
    info = client.get("/v1/model").json()
    assert info["labels"] == labeler.labels and info["kind"] == "tfidf"
    assert info["name"] == labeler.manifest["name"] and info["version"] == labeler.manifest["id"]
    assert info["metrics"] == json.loads((baseline_model() / "metrics.json").read_text())
    assert client.get("/healthz").json()["status"] == "ok"
    docs = client.get("/docs")
    assert docs.status_code == 200
    # Swagger UI from this server, not a CDN: the docs page works without internet.
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", docs.text) + re.findall(r"""url: ?["']([^"']+)""", docs.text)
    assert assets and not [a for a in assets if "//" in a]
    assert all(client.get(a).status_code == 200 for a in assets if a.endswith((".js", ".css")))
    assert "/v1/label" in client.get("/openapi.json").json()["paths"]
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"model {info['name']}, version {info['version']}" in page.text
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page.text, re.I)


def test_served_exported_onnx_copy_agrees_with_it_in_process(tiny_base_model):
    folder = onnx_model(tiny_base_model)
    labeler = load_labeler(folder, "cpu")
    with TestClient(create_app(labeler)) as c:
        assert c.get("/v1/model").json()["runtime"] == "onnx"
        r = c.post("/v1/label", json={"text": STORY, "id": "s"})
    assert r.status_code == 200, r.text
    want = expected(load_labeler(folder, "cpu"), STORY, "s")
    got = r.json()["articles"][0]
    assert [s["label"] for s in got["sentences"]] == [s["label"] for s in want["sentences"]]
    assert [s["confidence"] for s in got["sentences"]] == pytest.approx([s["confidence"] for s in want["sentences"]], abs=1e-5)


# ------------------------------------------------------------------------------------ bad requests


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"txt": "hi"}, 422, "txt"),
        ({}, 422, None),
        ({"text": "a", "html": "<p>b</p>"}, 422, None),
        ({"text": ""}, 422, "text"),
        ({"text": 42}, 422, "text"),
        ({"text": "   \n  "}, 422, "text"),
        ({"articles": [{"id": "a"}]}, 422, "articles.0.text"),
        ({"articles": [{"id": "a", "text": "x", "extra": 1}]}, 422, "articles.0.extra"),
        ({"articles": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}, 422, "articles"),
        ({"articles": []}, 422, "articles"),
        ({"articles": [{"id": str(i), "text": "x."} for i in range(4)]}, 413, "articles"),
        ({"html": "<div><script>x()</script></div>"}, 422, "html"),
        ({"text": "nul \u0000 inside"}, 415, "text"),
        ([1, 2], 422, None),
    ],
)
def test_bad_shapes_answer_json_naming_the_field(client, body, status, field):
    r = client.post("/v1/label", json=body)
    assert r.status_code == status, r.text
    answer = r.json()
    assert answer["error"] and answer["field"] == field
    if field:
        assert field in answer["error"]


@pytest.mark.parametrize(
    "content, ctype, status, says",
    [
        (b'{"text": "unfinished', "application/json", 400, "malformed JSON"),
        (b"", "application/json", 422, "required"),
        (b"hello", "text/plain", 415, "send JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "application/json", 415, "binary"),
        (b'{"text": "caf\xe9"}', "application/json", 415, "not UTF-8"),
        (b'{"text": "' + b"x" * 20_001 + b'"}', "application/json", 413, "over the limit"),
        (b"text=hello", "application/x-www-form-urlencoded", 415, "send JSON"),
    ],
)
def test_bad_bodies(client, content, ctype, status, says):
    r = client.post("/v1/label", content=content, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    assert says in r.json()["error"]


def test_a_body_streamed_past_the_limit_is_cut_off(client):
    def chunks():
        for _ in range(30):
            yield b"x" * 1000

    r = client.post("/v1/label", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]


def test_api_key(labeler):
    with TestClient(create_app(labeler, ServiceSettings(api_key="s3cret"))) as c:
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer nope"}):
            r = c.post("/v1/label", json={"text": STORY}, headers=headers)
            assert r.status_code == 401 and "API key" in r.json()["error"]
            assert c.get("/v1/model", headers=headers).status_code == 401
        assert c.post("/v1/label", json={"text": STORY}, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/v1/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200, "health checks need no key"
        assert '"api_key_required":true' in c.get("/").text


# ------------------------------------------------------------------------------------ the labeling thread


class HeldLabeler:
    """The baseline, but each call waits until the test releases it."""

    def __init__(self, inner):
        self.inner = inner
        self.path, self.manifest, self.labels = inner.path, inner.manifest, inner.labels
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[int] = []

    def label(self, articles):
        self.entered.set()
        assert self.release.wait(30)
        self.calls.append(len(articles))
        return self.inner.label(articles)


def wait_until(condition, what: str) -> None:
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_inference_never_blocks_and_queued_requests_share_a_batch(labeler):
    held = HeldLabeler(labeler)
    service = create_app(held, ServiceSettings(timeout_s=60))
    answers: dict[int, object] = {}
    with TestClient(service) as c:
        def ask(k):
            answers[k] = c.post("/v1/label", json={"text": f"Officials said {k} people were killed.", "id": str(k)})

        first = threading.Thread(target=ask, args=(0,))
        first.start()
        assert held.entered.wait(30)
        # The model is busy: the event loop still answers, and more requests queue up.
        assert c.get("/healthz").status_code == 200 and c.get("/v1/model").status_code == 200
        rest = [threading.Thread(target=ask, args=(k,)) for k in range(1, 6)]
        for t in rest:
            t.start()
        wait_until(lambda: service.state.worker._queue.qsize() == 5, "five requests queued")
        assert not answers, "nothing answered while the model is held"
        held.release.set()
        for t in [first, *rest]:
            t.join(30)
    assert held.calls == [1, 5], "the five queued requests were labeled in one call"
    for k in range(6):
        assert answers[k].status_code == 200
        assert answers[k].json()["articles"][0] == expected(labeler, f"Officials said {k} people were killed.", str(k))


def test_a_request_past_the_time_limit_gets_504_and_the_service_goes_on(labeler):
    held = HeldLabeler(labeler)
    with TestClient(create_app(held, ServiceSettings(timeout_s=0.2))) as c:
        r = c.post("/v1/label", json={"text": STORY})
        assert r.status_code == 504 and "longer than the limit" in r.json()["error"]
        held.release.set()
        assert c.post("/v1/label", json={"text": STORY}).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_a_failing_model_is_a_500_and_the_thread_lives_on(labeler):
    class Broken:
        path, manifest, labels = labeler.path, labeler.manifest, labeler.labels

        def label(self, articles):
            raise RuntimeError("out of memory")

    with TestClient(create_app(Broken())) as c:
        r = c.post("/v1/label", json={"text": STORY})
        assert r.status_code == 500 and "out of memory" in r.json()["error"]
        assert c.get("/healthz").status_code == 200


# ------------------------------------------------------------------------------------ the command


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` now raises ImportError
    result = CliRunner().invoke(cli_app, ["serve", str(baseline_model())])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: `newsroles serve` needs FastAPI and uvicorn: pip install newsroles[serve]"]


def test_serve_model_option_still_works_with_a_deprecation_line(tmp_path):
    result = CliRunner().invoke(cli_app, ["serve", "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[0] == (
        "warning: --model is deprecated; use the model as the first argument: newsroles serve MODEL "
        "(it will be removed in the next release)"
    )
    assert "model folder not found" in result.output.strip().splitlines()[1]


def test_serve_checks_the_model_before_listening(tmp_path):
    result = CliRunner().invoke(cli_app, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "model folder not found" in result.output


@contextlib.contextmanager
def taken_port():
    """A local port another socket is listening on, for as long as the block runs."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_serve_says_when_the_port_is_taken():
    with taken_port() as port:
        result = CliRunner().invoke(cli_app, ["serve", str(baseline_model()), "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output
    result = CliRunner().invoke(cli_app, ["serve", str(baseline_model()), "--host", "no-such-host.invalid"])
    assert result.exit_code == 2 and "cannot listen on host 'no-such-host.invalid'" in result.output


def test_serve_model_is_the_command_as_a_plain_function():
    """A Python user gets what `newsroles serve` does, its one-line errors included."""
    from newsroles.inference.service.run import serve_model
    from newsroles.model.errors import UserError

    with taken_port() as port:
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve_model(baseline_model(), port=port)
