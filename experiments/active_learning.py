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
import json
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
    """Every (corpus, arm, seed) replay. Each finished curve is appended at once to
    ``out.parent/parts/<corpus>.csv`` (corpora differ in their label columns), so an
    interrupted run keeps what it finished (``--resume`` skips those); ``out`` is the
    union of the parts."""
    from joblib import Parallel, delayed

    from stance.paths import default_data_dir

    data_dir = str(default_data_dir())
    names = names or list(corpora(Path(data_dir)))
    parts = out.parent / "parts"
    parts.mkdir(exist_ok=True)
    done = _read_parts(parts)
    finished = (
        set(zip(done["corpus"], done["arm"], done["seed"], strict=True)) if len(done) else set()
    )
    tasks = [
        (n, a, s) for s in range(seeds) for n in names for a in arms if (n, a, s) not in finished
    ]
    start = time.perf_counter()
    results = Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(_one)(n, a, s, data_dir) for n, a, s in tasks
    )
    for count, curve in enumerate(results, start=1):
        part = parts / f"{curve['corpus'].iloc[0]}.csv"
        curve.to_csv(part, mode="a", header=not part.exists(), index=False)
        print(f"{count}/{len(tasks)} replays, {time.perf_counter() - start:.0f} s", flush=True)
    curves = _read_parts(parts)
    curves.to_csv(out, index=False)
    return curves


def _read_parts(parts: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted(parts.glob("*.csv"))]
    if not frames:
        return pd.DataFrame(columns=["corpus", "arm", "seed"])
    curves = pd.concat(frames, ignore_index=True)
    return curves.sort_values(["corpus", "arm", "seed", "budget"]).reset_index(drop=True)


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
        "years), then batches of 10 up to 150 labels and 30 after. On SemEval the pool and "
        "the test part are the released split for every seed, so the seeds vary only the "
        "random arm's order and the k-means of `diverse`: there the five seeds of the other "
        "arms are one replay (no interval), and their curves are noisier than the "
        "intervals suggest.",
        "",
        f"Labels each arm needs to reach random sampling's {REFERENCE_BUDGET}-label macro-F1 "
        "(mean over seeds; — = not reached by 300):",
        "",
        "| corpus | random @300 | " + " | ".join(arms) + " |",
        "| --- | --- | " + " | ".join("---" for _ in arms) + " |",
    ]
    for row in table.itertuples(index=False):
        cells = [_cell(getattr(row, arm)) for arm in arms]
        ref = f"{100 * row.random_f1:.1f}"
        if row.reference_budget != REFERENCE_BUDGET:
            ref += f" (@{row.reference_budget})"
        lines.append(f"| {row.corpus} | {ref} | " + " | ".join(cells) + " |")
    met = target_met(table, arms)
    lines += [
        "",
        f"Target: reach random's {REFERENCE_BUDGET}-label macro-F1 with ≤ {TARGET_BUDGET} labels on "
        "at least two of the three corpora (SemEval-2016 counts as met when at least three of "
        "its five targets are):",
        "",
        "| arm | Russia–US | BASIL | SemEval (targets met) | corpora met | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for arm, (ru, basil, semeval_n, semeval_total) in met.items():
        n = int(ru) + int(basil) + int(semeval_n * 2 > semeval_total)
        lines.append(
            f"| {arm} | {_yes(ru)} | {_yes(basil)} | {semeval_n} of {semeval_total} | {n} of 3 | "
            f"{'met' if n >= 2 else 'not met'} |"
        )
    lines.append("")
    ru = curves[(curves["corpus"] == "ru_us_rapprochement") & (curves["budget"] == FAVOR_BUDGET)]
    if len(ru):
        favor = ru.groupby("arm")["n_favor"].agg(["mean", "min", "max"])
        lines += [
            f"Russia–US `favor` articles in the labelled set at {FAVOR_BUDGET} labels "
            "(mean, min–max over seeds; target ≥ 4):",
            "",
            "| arm | favor labelled | ≥ 4 |",
            "| --- | --- | --- |",
            *[
                f"| {arm} | {r['mean']:.1f} ({int(r['min'])}–{int(r['max'])}) | "
                f"{'met' if r['mean'] >= 4 else 'not met'} |"
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
        lines += [
            f"Wall time of the full run: {seconds / 60:.1f} min with `--jobs 2` on the shared "
            "two-core development machine (other jobs running; CPU time is far less).",
            "",
        ]
    return lines


def _cell(value) -> str:
    return "—" if value is None or pd.isna(value) else str(int(value))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def target_met(table: pd.DataFrame, arms: list[str]) -> dict[str, tuple[bool, bool, int, int]]:
    """Per arm: met on Russia–US, on BASIL, and on how many of the SemEval targets."""

    def ok(value) -> bool:
        return value is not None and not pd.isna(value) and value <= TARGET_BUDGET

    by_corpus = table.set_index("corpus")
    semeval = [c for c in by_corpus.index if c.startswith("semeval_")]
    out = {}
    for arm in arms:
        ru = "ru_us_rapprochement" in by_corpus.index and ok(
            by_corpus.loc["ru_us_rapprochement", arm]
        )
        basil = "basil_actor" in by_corpus.index and ok(by_corpus.loc["basil_actor", arm])
        out[arm] = (
            bool(ru),
            bool(basil),
            sum(ok(by_corpus.loc[c, arm]) for c in semeval),
            len(semeval),
        )
    return out


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
    timing = OUT / "timing.json"
    if args.render:
        curves = pd.read_csv(OUT / "curves.csv")
        seconds = json.loads(timing.read_text())["seconds"] if timing.exists() else None
    else:
        start = time.perf_counter()
        arms = args.arm or list(ARMS)
        if "random" not in arms:
            arms = ["random", *arms]
        if not args.resume:
            for part in (OUT / "parts").glob("*.csv"):
                part.unlink()
        curves = run(args.corpus, arms, args.seeds, args.jobs, OUT / "curves.csv")
        seconds = time.perf_counter() - start
        if args.corpus is None:
            timing.write_text(json.dumps({"seconds": round(seconds)}) + "\n", encoding="utf-8")
    plot(curves)
    lines = section(curves, seconds)
    if args.corpus is None and not args.render or args.render:
        write_section(lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
