"""Label Studio JSON: export a project's labels as tasks, import annotations back.

The format is Label Studio's task list (``[{"data": {...}, "annotations": [...]}]``)
with a single-choice ``<Choices name="stance" toName="text">`` control, which
:func:`labeling_config` writes out so a team can continue in Label Studio, or
label there and bring the result back with ``stance label import``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

from stance.errors import DataError
from stance.labeling.store import LabelStore

FROM_NAME = "stance"
TO_NAME = "text"


def labeling_config(labels: list[str], target: str) -> str:
    """The Label Studio labelling interface XML for this project's labels."""
    choices = "\n".join(f"    <Choice value={quoteattr(lab)}/>" for lab in labels)
    return (
        "<View>\n"
        f"  <Header value={quoteattr('Stance toward ' + target)}/>\n"
        '  <Text name="title" value="$title"/>\n'
        f'  <Text name="{TO_NAME}" value="$text"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def to_tasks(store: LabelStore, include_unlabelled: bool = False) -> list[dict[str, Any]]:
    """One task per article (labelled ones, or the whole pool), its label as an annotation."""
    pool = store.articles()
    done = store.current_labels().set_index("id")
    if not include_unlabelled:
        pool = pool[pool["id"].isin(done.index)]
    tasks = []
    for position, row in enumerate(pool.itertuples(index=False), start=1):
        task: dict[str, Any] = {
            "id": position,
            "data": {
                "id": row.id,
                "title": row.title,
                "text": row.text,
                "source": row.source,
                "date": row.date,
                "target": store.meta["target"],
            },
            "annotations": [],
        }
        if row.id in done.index:
            label = done.loc[row.id]
            task["annotations"].append(
                {
                    "result": [
                        {
                            "from_name": FROM_NAME,
                            "to_name": TO_NAME,
                            "type": "choices",
                            "value": {"choices": [label["label"]]},
                        }
                    ],
                    "completed_by": label["labeller"],
                    "created_at": label["at"],
                    "meta": {"note": label["note"], "model_version": label["model_version"]},
                }
            )
        tasks.append(task)
    return tasks


def read_tasks(path: str | Path) -> pd.DataFrame:
    """``id, label, labeller, note`` from a Label Studio export: per task its latest
    annotation that is not cancelled; tasks without one are left out."""
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a Label Studio JSON export ({exc})") from exc
    if not isinstance(tasks, list):
        raise DataError(f"{path}: expected a JSON list of tasks, got {type(tasks).__name__}")
    rows = []
    for n, task in enumerate(tasks):
        data = task.get("data", {}) if isinstance(task, dict) else {}
        article = data.get("id")
        if article in (None, ""):
            raise DataError(
                f"{path}: task {n} has no data.id (the article id the label belongs to)"
            )
        annotations = [
            a for a in task.get("annotations", []) if not a.get("was_cancelled") and a.get("result")
        ]
        if not annotations:
            continue
        latest = annotations[-1]
        choices = [
            c
            for r in latest["result"]
            if r.get("type") == "choices"
            for c in r.get("value", {}).get("choices", [])
        ]
        if len(choices) != 1:
            raise DataError(
                f"{path}: task {n} (article {article!r}) has {len(choices)} choices in its "
                "latest annotation; expected exactly one label"
            )
        who = latest.get("completed_by")
        if isinstance(who, dict):
            who = who.get("email") or who.get("id")
        rows.append(
            {
                "id": str(article),
                "label": str(choices[0]),
                "labeller": f"label-studio:{who}" if who not in (None, "") else "label-studio",
                "note": str((latest.get("meta") or {}).get("note", "") or ""),
            }
        )
    return pd.DataFrame(rows, columns=["id", "label", "labeller", "note"])
