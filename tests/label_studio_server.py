"""A real Label Studio server (the `label-studio` package, in its own virtual environment so that its
pins never touch ours) on 127.0.0.1, a free port and a throwaway data folder, for the round-trip test.

`make labelstudio` (which `make test` runs) installs it into .venv-labelstudio and migrates an empty
database once into .venv-labelstudio/template-data; each test session copies that database (a few
seconds) instead of migrating its own (minutes on a loaded 2-core machine). Without the template it
migrates at start. NEWSROLES_LABEL_STUDIO names another `label-studio` executable.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from live_server import free_port

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-labelstudio"
TEMPLATE = VENV / "template-data"
USER = "editor@newsroles.test"
START_TIMEOUT_S = 900  # a first migration on a loaded 2-core machine took about 3 minutes


def find_label_studio() -> Path | None:
    exe = Path(os.environ.get("NEWSROLES_LABEL_STUDIO") or VENV / "bin" / "label-studio")
    return exe if exe.is_file() and os.access(exe, os.X_OK) else None


class LabelStudio:
    """`label-studio start` with a user and a legacy API token (`Authorization: Token ...`), which
    this server's organisation is created with enabled (--enable-legacy-api-token)."""

    def __init__(self, exe: Path):
        self.data = Path(tempfile.mkdtemp(prefix="newsroles-label-studio-"))
        if (TEMPLATE / "label_studio.sqlite3").is_file():
            shutil.copytree(TEMPLATE, self.data, dirs_exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Hex, not urlsafe: a password that starts with '-' is read by label-studio's argparse as an option
        # ("--password: expected one argument"), which failed a CI run.
        self.password = secrets.token_hex(12)
        self.token = secrets.token_hex(20)
        env = {**os.environ, "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "",
               "FRONTEND_SENTRY_DSN": "", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "HTTP_PROXY": "", "HTTPS_PROXY": ""}
        self.log = open(self.data / "server.log", "w+")
        self.proc = subprocess.Popen(
            [str(exe), "start", "--data-dir", str(self.data), "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(self.port), "--username", USER, "--password", self.password, "--user-token", self.token,
             "--enable-legacy-api-token", "--log-level", "WARNING"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Token {self.token}"}, timeout=120, trust_env=False)
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT_S:
            if self.proc.poll() is not None:
                break
            try:
                if self.client.get("/api/projects").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(1)
        tail = self.log_tail()
        self.stop()
        raise AssertionError(f"Label Studio did not come up in {time.monotonic() - started:.0f} s: {tail}")

    def log_tail(self) -> str:
        self.log.flush()
        return (self.data / "server.log").read_text(errors="replace")[-3000:]

    def api(self, method: str, path: str, **kwargs):
        response = self.client.request(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.content

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server and the workers it started
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


def open_labeling_page(browser, server: LabelStudio, project_id: int, task_id: int) -> list[dict]:
    """Log `browser` (tests/headless_chromium.py) in as the server's user, open the task's labeling
    page, wait for its regions and return them as shown: [{text, label}] in page order."""
    import json

    browser.open(server.url + "/user/login/")
    browser.eval(f"""(() => {{ document.querySelector('input[name=email]').value = {json.dumps(USER)};
        document.querySelector('input[name=password]').value = {json.dumps(server.password)};
        document.querySelector('form').submit(); return true; }})()""")
    browser.wait_for("document.readyState === 'complete' && !location.pathname.startsWith('/user/login')", "the login done")
    browser.send("Page.navigate", url=f"{server.url}/projects/{project_id}/data?task={task_id}")
    browser.wait_for("document.querySelectorAll('.lsf-richtext__line .htx-highlight').length > 0", "the pre-annotated regions", tries=1200)
    time.sleep(1)  # the regions list beside the text finishes rendering
    return browser.eval("""Array.from(document.querySelectorAll('.lsf-outliner-item')).map(item => ({
        label: (item.querySelector('.lsf-labels-list') || {}).textContent || '',
        text: (item.querySelector('.lsf-outliner-item__text') || {}).textContent || ''}))""")
