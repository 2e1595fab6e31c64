"""One confident-errors table: the analysis API and report.md list the same rows."""

from __future__ import annotations

import pandas as pd

from stance.data.table import Corpus, Task
from stance.evaluation.confident_errors import most_confident_errors
from stance.reporting.report import confident_errors

PREDICTIONS = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e"],
        "fold": [0, 0, 1, 1, 1],
        "gold": ["x", "y", "x", "y", "x"],
        "predicted": ["y", "y", "y", "x", "y"],
        "proba_x": [0.2, 0.1, 0.4, 0.8, 0.2],
        "proba_y": [0.8, 0.9, 0.6, 0.2, 0.8],
    }
)
CORPUS = Corpus(
    "c",
    pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "a"],
            "title": ["Title A", "", "", "", "", "Other"],
            "text": ["one two three four five six", "b", "c", "d", "e", "duplicate id"],
            "label": ["x", "y", "x", "y", "x", "x"],
        }
    ),
    Task("t", ("x", "y")),
)


def test_sorted_by_confidence_ties_in_file_order() -> None:
    errors = most_confident_errors(PREDICTIONS, CORPUS.frame, n=10, snippet_chars=12)
    assert errors["id"].tolist() == ["a", "d", "e", "c"]  # a, d and e tie at 0.8
    assert errors["p_gold"].tolist() == [0.2, 0.2, 0.2, 0.4]
    # The first row of a repeated id gives the text; cut at a word boundary.
    assert errors.loc[0, "title"] == "Title A" and errors.loc[0, "snippet"] == "one two…"


def test_report_lists_the_same_rows() -> None:
    shared = most_confident_errors(PREDICTIONS, CORPUS.frame, n=3, snippet_chars=160)
    report = confident_errors(PREDICTIONS, CORPUS, 3)
    assert list(report.columns) == ["id", "gold", "predicted", "confidence", "title", "snippet"]
    pd.testing.assert_frame_equal(report, shared[report.columns])


def test_without_probabilities() -> None:
    no_proba = PREDICTIONS.drop(columns=["proba_x", "proba_y"])
    assert most_confident_errors(no_proba, n=2)["id"].tolist() == ["a", "c"]  # file order
    assert confident_errors(no_proba, CORPUS, 3).empty  # the report needs a confidence
    assert confident_errors(PREDICTIONS, CORPUS, 0).empty
