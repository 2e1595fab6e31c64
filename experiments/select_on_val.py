"""Choose features × classifier for a predefined-split benchmark on its *val* part.

The protocol of experiments/RESULTS.md: fit on the released ``train`` part,
score macro-F1 (or F_avg) on the released ``val`` part, never look at ``test``.
Each feature set is fitted once (through the project's own cleaner and
feature classes, from ``conf/features/*.yaml``) and every classifier in the
grid (from ``conf/model/*.yaml`` plus overrides) is scored on it, so the winner
can be pinned in ``conf/experiment/*.yaml`` exactly as it was scored.

    python experiments/select_on_val.py --data allsides --features tfidf word_char_style \\
        --models logreg svm
    # unseen-outlet splits: grouped CV over train+val by outlet instead of the val part
    python experiments/select_on_val.py --data allsides_media --group-cv source \\
        --features tfidf --models "logreg model.C=0.25" logreg cnb

Writes ``experiments/runs/select_<data>.md`` (a table, best first) and prints it.
"""

from __future__ import annotations

import argparse
import shlex
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from stance.data.clean import TextCleaner
from stance.data.loading import load_corpus
from stance.data.table import model_input
from stance.evaluation.metrics import headline_score
from stance.experiment import _instantiate, compose_config
from stance.paths import default_data_dir

HERE = Path(__file__).resolve().parent


def _overrides(spec: str, group: str) -> list[str]:
    """``"logreg model.C=1"`` → ``["model=logreg", "model.C=1"]``."""
    name, *rest = shlex.split(spec)
    return [f"{group}={name}", *rest]


def _evaluations(args, frame: pd.DataFrame):
    """(name, fit rows, score rows) pairs: the val part, or grouped folds of train+val."""
    if args.group_cv is None:
        fit_rows = (frame["split"] == args.fit_part).to_numpy()
        score_rows = (frame["split"] == args.score_part).to_numpy()
        if not fit_rows.any() or not score_rows.any():
            raise SystemExit(f"no rows in part {args.fit_part!r} or {args.score_part!r}")
        return f"fit `{args.fit_part}`, score `{args.score_part}`", [(fit_rows, score_rows)]
    from sklearn.model_selection import GroupKFold

    pool = np.flatnonzero(frame["split"].isin(args.cv_parts).to_numpy())
    groups = frame[args.group_cv].to_numpy()[pool]
    folds = []
    for fit, score in GroupKFold(n_splits=args.folds).split(pool, groups=groups):
        fit_rows = np.zeros(len(frame), bool)
        score_rows = np.zeros(len(frame), bool)
        fit_rows[pool[fit]] = True
        score_rows[pool[score]] = True
        folds.append((fit_rows, score_rows))
    name = (
        f"{args.folds}-fold CV over `{'+'.join(args.cv_parts)}` grouped by `{args.group_cv}` "
        "(pooled out-of-fold)"
    )
    return name, folds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="data config, e.g. allsides_media")
    parser.add_argument(
        "--features", nargs="+", default=["tfidf"], help='e.g. "tfidf features.min_df=3"'
    )
    parser.add_argument("--models", nargs="+", default=["logreg"], help='e.g. "logreg model.C=1"')
    parser.add_argument("--fit-part", default="train")
    parser.add_argument("--score-part", default="val")
    parser.add_argument(
        "--group-cv",
        metavar="COLUMN",
        help="instead of the val part: grouped K-fold over --cv-parts, e.g. source (outlet)",
    )
    parser.add_argument("--cv-parts", nargs="+", default=["train", "val"])
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    cfg = compose_config([f"data={args.data}", "split=predefined"])
    corpus = load_corpus(cfg.data, default_data_dir())
    frame = corpus.frame
    protocol, evaluations = _evaluations(args, frame)
    X = model_input(frame)
    y = frame["label"].to_numpy()
    cleaner = TextCleaner(enabled=bool(cfg.data.get("clean", True)))
    used = np.logical_or.reduce([f | s for f, s in evaluations])
    start = time.perf_counter()
    X_clean = X.copy()
    X_clean.loc[used] = cleaner.fit_transform(X[used]).to_numpy()
    print(f"{args.data}: {protocol}; cleaned in {time.perf_counter() - start:.0f}s", flush=True)

    # Compose each model's config once, not once per fold and feature set.
    model_cfgs = {
        spec: compose_config([f"data={args.data}", *_overrides(spec, "model")])
        for spec in args.models
    }
    rows = []
    for feature_spec in args.features:
        fcfg = compose_config([f"data={args.data}", *_overrides(feature_spec, "features")])
        gold: list[np.ndarray] = []
        predicted: dict[str, list[np.ndarray]] = {m: [] for m in args.models}
        fit_seconds = dict.fromkeys(args.models, 0.0)
        start = time.perf_counter()
        for fit_rows, score_rows in evaluations:
            features = _instantiate(fcfg.features, "features")
            F_fit = features.fit_transform(X_clean[fit_rows], y[fit_rows])
            F_score = features.transform(X_clean[score_rows])
            gold.append(y[score_rows])
            for model_spec in args.models:
                model = _instantiate(model_cfgs[model_spec].model, "model")
                if "random_state" in model.get_params():
                    model.set_params(random_state=int(cfg.seed))
                t0 = time.perf_counter()
                model.fit(F_fit, y[fit_rows])
                predicted[model_spec].append(np.asarray(model.predict(F_score), dtype=str))
                fit_seconds[model_spec] += time.perf_counter() - t0
        print(f"  features {feature_spec!r}: {time.perf_counter() - start:.0f}s", flush=True)
        for model_spec in args.models:
            value = headline_score(
                pd.Series(np.concatenate(gold)),
                pd.Series(np.concatenate(predicted[model_spec])),
                corpus.task,
            )
            rows.append(
                {
                    "features": feature_spec,
                    "model": model_spec,
                    corpus.task.metric: round(100 * value, 2),
                    "fit_s": round(fit_seconds[model_spec], 1),
                }
            )
            print(f"    {model_spec!r}: {100 * value:.2f}", flush=True)

    table = pd.DataFrame(rows).sort_values(corpus.task.metric, ascending=False)
    out = HERE / "runs" / f"select_{args.data}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += [
        "| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    text = (
        f"# Selection on {args.data}: {protocol} ({corpus.task.metric}); test never read\n\n"
        + "\n".join(lines)
        + "\n"
    )
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
