"""The bare scikit-learn equivalent of ``stance-run experiment=allsides_random``.

Reads articles.jsonl.gz and the released random split, fits word 1-2-gram TF-IDF
(title + body, the parameters of conf/features/tfidf.yaml) + logistic regression
(conf/model/logreg.yaml) on train+val, and prints test macro-F1 as JSON. No
stance imports: this is the yardstick ``bench_overhead.py`` times stance-run against.

Usage: python experiments/bare_sklearn_allsides.py [DATA_DIR]
(default: stance.paths.default_data_dir(), i.e. STANCE_DATA_DIR or ./shared/data;
bench_overhead.py passes DATA_DIR, so the timed script imports nothing from stance)
"""

from __future__ import annotations

import gzip
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score


def main(data_dir: Path) -> dict:
    start = time.perf_counter()
    root = data_dir / "allsides"
    rows = []
    with gzip.open(root / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            a = json.loads(line)
            rows.append((a["ID"], a.get("title") or "", a.get("content_original") or "", a["bias"]))
    articles = pd.DataFrame(rows, columns=["ID", "title", "text", "bias"])
    parts = {
        part: set(pd.read_csv(root / "splits/random" / f"{part}.tsv", sep="\t", dtype=str)["ID"])
        for part in ("train", "valid", "test")
    }
    train = articles[articles["ID"].isin(parts["train"] | parts["valid"])]
    test = articles[articles["ID"].isin(parts["test"])]
    loaded = time.perf_counter()

    vec = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_df=0.9, max_features=200000, sublinear_tf=True
    )
    X_train = vec.fit_transform((train["title"] + "\n" + train["text"]).tolist())
    X_test = vec.transform((test["title"] + "\n" + test["text"]).tolist())
    featurised = time.perf_counter()
    clf = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000, random_state=42)
    clf.fit(X_train, train["bias"].to_numpy())
    predicted = clf.predict(X_test)
    done = time.perf_counter()
    return {
        "macro_f1": float(f1_score(test["bias"].to_numpy(), predicted, average="macro")),
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "timings": {
            "load": round(loaded - start, 2),
            "features": round(featurised - loaded, 2),
            "fit_predict": round(done - featurised, 2),
        },
        "wall_time_s": round(done - start, 2),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "accuracy": float(np.mean(predicted == test["bias"].to_numpy())),
    }


if __name__ == "__main__":
    if len(sys.argv) > 1:
        data = Path(sys.argv[1])
    else:
        from stance.paths import default_data_dir

        data = default_data_dir()
    print(json.dumps(main(data)), flush=True)
