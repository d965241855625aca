"""Shell completion latency: what a user waits for after pressing TAB.

Each TAB runs `newsroles` once in completion mode (typer's `_NEWSROLES_COMPLETE=complete_bash`), so
the CLI must start without importing torch. This times that process, end to end, for a few
completions (a command name, an option, a choice), median of --repeat runs each, and the same for
`newsroles --version` as the floor.

    python benchmarks/cli_completion.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

CASES = {
    "command name (newsroles ev<TAB>)": "newsroles ev",
    "option (newsroles export m --ru<TAB>)": "newsroles export m --ru",
    "choice (newsroles export m --runtime <TAB>)": "newsroles export m --runtime ",
    "choice (newsroles label x --device <TAB>)": "newsroles label x --device ",
}


def run(words: str | None) -> tuple[float, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    args = [os.path.join(os.path.dirname(sys.executable), "newsroles")]  # the completion variable is named after it
    if words is None:
        args.append("--version")
    else:
        env.update(_NEWSROLES_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(words.split(" ")) - 1))
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def cpu_name() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return platform.processor()
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "?")
    return f"{name}, {os.cpu_count()} cores, avx512_vnni {'yes' if 'avx512_vnni' in flags else 'no'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rows = [("`newsroles --version` (the floor)", None)] + [(name, words) for name, words in CASES.items()]
    print("| what | median ms | answer |")
    print("| --- | ---: | --- |")
    for name, words in rows:
        run(words)  # warm the file cache
        times, answer = [], ""
        for _ in range(args.repeat):
            seconds, answer = run(words)
            times.append(seconds)
        shown = " ".join(answer.split())[:60]
        print(f"| {name} | {1000 * statistics.median(times):.0f} | `{shown}` |")
    print(f"\n{cpu_name()}; Python {platform.python_version()}; median of {args.repeat} runs each")


if __name__ == "__main__":
    main()
