"""Is B really better than A? Paired tests on the same test items.

Two runs are compared on the items both scored: the paired bootstrap gives a
confidence interval for the headline-metric difference (item difficulty
cancels, so it is far tighter than two overlapping per-run intervals), and
McNemar's exact test asks whether the two models' *errors* differ more than
chance. The verdict calls a difference reliable only when the bootstrap
interval excludes zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from stance.analysis.runs import override_labels, read_json, read_overrides
from stance.evaluation.bootstrap import paired_bootstrap
from stance.evaluation.metrics import display_name, get_metric

RunRef = str | Path | pd.Series | dict


@dataclass
class Comparison:
    """Result of :func:`compare`; ``str()`` gives the one-line verdict. Scores are fractions."""

    name_a: str
    name_b: str
    metric: str
    metric_a: float
    metric_b: float
    delta: float
    ci95: tuple[float, float]
    p_bootstrap: float
    mcnemar_p: float
    only_a_correct: int
    only_b_correct: int
    n_items: int
    verdict: str
    notes: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        return self.ci95[0] > 0 or self.ci95[1] < 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return self.verdict

    def _repr_markdown_(self) -> str:
        m = display_name(self.metric)
        rows = [
            f"**{self.verdict}**",
            "",
            "| | value |",
            "|---|---|",
            f"| {m} A ({self.name_a}) | {100 * self.metric_a:.1f} |",
            f"| {m} B ({self.name_b}) | {100 * self.metric_b:.1f} |",
            f"| B − A (95% CI) | {100 * self.delta:+.1f} ({100 * self.ci95[0]:+.1f} to {100 * self.ci95[1]:+.1f}) |",
            f"| paired bootstrap p | {self.p_bootstrap:.3g} |",
            f"| items only A / only B got right | {self.only_a_correct} / {self.only_b_correct} |",
            f"| McNemar exact p | {self.mcnemar_p:.3g} |",
            f"| test items | {self.n_items} |",
        ]
        rows += [f"\n_{n}_" for n in self.notes]
        return "\n".join(rows)


def _run_dir(ref: RunRef) -> Path:
    if isinstance(ref, pd.Series | dict):
        return Path(ref["run_dir"])
    return Path(ref)


def _names(dir_a: Path, ref_a: RunRef, dir_b: Path, ref_b: RunRef) -> tuple[str, str]:
    """Name two runs by what differs between them (``model=logreg`` vs ``model=cnb``).

    The overrides each run was started with (``.hydra/overrides.yaml``) that the
    other lacks; else a ``load_runs`` row's ``label``/``run``; else the directory name.
    """
    a, b = read_overrides(dir_a), read_overrides(dir_b)
    if a is not None and b is not None:
        label_a, label_b = override_labels([a, b])
        if label_a != label_b:
            return label_a, label_b

    def fallback(run_dir: Path, ref: RunRef) -> str:
        if isinstance(ref, pd.Series | dict):
            for key in ("label", "run"):
                if ref.get(key):
                    return str(ref[key])
        return run_dir.name

    name_a, name_b = fallback(dir_a, ref_a), fallback(dir_b, ref_b)
    if name_a == name_b:
        name_a, name_b = f"{name_a} ({dir_a.name})", f"{name_b} ({dir_b.name})"
    return name_a, name_b


def _read_predictions(run_dir: Path) -> pd.DataFrame:
    path = run_dir / "predictions.csv"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} has no predictions.csv (is it a complete run?)")
    frame = pd.read_csv(
        path, dtype={"id": str, "gold": str, "predicted": str}, keep_default_na=False
    )
    if "fold" not in frame:
        frame["fold"] = 0
    return frame


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, int, int]:
    """Exact McNemar test: binomial test on the discordant pairs. Returns (p, only_a, only_b)."""
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    if only_a + only_b == 0:
        return 1.0, only_a, only_b
    return float(binomtest(only_b, only_a + only_b, 0.5).pvalue), only_a, only_b


def align_predictions(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Join two predictions tables on the same test items; raise if the items differ."""
    notes: list[str] = []
    keys = ["id", "fold"]
    a_keys = set(zip(a["id"], a["fold"], strict=True))
    b_keys = set(zip(b["id"], b["fold"], strict=True))
    if a_keys != b_keys:
        same_ids = set(a["id"]) == set(b["id"]) and a["id"].is_unique and b["id"].is_unique
        if not same_ids:
            raise ValueError(
                "the runs were scored on different test items "
                f"({len(a_keys)} vs {len(b_keys)} id+fold pairs, {len(a_keys & b_keys)} shared); "
                "a paired comparison needs the same data and split (same split config and seed)"
            )
        keys = ["id"]
        notes.append(
            "Fold assignment differs between the runs; items were paired by id "
            "(each item has one out-of-fold prediction in each run)."
        )
    merged = a[[*keys, "gold", "predicted"]].merge(
        b[[*keys, "gold", "predicted"]], on=keys, suffixes=("_a", "_b"), validate="one_to_one"
    )
    if not (merged["gold_a"] == merged["gold_b"]).all():
        bad = int((merged["gold_a"] != merged["gold_b"]).sum())
        raise ValueError(f"gold labels differ on {bad} shared items: the runs used different data")
    return merged, notes


