"""Cross-split duplicate detection (exact, same title, near-duplicate shingles)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from stance.data.dedup import cross_split_duplicates, drop_duplicated_test_rows, shingle_matrix
from stance.paths import default_data_dir

STORY = (
    "The foreign ministers met in Vienna on Tuesday to discuss a framework for arms control "
    "talks, according to officials familiar with the meeting, who said both sides had agreed "
    "to continue the dialogue next month despite deep disagreements over sanctions and over "
    "the deployment of missiles in Europe. Neither delegation commented on the record."
)
OTHER = (
    "A winter storm closed schools across the region as forecasters warned of more snow, and "
    "the city opened warming centres for residents without heat while crews worked overnight "
    "to restore power lines brought down by ice and wind in several northern suburbs."
)


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "text", "title"])


def test_kinds_and_similarity():
    train = frame(
        [
            ("t1", STORY, "Ministers meet"),
            ("t2", OTHER, "Storm closes schools"),
            ("t3", "x y", "Same headline"),
        ]
    )
    near = STORY + " Updated at noon."
    test = frame(
        [
            ("e1", "  " + STORY + "\n", "Different"),  # exact after stripping
            ("e2", near, "Another"),
            (
                "e3",
                "Completely different words about gardening and roses in the spring.",
                "Same headline",
            ),
            (
                "e4",
                "Unrelated text about football results from the weekend league games.",
                "Nothing",
            ),
        ]
    )
    found = cross_split_duplicates(train, test, threshold=0.8)
    assert list(found.columns) == ["test_id", "train_id", "kind", "similarity"]
    got = {(r.test_id, r.train_id): (r.kind, r.similarity) for r in found.itertuples()}
    assert got[("e1", "t1")] == ("exact_text", 1.0)
    assert got[("e2", "t1")][0] == "near_text" and 0.8 <= got[("e2", "t1")][1] < 1.0
    assert got[("e3", "t3")][0] == "same_title"
    assert "e4" not in set(found["test_id"])
    assert len(found) == 3


def test_threshold_and_case_punctuation_insensitive():
    train = frame([("t1", STORY, "")])
    test = frame([("e1", STORY.upper().replace(",", " ;"), "")])
    found = cross_split_duplicates(train, test)
    assert found["kind"].tolist() == ["near_text"]
    assert found["similarity"].iloc[0] == pytest.approx(1.0)
    half = " ".join(STORY.split()[:30]) + " " + OTHER
    assert cross_split_duplicates(train, frame([("e2", half, "")]), threshold=0.8).empty
    assert not cross_split_duplicates(train, frame([("e2", half, "")]), threshold=0.2).empty
    with pytest.raises(ValueError):
        cross_split_duplicates(train, test, threshold=0)


def test_empty_inputs_and_drop():
    empty = frame([])
    assert cross_split_duplicates(empty, frame([("e", STORY, "")])).empty
    train = frame([("t1", STORY, ""), ("t2", OTHER, "")])
    test = frame(
        [("e1", STORY, ""), ("e2", "something new entirely written here for the test set", "")]
    )
    assert drop_duplicated_test_rows(train, test)["id"].tolist() == ["e2"]


def test_shingles_do_not_cross_documents():
    matrix = shingle_matrix(["a b c d", "e f g h i"], size=5)
    assert matrix[0].nnz == 0 and matrix[1].nnz == 1


def test_boilerplate_shingles_do_not_hide_duplicates():
    boiler = "Sign up for our daily newsletter to get the latest news delivered to your inbox. "
    train = frame(
        [
            (f"t{i}", boiler + f"Story {i} " + OTHER.replace("snow", f"snow{i}"), "")
            for i in range(80)
        ]
    )
    train.loc[len(train)] = ("tx", boiler + STORY, "")
    test = frame([("e1", boiler + STORY + " Extra.", "")])
    found = cross_split_duplicates(train, test, max_df=50)
    assert found["train_id"].tolist() == ["tx"]


@pytest.mark.slow
def test_allsides_random_split_fast_enough():
    from stance.data.loading import load_corpus

    data_dir = default_data_dir()
    if not (data_dir / "allsides").is_dir():
        pytest.skip("allsides not available")
    corpus = load_corpus({"name": "allsides", "loader": "allsides"}, data_dir).frame
    train, test = corpus[corpus["split"] == "train"], corpus[corpus["split"] == "val"]
    started = time.perf_counter()
    found = cross_split_duplicates(train, test)
    elapsed = time.perf_counter() - started
    assert elapsed < 90  # ~10 s CPU on 2 cores; generous for loaded CI machines
    assert set(found["kind"]) <= {"exact_text", "same_title", "near_text"}
    assert (found["kind"] == "exact_text").sum() >= 1


def test_chunked_shingling_equals_one_pass(monkeypatch):
    import stance.data.dedup as dedup

    texts = [
        f"report {i} on the talks between moscow and washington, part {i % 7}" for i in range(50)
    ]
    texts[17] = ""
    whole = shingle_matrix(texts)
    monkeypatch.setattr(dedup, "SHINGLE_CHUNK", 8)
    chunked = shingle_matrix(texts)
    assert chunked.shape == whole.shape
    assert (chunked != whole).nnz == 0
