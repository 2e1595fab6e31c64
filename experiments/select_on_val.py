"""Choose features × classifier for a predefined-split benchmark on its *val* part.

The protocol of experiments/RESULTS.md: fit on the released ``train`` part,
score macro-F1 (or F_avg) on the released ``val`` part, never look at ``test``.
Each feature set is fitted once (through the project's own cleaner and
feature classes, from ``conf/features/*.yaml``) and every classifier in the
grid (from ``conf/model/*.yaml`` plus overrides) is scored on it, so the winner
can be pinned in ``conf/experiment/*.yaml`` exactly as it was scored.

    python experiments/select_on_val.py --data allsides_media \\
        --features tfidf --models "logreg model.C=0.25" "logreg model.C=1" "svm model.C=0.1"

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="data config, e.g. allsides_media")
    parser.add_argument(
        "--features", nargs="+", default=["tfidf"], help='e.g. "tfidf features.min_df=3"'
    )
    parser.add_argument("--models", nargs="+", default=["logreg"], help='e.g. "logreg model.C=1"')
    parser.add_argument("--fit-part", default="train")
    parser.add_argument("--score-part", default="val")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    cfg = compose_config([f"data={args.data}", "split=predefined"])
    corpus = load_corpus(cfg.data, default_data_dir())
    frame = corpus.frame
    fit_rows = (frame["split"] == args.fit_part).to_numpy()
    score_rows = (frame["split"] == args.score_part).to_numpy()
    if not fit_rows.any() or not score_rows.any():
        raise SystemExit(f"{args.data}: no rows in part {args.fit_part!r} or {args.score_part!r}")
    X = model_input(frame)
    y = frame["label"].to_numpy()
    cleaner = TextCleaner(enabled=bool(cfg.data.get("clean", True)))
    start = time.perf_counter()
    X_fit, X_score = cleaner.fit_transform(X[fit_rows]), cleaner.transform(X[score_rows])
    print(
        f"{args.data}: {fit_rows.sum()} {args.fit_part} / {score_rows.sum()} {args.score_part} "
        f"rows, cleaned in {time.perf_counter() - start:.0f}s",
        flush=True,
    )

    rows = []
    for feature_spec in args.features:
        fcfg = compose_config([f"data={args.data}", *_overrides(feature_spec, "features")])
        features = _instantiate(fcfg.features, "features")
        start = time.perf_counter()
        F_fit = features.fit_transform(X_fit, y[fit_rows])
        F_score = features.transform(X_score)
        featurise_s = time.perf_counter() - start
        print(
            f"  features {feature_spec!r}: {F_fit.shape[1]} columns, {featurise_s:.0f}s", flush=True
        )
        for model_spec in args.models:
            mcfg = compose_config([f"data={args.data}", *_overrides(model_spec, "model")])
            model = _instantiate(mcfg.model, "model")
            if "random_state" in model.get_params():
                model.set_params(random_state=int(mcfg.seed))
            start = time.perf_counter()
            model.fit(F_fit, y[fit_rows])
            predicted = np.asarray(model.predict(F_score), dtype=str)
            value = headline_score(pd.Series(y[score_rows]), pd.Series(predicted), corpus.task)
            rows.append(
                {
                    "features": feature_spec,
                    "model": model_spec,
                    corpus.task.metric: round(100 * value, 2),
                    "fit_s": round(time.perf_counter() - start, 1),
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
        f"# Selection on {args.data}: fit `{args.fit_part}`, score `{args.score_part}` "
        f"({corpus.task.metric}); test never read\n\n" + "\n".join(lines) + "\n"
    )
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
