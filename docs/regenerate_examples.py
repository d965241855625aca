"""Regenerate the README's console examples from the model `make demo` trains.

Each example in README.md is a ```console block right after a marker line `<!-- example: NAME -->`;
this script runs the command behind each NAME (or, for training, renders the model folder's own
record of its run) and writes the real output in place, with the paths of the measuring machine
replaced by what a user would see (`models/<name>/<version>`, no temporary folders).

    python docs/regenerate_examples.py --model models/student-multitask/<version> --final models/student-multitask-final/<version>

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


def run(args: list[str], scrub: dict[str, str], stderr_first: bool = False, width: str = WIDTH, env: dict | None = None) -> str:
    """The command's output as a terminal shows it: stdout then stderr, or stderr first for commands
    that report on stderr and print their result (a folder) last on stdout."""
    env = {**os.environ, **(env or {}), "COLUMNS": width, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "NO_COLOR": "1"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    text = done.stderr + done.stdout if stderr_first else done.stdout + done.stderr
    for old, new in sorted(scrub.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    return re.sub(r"(models/[\w.-]+/)\d{8}-\d{6}", r"\1<version>", text)


def shown(command: str, output: str, keep: int | None = None) -> str:
    lines = [line.rstrip() for line in output.strip("\n").splitlines()]
    if not lines:
        return f"$ {command}\n"
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


def train_command(model: Path) -> str:
    """How the selection run was trained: plain `newsroles train` for the default config, else with
    the config it names (configs/<name>.yaml, as make demo gives it)."""
    record = json.loads((model / "newsroles.json").read_text(encoding="utf-8"))
    name = record.get("name") or model.parent.name
    return "newsroles train" if name == "default" else f"newsroles train --config configs/{name}.yaml"


def examples(model: Path, tmp: Path, final: Path | None = None, only: frozenset[str] | None = None) -> dict[str, str]:
    """Each example's console text; `only`: just these (the others are not run)."""
    nr = [str(Path(sys.executable).with_name("newsroles"))]
    # As a user sees make demo's folders: models/<name>/<version>, <name> its config's (student-multitask).
    model_shown = f"models/{model.parent.name}/<version>"
    final_shown = f"models/{final.parent.name}/<version>" if final is not None else None
    train = train_command(model)
    scrub = {str(model): model_shown, str(tmp) + "/": "", str(ROOT) + "/": ""}
    if final is not None:
        scrub[str(final)] = final_shown
    labeler, labeler_shown = (final, final_shown) if final is not None else (model, model_shown)
    baseline_runs: list[str] = []

    def baseline() -> Path:  # trained once, for its own example and the comparison
        if not baseline_runs:
            baseline_runs.append(run([*nr, "baseline", "--models-dir", str(tmp / "models")], scrub, stderr_first=True))
        return next((tmp / "models" / "default-tfidf").iterdir())

    def baseline_example() -> str:
        baseline()
        return shown("newsroles baseline", baseline_runs[0])

    makers = {
        "convert": lambda: shown(
            "newsroles data convert ../shared/data/newsdiscourse data/newsdiscourse",
            run([*nr, "data", "convert", "../shared/data/newsdiscourse", "data/newsdiscourse"], scrub),
        ),
        "stats": lambda: shown(f"newsroles data stats {DEV}", run([*nr, "data", "stats", DEV], scrub)),
        "train": lambda: shown(
            f"{train}   # any key: --train.epochs 2 --model.type sentence",
            training_output(model, model_shown),
        ),
        "baseline": baseline_example,
        "evaluate": lambda: shown(
            f"newsroles evaluate {model_shown} {DEV} --output eval.json",
            run([*nr, "evaluate", str(model), DEV, "--output", str(tmp / "eval.json")], scrub),
        ),
        "label": lambda: shown(
            f"newsroles label {STORY} --model {labeler_shown}",
            run([*nr, "label", STORY, "--model", str(labeler)], scrub),
            keep=30,
        ),
        "compare": lambda: shown(
            f"newsroles compare models/default-tfidf/<version> {model_shown} --data {DEV}",
            run([*nr, "compare", str(baseline()), str(model), "--data", DEV], scrub),
        ),
        "offsets": lambda: offsets_examples(nr, labeler, labeler_shown, tmp, scrub),
        "package": lambda: package_examples(nr, labeler, labeler_shown, tmp, scrub),
    }
    if final is not None:
        makers["final"] = lambda: shown(
            f"{train} --final {model_shown}",
            training_output(final, final_shown, dev_title="dev (of the selection run)"),
        )
        if "tracking" in json.loads((final / "newsroles.json").read_text(encoding="utf-8")):
            makers["tracking"] = lambda: tracking_example(final, scrub)
    out: dict[str, str] = {}
    for name, make in makers.items():
        if only is None or name in only:
            made = make()
            out.update(made if isinstance(made, dict) else {name: made})  # offsets and package give several
    return out


