"""Train the TF-IDF + logistic-regression baseline and write it as a model folder.

Only labeled sentences are trained on. The regularisation strength C is either given, or chosen
from a small grid (`C_grid`) by cross-validation on the TRAIN split alone, with folds split by
article (sentences of one article never sit on both sides) -- the dev split is only ever scored,
never tuned on.

Defaults (C=2, class_weight="balanced", word 1-2 grams, min_df=2) come from 5-fold CV on the
NewsDiscourse train split (502 articles, `roles` mapping), grid C in {0.25 .. 16}:
  balanced: mean macro-F1 0.583 (C=0.25), 0.596 (C=1), 0.597 (C=2), 0.595 (C=4), 0.588 (C=16)
  none:     at most 0.576 (C=16), and stance/fact recall collapses at small C.
C=1..4 are within one fold standard deviation (~0.009) of each other; C=2 is the CV maximum.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir
from newsroles.model.store.folder import write_common_files
from newsroles.model.tfidf import PIPELINE_DEFAULTS, TfidfModel, build_pipeline
from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

DEFAULTS: dict[str, Any] = {
    # C (chosen by 5-fold article-grouped CV, see the module doc), class_weight, ngram_max, seed:
    # the default config's, through model/tfidf.py.
    **{key: PIPELINE_DEFAULTS[key] for key in ("C", "class_weight", "ngram_max", "seed")},
    "C_grid": None,  # e.g. [0.5, 1, 2, 4, 8]: pick C by cross-validation on train
    "cv_folds": 5,
}


def labeled_pairs(articles: Sequence[Article], labels: Sequence[str]) -> tuple[list[str], list[str], list[int]]:
    """Texts, labels and article indices of the labeled sentences; a label outside `labels` is a UserError."""
    known = set(labels)
    texts: list[str] = []
    ys: list[str] = []
    groups: list[int] = []
    for i, article in enumerate(articles):
        for j, sentence in enumerate(article.sentences):
            if sentence.label is None:
                continue
            if sentence.label not in known:
                raise UserError(
                    f"article {article.id!r}, sentence {j + 1}: label {sentence.label!r} is not in the label set "
                    f"{list(labels)}"
                )
            texts.append(sentence.text)
            ys.append(sentence.label)
            groups.append(i)
    return texts, ys, groups


def fit_baseline(
    train: Sequence[Article],
    labels: Sequence[str],
    *,
    C: float = DEFAULTS["C"],
    class_weight: str | None = DEFAULTS["class_weight"],
    ngram_max: int = DEFAULTS["ngram_max"],
    seed: int = DEFAULTS["seed"],
) -> TfidfModel:
    """Fit a TfidfModel on the labeled sentences of `train`; columns follow `labels`."""
    texts, ys, _ = labeled_pairs(train, labels)
    if not texts:
        raise UserError("the training data has no labeled sentences")
    model = TfidfModel(labels, C=C, class_weight=class_weight, ngram_max=ngram_max, seed=seed)
    return model.fit(texts, ys)


def select_C(
    train: Sequence[Article],
    labels: Sequence[str],
    grid: Sequence[float],
    *,
    folds: int = DEFAULTS["cv_folds"],
    class_weight: str | None = DEFAULTS["class_weight"],
    ngram_max: int = DEFAULTS["ngram_max"],
    seed: int = DEFAULTS["seed"],
) -> tuple[float, dict]:
    """Choose C from `grid` by macro-F1 under article-grouped, label-stratified k-fold CV on `train`.

    Returns (best C, report). Ties go to the smaller C (the stronger regularisation).
    """
    labels = list(labels)
    texts, ys, groups = labeled_pairs(train, labels)
    n_articles = len(set(groups))
    k = min(int(folds), n_articles)
    if k < 2:
        raise UserError(f"choosing C by cross-validation needs at least 2 training articles with labels, got {n_articles}")
    grid = sorted({float(c) for c in grid})
    texts_a, ys_a = np.array(texts, dtype=object), np.array(ys, dtype=object)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    scores: dict[float, list[dict]] = {c: [] for c in grid}
    for train_idx, test_idx in splitter.split(texts_a, ys_a, groups):
        # The vectorizer does not depend on C: fit it once per fold, then one classifier per C.
        vectorizer = build_pipeline(ngram_max=ngram_max).named_steps["tfidf"]
        x_train = vectorizer.fit_transform(texts_a[train_idx])
        x_test = vectorizer.transform(texts_a[test_idx])
        for c in grid:
            clf = LogisticRegression(C=c, class_weight=class_weight, max_iter=PIPELINE_DEFAULTS["max_iter"], random_state=seed)
            clf.fit(x_train, ys_a[train_idx])
            m = compute_metrics(list(ys_a[test_idx]), list(clf.predict(x_test)), labels)
            scores[c].append(m)
    report_rows = []
    for c in grid:
        f1s = [m["macro_f1"] for m in scores[c]]
        accs = [m["accuracy"] for m in scores[c]]
        report_rows.append(
            {
                "C": c,
                "macro_f1_mean": float(np.mean(f1s)),
                "macro_f1_std": float(np.std(f1s)),
                "accuracy_mean": float(np.mean(accs)),
            }
        )
    best = max(report_rows, key=lambda r: (round(r["macro_f1_mean"], 12), -r["C"]))
    report = {"metric": "macro_f1", "folds": k, "grouped_by": "article", "grid": report_rows, "chosen_C": best["C"]}
    return best["C"], report


def resolve_options(options: dict | None) -> dict:
    """Merge `options` over DEFAULTS and check them; unknown keys are a UserError."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise UserError(f"unknown baseline option(s) {unknown}; allowed: {', '.join(DEFAULTS)}")
    opts = {**DEFAULTS, **options}
    cw = opts["class_weight"]
    if isinstance(cw, str) and cw.lower() in ("none", "null", ""):
        cw = None
    if cw not in (None, "balanced"):
        raise UserError(f"baseline option class_weight must be 'balanced' or none, got {cw!r}")
    opts["class_weight"] = cw

    def positive(name: str, value: Any) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise UserError(f"baseline option {name} must be a positive number, got {value!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise UserError(f"baseline option {name} must be a positive number, got {value!r}")
        return v

    opts["C"] = positive("C", opts["C"])
    grid = opts["C_grid"]
    if grid is not None:
        if not isinstance(grid, (list, tuple)) or not grid:
            raise UserError(f"baseline option C_grid must be a non-empty list of numbers, got {grid!r}")
        opts["C_grid"] = [positive("C_grid", c) for c in grid]
    for name, low in (("ngram_max", 1), ("cv_folds", 2), ("seed", 0)):
        value = opts[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"baseline option {name} must be an integer >= {low}, got {value!r}")
    return opts


def train_baseline(
    train: Sequence[Article],
    dev: Sequence[Article] | None,
    labels: Sequence[str],
    options: dict | None,
    out_dir: str | Path,
    config: dict,
    data: dict,
    *,
    overwrite: bool = False,
) -> Path:
    """Fit the baseline, score it on `dev` (when given) and write a complete model folder atomically.

    metrics.json holds {"dev": compute_metrics(...)} when there is a dev split, plus "train_cv" (the
    cross-validation table) when C was chosen from `C_grid`. The manifest records the resolved
    settings under "baseline".
    """
    out_dir = Path(out_dir)
    labels = list(labels)
    if out_dir.exists() and not overwrite:
        raise UserError("output folder already exists; choose another or allow overwriting", out_dir)
    opts = resolve_options(options)
    metrics: dict[str, Any] = {}
    C = opts["C"]
    if opts["C_grid"]:
        C, metrics["train_cv"] = select_C(
            train,
            labels,
            opts["C_grid"],
            folds=opts["cv_folds"],
            class_weight=opts["class_weight"],
            ngram_max=opts["ngram_max"],
            seed=opts["seed"],
        )
    model = fit_baseline(
        train, labels, C=C, class_weight=opts["class_weight"], ngram_max=opts["ngram_max"], seed=opts["seed"]
    )
    if dev:
        gold, pred = gold_and_predictions(dev, model.predict_proba(dev), labels)
        metrics["dev"] = compute_metrics(gold, pred, labels)
    settings = {
        "C": C,
        "class_weight": opts["class_weight"],
        "ngram_max": opts["ngram_max"],
        "min_df": PIPELINE_DEFAULTS["min_df"],
        "seed": opts["seed"],
        "C_grid": opts["C_grid"],
        "n_train_sentences": sum(len(a.labeled_sentences) for a in train),
    }
    try:
        with atomic_dir(out_dir, overwrite=overwrite) as tmp:
            write_common_files(
                tmp,
                kind="tfidf",
                labels=labels,
                config=config,
                metrics=metrics,
                data=data,
                extra={"baseline": settings},
            )
            model.save(tmp)
    except FileExistsError:
        raise UserError("output folder already exists; choose another or allow overwriting", out_dir) from None
    return out_dir
