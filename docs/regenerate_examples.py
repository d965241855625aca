"""Regenerate the README's console examples from the current default model.

Each example in README.md is a ```console block right after a marker line `<!-- example: NAME -->`;
this script runs the command behind each NAME (or, for training, renders the model folder's own
record of its run) and writes the real output in place, with the paths of the measuring machine
replaced by what a user would see (`models/default/<version>`, no temporary folders).

    python docs/regenerate_examples.py --model models/default/<version> --final models/default-final/<version>

`make demo` trains both: MODEL is the selection run (its training, evaluation on validation and
comparison are shown), FINAL its final fit on train + dev (its training and the labeled story are
shown: it is the model a user labels with). The TF-IDF baseline (seconds) is trained here for its own
example and the comparison. `make docs MODEL=... FINAL=...` runs this.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORY = "../shared/examples/yonhap-north-korea-diplomacy.txt"
DEV = "data/newsdiscourse/validation.jsonl"
MARKER = re.compile(r"^<!-- example: ([\w-]+) -->\n```console\n.*?^```\n", re.M | re.S)
WIDTH = "100"  # rich tables render at this width, as in a common terminal


def run(args: list[str], scrub: dict[str, str], stderr_first: bool = False) -> str:
    """The command's output as a terminal shows it: stdout then stderr, or stderr first for commands
    that report on stderr and print their result (a folder) last on stdout."""
    env = {**os.environ, "COLUMNS": WIDTH, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "NO_COLOR": "1"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    text = done.stderr + done.stdout if stderr_first else done.stdout + done.stderr
    for old, new in sorted(scrub.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    return re.sub(r"(models/[\w.-]+/)\d{8}-\d{6}", r"\1<version>", text)


def shown(command: str, output: str, keep: int | None = None) -> str:
    lines = [line.rstrip() for line in output.strip("\n").splitlines()]
    if keep is not None and len(lines) > keep:
        lines = lines[:keep] + ["..."]
    return f"$ {command}\n" + "\n".join(lines) + "\n"


def training_output(model: Path, shown_as: str, dev_title: str = "dev") -> str:
    """What `newsroles train` printed, less its progress bars: the epoch lines, the dev table, the folder."""
    from rich.console import Console

    from newsroles.training.evaluation.metrics import metrics_table
    from newsroles.training.trainer import epoch_line

    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    lines = [epoch_line(record) for record in metrics.get("history", [])]
    console = Console(width=int(WIDTH), record=True, file=open(os.devnull, "w"), color_system=None)
    console.print(metrics_table(metrics["dev"], title=dev_title))
    return "\n".join(lines) + "\n" + console.export_text() + f"model written to {shown_as}\n{shown_as}\n"


def examples(model: Path, tmp: Path, final: Path | None = None) -> dict[str, str]:
    nr = [str(Path(sys.executable).with_name("newsroles"))]
    scrub = {str(model): "models/default/<version>", str(tmp) + "/": "", str(ROOT) + "/": ""}
    if final is not None:
        scrub[str(final)] = "models/default-final/<version>"
    labeler, labeler_shown = (final, "models/default-final/<version>") if final is not None else (model, "models/default/<version>")
    baseline_run = run([*nr, "baseline", "--models-dir", str(tmp / "models")], scrub, stderr_first=True)
    baseline = next((tmp / "models" / "default-tfidf").iterdir())
    out = {
        "convert": shown(
            "newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse",
            run([*nr, "data", "convert", "../shared/data/newsdiscourse", "data/newsdiscourse"], scrub),
        ),
        "stats": shown(f"newsroles data stats {DEV}", run([*nr, "data", "stats", DEV], scrub)),
        "train": shown(
            "newsroles train                # any key: --train.epochs 2 --model.type sentence",
            training_output(model, "models/default/<version>"),
        ),
        "baseline": shown("newsroles baseline", baseline_run),
        "evaluate": shown(
            f"newsroles evaluate models/default/<version> {DEV} --output eval.json",
            run([*nr, "evaluate", str(model), DEV, "--output", str(tmp / "eval.json")], scrub),
        ),
        "label": shown(
            f"newsroles label {STORY} --model {labeler_shown}",
            run([*nr, "label", STORY, "--model", str(labeler)], scrub),
            keep=30,
        ),
        "compare": shown(
            f"newsroles compare models/default-tfidf/<version> models/default/<version> --data {DEV}",
            run([*nr, "compare", str(baseline), str(model), "--data", DEV], scrub),
        ),
    }
    if final is not None:
        out["final"] = shown(
            "newsroles train --final models/default/<version>",
            training_output(final, "models/default-final/<version>", dev_title="dev (of the selection run)"),
        )
    return out


def rewrite(readme: str, blocks: dict[str, str], optional: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """The README with each marked block replaced; `optional` blocks without an example stay as they are."""
    missing = []

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in blocks:
            if name not in optional:
                missing.append(name)
            return match.group(0)
        return f"<!-- example: {name} -->\n```console\n{blocks[name]}```\n"

    return MARKER.sub(fill, readme), missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the default model's selection run (from make demo)")
    parser.add_argument("--final", type=Path, help="its final fit on train + dev (from make demo); without it the final-fit example stays")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsroles-docs-") as tmp:
        blocks = examples(args.model.resolve(), Path(tmp), args.final.resolve() if args.final else None)
    optional = frozenset() if args.final else frozenset({"final"})
    text, missing = rewrite(args.readme.read_text(encoding="utf-8"), blocks, optional)
    if missing:
        sys.exit(f"README markers with no example: {', '.join(missing)}")
    args.readme.write_text(text, encoding="utf-8")
    print(f"rewrote {len(blocks)} examples in {args.readme}")


if __name__ == "__main__":
    main()
