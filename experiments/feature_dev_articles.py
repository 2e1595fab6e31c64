"""BASIL (5-fold CV grouped by triplet) and Russia–US rapprochement (CV grouped by outlet).

Usage: python experiments/feature_dev_articles.py basil|rapp [config ...]
Configs are compared on grouped CV of the released training data only.
"""

from __future__ import annotations

import gzip
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline

from stance.features.actors import TargetWindowTfidf, load_actor_lexicon, make_union
from stance.features.lexicon import LexiconFeatures
from stance.features.text import NgramTfidf
from stance.models.zoo import NBSVM, ClassOffsetTuner
from stance.paths import default_data_dir

DATA = default_data_dir()


def load_basil() -> pd.DataFrame:
    rows = []
    for path in sorted((DATA / "basil/articles").glob("*/*.json")):
        art = json.loads(path.read_text())
        ann = json.loads(
            (DATA / "basil/annotations" / path.parent.name / f"{path.stem}_ann.json").read_text()
        )
        lab = ann["article-level-annotations"]
        text = "\n".join(" ".join(p) for p in art["body-paragraphs"])
        for ent in art["main-entities"]:
            key = "author_feeling_" + ent.replace(" ", "_")
            if key in lab and lab[key] in {"neg", "neu", "pos"}:
                rows.append(
                    dict(
                        text=text,
                        title=art["title"],
                        target=ent,
                        label=lab[key],
                        group=art["triplet-uuid"],
                    )
                )
    return pd.DataFrame(rows)


def load_rapp() -> pd.DataFrame:
    labels = pd.read_csv(DATA / "ru_us_rapprochement/labels.csv")
    want = set(labels.id)
    arts = {}
    with gzip.open(DATA / "allsides/articles.jsonl.gz", "rt") as fh:
        for line in fh:
            a = json.loads(line)
            if a.get("ID") in want:
                arts[a["ID"]] = a
    rows = []
    for r in labels.itertuples():
        a = arts[r.id]
        rows.append(
            dict(
                text=a.get("content_original") or a.get("content") or "",
                title=a.get("title") or "",
                target=r.target,
                label=r.label,
                group=a.get("source") or "",
            )
        )
    return pd.DataFrame(rows)


LEX = load_actor_lexicon()
lr = lambda C=4.0: LogisticRegression(C=C, class_weight="balanced", max_iter=3000)  # noqa: E731
word = lambda: NgramTfidf(fields=["title", "text"], ngram_range=[1, 2], min_df=2, max_df=0.9)  # noqa: E731


def window(mode="target", ctx=1, rest=False):
    return TargetWindowTfidf(LEX, context=ctx, mode=mode, keep_rest=rest)  # noqa: E731


CONFIGS = {
    "majority": lambda: make_pipeline(word(), DummyClassifier(strategy="most_frequent")),
    "tfidf_lr": lambda: make_pipeline(word(), lr()),
    "window_lr": lambda: make_pipeline(window(rest=True), lr()),
    "actor_lr": lambda: make_pipeline(make_union({"doc": word(), "win": window()}), lr()),
    "actor_lex_lr": lambda: make_pipeline(
        make_union(
            {"doc": word(), "win": window(), "lex": LexiconFeatures(LEX)},
            weights={"doc": 1, "win": 1, "lex": 0.3},
        ),
        lr(),
    ),
    "relation_lr": lambda: make_pipeline(
        make_union(
            {"doc": word(), "win": window("relation"), "lex": LexiconFeatures(LEX)},
            weights={"doc": 1, "win": 1, "lex": 0.3},
        ),
        lr(),
    ),
    "actor_lex_tuned": lambda: make_pipeline(
        make_union(
            {"doc": word(), "win": window(), "lex": LexiconFeatures(LEX)},
            weights={"doc": 1, "win": 1, "lex": 0.3},
        ),
        ClassOffsetTuner(lr(), random_state=0),
    ),
    "actor_lex_nbsvm": lambda: make_pipeline(
        make_union(
            {"doc": word(), "win": window(), "lex": LexiconFeatures(LEX, scale=True)},
            weights={"doc": 1, "win": 1, "lex": 0.0},
        ),
        NBSVM(C=4),
    ),
}


def cv(df: pd.DataFrame, make, n_splits: int, stratified: bool) -> float:
    X, y, g = df[["text", "title", "target"]], df.label.to_numpy(), df.group.to_numpy()
    splitter = (
        StratifiedGroupKFold(n_splits, shuffle=True, random_state=0)
        if stratified
        else GroupKFold(n_splits)
    )
    pred = np.empty(len(y), dtype=object)
    for tr, te in splitter.split(X, y, g):
        pred[te] = make().fit(X.iloc[tr], y[tr]).predict(X.iloc[te])
    return 100 * f1_score(y, pred, average="macro")


if __name__ == "__main__":
    corpus = sys.argv[1]
    df = load_basil() if corpus == "basil" else load_rapp()
    print(
        corpus, len(df), df.label.value_counts().to_dict(), "groups", df.group.nunique(), flush=True
    )
    for name in sys.argv[2:] or list(CONFIGS):
        t0 = time.time()
        if corpus == "basil":
            s = cv(df, CONFIGS[name], 5, True)
        else:
            s = cv(df, CONFIGS[name], min(5, df.group.nunique()), False)
        print(f"{name:16s} pooled-CV macro-F1 {s:.2f} ({time.time() - t0:.0f}s)", flush=True)
