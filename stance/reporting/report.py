"""Everything a run leaves in its directory besides run.json.

``report.md`` reads top to bottom: data, leakage checks, metrics, plots, what
the model learned, where it goes wrong. Numbers are printed as percentages.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from sklearn.pipeline import Pipeline

from stance.data.splits import Fold
from stance.data.table import Corpus
from stance.evaluation import plots
from stance.evaluation.confident_errors import most_confident_errors
from stance.evaluation.metrics import display_name
from stance.models.io import save_model
from stance.reporting.provenance import package_versions
from stance.reporting.run_dir import RunDirectory


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _table(frame: pd.DataFrame) -> str:
    """A Markdown table without extra dependencies (pandas' to_markdown needs tabulate)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = [
        "| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def top_features(pipeline: Pipeline, k: int) -> dict[str, list[tuple[str, float]]]:
    """Largest positive coefficients per class, for linear classifiers; empty otherwise."""
    clf = pipeline.named_steps.get("clf")
    features = pipeline.named_steps.get("features")
    coef = getattr(clf, "coef_", None)
    if coef is None or k <= 0 or not hasattr(features, "get_feature_names_out"):
        return {}
    try:
        names = np.asarray(features.get_feature_names_out())
    except (AttributeError, ValueError, TypeError):
        return {}
    coef = np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef)
    classes = list(clf.classes_)
    if coef.shape[0] == 1 and len(classes) == 2:
        coef = np.vstack([-coef[0], coef[0]])
    if coef.shape[1] != len(names):
        return {}
    result = {}
    for row, label in zip(coef, classes, strict=True):
        order = np.argsort(row)[::-1][:k]
        result[str(label)] = [(str(names[i]), float(row[i])) for i in order]
    return result


def confident_errors(predictions: pd.DataFrame, corpus: Corpus, n: int) -> pd.DataFrame:
    """The ``n`` wrong predictions the model was surest of, with a snippet; empty without
    probabilities (see :func:`stance.evaluation.confident_errors.most_confident_errors`)."""
    if n <= 0 or not any(c.startswith("proba_") for c in predictions.columns):
        return pd.DataFrame()
    errors = most_confident_errors(predictions, corpus.frame, n, snippet_chars=160)
    return errors.drop(columns=["fold", "source", "p_gold"], errors="ignore")


def _headline(metric: str, value: float | None, ci: list[float] | None) -> str:
    """``macro-F1 51.00 (95% bootstrap CI 45.20–57.50)``."""
    interval = f" (95% bootstrap CI {_pct(ci[0])}–{_pct(ci[1])})" if ci else ""
    return f"{display_name(metric)} {_pct(value)}{interval}"


def _model_card(cfg: DictConfig, corpus: Corpus, metrics: dict) -> dict:
    targets = sorted(t for t in corpus.frame["target"].unique() if t)
    return {
        "task": metrics["task"],
        "labels": metrics["task"]["labels"],
        "default_target": targets[0] if len(targets) == 1 else None,
        "needs_target": len(targets) > 1,
        "targets_seen": targets[:50],
        "trained_on": {
            "corpus": corpus.name,
            "rows": len(corpus),
            "fingerprint": corpus.fingerprint,
            "label_distribution": corpus.frame["label"].value_counts().to_dict(),
        },
        "metrics": metrics["headline"],
        "features": cfg.features.get("name"),
        "model": cfg.model.get("name"),
        "versions": package_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }


