"""docs/images/label-studio.png: a story's pre-annotations on Label Studio's labeling page.

    python docs/label_studio_screenshot.py --model models/default-tfidf/<version> ../shared/examples/yonhap-north-korea-diplomacy.txt

Needs `make labelstudio` and `make browser`; starts a throwaway Label Studio (tests/label_studio_server.py),
sets up a project with `data label-studio-config`, imports `label --format label-studio` and
screenshots the labeling page in headless Chromium (tests/headless_chromium.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("story", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "label-studio.png")
    args = parser.parse_args()

    from headless_chromium import Chromium, find_chromium
    from label_studio_server import LabelStudio, find_label_studio, open_labeling_page

    from newsroles.inference.annotation.tasks import labeling_config
    from newsroles.inference.label import label_inputs
    from newsroles.model.store.folder import read_manifest

    with tempfile.TemporaryDirectory() as tmp:
        tasks = Path(tmp) / "tasks.json"
        label_inputs([str(args.story)], args.model, output=str(tasks), fmt="label-studio", progress=False)
        server = LabelStudio(find_label_studio())
        try:
            project = server.api("POST", "/api/projects", json={
                "title": "newsroles", "label_config": labeling_config(read_manifest(args.model)["labels"])})
            server.api("POST", f"/api/projects/{project['id']}/import", json=json.loads(tasks.read_text()))
            listed = server.api("GET", "/api/tasks", params={"project": project["id"]})
            task_id = (listed["tasks"] if isinstance(listed, dict) else listed)[0]["id"]
            browser = Chromium(find_chromium(), 1280, 860)
            try:
                shown = open_labeling_page(browser, server, project["id"], task_id)
                args.out.write_bytes(browser.screenshot())
            finally:
                browser.close()
        finally:
            server.stop()
    print(f"wrote {args.out} ({len(shown)} regions in view)")


if __name__ == "__main__":
    main()
