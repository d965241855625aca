"""The known-answer probe of an exported copy: a short story with the original's probabilities,
stored in the copy (probe.json) and labeled again each time the copy loads.

An optimised copy (onnx, onnx-int8, int8, bf16) computes with kernels that ONNX Runtime and
PyTorch pick by the CPU it runs on, so a folder that was right where it was exported can be wrong
on another machine (an int8 kernel that saturates without VNNI, model/int8_kernels.py). Loading
compares the copy's answers on the probe with the fp32 original's; beyond the tolerance it refuses
the folder with one line saying what to do, rather than return wrong labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file

PROBE_FILE = "probe.json"

# Made up, one sentence or more of each role, as a newswire story reads.
PROBE_TITLE = "Talks with rebels to resume next week, president says"
PROBE_SENTENCES = (
    "WASHINGTON -- The president said on Monday that talks with the rebels would resume next week.",
    "Officials told reporters the plan was expected to pass.",
    "\"We are ready to sign an agreement as soon as the ceasefire holds,\" the foreign minister said.",
    "The conflict began in 1998, when the government fell.",
    "Analysts believe a deal is unlikely before the election.",
    "Police said three people were killed in an attack on a market in the capital on Sunday.",
    "The attack forced the closure of the main road to the airport for several hours.",
    "Critics say the government has done too little to protect civilians.",
)

# The largest difference in any probability a copy may show on the probe, at the least; a copy
# that already differed at export may differ by twice that (`tolerance`).
TOLERANCE_FLOOR = {"onnx": 0.01, "onnx-int8": 0.1, "int8": 0.1, "bf16": 0.1}


def probe_article(sentences=PROBE_SENTENCES, title: str | None = PROBE_TITLE) -> Article:
    return Article("probe", [Sentence(text) for text in sentences], title)


def agreement(reference: list[np.ndarray], candidate: list[np.ndarray]) -> dict:
    """How far two models' per-article probabilities are apart, and how often their labels agree."""
    n = sum(len(a) for a in reference)
    same = sum(int((a.argmax(1) == b.argmax(1)).sum()) for a, b in zip(reference, candidate))
    diffs = [float(np.abs(a - b).max()) for a, b in zip(reference, candidate) if a.size]
    return {"sentences": n, "max_prob_diff": round(max(diffs, default=0.0), 6), "label_agreement": round(same / n, 6) if n else 1.0}


def tolerance(runtime: str, deviation_at_export: float) -> float:
    return round(max(TOLERANCE_FLOOR.get(runtime, 0.1), 2 * deviation_at_export), 6)


def write_probe(folder: Path, runtime: str, reference: np.ndarray, copy: np.ndarray, article: Article | None = None) -> dict:
    """Store the probe in the copy `folder`: the story, the original's probabilities (`reference`)
    and the copy's as exported (`copy`); returns what the manifest records of it."""
    article = article or probe_article()
    found = agreement([reference], [copy])
    record = {
        "runtime": runtime,
        "title": article.title,
        "sentences": [s.text for s in article.sentences],
        "reference": np.round(reference, 6).tolist(),
        "at_export": np.round(copy, 6).tolist(),
        "max_prob_diff_at_export": found["max_prob_diff"],
        "tolerance": tolerance(runtime, found["max_prob_diff"]),
    }
    with atomic_file(Path(folder) / PROBE_FILE) as out:
        out.write(json.dumps(record, indent=1) + "\n")
    return {**found, "tolerance": record["tolerance"]}


def read_probe(folder: Path) -> dict | None:
    """The stored probe, or None for a folder without one (an original, or a copy from before)."""
    path = Path(folder) / PROBE_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        reference = np.asarray(record["reference"], dtype=np.float64)
        sentences = [str(s) for s in record["sentences"]]
        float(record["tolerance"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"unreadable known-answer probe ({str(exc).splitlines()[0][:200]}); export the model again", path)
    if reference.ndim != 2 or len(reference) != len(sentences):
        raise UserError("the known-answer probe's probabilities do not match its sentences; export the model again", path)
    return record


def probe_result(folder: Path, runtime: str, predict: Callable[[list[Article]], list[np.ndarray]]) -> dict | None:
    """Label the stored probe with `predict` (a labeler's) and compare with the original's answers:
    {max_prob_diff, label_agreement, sentences, tolerance, passed}; None when there is no probe."""
    record = read_probe(folder)
    if record is None:
        return None
    reference = np.asarray(record["reference"], dtype=np.float64)
    got = np.asarray(predict([probe_article(record["sentences"], record.get("title"))])[0], dtype=np.float64)
    if got.shape != reference.shape:
        raise UserError(
            f"the known-answer probe has {reference.shape[1]} labels for {reference.shape[0]} sentences, the model gave "
            f"{got.shape}; export the model again",
            Path(folder) / PROBE_FILE,
        )
    found = agreement([reference], [got])
    limit = float(record["tolerance"])
    return {**found, "runtime": runtime, "tolerance": limit, "passed": found["max_prob_diff"] <= limit}


def verify_probe(folder: Path, runtime: str, predict: Callable[[list[Article]], list[np.ndarray]]) -> dict | None:
    """`probe_result`, refusing the folder (UserError) when the copy is beyond its tolerance here."""
    result = probe_result(folder, runtime, predict)
    if result is not None and not result["passed"]:
        raise UserError(
            f"this {runtime} copy gives wrong answers on this machine: on its known-answer probe its probabilities "
            f"differ from the original's by {result['max_prob_diff']:.3f} (tolerance {result['tolerance']:.3f}); "
            "export the model again on this machine, or use the original folder or an `--runtime onnx` export",
            Path(folder),
        )
    return result
