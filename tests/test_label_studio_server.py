"""The Label Studio round trip against the real server (tests/label_studio_server.py), not a mock:
our labeling config and pre-annotated tasks go in through its API, an editor's correction of one
sentence is submitted, the project is exported (JSON and JSON-MIN), and `data convert` must give
back exactly the corrected labels. Skipped, saying so, where Label Studio is not installed."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from label_studio_server import LabelStudio, find_label_studio
from newsroles.inference.cli import app
from newsroles.training.data.readers import read_articles

ROLES = ["stance", "quote", "background", "fact"]
STORIES = {
    "storm": """Storm hits coast

WASHINGTON -- A storm killed 12 people on Monday, officials said. "We are doing everything we can," Gov. Smith told reporters.

The region was hit by a similar storm in 1998. Analysts expect rebuilding to take years.
""",
    "vote": """Court delays vote

The court said on Friday the vote would wait a month. Police were at the court all week.

Analysts believe the delay could help the government.
""",
}
runner = CliRunner()


@pytest.fixture(scope="session")
def label_studio():
    exe = find_label_studio()
    if exe is None:
        pytest.skip("Label Studio is not installed (`make labelstudio`, which `make test` runs, puts it in .venv-labelstudio): "
                    "the real-server round trip is skipped")
    server = LabelStudio(exe)
    yield server
    server.stop()


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="session")
def project(label_studio, tiny_article_model, tmp_path_factory):
    """A project set up with our config and our pre-annotated tasks: (id, tasks as written, folder)."""
    root = tmp_path_factory.mktemp("label-studio")
    for name, text in STORIES.items():
        (root / f"{name}.txt").write_text(text, encoding="utf-8")
    cli("label", root / "storm.txt", root / "vote.txt", "--model", tiny_article_model, "--format", "label-studio", "-o", root / "tasks.json", "-q")
    cli("data", "label-studio-config", "--model", tiny_article_model, "-o", root / "config.xml")
    created = label_studio.api("POST", "/api/projects", json={"title": "newsroles", "label_config": (root / "config.xml").read_text()})
    tasks = json.loads((root / "tasks.json").read_text())
    label_studio.api("POST", f"/api/projects/{created['id']}/import", json=tasks)
    return created["id"], tasks, root


def server_tasks(label_studio, project_id) -> list[dict]:
    listed = label_studio.api("GET", "/api/tasks", params={"project": project_id, "fields": "all"})
    return listed["tasks"] if isinstance(listed, dict) else listed


def test_round_trip_through_the_real_server(label_studio, project):
    project_id, tasks, root = project
    on_server = {t["data"]["story_id"]: t for t in server_tasks(label_studio, project_id)}
    assert sorted(on_server) == ["storm", "vote"]
    storm = on_server["storm"]
    predictions = label_studio.api("GET", "/api/predictions", params={"task": storm["id"]})
    assert len(predictions) == 1 and predictions[0]["score"] == pytest.approx(tasks[0]["predictions"][0]["score"])
    predicted = tasks[0]["predictions"][0]["result"]
    assert [r["value"] for r in predictions[0]["result"]] == [r["value"] for r in predicted]  # the server kept our regions

    # The editor corrects sentence 2 and submits; the other story is left as it came.
    result = copy.deepcopy(predicted)
    old = result[1]["value"]["labels"][0]
    new = next(r for r in ROLES if r != old)
    result[1]["value"]["labels"] = [new]
    label_studio.api("POST", f"/api/tasks/{storm['id']}/annotations", params={"project": project_id},
                     json={"result": result, "was_cancelled": False, "ground_truth": False, "lead_time": 3.0})
    expected = [r["value"]["labels"][0] for r in predicted]
    expected[1] = new

    for export_type in ("JSON", "JSON_MIN"):
        export = root / f"export-{export_type}.json"
        export.write_bytes(label_studio.api("GET", f"/api/projects/{project_id}/export",
                                            params={"exportType": export_type, "download_all_tasks": "true"}))
        out = root / f"corrected-{export_type}.jsonl"
        converted = runner.invoke(app, ["data", "convert", str(export), str(out)])
        assert converted.exit_code == 0, converted.output
        (article,) = read_articles(out, labels=ROLES)
        assert article.id == "storm" and article.title == "Storm hits coast"
        assert [s.label for s in article.sentences] == expected
        assert [s.text for s in article.sentences] == [r["value"]["text"] for r in predicted]
        if export_type == "JSON":  # JSON-MIN leaves out tasks nobody annotated
            assert "not annotated: 1" in converted.output


def test_labeling_page_shows_our_pre_annotations(label_studio, project):
    """In a real browser the labeling page shows each predicted sentence as a region with its role."""
    from headless_chromium import Chromium, find_chromium
    from test_browser import assert_not_blank

    from label_studio_server import open_labeling_page

    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; `make test` installs it): screenshot skipped")
    project_id, tasks, _ = project
    vote = next(t for t in server_tasks(label_studio, project_id) if t["data"]["story_id"] == "vote")
    browser = Chromium(executable, 1280, 800)
    try:
        shown = open_labeling_page(browser, label_studio, project_id, vote["id"])
        predicted = next(t for t in tasks if t["data"]["story_id"] == "vote")["predictions"][0]["result"]
        assert [s["label"] for s in shown] == [r["value"]["labels"][0] for r in predicted]
        assert [s["text"] for s in shown] == [r["value"]["text"] for r in predicted]
        assert_not_blank(browser.screenshot(), "label-studio.png")
    finally:
        browser.close()
