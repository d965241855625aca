"""What starting the CLI costs: the import of `newsroles.inference.cli`, `newsroles --help` and
`newsroles --version`, each a fresh process, median and fastest of --repeat runs (the fastest is
the steadier figure on a machine other jobs share).

    python benchmarks/cli_startup.py [--repeat 5]

The import is measured with `python -X importtime -c "import newsroles.inference.cli"` (the
cumulative microseconds of that one import, Python's own start-up left out) and as CPU time. Each row also names
the slow libraries (torch, sklearn, numpy, pydantic, ...: tests/test_cli.py SLOW_LIBRARIES) the
process imported: the CLI must start without them, since `--help`, each shell-completion TAB and
every command that does not need them would pay for them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_completion import cpu_name  # noqa: E402

HEAVY = ("torch", "transformers", "datasets", "onnxruntime", "onnx", "sklearn", "scipy", "matplotlib", "fastapi", "ray",
         "trafilatura", "pyarrow", "pandas", "numpy", "pydantic", "huggingface_hub.repocard")
# On stderr: `--help` prints its text on stdout.
SHOW_HEAVY = f"import sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"


def env() -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1")


def import_ms() -> float:
    """Cumulative time of `import newsroles.inference.cli`, from -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import newsroles.inference.cli"], env=env(),
                          capture_output=True, text=True, check=True)
    for line in done.stderr.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and fields[2] == "newsroles.inference.cli":
            return int(fields[1]) / 1000
    raise RuntimeError("-X importtime named no newsroles.inference.cli")


def cpu_ms() -> float:
    """CPU time (user + system) of `import newsroles.inference.cli`: the steadier figure where other
    jobs share the machine, since waiting for a core is not counted."""
    code = ("import resource as r; s = r.getrusage(r.RUSAGE_SELF); import newsroles.inference.cli; e = r.getrusage(r.RUSAGE_SELF); "
            "print(e.ru_utime - s.ru_utime + e.ru_stime - s.ru_stime)")
    done = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True, check=True)
    return 1000 * float(done.stdout)


def wall_ms(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env(), capture_output=True, check=True)
    return 1000 * (time.perf_counter() - start)


def heavy_after(statement: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"{statement}\n{SHOW_HEAVY}"], env=env(), capture_output=True, text=True, check=True)
    return done.stderr.strip().splitlines()[-1].strip() if done.stderr.strip() else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    newsroles = os.path.join(os.path.dirname(sys.executable), "newsroles")
    cli = "import newsroles.inference.cli"
    rows = [
        ("`import newsroles.inference.cli` (-X importtime, cumulative)", import_ms, cli),
        ("`import newsroles.inference.cli` (CPU time, user + system)", cpu_ms, cli),
        ("`newsroles --help` (wall)", lambda: wall_ms([newsroles, "--help"]), f"{cli}\nnewsroles.inference.cli.app(['--help'], standalone_mode=False)"),
        ("`newsroles --version` (wall)", lambda: wall_ms([newsroles, "--version"]), cli),
    ]
    print("| what | median ms | fastest ms | slow libraries imported |")
    print("| --- | ---: | ---: | --- |")
    for name, measure, statement in rows:
        measure()  # warm the file cache
        times = [measure() for _ in range(args.repeat)]
        print(f"| {name} | {statistics.median(times):.0f} | {min(times):.0f} | {heavy_after(statement)} |")
    print(f"\n{cpu_name()}; Python {platform.python_version()}; median of {args.repeat} runs each")


if __name__ == "__main__":
    main()
