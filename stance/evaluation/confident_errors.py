"""The wrong predictions a model was surest of: one table for report.md and the analysis API.

These rows are where labels are wrong, the annotation guide is ambiguous or the
model keys on a spurious cue, so both the run report and
:func:`stance.analysis.most_confident_errors` list them, built here once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

_COLUMNS = ("id", "fold", "gold", "predicted", "confidence", "p_gold", "source")


def most_confident_errors(
    predictions: pd.DataFrame,
    texts: pd.DataFrame | Mapping[str, str] | pd.Series | None = None,
    n: int = 10,
    snippet_chars: int = 240,
) -> pd.DataFrame:
    """The ``n`` wrong predictions the model was surest of, with a text snippet.

    ``predictions`` is a run's predictions.csv (``gold``, ``predicted``, optional
    ``proba_<label>`` columns). Errors are sorted by the top-label probability
    (``confidence``), ties in file order; ``p_gold`` is the probability given to
    the gold label. Without probabilities, errors are listed in file order.
    ``texts`` maps id -> text (a Series, dict, or a frame with ``id``, ``text``
    and optionally ``title``; the first row of a repeated id wins); snippets are
    cut at a word boundary to at most ``snippet_chars`` characters.
    """
    cols = [c for c in predictions.columns if c.startswith("proba_")]
    wrong = predictions[predictions["gold"] != predictions["predicted"]].copy()
    if cols:
        p = wrong[cols].to_numpy(dtype=float)
        labels = [c[len("proba_") :] for c in cols]
        wrong["confidence"] = p.max(axis=1)
        gold_idx = [labels.index(g) if g in labels else -1 for g in wrong["gold"]]
        wrong["p_gold"] = [p[i, j] if j >= 0 else np.nan for i, j in enumerate(gold_idx)]
        wrong = wrong.sort_values("confidence", ascending=False, kind="stable")
    out = wrong[[c for c in _COLUMNS if c in wrong]].head(max(n, 0)).reset_index(drop=True)
    if texts is not None:
        if isinstance(texts, pd.DataFrame):
            lookup = texts.drop_duplicates("id").set_index("id")
            body = lookup["text"].to_dict()
            titles = lookup["title"].to_dict() if "title" in lookup else {}
        else:
            body, titles = dict(texts), {}
        if any(titles.get(i, "") for i in out["id"]):
            out["title"] = [_snippet(titles.get(i, ""), snippet_chars) for i in out["id"]]
        out["snippet"] = [_snippet(body.get(i, ""), snippet_chars) for i in out["id"]]
    return out


def _snippet(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