STORM = r'Storm hits coast\r\n\r\nWASHINGTON -- A storm killed 12 people on Monday, officials said. "We are doing\r\neverything we can," Gov. Smith told reporters.\r\n\r\nThe region was hit by a similar storm in 1998.\r\n'
PAGE = r'<html><body><nav>Home | World</nav><h1>Storm hits coast</h1>\n<p>A storm killed 12 people on Monday,\n   officials said.</p><p>The region was hit by a similar storm in 1998.</p></body></html>\n'
OFFSETS_CHECK = """import json
from newsroles.inference.splitter import normalize_lines

text = open("storm.txt", encoding="utf-8-sig", newline="").read()
record = json.loads(open("storm.jsonl", encoding="utf-8").readline())
for s in record["sentences"]:
    piece = text[s["start"]:s["end"]]
    print(s["start"], s["end"], repr(piece), normalize_lines(piece) == s["text"])
"""


def offsets_examples(nr: list[str], labeler: Path, shown_as: str, tmp: Path, scrub: dict[str, str]) -> dict[str, str]:
    """Character offsets: a CRLF story with a headline and a wrapped line, and an HTML page."""
    (tmp / "storm.txt").write_bytes(STORM.encode().decode("unicode_escape").encode("utf-8"))
    (tmp / "page.html").write_bytes(PAGE.encode().decode("unicode_escape").encode("utf-8"))
    label = [*nr, "label"]
    storm, page = str(tmp / "storm.txt"), str(tmp / "page.html")
    blocks = [
        shown(f"printf '{STORM}' > storm.txt", ""),
        shown(f"newsroles label storm.txt --model {shown_as} --offsets", run([*label, storm, "--model", str(labeler), "--offsets"], scrub)),
        shown(f"newsroles label storm.txt --model {shown_as} --format csv -q",
              run([*label, storm, "--model", str(labeler), "--format", "csv", "-q"], scrub)),
        shown(f"newsroles label storm.txt --model {shown_as} --format jsonl -o storm.jsonl -q",
              run([*label, storm, "--model", str(labeler), "--format", "jsonl", "-o", str(tmp / "storm.jsonl"), "-q"], scrub)),
    ]
    check = subprocess.run([sys.executable, "-c", OFFSETS_CHECK], cwd=tmp, capture_output=True, text=True, check=True).stdout
    read_page = "import json; r = json.load(open(\"page.jsonl\")); print(r[\"offsets_into\"], repr(r[\"extracted_text\"]), [(s[\"start\"], s[\"end\"]) for s in r[\"sentences\"]])"
    page_out = run([*label, page, "--model", str(labeler), "--format", "jsonl", "-o", str(tmp / "page.jsonl")], scrub)
    page_read = subprocess.run([sys.executable, "-c", read_page], cwd=tmp, capture_output=True, text=True, check=True).stdout
    return {
        "offsets": "".join(blocks),
        "offsets-check": check,
        "offsets-html": shown(f"printf '{PAGE}' > page.html", "")
        + shown(f"newsroles label page.html --model {shown_as} --format jsonl -o page.jsonl", page_out)
        + shown(f"python -c '{read_page}'", page_read),
    }


