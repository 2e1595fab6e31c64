"""Share of each stance by outlet, leaning and period, corrected for classifier error.

Tagging a corpus and counting the predicted labels ("classify and count") is
biased whenever the classifier errs unevenly: if 30% of truly *against*
articles are tagged *neutral*, every observed *against* share is too low, and
more so where *against* is common. The standard fix (adjusted classify and
count; Forman 2008, "misclassification-matrix inversion" in the content
analysis literature) uses the misclassification matrix estimated in
cross-validation on the labelled articles,

    M[i, j] = P(predicted = j | true = i),

and the identity  q = Mᵀ p  between observed predicted shares ``q`` and true
shares ``p``. We solve it for ``p`` by non-negative least squares constrained
to the simplex (shares are ≥ 0 and sum to 1), which avoids the negative or
>100% shares that plain inversion gives on small groups.

Intervals: observed shares get Wilson score intervals; corrected shares get
percentile bootstrap intervals that resample *both* the group's articles and
the labelled articles behind ``M``, so the uncertainty of the correction
itself (large when a class has few labelled examples) is in the interval.

Assumption worth stating in any write-up: ``P(pred | true)`` is the same in
the tagged corpus as in the labelled sample (no shift in how each class is
written between the two).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

__all__ = [
    "CORRECTION_NOTE",
    "add_period",
    "adjust_shares",
    "misclassification_matrix",
    "stance_shares",
    "wilson_interval",
]

CORRECTION_NOTE = (
    "Corrected shares: adjusted classify-and-count, P(predicted | true) from cross-validation "
    "inverted by non-negative least squares on the simplex; 95% bootstrap intervals "
    "resample both the tagged articles and the labelled ones."
)


def add_period(frame: pd.DataFrame, period: str = "year", column: str = "date") -> pd.DataFrame:
    """Add a ``year`` / ``quarter`` / ``month`` column parsed from ``date`` (unparseable -> NA)."""
    out = frame.copy()
    raw = out[column].astype(str).replace({"": None, "nan": None, "None": None})
    dates = pd.to_datetime(raw, errors="coerce", format="mixed")
    if period == "year":
        out["year"] = dates.dt.year.astype("Int64")
    elif period in ("quarter", "month"):
        out[period] = dates.dt.to_period("Q" if period == "quarter" else "M").astype(str)
        out.loc[dates.isna(), period] = None
    else:
        raise ValueError(f"period must be year, quarter or month, not {period!r}")
    return out


def wilson_interval(count: Any, n: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (vectorised; good for small n and p near 0)."""
    from scipy.stats import norm

    count, n = np.asarray(count, dtype=float), np.asarray(n, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    # At p = 0 or 1 rounding can put a bound 1e-16 on the wrong side of p (plots refuse
    # negative error bars); the exact bound there is p itself.
    lo, hi = np.minimum(centre - half, p), np.maximum(centre + half, p)
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def _item_vectors(
    frame: pd.DataFrame, labels: Sequence[str], use: str, label_column: str
) -> np.ndarray:
    """(n, k) rows: one-hot predicted label, or predicted probabilities."""
    if use == "proba":
        cols = [f"proba_{lab}" for lab in labels]
        missing = [c for c in cols if c not in frame]
        if missing:
            raise KeyError(f"use='proba' needs columns {missing}")
        v = frame[cols].to_numpy(dtype=float)
        return v / v.sum(axis=1, keepdims=True)
    if use != "label":
        raise ValueError("use must be 'label' or 'proba'")
    pred = frame[label_column].astype(str).to_numpy()
    unknown = sorted(set(pred) - set(labels))
    if unknown:
        raise ValueError(f"predicted labels {unknown} are not in labels {list(labels)}")
    index = {lab: i for i, lab in enumerate(labels)}
    v = np.zeros((len(pred), len(labels)))
    v[np.arange(len(pred)), [index[p] for p in pred]] = 1.0
    return v


def misclassification_matrix(
    gold: Sequence[str],
    predicted: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    proba: np.ndarray | None = None,
) -> pd.DataFrame:
    """``M[true, predicted] = P(predicted | true)`` from out-of-fold predictions (rows sum to 1).

    With ``proba`` (n, k) instead of hard predictions, rows are mean predicted
    probabilities per true class (for probabilistic adjusted counting).
    """
    gold = np.asarray(gold).astype(str)
    if labels is None:
        labels = sorted(set(gold) | set(np.asarray(predicted).astype(str)))
    labels = list(labels)
    if proba is None:
        v = _item_vectors(pd.DataFrame({"p": predicted}), labels, "label", "p")
    else:
        v = np.asarray(proba, dtype=float)
    rows = []
    for lab in labels:
        m = gold == lab
        if not m.any():
            raise ValueError(
                f"no labelled items with true label {lab!r}: P(pred | {lab}) is unknown"
            )
        rows.append(v[m].mean(axis=0))
    frame = pd.DataFrame(
        rows, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted")
    )
    frame.attrs["n_per_class"] = {lab: int((gold == lab).sum()) for lab in labels}
    return frame


def adjust_shares(observed: Sequence[float], matrix: Any, weight: float = 1e3) -> np.ndarray:
    """True shares ``p`` from observed predicted shares ``q``: argmin ‖Mᵀp − q‖, p on the simplex.

    The sum-to-one constraint enters as a heavily weighted extra equation of a
    non-negative least-squares problem (exact when ``q`` is attainable).
    """
    m = np.asarray(matrix, dtype=float)
    q = np.asarray(observed, dtype=float)
    k = len(q)
    a = np.vstack([m.T, weight * np.ones((1, k))])
    b = np.concatenate([q, [weight]])
    p, _ = nnls(a, b)
    total = p.sum()
    return p / total if total > 0 else np.full(k, 1 / k)


def _resampled_means(
    v: np.ndarray, n_resamples: int, rng: np.random.Generator, hard: bool
) -> np.ndarray:
    """(R, k) bootstrap replicates of the column means of ``v``."""
    n = len(v)
    if hard:  # resampling one-hot rows == multinomial draw of the counts
        return rng.multinomial(n, v.mean(axis=0) / v.mean(axis=0).sum(), size=n_resamples) / n
    out = np.empty((n_resamples, v.shape[1]))
    chunk = max(1, 2_000_000 // max(n, 1))
    for s in range(0, n_resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_resamples - s), n))
        out[s : s + len(idx)] = v[idx].mean(axis=1)
    return out