def _model_card_md(card: dict) -> str:
    head = card["metrics"]
    ci = head.get("ci95")
    lines = [
        f"# Model card: {card['task']['name']} ({card['features']} + {card['model']})",
        "",
        f"- **Task**: stance labels {', '.join(card['labels'])}"
        + (f"; target: {card['default_target']}" if card["default_target"] else ""),
        f"- **Trained on**: {card['trained_on']['corpus']}, {card['trained_on']['rows']} rows "
        f"(fingerprint `{card['trained_on']['fingerprint'][:16]}`)",
        f"- **Evaluation**: {head['metric']} {_pct(head['value'])}"
        + (f" (95% CI {_pct(ci[0])}–{_pct(ci[1])})" if ci else "")
        + f", {head.get('scope', '')}",
        f"- **Created**: {card['created']} with scikit-learn {card['versions'].get('scikit-learn')}",
        "- **Load**: `stance.load(path)`; the file is skops, loaded with an allow-list of types.",
        "- **Limits**: trained on news articles in English; labels are only as good as the corpus's "
        "annotation (see its README); scores on other outlets, periods or genres will differ.",
        "",
    ]
    return "\n".join(lines)


def write_artifacts(
    staged: RunDirectory,
    *,
    cfg: DictConfig,
    corpus: Corpus,
    folds: list[Fold],
    predictions: pd.DataFrame,
    metrics: dict,
    pipeline: Pipeline,
    duplicates: pd.DataFrame,
    notes: list[str],
) -> dict:
    """Write config, metrics, predictions, plots, model and report into the staging area."""
    labels = metrics["task"]["labels"]
    fmt = str(cfg.report.get("plot_format", "png"))
    staged.write_text("config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    staged.write_json("metrics.json", metrics)
    staged.write_csv("predictions.csv", predictions)
    if len(duplicates):
        staged.write_csv("duplicates.csv", duplicates)

    plot_files = {
        "Confusion matrix (counts)": plots.confusion_matrix_plot(
            predictions["gold"],
            predictions["predicted"],
            labels,
            staged.stage(f"plots/confusion_matrix.{fmt}"),
        ),
        "Confusion matrix (row-normalised: recall per gold class)": plots.confusion_matrix_plot(
            predictions["gold"],
            predictions["predicted"],
            labels,
            staged.stage(f"plots/confusion_matrix_normalized.{fmt}"),
            normalize=True,
        ),
    }
    if any(c.startswith("proba_") for c in predictions.columns):
        plot_files["Precision–recall curves"] = plots.precision_recall_plot(
            predictions["gold"], predictions, labels, staged.stage(f"plots/pr_curves.{fmt}")
        )

    card = _model_card(cfg, corpus, metrics)
    if cfg.get("save_model", True):
        save_model(pipeline, staged.stage("model.skops"))
        staged.write_json("model_card.json", card)
        staged.write_text("model_card.md", _model_card_md(card))

    report = render_report(
        cfg,
        corpus,
        folds,
        predictions,
        metrics,
        pipeline,
        duplicates,
        notes,
        {title: path.relative_to(staged.staging) for title, path in plot_files.items()},
    )
    staged.write_text("report.md", report)
    return {k: card[k] for k in ("default_target", "needs_target", "labels")}


def render_report(
    cfg: DictConfig,
    corpus: Corpus,
    folds: list[Fold],
    predictions: pd.DataFrame,
    metrics: dict,
    pipeline: Pipeline,
    duplicates: pd.DataFrame,
    notes: list[str],
    plot_files: dict[str, Path],
) -> str:
    """The run's report as Markdown."""
    head = metrics["headline"]
    ci = head.get("ci95")
    frame = corpus.frame
    out = [
        f"# {corpus.task.name}: {cfg.features.get('name')} + {cfg.model.get('name')}",
        "",
        f"**{_headline(head['metric'], head['value'], ci)}**"
        + "".join(
            f"; {_headline(name, extra['value'], extra['ci95'])}"
            for name, extra in metrics.get("secondary", {}).items()
        )
        + f" on {head['scope']}; split `{cfg.split.name}`, seed {cfg.seed}.",
        "",
        "## Data",
        "",
        f"- Corpus `{corpus.name}`: {len(frame)} rows, {frame['group'].nunique()} groups, "
        f"{frame['target'].replace('', np.nan).nunique()} target(s); fingerprint `{corpus.fingerprint[:16]}`.",
    ]
    dist = frame["label"].value_counts().reindex(list(corpus.task.labels), fill_value=0)
    out.append(
        "- Labels: " + ", ".join(f"{k} {v} ({100 * v / len(frame):.1f}%)" for k, v in dist.items())
    )
    sizes = ", ".join(f"fold {f.index}: {len(f.train)} train / {len(f.test)} test" for f in folds)
    out.append(f"- Split sizes: {sizes}.")
    out.extend(f"- Note: {note}" for note in notes)
    out += ["", "## Leakage checks", ""]
    if not cfg.dedup.get("enabled", True):
        out.append("Not checked (dedup.enabled=false).")
    elif len(duplicates):
        kinds = duplicates["kind"].value_counts().to_dict()
        out.append(
            f"{duplicates['test_id'].nunique()} test rows have an exact or near duplicate in their "
            f"training fold ({', '.join(f'{k}: {v}' for k, v in kinds.items())}); listed in "
            f"`duplicates.csv`. {'They were dropped before scoring.' if cfg.dedup.drop else 'They were kept (set dedup.drop=true to drop them).'}"
        )
    else:
        out.append(
            f"No test row has an exact or near duplicate (shingle Jaccard ≥ {cfg.dedup.threshold}) in its training fold."
        )

    out += ["", "## Metrics", ""]
    pooled = metrics["pooled"]
    # Headline first, then the other scalar scores metrics.json holds (per_class is a table).
    scalar = [head["metric"], *(k for k in pooled if k not in (head["metric"], "per_class"))]
    rows = [
        {
            "metric": display_name(k),
            "pooled": _pct(pooled[k]),
            "fold mean ± std": f"{_pct(metrics['mean'][k])} ± {_pct(metrics['std'][k])}"
            if len(folds) > 1
            else "–",
        }
        for k in scalar
    ]
    out += [_table(pd.DataFrame(rows)), ""]
    per_class = pd.DataFrame(
        [
            {
                "class": label,
                "precision": _pct(s["precision"]),
                "recall": _pct(s["recall"]),
                "F1": _pct(s["f1"]),
                "support": s["support"],
            }
            for label, s in pooled["per_class"].items()
        ]
    )
    out += ["Per class (pooled):", "", _table(per_class), ""]
    if len(folds) > 1:
        fold_rows = pd.DataFrame(
            [
                {
                    "fold": s["fold"],
                    "train": s["n_train"],
                    "test": s["n_test"],
                    **{display_name(k): _pct(s[k]) for k in scalar},
                }
                for s in metrics["folds"]
            ]
        )
        out += ["Per fold:", "", _table(fold_rows), ""]

    out += ["## Plots", ""]
    out += [f"![{title}]({path.as_posix()})\n" for title, path in plot_files.items()]

    tops = top_features(pipeline, int(cfg.report.top_features))
    if tops:
        out += [
            "## Top features per class",
            "",
            "Largest coefficients of the model refit on all training rows.",
            "",
        ]
        width = max(len(v) for v in tops.values())
        table = pd.DataFrame(
            {
                label: [f"{n} ({w:+.2f})" for n, w in feats] + [""] * (width - len(feats))
                for label, feats in tops.items()
            }
        )
        out += [_table(table), ""]

    errors = confident_errors(predictions, corpus, int(cfg.report.n_errors))
    if len(errors):
        errors = errors.assign(confidence=errors["confidence"].map(lambda v: f"{v:.2f}"))
        out += ["## Most confident errors", "", _table(errors), ""]
    out += [
        "## Reproduce",
        "",
        "```",
        "stance rerun <this directory>",
        "```",
        "",
        "Config: `config.yaml`; provenance (versions, commit, data fingerprint, timings): `run.json`.",
        "",
    ]
    return "\n".join(out)
