"""A Label Studio export (JSON or JSON-MIN) back to labeled articles for training.

Per task, the editors' annotations win over the model's predictions: a task that only has
predictions is left out (nobody checked it) unless `use_predictions` is set. Each region of the
chosen annotation becomes one sentence with its label, so a sentence boundary an editor moved, or
two sentences an editor merged, come back as the editor left them; text no region covers stays in
the story as unlabeled sentences (context, never scored). Nothing is dropped silently: every
skipped or empty task, disagreement between annotators and label outside the label set is counted
and described in `ConvertReport.notes`.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from newsroles.inference.annotation.tasks import FROM_NAME
from newsroles.inference.splitter import split_sentences
from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
# JSON-MIN rows: the task's data fields and these, plus one key per control (ours: "role").
_MIN_KEYS = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement"}


@dataclass
class ConvertReport:
    articles: int = 0
    sentences: int = 0
    labels: Counter = field(default_factory=Counter)
    unlabeled: int = 0
    counts: Counter = field(default_factory=Counter)  # why something was left out or changed -> how often
    notes: list[str] = field(default_factory=list)  # one line per case, naming the task
    note_kinds: list[str] = field(default_factory=list)  # the kind of each note
    replaced: int | None = None  # with a merge: stories of the existing file replaced, added, kept
    added: int | None = None
    kept: int | None = None

    def note(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        self.notes.append(message)
        self.note_kinds.append(kind)

    def shown_notes(self, per_kind: int = 5) -> list[str]:
        """The notes, at most `per_kind` of each kind, then how many more of it there are."""
        out, shown = [], Counter()
        for kind, message in zip(self.note_kinds, self.notes):
            shown[kind] += 1
            if shown[kind] <= per_kind:
                out.append(message)
            elif shown[kind] == per_kind + 1:
                out.append(f"... and {self.counts[kind] - per_kind} more: {kind}")
        return out


@dataclass
class _Annotation:
    id: Any
    who: Any
    regions: list[dict]
    cancelled: bool = False
    ground_truth: bool = False
    updated: str = ""


@dataclass
class _Task:
    where: str
    data: dict
    annotations: list[_Annotation]
    predictions: list[list[dict]]


def read_export(path: str | Path) -> list[_Task]:
    """The tasks of a Label Studio JSON or JSON-MIN export file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("Label Studio export not found", path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"not a Label Studio JSON export ({exc})", path) from None
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise UserError("not a Label Studio JSON export: expected a list of tasks (export as JSON or JSON-MIN)", path)
    if any("data" in t or "annotations" in t for t in raw):
        return [_full_task(t, i, path) for i, t in enumerate(raw)]
    return _min_tasks(raw, path)


def _where(task_id: Any, index: int) -> str:
    return f"task {task_id}" if task_id is not None else f"task #{index + 1}"


def _full_task(t: dict, index: int, path: Path) -> _Task:
    where = _where(t.get("id"), index)
    data = t.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise UserError(f"{where} has no data.text; export a project set up with `newsroles data label-studio-config`", path)
    annotations = [
        _Annotation(
            a.get("id"), a.get("completed_by"), _regions(a.get("result")), bool(a.get("was_cancelled")),
            bool(a.get("ground_truth")), str(a.get("updated_at") or a.get("created_at") or ""),
        )
        for a in t.get("annotations") or []
        if isinstance(a, dict)
    ]
    # A project export lists a task's predictions by id only; an annotation made from one carries it whole.
    found = [p for p in t.get("predictions") or [] if isinstance(p, dict)]
    found += [a["prediction"] for a in t.get("annotations") or [] if isinstance(a, dict) and isinstance(a.get("prediction"), dict)]
    predictions = [r for r in (_regions(p.get("result")) for p in found) if r]
    return _Task(where, data, annotations, predictions)