def stance_shares(
    tagged: pd.DataFrame,
    by: str | Sequence[str] = (),
    *,
    labels: Sequence[str] | None = None,
    calibration: pd.DataFrame | None = None,
    use: str = "label",
    correct_with: str | None = None,
    label_column: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    min_n: int = 1,
) -> pd.DataFrame:
    """Share of each stance per group, with intervals, optionally corrected for classifier error.

    Parameters
    ----------
    tagged:
        One row per article: a predicted label column (``predicted`` or
        ``label``) or ``proba_<label>`` columns, plus the grouping columns.
    by:
        Grouping columns, e.g. ``"leaning"`` or ``["leaning", "year"]``;
        ``year``/``quarter``/``month`` are derived from ``date`` when absent.
    calibration:
        Out-of-fold predictions on labelled articles (``predictions.csv``:
        ``gold``, ``predicted``, ``proba_*``). When given, shares are corrected
        with the misclassification matrix estimated from it.
    use:
        ``"label"`` counts hard predictions; ``"proba"`` averages probabilities.
    correct_with:
        What the correction inverts: ``"label"`` (adjusted classify and count)
        or ``"proba"`` (probabilistic ACC: mean probabilities per true class).
        Defaults to ``use``. Use ``"proba"`` when the classifier never predicts
        some class: hard-label M is then singular and that class's share is not
        identified, while mean probabilities usually still separate the classes.

    Returns a long table: ``<by>..., label, n, count, observed, obs_lo, obs_hi``
    and, with ``calibration``, ``adjusted, adj_lo, adj_hi``. Shares are fractions.
    ``attrs["note"]`` describes the method (put it in captions).
    """
    by = [by] if isinstance(by, str) else list(by)
    frame = tagged
    for col in by:
        if col not in frame and col in ("year", "quarter", "month"):
            frame = add_period(frame, col)
        if col not in frame:
            raise KeyError(
                f"tagged articles have no column {col!r}; columns: {list(frame.columns)}"
            )
    if label_column is None:
        label_column = "predicted" if "predicted" in frame else "label"
    if labels is None:
        if use == "proba":
            labels = [c[len("proba_") :] for c in frame.columns if c.startswith("proba_")]
        else:
            pool = set(frame[label_column].astype(str))
            if calibration is not None:
                pool |= set(calibration["gold"].astype(str))
            labels = sorted(pool)
    labels = list(labels)
    k = len(labels)
    n_dropped = int(frame[by].isna().any(axis=1).sum()) if by else 0
    frame = frame.dropna(subset=by) if by else frame
    rng = np.random.default_rng(seed)
    hard = use == "label"

    correct_with = correct_with or use
    hard_c = correct_with == "label"
    m_hat = m_boot = None
    if calibration is not None:
        cal_gold = calibration["gold"].astype(str).to_numpy()
        cal_v = _item_vectors(calibration, labels, correct_with, "predicted")
        m_hat = misclassification_matrix(cal_gold, labels=labels, proba=cal_v).to_numpy()
        rank = int(np.linalg.matrix_rank(m_hat, tol=1e-6))
        if rank < k:
            never = [lab for j, lab in enumerate(labels) if m_hat[:, j].max() < 1e-9]
            warnings.warn(
                f"misclassification matrix has rank {rank} < {k}"
                + (f" (never predicted: {never})" if never else "")
                + "; corrected shares are not identified. Use correct_with='proba' or merge classes.",
                stacklevel=2,
            )
        # Bootstrap M: resample labelled items within each true class (class sizes fixed).
        m_boot = np.empty((n_resamples, k, k))
        for i, lab in enumerate(labels):
            m_boot[:, i, :] = _resampled_means(cal_v[cal_gold == lab], n_resamples, rng, hard_c)

    groups = frame.groupby(by, sort=True, observed=True) if by else [((), frame)]
    rows = []
    for key, part in groups:
        if len(part) < min_n:
            continue
        key = key if isinstance(key, tuple) else (key,)
        v = _item_vectors(part, labels, use, label_column)
        n = len(v)
        q = v.mean(axis=0)
        counts = v.sum(axis=0)
        if hard:
            obs_lo, obs_hi = wilson_interval(counts, n, alpha)
        else:
            reps = _resampled_means(v, n_resamples, rng, hard=False)
            obs_lo, obs_hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)
        adj = adj_lo = adj_hi = None
        if m_hat is not None:
            vc = (
                v
                if correct_with == use
                else _item_vectors(part, labels, correct_with, label_column)
            )
            adj = adjust_shares(vc.mean(axis=0), m_hat)
            q_boot = _resampled_means(vc, n_resamples, rng, hard_c)
            p_boot = np.array([adjust_shares(q_boot[r], m_boot[r]) for r in range(n_resamples)])
            adj_lo, adj_hi = np.quantile(p_boot, [alpha / 2, 1 - alpha / 2], axis=0)
        for j, lab in enumerate(labels):
            row = dict(zip(by, key, strict=True))
            row.update(
                label=lab,
                n=n,
                count=float(counts[j]),
                observed=float(q[j]),
                obs_lo=float(obs_lo[j]),
                obs_hi=float(obs_hi[j]),
            )
            if adj is not None:
                row.update(adjusted=float(adj[j]), adj_lo=float(adj_lo[j]), adj_hi=float(adj_hi[j]))
            rows.append(row)
    table = pd.DataFrame(rows)
    obs_note = "Observed shares: " + (
        "hard predictions, 95% Wilson intervals."
        if hard
        else "mean predicted probabilities, 95% bootstrap intervals."
    )
    table.attrs.update(
        by=by,
        labels=labels,
        use=use,
        dropped_missing_group=n_dropped,
        note=obs_note + (" " + CORRECTION_NOTE if m_hat is not None else ""),
        matrix=None if m_hat is None else pd.DataFrame(m_hat, index=labels, columns=labels),
        condition_number=None if m_hat is None else float(np.linalg.cond(m_hat)),
    )
    return table
