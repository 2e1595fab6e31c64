"""TweetEval stance (SemEval-2016 A): feature/model configs, chosen on val, reported on test.

Usage: python experiments/feature_dev_tweeteval.py [config ...]
Selection protocol: fit on train, score on val (choose); then fit on train+val, score test.
"""

from __future__ import annotations

import sys
import time

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from stance.features.actors import TargetConditioned, make_union
from stance.features.text import NgramTfidf
from stance.models.zoo import NBSVM, CalibratedLinearSVC, ClassOffsetTuner, make_voting
from stance.paths import default_data_dir

D = default_data_dir() / "tweeteval_stance"
LAB = {"0": "none", "1": "against", "2": "favor"}
NAMES = {
    "abortion": "Legalization of Abortion",
    "atheism": "Atheism",
    "climate": "Climate Change is a Real Concern",
    "feminist": "Feminist Movement",
    "hillary": "Hillary Clinton",
}


def load() -> pd.DataFrame:
    rows = []
    for t, name in NAMES.items():
        for s in ["train", "val", "test"]:
            tx = (D / t / f"{s}_text.txt").read_text().splitlines()
            lb = (D / t / f"{s}_labels.txt").read_text().split()
            rows += [
                dict(text=a, title="", target=name, label=LAB[b], split=s)
                for a, b in zip(tx, lb, strict=False)
            ]
    return pd.DataFrame(rows)


def favg(y, p) -> float:
    return 100 * f1_score(y, p, labels=["favor", "against"], average="macro")


def features(char=(2, 5), emb=False):
    blocks = {
        "word": NgramTfidf(fields=["text"], ngram_range=[1, 2], min_df=1),
        "char": NgramTfidf(fields=["text"], analyzer="char_wb", ngram_range=list(char), min_df=2),
    }
    if emb:
        from stance.features.embeddings import SentenceEmbedding

        blocks["emb"] = SentenceEmbedding(fields=["text"], weight=1.0)
    return TargetConditioned(make_union(blocks), shared=True)


def model(kind):
    lr = LogisticRegression(C=10, class_weight="balanced", max_iter=3000)
    if kind == "lr":
        return lr
    if kind == "svm":
        return CalibratedLinearSVC(C=0.3, random_state=0)
    if kind == "nbsvm":
        return NBSVM(C=4, random_state=0)
    if kind == "vote":
        return make_voting(
            {
                "lr": lr,
                "svm": CalibratedLinearSVC(C=0.3, random_state=0),
                "nbsvm": NBSVM(C=4, random_state=0),
            }
        )
    if kind == "vote_tuned":
        return ClassOffsetTuner(
            model("vote"), metric="f_avg", metric_labels=["favor", "against"], random_state=0
        )
    raise ValueError(kind)


CONFIGS = {
    "lr": lambda: make_pipeline(features(), model("lr")),
    "svm": lambda: make_pipeline(features(), model("svm")),
    "nbsvm": lambda: make_pipeline(features(), model("nbsvm")),
    "vote": lambda: make_pipeline(features(), model("vote")),
    "vote_tuned": lambda: make_pipeline(features(), model("vote_tuned")),
    "vote_emb": lambda: make_pipeline(features(emb=True), model("vote")),
    "lr_emb": lambda: make_pipeline(features(emb=True), model("lr")),
}

if __name__ == "__main__":
    df = load()
    cols = ["text", "title", "target"]
    for name in sys.argv[1:] or list(CONFIGS):
        t0 = time.time()
        tr, va = df[df.split == "train"], df[df.split == "val"]
        v = favg(va.label, CONFIGS[name]().fit(tr[cols], tr.label.to_numpy()).predict(va[cols]))
        trv, te = df[df.split != "test"], df[df.split == "test"]
        t = favg(te.label, CONFIGS[name]().fit(trv[cols], trv.label.to_numpy()).predict(te[cols]))
        print(
            f"{name:12s} val F_avg {v:.2f}  test F_avg {t:.2f}  ({time.time() - t0:.0f}s)",
            flush=True,
        )
