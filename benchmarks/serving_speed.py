"""Serving speed: a real `newsroles serve` answering 1, 8 and 32 concurrent clients, one table.

    python benchmarks/serving_speed.py --model MODEL_FOLDER            # a few minutes on 2 cores
    python benchmarks/serving_speed.py --model M --concurrency 1,8 --requests 20 --no-write

Starts `newsroles serve` (uvicorn, 127.0.0.1, a free port) in a subprocess with the given model
folder (an fp32 folder or a `newsroles export` copy) and --device, then for each concurrency level
C runs C client threads that each post one story per request (`{"text": ...}`, the stories of
--data in turn) until --requests requests are answered (at least 2*C). Per level it reports the
served sentences per second (sentences in the answers / wall time), and the median (p50) and 95th
percentile (p95) latency of one request. Requests waiting together share the model's batches, so
throughput grows with concurrency while each request's latency grows too. The server's peak RSS
(model included) is read from /proc at the end.

The clients run on the same machine as the server (their JSON work takes some of its CPU), as
they would beside a local service. It writes its table between the serving-speed markers of
BENCHMARKS.md (and prints it); --no-write only prints.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import replace_section  # noqa: E402

DEFAULT_DATA = REPO / "data" / "newsdiscourse" / "validation.jsonl"


def read_stories(path: Path, limit: int) -> list[str]:
    """Plain-text stories from a JSONL file of articles ({"text"} or {"sentences": [...]})."""
    stories = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if "text" in rec:
                text = rec["text"]
            else:
                paragraphs: dict = {}
                for s in rec["sentences"]:
                    s = s if isinstance(s, dict) else {"text": s}
                    paragraphs.setdefault(s.get("paragraph"), []).append(s["text"])
                text = "\n\n".join(" ".join(p) for p in paragraphs.values())
            stories.append(text)
            if len(stories) >= limit:
                break
    if not stories:
        raise SystemExit(f"no stories in {path}")
    return stories


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, device: str, port: int) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "newsroles.inference.cli", "serve", str(model), "--port", str(port),
         "--device", device, "--max-body-mb", "16", "--timeout", "600"],
        stderr=subprocess.PIPE,
    )
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server did not come up in 5 minutes")


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def run_level(url: str, stories: list[str], concurrency: int, requests: int) -> dict:
    """`requests` requests from `concurrency` threads; sentences/s and latency percentiles."""
    import httpx

    latencies: list[float] = []
    sentences = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def client() -> None:
        nonlocal sentences
        with httpx.Client(base_url=url, timeout=600) as http:
            while True:
                with lock:
                    k = next(counter, None)
                if k is None:
                    return
                started = time.perf_counter()
                r = http.post("/v1/label", json={"text": stories[k % len(stories)]})
                took = time.perf_counter() - started
                r.raise_for_status()
                n = sum(len(a["sentences"]) for a in r.json()["articles"])
                with lock:
                    latencies.append(took)
                    sentences += n

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "sentences": sentences,
        "seconds": wall,
        "sentences_per_s": sentences / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))],
    }


def table(rows: list[dict], model: Path, device: str, rss: float, stories: int) -> str:
    lines = [
        f"Served by `newsroles serve {model.name} --device {device}` on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {stories} stories of the data in turn, one per request; "
        f"server peak RSS {rss:.0f} MiB.",
        "",
        "| concurrent clients | requests | sentences/s | p50 latency (ms) | p95 latency (ms) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['concurrency']} | {r['requests']} | {r['sentences_per_s']:.0f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="Model folder (or an exported copy).")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSONL stories to send.")
    parser.add_argument("--stories", type=int, default=200, help="Use at most this many stories of --data.")
    parser.add_argument("--concurrency", default="1,8,32", help="Concurrency levels, comma-separated.")
    parser.add_argument("--requests", type=int, default=96, help="Requests per level (at least 2 per client).")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-write", action="store_true", help="Only print the table.")
    parser.add_argument("--json", type=Path, help="Also write the raw numbers here.")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    stories = read_stories(args.data, args.stories)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    port = free_port()
    proc = start_server(args.model, args.device, port)
    url = f"http://127.0.0.1:{port}"
    try:
        run_level(url, stories, 2, 4)  # warm-up: first calls allocate
        rows = []
        for c in levels:
            rows.append(run_level(url, stories, c, max(args.requests, 2 * c)))
            print(f"{c} clients: {rows[-1]['sentences_per_s']:.0f} sentences/s, p50 {rows[-1]['p50_ms']:.0f} ms, p95 {rows[-1]['p95_ms']:.0f} ms", file=sys.stderr)
        rss = peak_rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    body = table(rows, args.model, args.device, rss, len(stories))
    print(body)
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "device": args.device, "peak_rss_mib": rss, "levels": rows}, indent=2) + "\n")
    if not args.no_write:
        replace_section(REPO / "BENCHMARKS.md", "serving-speed", body)  # the section heading sits outside the markers


if __name__ == "__main__":
    main()
