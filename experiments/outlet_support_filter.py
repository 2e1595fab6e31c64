"""Does dropping n-grams seen in few training outlets help on unseen outlets? (AllSides media)

A domain-generalisation idea tried for issue 4/8: house-style n-grams (bylines,
boilerplate, outlet names) occur in few outlets, so keep only n-grams that occur
in at least k outlets of the training fold. Scored like the media row's model
selection: 3-fold CV over the released train+val parts grouped by outlet, pooled
macro-F1; the test part is never read.

    python experiments/outlet_support_filter.py           # about 5 minutes on 2 cores

Result on 2026-11-28: k=1 (no filter) 35.03, k=3 35.04, k=8 34.89, so not adopted.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from stance.data.clean import TextCleaner
from stance.data.loading import load_corpus
from stance.data.table import model_input
from stance.experiment import _instantiate, compose_config
from stance.paths import default_data_dir

KS = [1, 3, 8]


def outlet_support(matrix: sp.csr_matrix, outlets: np.ndarray) -> np.ndarray:
    """For each column, the number of distinct outlets whose rows use it."""
    codes, uniques = pd.factorize(outlets)
    onehot = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(uniques), len(codes))
    )
    present = matrix.copy()
    present.data[:] = 1
    return np.asarray(((onehot @ present) > 0).sum(axis=0)).ravel()


def main() -> None:
    warnings.simplefilter("ignore")
    cfg = compose_config(["data=allsides_media", "split=predefined"])
    frame = load_corpus(cfg.data, default_data_dir()).frame
    pool = np.flatnonzero(frame["split"].isin(["train", "val"]).to_numpy())
    groups = frame["source"].to_numpy()[pool]
    print(f"{len(set(groups))} outlets, {len(pool)} rows", flush=True)
    X = TextCleaner().fit_transform(model_input(frame).iloc[pool]).reset_index(drop=True)
    y = frame["label"].to_numpy()[pool]
    features_cfg = compose_config(["data=allsides_media", "features=tfidf"]).features
    gold, predicted = [], {k: [] for k in KS}
    for fit, score in GroupKFold(n_splits=3).split(pool, groups=groups):
        start = time.perf_counter()
        features = _instantiate(features_cfg, "features")
        F = features.fit_transform(X.iloc[fit], y[fit]).tocsr()
        S = features.transform(X.iloc[score]).tocsr()
        support = outlet_support(F, groups[fit])
        gold.append(y[score])
        for k in KS:
            keep = np.flatnonzero(support >= k)
            clf = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
            clf.fit(F[:, keep], y[fit])
            predicted[k].append(clf.predict(S[:, keep]))
            print(f"  k={k}: kept {len(keep)} of {F.shape[1]} n-grams", flush=True)
        print(f"fold done in {time.perf_counter() - start:.0f} s", flush=True)
    for k in KS:
        value = f1_score(np.concatenate(gold), np.concatenate(predicted[k]), average="macro")
        print(f"min outlets {k}: macro-F1 {100 * value:.2f}")


if __name__ == "__main__":
    main()
