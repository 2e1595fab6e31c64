"""Simulation benchmark: cold start + active learning against random sampling.

Replays labelling on corpora whose labels are known (Russia–US rapprochement,
each SemEval-2016 target, BASIL actor stance): every arm starts from nothing,
"labels" articles by revealing their gold label, and is scored by macro-F1 on a
held-out part after each batch. Same model for every arm (TF-IDF + class-balanced
logistic regression, :mod:`stance.labeling.simulate`), 5 seeds, 95% t-intervals.

Usage (2 cores; a few minutes on an idle machine, more on a shared one):

    python experiments/active_learning.py                    # all corpora, all arms
    python experiments/active_learning.py --corpus ru_us_rapprochement --seeds 2
    python experiments/active_learning.py --render           # figures + RESULTS.md from the CSV

Writes ``experiments/active_learning/curves.csv`` (one row per corpus, arm, seed and
budget), ``learning_curves.png``, ``ru_us_favor.png`` and the "Active learning"
section at the end of ``experiments/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per worker: the workers use the cores

import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "active_learning"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Active learning (simulation)"
ARMS = ("random", "uncertainty", "margin", "diverse", "balanced")
REFERENCE_BUDGET = 300  # random sampling's macro-F1 here is the level to reach
TARGET_BUDGET = 150  # ... with at most this many labels
FAVOR_BUDGET = 100


def corpora(data_dir: Path) -> dict[str, tuple[pd.DataFrame, tuple[str, ...], str]]:
    """name -> (frame, labels, target) for every corpus of the benchmark."""
    from stance.data.loading import load_corpus

    out = {}
    ru = load_corpus({"name": "ru_us_rapprochement", "loader": "ru_us_rapprochement"}, data_dir)
    out["ru_us_rapprochement"] = (ru.frame, ru.task.labels, ru.frame["target"].iloc[0])
    basil = load_corpus({"name": "basil_actor", "loader": "basil_actor"}, data_dir)
    out["basil_actor"] = (
        basil.frame.drop(columns=["split"], errors="ignore"),
        basil.task.labels,
        "",
    )
    semeval = load_corpus(
        {"name": "semeval2016", "loader": "semeval2016", "targets": None}, data_dir
    )
    for target, part in semeval.frame.groupby("target", sort=True):
        out[f"semeval_{target.split()[0].lower()}"] = (
            part.reset_index(drop=True),
            semeval.task.labels,
            str(target),
        )
    return out


def _one(name: str, arm: str, seed: int, data_dir: str) -> pd.DataFrame:
    from stance.features.actors import load_actor_lexicon
    from stance.labeling.simulate import replay

    frame, labels, target = _CORPORA_CACHE.setdefault(data_dir, corpora(Path(data_dir)))[name]
    curve = replay(frame, labels, arm, seed, target=target, lexicon=load_actor_lexicon())
    curve.insert(0, "corpus", name)
    return curve


_CORPORA_CACHE: dict[str, dict] = {}


def run(names: list[str] | None, arms: list[str], seeds: int, jobs: int, out: Path) -> pd.DataFrame:
    """Every (corpus, arm, seed) replay; each finished curve is appended to ``out`` at
    once, so an interrupted run keeps what it finished (``--resume`` skips those)."""
    from joblib import Parallel, delayed

    from stance.paths import default_data_dir

    data_dir = str(default_data_dir())
    names = names or list(corpora(Path(data_dir)))
    done = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=["corpus", "arm", "seed"])
    finished = set(zip(done["corpus"], done["arm"], done["seed"], strict=True))
    tasks = [
        (n, a, s) for s in range(seeds) for n in names for a in arms if (n, a, s) not in finished
    ]
    start = time.perf_counter()
    results = Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(_one)(n, a, s, data_dir) for n, a, s in tasks
    )
    for count, curve in enumerate(results, start=1):
        curve.to_csv(out, mode="a", header=not out.exists(), index=False)
        print(f"{count}/{len(tasks)} replays, {time.perf_counter() - start:.0f} s", flush=True)
    return pd.read_csv(out)


def verdicts(curves: pd.DataFrame) -> pd.DataFrame:
    """Per corpus: random's 300-label macro-F1 and the labels each arm needs to reach it."""
    from stance.labeling.simulate import labels_to_reach, summarise

    rows = []
    for name, part in curves.groupby("corpus", sort=False):
        summary = summarise(part)
        ref_budget = min(REFERENCE_BUDGET, int(summary["budget"].max()))
        ref = summary[(summary["arm"] == "random") & (summary["budget"] == ref_budget)]["mean"]
        level = float(ref.iloc[0])
        row = {"corpus": name, "reference_budget": ref_budget, "random_f1": level}
        for arm in sorted(set(part["arm"]) - {"random"}):
            row[arm] = labels_to_reach(summary, arm, level)
        rows.append(row)
    return pd.DataFrame(rows)