def _min_tasks(rows: list[dict], path: Path) -> list[_Task]:
    """JSON-MIN: one row per annotation, the task's data fields at the top level."""
    tasks: dict[Any, _Task] = {}
    for i, row in enumerate(rows):
        if not isinstance(row.get("text"), str):
            raise UserError(f"{_where(row.get('id'), i)} has no text field; is this a Label Studio export?", path)
        key = row.get("id", f"#{i}")
        data = {k: v for k, v in row.items() if k not in _MIN_KEYS and k != FROM_NAME}
        task = tasks.setdefault(key, _Task(_where(row.get("id"), i), data, [], []))
        task.annotations.append(
            _Annotation(row.get("annotation_id"), row.get("annotator"), _regions(row.get(FROM_NAME)),
                        updated=str(row.get("updated_at") or row.get("created_at") or ""))
        )
    return list(tasks.values())


def _regions(result: Any) -> list[dict]:
    """The labeled spans of an annotation's or prediction's result, as {start, end, labels}."""
    out = []
    for r in result or []:
        if not isinstance(r, dict):
            continue
        value = r.get("value", r)  # JSON-MIN gives the value itself
        if isinstance(value, dict) and isinstance(value.get("start"), int) and isinstance(value.get("end"), int):
            labels = value.get("labels") or []
            out.append({"start": value["start"], "end": value["end"], "labels": [str(x) for x in labels]})
    return sorted(out, key=lambda r: (r["start"], r["end"]))


def convert_export(path: str | Path, labels: Sequence[str], use_predictions: bool = False) -> tuple[list[Article], ConvertReport]:
    """Articles from a Label Studio export; `labels` is the label set (others are left unlabeled)."""
    report = ConvertReport()
    articles: list[Article] = []
    seen: set[str] = set()
    for task in read_export(path):
        regions = _choose(task, report, use_predictions)
        if regions is None:
            continue
        article = _article(task, regions, labels, report)
        if article is None:
            continue
        if article.id in seen:
            report.note("duplicate story", f"{task.where}: story {article.id!r} appears again; kept the first")
            continue
        seen.add(article.id)
        articles.append(article)
        report.articles += 1
        report.sentences += len(article.sentences)
        for s in article.sentences:
            if s.label is None:
                report.unlabeled += 1
            else:
                report.labels[s.label] += 1
    return articles, report


def _choose(task: _Task, report: ConvertReport, use_predictions: bool) -> list[dict] | None:
    """The regions that stand for the task: its annotation(s), else (if allowed) its prediction."""
    done = [a for a in task.annotations if not a.cancelled]
    if task.annotations and not done:
        report.note("skipped by the editor", f"{task.where}: skipped (cancelled) by every annotator; left out")
        return None
    empty = [a for a in done if not a.regions]
    done = [a for a in done if a.regions]
    if empty and not done:
        report.note("empty annotation", f"{task.where}: annotated with no labeled region; left out")
        return None
    if not done:
        if use_predictions and task.predictions:
            report.counts["predictions used"] += 1
            return task.predictions[0]
        why = "no annotation" + (" (the export lists its predictions by id only)" if use_predictions else "")
        report.note("not annotated", f"{task.where}: {why}; left out")
        return None
    if empty:
        report.note("empty annotation", f"{task.where}: {len(empty)} empty annotation(s) ignored beside a filled one")
    if len(done) == 1:
        return done[0].regions
    return _reconcile(task, done, report)


def _reconcile(task: _Task, done: list[_Annotation], report: ConvertReport) -> list[dict]:
    """Several annotators: a ground-truth annotation wins; else, on the same sentences, the majority
    label of each (a tie leaves the sentence unlabeled); with different sentence boundaries, the
    latest annotation."""
    truth = [a for a in done if a.ground_truth]
    if truth:
        report.note("ground truth chosen", f"{task.where}: {len(done)} annotations; kept the one marked ground truth")
        return truth[0].regions
    spans = [[(r["start"], r["end"]) for r in a.regions] for a in done]
    if any(s != spans[0] for s in spans):
        latest = max(done, key=lambda a: (a.updated, str(a.id)))
        report.note("annotators disagree", f"{task.where}: {len(done)} annotators split the story differently; kept the latest annotation ({latest.id})")
        return latest.regions
    out = []
    for k, region in enumerate(done[0].regions):
        votes = Counter(tuple(a.regions[k]["labels"]) for a in done)
        (top, n), *rest = votes.most_common()
        if rest and rest[0][1] == n:
            report.note("annotators disagree", f"{task.where}: characters {region['start']}-{region['end']}: annotators tie "
                        f"({', '.join('/'.join(v) for v in votes)}); left unlabeled")
            top = ()
        elif rest:
            report.counts["majority label"] += 1
        out.append({**region, "labels": list(top)})
    return out


