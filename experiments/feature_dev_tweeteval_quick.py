"""Quick TweetEval probe (scratch): per-target vs pooled, word+char tf-idf."""

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC

from stance.paths import default_data_dir

D = default_data_dir() / "tweeteval_stance"
LAB = {"0": "none", "1": "against", "2": "favor"}


def load():
    rows = []
    for t in ["abortion", "atheism", "climate", "feminist", "hillary"]:
        for s in ["train", "val", "test"]:
            tx = (D / t / f"{s}_text.txt").read_text().splitlines()
            lb = (D / t / f"{s}_labels.txt").read_text().split()
            rows += [
                dict(text=a, title="", target=t, label=LAB[b], split=s)
                for a, b in zip(tx, lb, strict=False)
            ]
    return pd.DataFrame(rows)


def favg(y, p):
    return f1_score(y, p, labels=["favor", "against"], average="macro")


df = load()


def feats():
    return make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )


for split_train, split_eval in [(["train"], "val"), (["train", "val"], "test")]:
    for name, mk in [
        ("svc", lambda: LinearSVC(C=0.1)),
        ("svc1", lambda: LinearSVC(C=1)),
        ("lr", lambda: LogisticRegression(C=10, max_iter=2000)),
    ]:
        preds, golds = [], []
        for _t, g in df.groupby("target"):
            tr = g[g.split.isin(split_train)]
            te = g[g.split == split_eval]
            f = feats()
            Xtr = f.fit_transform(tr.text)
            m = mk().fit(Xtr, tr.label)
            preds += list(m.predict(f.transform(te.text)))
            golds += list(te.label)
        print(split_eval, name, "per-target", round(100 * favg(golds, preds), 2), flush=True)