def plot(curves: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from stance.labeling.simulate import summarise

    names = list(dict.fromkeys(curves["corpus"]))
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        summary = summarise(curves[curves["corpus"] == name])
        for arm, part in summary.groupby("arm", sort=False):
            ax.plot(part["budget"], part["mean"], label=arm, lw=1.6 if arm != "random" else 2.4)
            ax.fill_between(part["budget"], part["lo"], part["hi"], alpha=0.15)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("labels")
        ax.set_ylabel("macro-F1 (test)")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "learning_curves.png", dpi=110)
    plt.close(fig)

    ru = curves[curves["corpus"] == "ru_us_rapprochement"]
    if len(ru):
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        for arm, part in ru.groupby("arm", sort=False):
            mean = part.groupby("budget")["n_favor"].mean()
            ax.plot(mean.index, mean.values, label=arm)
        ax.axvline(FAVOR_BUDGET, color="grey", ls=":")
        ax.set_xlabel("labels")
        ax.set_ylabel("favor articles labelled (mean of seeds)")
        ax.set_title("Russia–US: finding the rare class")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(OUT / "ru_us_favor.png", dpi=110)
        plt.close(fig)


def section(curves: pd.DataFrame, seconds: float | None) -> list[str]:
    """The RESULTS.md section, rendered from the curves."""
    table = verdicts(curves)
    arms = [a for a in ARMS if a in curves["arm"].unique() and a != "random"]
    seeds = curves["seed"].nunique()
    lines = [
        SECTION,
        "",
        "Rendered by `python experiments/active_learning.py` from "
        "`experiments/active_learning/curves.csv`; do not edit by hand.",
        f"Replayed labelling, {seeds} seeds, one model for every arm (word 1–2-gram TF-IDF "
        "fitted on the pool's text + class-balanced logistic regression), macro-F1 on a "
        "held-out part no arm labels (SemEval: the released test split; else 30%, "
        "stratified, drawn by the seed). Active-learning arms start with a retrieved batch "
        "(cold start: TF-IDF similarity to the target's aliases, spread over outlets and "
        "years), then batches of 10 up to 150 labels and 30 after.",
        "",
        f"Labels each arm needs to reach random sampling's {REFERENCE_BUDGET}-label macro-F1 "
        "(mean over seeds; — = not reached by 300):",
        "",
        "| corpus | random @300 | " + " | ".join(arms) + " |",
        "| --- | --- | " + " | ".join("---" for _ in arms) + " |",
    ]
    met = 0
    for row in table.itertuples(index=False):
        cells = []
        for arm in arms:
            value = getattr(row, arm)
            cells.append("—" if pd.isna(value) or value is None else str(int(value)))
        best = min(
            (
                getattr(row, a)
                for a in arms
                if getattr(row, a) is not None and not pd.isna(getattr(row, a))
            ),
            default=None,
        )
        met += best is not None and best <= TARGET_BUDGET
        ref = f"{100 * row.random_f1:.1f}" + (
            "" if row.reference_budget == REFERENCE_BUDGET else f" (@{row.reference_budget})"
        )
        lines.append(f"| {row.corpus} | {ref} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Target (≤ {TARGET_BUDGET} labels on at least two of the three corpora; the SemEval "
        f"targets count as one corpus when most of them meet it): {met} of {len(table)} "
        "corpus rows reach the level with some arm by "
        f"{TARGET_BUDGET} labels.",
        "",
    ]
    ru = curves[(curves["corpus"] == "ru_us_rapprochement") & (curves["budget"] == FAVOR_BUDGET)]
    if len(ru):
        favor = ru.groupby("arm")["n_favor"].agg(["mean", "min", "max"])
        lines += [
            f"Russia–US `favor` articles in the labelled set at {FAVOR_BUDGET} labels "
            "(mean, min–max over seeds; target ≥ 4):",
            "",
            "| arm | favor labelled |",
            "| --- | --- |",
            *[
                f"| {arm} | {r['mean']:.1f} ({int(r['min'])}–{int(r['max'])}) |"
                for arm, r in favor.iterrows()
            ],
            "",
        ]
    lines += [
        "![learning curves](active_learning/learning_curves.png)",
        "",
        "![favor found](active_learning/ru_us_favor.png)",
        "",
    ]
    if seconds is not None:
        lines += [f"Wall time of the last full run: {seconds / 60:.1f} min.", ""]
    return lines


def write_section(lines: list[str]) -> None:
    """Replace (or append) this section at the end of RESULTS.md; other sections untouched."""
    text = RESULTS.read_text(encoding="utf-8").splitlines() if RESULTS.exists() else []
    if SECTION in text:
        start = text.index(SECTION)
        after = [i for i in range(start + 1, len(text)) if text[i].startswith("## ")]
        text = text[:start] + lines + (text[after[0] :] if after else [])
    else:
        text = text + ([""] if text and text[-1] else []) + lines
    RESULTS.write_text("\n".join(text).rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    parser.add_argument("--arm", action="append", choices=ARMS, help="only this arm (repeatable)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--render", action="store_true", help="figures + RESULTS.md from the CSV")
    parser.add_argument("--resume", action="store_true", help="keep finished replays in the CSV")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    seconds = None
    if args.render:
        curves = pd.read_csv(OUT / "curves.csv")
    else:
        start = time.perf_counter()
        arms = args.arm or list(ARMS)
        if "random" not in arms:
            arms = ["random", *arms]
        if not args.resume:
            (OUT / "curves.csv").unlink(missing_ok=True)
        curves = run(args.corpus, arms, args.seeds, args.jobs, OUT / "curves.csv")
        seconds = time.perf_counter() - start
    plot(curves)
    lines = section(curves, seconds)
    if args.corpus is None and not args.render or args.render:
        write_section(lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
