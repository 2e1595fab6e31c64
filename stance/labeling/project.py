"""A labelling project: create it from an archive, propose batches, report, export.

``stance label init`` reads the pool (any table ``stance.data.files.read_table``
reads), the target's alias lexicon and the annotation guide into one SQLite file
(:class:`~stance.labeling.store.LabelStore`) and retrieves the first batch.
After that, :func:`propose_batch` retrains the configured zoo model on the labels
so far and asks the configured query strategy for the next batch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance.atomic import write_text_atomic as write_atomically
from stance.errors import ConfigError, DataError
from stance.labeling.errors import LabelingError
from stance.labeling.store import LabelStore

DEFAULT_LABELS = ("favor", "against", "neutral", "unrelated")
DEFAULT_SETTINGS: dict[str, Any] = {
    "strategy": "balanced",
    "batch_size": 10,
    "features": "tfidf",
    "model": "logreg",
    "seed": 0,
    "clean": True,
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

GUIDE_TEMPLATE = """# Annotation guide: stance toward {target}

Label the stance that the ARTICLE ITSELF takes toward **{target}**: judge its own
framing (headline, word choice, which voices get the last word), not merely what a
quoted person says. A neutral report that quotes a supporter is not `favor`.

Labels (pick exactly one):
{label_lines}

