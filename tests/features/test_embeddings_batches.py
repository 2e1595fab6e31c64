"""token_batches: how encode_onnx cuts length-sorted texts into ONNX Runtime calls."""

from __future__ import annotations

import pytest

from stance.features.embeddings import token_batches


def _spans(lengths, rows, tokens):
    return [(s.start, s.stop) for s in token_batches(lengths, rows, tokens)]


def test_batches_respect_the_row_and_token_caps() -> None:
    lengths = [3, 3, 4, 5, 10, 300, 400]
    assert _spans(lengths, 3, 12) == [(0, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    assert _spans(lengths, 2, 1000) == [(0, 2), (2, 4), (4, 6), (6, 7)]


@pytest.mark.parametrize("rows,tokens", [(1, 1), (4, 16), (64, 1024), (1000, 10**6)])
def test_every_text_is_in_exactly_one_batch(rows: int, tokens: int) -> None:
    lengths = sorted([1, 2, 2, 7, 7, 7, 30, 31, 200, 513, 1024, 2000])
    covered = [i for s in token_batches(lengths, rows, tokens) for i in range(s.start, s.stop)]
    assert covered == list(range(len(lengths)))
    for s in token_batches(lengths, rows, tokens):
        size = s.stop - s.start
        assert size <= rows
        assert size == 1 or size * max(lengths[s]) <= tokens  # an over-long text goes alone


def test_no_texts_no_batches() -> None:
    assert list(token_batches([], 8)) == []