def compare(
    run_a: RunRef,
    run_b: RunRef,
    *,
    name_a: str | None = None,
    name_b: str | None = None,
    metric: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Comparison:
    """Paired comparison of two runs (paths, or rows of :func:`load_runs`).

    The metric defaults to run A's headline metric (from its ``metrics.json``,
    over the task's averaged labels). Positive ``delta`` means B scores higher.
    """
    dir_a, dir_b = _run_dir(run_a), _run_dir(run_b)
    default_a, default_b = _names(dir_a, run_a, dir_b, run_b)
    name_a, name_b = name_a or default_a, name_b or default_b
    task: dict[str, Any] = {}
    if (dir_a / "metrics.json").exists():
        task = read_json(dir_a / "metrics.json").get("task", {})
    metric = metric or task.get("metric", "macro_f1")
    metric_fn = get_metric(metric, task.get("metric_labels") or task.get("labels"))
    merged, notes = align_predictions(_read_predictions(dir_a), _read_predictions(dir_b))
    y = merged["gold_a"].to_numpy()
    pa, pb = merged["predicted_a"].to_numpy(), merged["predicted_b"].to_numpy()
    boot = paired_bootstrap(y, pa, pb, metric_fn, n_resamples=n_resamples, seed=seed, alpha=alpha)
    p_mc, only_a, only_b = mcnemar_exact(pa == y, pb == y)
    lo, hi = boot["ci95"]
    label = display_name(metric)
    level = round(100 * (1 - alpha))
    detail = (
        f"{100 * boot['delta']:+.1f} {label} points, {level}% CI {100 * lo:+.1f} to "
        f"{100 * hi:+.1f}, McNemar p={p_mc:.2g}, n={len(y)}"
    )
    if lo > 0 or hi < 0:
        winner, loser = (name_b, name_a) if boot["delta"] > 0 else (name_a, name_b)
        verdict = (
            f"{winner} beats {loser} by {100 * abs(boot['delta']):.1f} {label} points "
            f"({level}% CI {100 * min(abs(lo), abs(hi)):.1f} to {100 * max(abs(lo), abs(hi)):.1f}, "
            f"McNemar p={p_mc:.2g}, n={len(y)})"
        )
        if p_mc >= alpha:
            notes.append(
                "The metric difference is reliable but the error sets do not differ "
                "significantly (McNemar counts right/wrong only; macro-F1 also weighs "
                "rare classes)."
            )
    else:
        verdict = f"no reliable {label} difference between {name_a} and {name_b} ({detail})"
        if p_mc < alpha:
            notes.append(
                f"McNemar's test finds the error sets differ ({only_a} items only A got "
                f"right, {only_b} only B): accuracy differs although {label} does not "
                "reliably."
            )
    return Comparison(
        name_a=name_a,
        name_b=name_b,
        metric=metric,
        metric_a=boot["metric_a"],
        metric_b=boot["metric_b"],
        delta=boot["delta"],
        ci95=(lo, hi),
        p_bootstrap=boot["p_value"],
        mcnemar_p=p_mc,
        only_a_correct=only_a,
        only_b_correct=only_b,
        n_items=len(y),
        verdict=verdict,
        notes=notes,
    )