def package_examples(nr: list[str], labeler: Path, shown_as: str, tmp: Path, scrub: dict[str, str]) -> dict[str, str]:
    """`newsroles package` of the model a user labels with, installed (into a folder of its own, not
    this environment) and found by its package name."""
    packages = tmp / "packages"
    built = run([*nr, "package", str(labeler), str(packages), "--license", "apache-2.0"], scrub, stderr_first=True)
    again = subprocess.run([*nr, "package", str(labeler), str(packages)], cwd=ROOT, capture_output=True, text=True)
    project = next(packages.iterdir())
    wheel = next((project / "dist").glob("*.whl"))
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True)
    name = wheel.name.split("-")[0].replace("_", "-")
    env_scrub = {**scrub, str(project): f"packages/{project.name}", str(tmp / "empty-models"): "models"}
    installed = {"PYTHONPATH": str(site)}  # the wheel's folder, not this environment
    labeled = run([*nr, "label", STORY, "--model", name], env_scrub, env=installed)
    listed = run([*nr, "models", "list", "--models-dir", str(tmp / "empty-models")], env_scrub, width="120", env=installed)
    missing = subprocess.run([*nr, "label", STORY, "--model", "newsroles-model-nope", "--models-dir", str(tmp / "empty-models")],
                             cwd=ROOT, capture_output=True, text=True, env={**os.environ, **installed}).stderr
    rel_wheel = f"packages/{project.name}/dist/{wheel.name}"
    return {
        "package": shown(f"newsroles package {shown_as} packages/ --license apache-2.0", built)
        + shown(f"newsroles package {shown_as} packages/", again.stderr.replace(str(project), f"packages/{project.name}"))
        + shown(f"ls packages/{project.name}/", "  ".join(sorted(p.name for p in project.iterdir())) + "\n"),
        "package-install": shown(f"pip install {rel_wheel}", f"Successfully installed {name}-{wheel.name.split('-')[1]}\n")
        + shown(f"newsroles label {STORY} --model {name}", labeled, keep=12)
        + shown("newsroles models list", listed)
        + shown(f"newsroles label {STORY} --model newsroles-model-nope", missing.replace(str(tmp / "empty-models"), "models")),
    }


TRACKING_READ = """import json, mlflow
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
where = json.load(open("{model}/newsroles.json"))["tracking"]
ea = EventAccumulator(where["tensorboard"]).Reload()
print(sorted(ea.Tags()["scalars"]))
print([(e.step, round(e.value, 3)) for e in ea.Scalars("train/loss")][:4])
run = mlflow.MlflowClient(tracking_uri=where["mlflow"]["tracking_uri"]).get_run(where["mlflow"]["run_id"])
print(run.info.status, len(run.data.params), round(run.data.metrics["final/training_seconds"]), run.data.metrics["final/temperature"])
"""


def tracking_example(final: Path, scrub: dict[str, str]) -> str:
    """The final fit's own tracking record and what its TensorBoard and MLflow runs hold."""
    record = json.loads((final / "newsroles.json").read_text(encoding="utf-8"))["tracking"]
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    # The record's paths are relative to where the run was started: the project root, found above the model.
    started = next(p for p in (ROOT, *final.parents) if (p / record["tensorboard"]).exists())
    read = subprocess.run([sys.executable, "-c", TRACKING_READ.format(model=final)], cwd=started, env=env,
                          capture_output=True, text=True, check=True).stdout
    tracking_root = str(Path(record["tensorboard"]).parents[2])
    absolute = str((started / tracking_root).resolve())
    text_scrub = {**scrub, tracking_root: "models/tracking", "file://" + absolute: "file:///.../models/tracking"}
    shown_record = str(record)
    for old, new in sorted(text_scrub.items(), key=lambda kv: -len(kv[0])):
        shown_record = shown_record.replace(old, new)
    return (shown('newsroles train --final models/default/<version> --train.report_to "[tensorboard, mlflow]"',
                  "...\nmodel written to models/default-final/<version>\nmodels/default-final/<version>\n")
            + shown("python -c \"import json; print(json.load(open('models/default-final/<version>/newsroles.json'))['tracking'])\"", shown_record + "\n")
            + shown("tensorboard --logdir models/tracking/tensorboard          # the runs, in a browser", "")
            + shown("MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri models/tracking/mlruns   # needs the full mlflow package", "")
            + shown("python read_tracking.py        # the script below", read))


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
    parser.add_argument("--model", type=Path, required=True, help="make demo's selection run")
    parser.add_argument("--final", type=Path, help="its final fit on train + dev (from make demo); without it the final-fit example stays")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--only", help="comma-separated examples to regenerate (e.g. compare,package); the others stay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsroles-docs-") as tmp:
        only = frozenset(args.only.split(",")) if args.only else None
        blocks = examples(args.model.resolve(), Path(tmp), args.final.resolve() if args.final else None, only)
    optional = frozenset() if args.final else frozenset({"final"})
    if only is not None:
        optional = frozenset(MARKER.findall(args.readme.read_text(encoding="utf-8")))  # the rest stay as they are
    optional |= {"tracking"}  # only a final fit trained with train.report_to has one
    text, missing = rewrite(args.readme.read_text(encoding="utf-8"), blocks, optional)
    if missing:
        sys.exit(f"README markers with no example: {', '.join(missing)}")
    args.readme.write_text(text, encoding="utf-8")
    print(f"rewrote {len(blocks)} examples in {args.readme}")


if __name__ == "__main__":
    main()