Use **skip** when you cannot decide, and the note field for anything a second
reader should know. (Edit this guide: it is stored in the project and shown on
the labelling page. `ru_us_rapprochement/GUIDE.md` in the shared corpora is a
worked example.)
"""

_LABEL_HINTS = {
    "favor": "the article presents {target} as desirable, sensible or successful",
    "against": "the article presents {target} as naive, dangerous or a failure",
    "neutral": "the article is substantially about {target} but takes no side, or is balanced",
    "unrelated": "{target} is not a substantial subject of the article",
}


def projects_dir(directory: str | Path | None = None) -> Path:
    """Where project files live: ``directory``, ``$STANCE_LABEL_DIR``, or ``./labeling``."""
    return Path(directory or os.environ.get("STANCE_LABEL_DIR") or "labeling")


def project_path(name: str, directory: str | Path | None = None) -> Path:
    if not _NAME.match(name):
        raise ConfigError(
            f"project name {name!r}: use letters, digits, '.', '_' or '-' (it names a file)"
        )
    return projects_dir(directory) / f"{name}.sqlite"


def open_project(
    name: str, directory: str | Path | None = None, readonly: bool = False
) -> LabelStore:
    return LabelStore(project_path(name, directory), readonly=readonly)


def read_pool(path: str | Path, columns: dict[str, str | None]) -> pd.DataFrame:
    """The archive as pool columns (id, title, text, source, date, group).

    ``columns`` maps each pool column to the file's column (None: absent). The
    text column is required; a missing id column numbers the rows from 1.
    """
    from stance.data.files import read_table

    table = read_table(path)
    present = [c for c in table.columns if not str(c).startswith("__")]
    text_col = columns.get("text") or "text"
    if text_col not in table.columns:
        raise DataError(
            f"pool file {path}: no text column {text_col!r} (columns present: {present}); "
            "name it with --text-column"
        )
    out = pd.DataFrame(index=table.index)
    for pool_col in ("id", "title", "text", "source", "date", "group"):
        name = columns.get(pool_col) or pool_col
        if name in table.columns:
            out[pool_col] = _as_text(table[name])
        elif columns.get(pool_col):
            raise DataError(
                f"pool file {path}: no {pool_col} column {name!r} (columns present: {present})"
            )
        else:
            out[pool_col] = ""
    if not (columns.get("id") or "id" in table.columns):
        out["id"] = [str(i) for i in range(1, len(out) + 1)]
    if not (columns.get("group") or "group" in table.columns):
        out["group"] = out["source"]
    empty = out["text"].str.strip() == ""
    out = out.loc[~empty].reset_index(drop=True)
    if out.empty:
        raise DataError(f"pool file {path}: no row has text in column {text_col!r}")
    dup = out["id"].duplicated()
    if dup.any():
        raise DataError(
            f"pool file {path}: id {out.loc[dup, 'id'].iloc[0]!r} appears more than once"
        )
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Strings as the file wrote them: no 'nan', dates parsed by the reader given back as dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        midnight = stamps.dropna().dt.normalize().eq(stamps.dropna()).all()
        return stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S").fillna("")
    return values.map(lambda v: "" if v is None or v != v else str(v))


def load_actors(actors: str | None) -> tuple[dict | None, str | None]:
    """The alias lexicon of an actor/relation file and the name to retrieve by.

    ``actors`` is a YAML path or a file stem under ``conf/actors``; the whole folder
    is loaded so that a relation finds its two sides.
    """
    if not actors:
        return None, None
    import yaml

    from stance.features.actors import actors_dir, load_actor_lexicon

    path = Path(actors)
    if not path.suffix:
        path = actors_dir() / f"{actors}.yaml"
    if not path.is_file():
        raise ConfigError(f"actor file {path} not found")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        lexicon = load_actor_lexicon(None, directory=str(path.parent))
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"actor files in {path.parent}: {exc}") from exc
    return lexicon, str(spec.get("name", path.stem))


def default_guide(target: str, labels: Sequence[str]) -> str:
    lines = "\n".join(
        f"- `{lab}` — "
        + _LABEL_HINTS.get(lab, "describe when to use this label").format(target=target)
        for lab in labels
    )
    return GUIDE_TEMPLATE.format(target=target, label_lines=lines)


def init_project(
    name: str,
    target: str,
    pool: str | Path,
    *,
    actors: str | None = None,
    guide: str | Path | None = None,
    labels: Sequence[str] = DEFAULT_LABELS,
    columns: dict[str, str | None] | None = None,
    directory: str | Path | None = None,
    **settings: Any,
) -> LabelStore:
    """Create the project file and retrieve its first batch (cold start)."""
    path = project_path(name, directory)
    if path.exists():  # before reading a large pool
        from stance.labeling.errors import ProjectExistsError

        raise ProjectExistsError(
            f"a labelling project already exists at {path}; choose another name, or "
            "delete the file if you really mean to start over (its labels would be lost)"
        )
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ConfigError(
            f"unknown project setting(s) {unknown}; known: {sorted(DEFAULT_SETTINGS)}"
        )
    from stance.labeling.strategies import STRATEGIES

    chosen = {**DEFAULT_SETTINGS, **{k: v for k, v in settings.items() if v is not None}}
    if chosen["strategy"] not in STRATEGIES:
        raise ConfigError(
            f"unknown query strategy {chosen['strategy']!r}; known: {sorted(STRATEGIES)}"
        )
    from stance.paths import conf_dir

    for group in ("features", "model"):
        if not (conf_dir() / group / f"{chosen[group]}.yaml").is_file():
            known = sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
            raise ConfigError(f"unknown {group} {chosen[group]!r}; known: {known}")
    labels = [str(lab) for lab in labels]
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ConfigError(f"labels must be two or more distinct names, got {labels}")
    frame = read_pool(pool, columns or {})
    lexicon, retrieve_as = load_actors(actors)
    guide_text = Path(guide).read_text(encoding="utf-8") if guide else default_guide(target, labels)
    meta = {
        "name": name,
        "target": target,
        "retrieve_as": retrieve_as or target,
        "labels": labels,
        "lexicon": lexicon,
        "guide": guide_text,
        "pool_file": str(pool),
        "settings": chosen,
    }
    store = LabelStore.create(path, frame, meta)
    propose_batch(store)
    return store


def highlight_groups(store: LabelStore) -> list[list[str]]:
    """The alias groups whose sentences the page highlights."""
    from stance.labeling.cold_start import query_groups

    return query_groups(store.meta["retrieve_as"], store.meta.get("lexicon"))


def propose_batch(store: LabelStore, strategy: str | None = None) -> int | None:
    """Add the next batch: retrieved while fewer than two classes are labelled, else
    chosen by the query strategy from the retrained model. Returns the batch number
    (None when every article is labelled)."""
    from stance.labeling.cold_start import cold_start_batch
    from stance.labeling.strategies import query

    settings = store.meta["settings"]
    n = int(settings["batch_size"])
    pool = store.articles()
    done = store.current_labels()
    labelled = set(done["id"])
    open_rows = np.flatnonzero(~pool["id"].isin(labelled).to_numpy())
    if len(open_rows) == 0:
        return None
    queued_open = set(store.queue()["id"]) - labelled if len(store.batches()) else set()
    if done["label"].nunique() < 2:
        exclude = [i for i, a in enumerate(pool["id"]) if a in labelled or a in queued_open]
        picked, scores = cold_start_batch(
            pool, store.meta["retrieve_as"], n, store.meta.get("lexicon"), exclude=exclude
        )
        ids = pool["id"].to_numpy()[picked]
        return store.add_batch(list(ids), scores[picked], "cold_start", None)
    from stance.labeling.learner import build_model, estimate, model_version

    train = pool.set_index("id").loc[done["id"]].reset_index()
    train["label"] = done["label"].to_numpy()
    train["target"] = store.meta["target"]
    pipeline = build_model(
        settings["features"], settings["model"], settings["seed"], settings["clean"]
    )
    from stance.data.table import model_input

    candidates = pool.iloc[open_rows].assign(target=store.meta["target"])
    candidates = candidates[~candidates["id"].isin(queued_open)]
    if candidates.empty:
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = pipeline.fit(model_input(train), train["label"].to_numpy())
    X = model_input(candidates)
    proba = fitted.predict_proba(X)
    name = strategy or settings["strategy"]
    features = fitted[:-1].transform(X) if name == "diverse" else None
    picked = query(
        name,
        proba,
        n,
        classes=[str(c) for c in fitted.classes_],
        label_counts=done["label"].value_counts().to_dict(),
        features=features,
        seed=int(settings["seed"]) + len(done),
    )
    version = model_version(done["id"], settings["features"], settings["model"])
    quality = estimate(pipeline, train, store.labels, seed=int(settings["seed"]))
    ids = candidates["id"].to_numpy()[picked]
    return store.add_batch(list(ids), proba.max(axis=1)[picked], name, version, quality.as_dict())


def status(store: LabelStore, n_next: int = 5) -> dict[str, Any]:
    """Labels per class, the quality estimate with its CI, its trend, and what is next."""
    from stance.labeling.learner import stopping_hint

    counts = store.counts()
    models = store.models()
    history = [e for e in models["estimate"]] if len(models) else []
    queue = store.queue() if len(store.batches()) else pd.DataFrame(columns=["id", "label"])
    upcoming = queue[queue["label"].isna()]["id"].head(n_next).tolist()
    titles = store.articles(with_text=False).set_index("id")["title"]
    return {
        "project": store.meta["name"],
        "target": store.meta["target"],
        "file": str(store.path),
        "n_articles": store.n_articles(),
        "n_labelled": int(sum(counts.values())),
        "counts": counts,
        "estimate": history[-1] if history else None,
        "history": history,
        "hint": stopping_hint(history),
        "next": [{"id": a, "title": str(titles.get(a, ""))} for a in upcoming],
        "strategy": store.meta["settings"]["strategy"],
    }


def labelled_corpus(store: LabelStore) -> pd.DataFrame:
    """The labels as a corpus table (``stance-run data=file data.path=...`` reads it as is)."""
    done = store.current_labels()
    pool = store.articles().set_index("id")
    rows = pool.loc[done["id"]].reset_index()
    return pd.DataFrame(
        {
            "id": rows["id"],
            "text": rows["text"],
            "title": rows["title"],
            "target": store.meta["target"],
            "label": done["label"].to_numpy(),
            "group": rows["group"],
            "source": rows["source"],
            "date": rows["date"],
            "labeller": done["labeller"].to_numpy(),
            "labelled_at": done["at"].to_numpy(),
            "batch": done["batch"].to_numpy(),
            "model_version": done["model_version"].to_numpy(),
            "note": done["note"].to_numpy(),
        }
    )


def export_csv(store: LabelStore, path: str | Path) -> int:
    frame = labelled_corpus(store)
    if frame.empty:
        raise LabelingError(f"{store.path}: no labels yet, nothing to export")
    write_atomically(path, frame.to_csv(index=False))
    return len(frame)


def import_table(store: LabelStore, path: str | Path, labeller: str) -> int:
    """Labels from a CSV/JSONL/Parquet table with ``id`` and ``label`` columns."""
    from stance.data.files import read_table

    table = read_table(path)
    missing = [c for c in ("id", "label") if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing}; columns present: {list(table.columns)}"
        )
    frame = table.astype({"id": str, "label": str})
    keep = [c for c in ("id", "label", "labeller", "note") if c in frame.columns]
    return store.import_labels(frame[keep].fillna(""), labeller)