def paragraph_starts(text: str) -> list[int]:
    """Where each paragraph (blank-line separated) of `text` starts."""
    return [0] + [m.end() for m in _PARAGRAPH_BREAK.finditer(text)]


def _article(task: _Task, regions: list[dict], labels: Sequence[str], report: ConvertReport) -> Article | None:
    text = task.data["text"]
    starts = paragraph_starts(text)
    known = set(labels)
    predicted = {(r["start"], r["end"]) for p in task.predictions for r in p}
    sentences: list[tuple[int, Sentence]] = []

    def context(a: int, b: int) -> None:
        """Text no region covers: unlabeled sentences, split as `newsroles label` splits."""
        for m in re.finditer(r"\S(?:.*\S)?", text[a:b], flags=re.S):
            for chunk_start, chunk in _paragraph_chunks(text, a + m.start(), a + m.end(), starts):
                for s in split_sentences(chunk):
                    sentences.append((chunk_start, Sentence(text=s, label=None)))
        report.counts["uncovered text kept unlabeled"] += 1

    pos = 0
    for r in regions:
        start, end = max(0, r["start"]), min(len(text), r["end"])
        if start < pos:
            report.note("overlapping regions", f"{task.where}: region at characters {start}-{end} overlaps the one before; left out")
            continue
        if text[pos:start].strip():
            context(pos, start)
        body = text[start:end]
        lead = len(body) - len(body.lstrip())
        body = " ".join(body.split())  # an editor's region across a line break reads as one sentence
        pos = max(pos, end)
        if not body:
            continue
        label = r["labels"][0] if len(r["labels"]) == 1 else None
        if len(r["labels"]) > 1:
            report.note("several labels", f"{task.where}: sentence {body[:40]!r} has {len(r['labels'])} labels {r['labels']}; left unlabeled")
        elif label is not None and label not in known:
            report.note("label outside the label set", f"{task.where}: label {label!r} is not one of {list(labels)}; sentence {body[:40]!r} left unlabeled")
            label = None
        if predicted and (start, end) not in predicted:
            report.counts["sentence boundaries moved"] += 1
        sentences.append((start + lead, Sentence(text=body, label=label)))
    if text[pos:].strip():
        context(pos, len(text))
    if not sentences:
        report.note("empty story", f"{task.where}: the story has no text; left out")
        return None
    # Paragraph indices count the paragraphs that hold sentences, from 0 (as the splitter does).
    index: dict[int, int] = {}
    for at, sentence in sentences:
        sentence.paragraph = index.setdefault(bisect_right(starts, at) - 1, len(index))
    story = task.data.get("story_id", task.data.get("id"))
    if story is None:
        story = task.where.replace(" ", "-")
    title = task.data.get("title") or None
    return Article(id=str(story), sentences=[s for _, s in sentences], title=title if isinstance(title, str) else None)


def _paragraph_chunks(text: str, a: int, b: int, starts: list[int]):
    """(start, text) of each paragraph's part of text[a:b]."""
    cuts = [a] + [s for s in starts if a < s < b] + [b]
    for x, y in zip(cuts, cuts[1:]):
        chunk = text[x:y].strip()
        if chunk:
            yield x + (len(text[x:y]) - len(text[x:y].lstrip())), chunk


def merge_into(existing: Sequence[Article], new: Sequence[Article]) -> tuple[list[Article], int, int]:
    """`existing` with each story of `new` replacing the one of the same id, the rest appended:
    (articles, replaced, added)."""
    by_id = {a.id: a for a in new}
    out, replaced = [], 0
    for a in existing:
        if a.id in by_id:
            out.append(by_id.pop(a.id))
            replaced += 1
        else:
            out.append(a)
    added = [a for a in new if a.id in by_id]
    return out + added, replaced, len(added)
