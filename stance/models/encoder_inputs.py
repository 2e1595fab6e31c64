"""Turn (target, article) rows into encoder inputs under a token budget.

An encoder reads ``max_length`` tokens; a news article is often longer. Six
ways to choose what it reads (Sun et al. 2019 compare the first three):

``head``
    the first tokens of the article.
``head_tail``
    a quarter of the budget from the start, the rest from the end (where
    articles often conclude).
``chunks``
    consecutive windows over the whole article (at most ``max_chunks``); each is
    a training example with the article's label, and an article's prediction
    averages its windows' logits.
``target_windows``
    only the sentences that mention the target or its aliases (± ``context``
    sentences, :func:`stance.features.actors.window_mask`), then the head of
    those; an article with no mention keeps all its sentences.
``target_chunks``
    the same sentences, then every window of them as with ``chunks``: the encoder
    reads all that is said about the target, not its first ``max_length`` tokens
    (``experiments/ru_us_encoder_reading.py`` measures what that is worth).
``closest_sentences``
    the article's sentences ranked by how many of the target's content words they
    share (ties keep article order), then the head of that ranking: for free-text
    targets such as a claim, which an alias lexicon cannot list. The encoder reads
    what the article says closest to the claim first (as FNC-1 systems read the
    body sentences most similar to the headline).

The target is the first segment of a sentence pair, the article the second.
Pieces are cut on token boundaries (the tokenizer's character offsets) and
re-tokenised as a pair with ``truncation="only_second"``, so no input ever
exceeds ``max_length``. :func:`select_pieces` gives the text pieces themselves:
SetFit's single-text encoder reads ``"target | piece"``. Nothing here imports torch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from stance.data.sentences import split_sentences
from stance.features.actors import resolve_target, window_mask

STRATEGIES = (
    "head",
    "head_tail",
    "chunks",
    "target_windows",
    "target_chunks",
    "closest_sentences",
)
#: The strategies that keep only the sentences about the target.
WINDOWED = ("target_windows", "target_chunks")
#: Share of the budget ``head_tail`` takes from the start of the article.
HEAD_SHARE = 0.25


@dataclass(frozen=True)
class EncodedRows:
    """Tokenised pairs; ``owner[i]`` is the row that example ``i`` came from."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    owner: np.ndarray
    n_truncated: int


def _windowed(text: str, target: str, lexicon: Mapping[str, Any] | None, context: int) -> str:
    sentences = split_sentences(text)
    if not sentences:
        return text
    mask = window_mask(sentences, resolve_target(target, lexicon), context, "target")
    kept = [s for s, m in zip(sentences, mask, strict=True) if m]
    return " ".join(kept) if kept else text


_WORD = re.compile(r"[a-z0-9]+")


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS}


def _closest_first(text: str, target: str) -> str:
    """The sentences of ``text`` ordered by the number of ``target``'s content words each
    shares (most first; ties in article order)."""
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return text
    wanted = _content_words(target)
    shared = [len(wanted & _content_words(s)) for s in sentences]
    order = sorted(range(len(sentences)), key=lambda i: (-shared[i], i))
    return " ".join(sentences[i] for i in order)


def _pieces(
    text: str, offsets: Sequence[tuple[int, int]], budget: int, strategy: str, max_chunks: int
):
    """(pieces of ``text`` the encoder reads, whether tokens were left out)."""
    n = len(offsets)
    if n <= budget:
        return [text], False
    if strategy in ("chunks", "target_chunks"):
        starts = list(range(0, n, budget))
        pieces = [text[offsets[s][0] : offsets[min(s + budget, n) - 1][1]] for s in starts]
        return pieces[:max_chunks], len(starts) > max_chunks
    if strategy == "head_tail":
        head = max(1, int(budget * HEAD_SHARE))
        tail = budget - head
        return [text[: offsets[head - 1][1]] + " " + text[offsets[n - tail][0] :]], True
    return [text[: offsets[budget - 1][1]]], True


@dataclass(frozen=True)
class ArticlePieces:
    """What the encoder reads of each row: ``pieces[i]`` (with ``targets[i]``) came from
    row ``owner[i]``; one piece per row except with ``chunks``."""

    targets: list[str]
    pieces: list[str]
    owner: np.ndarray
    n_truncated: int


def select_pieces(
    tokenizer: Any,
    targets: Sequence[str],
    texts: Sequence[str],
    strategy: str = "head",
    max_length: int = 256,
    max_chunks: int = 4,
    lexicon: Mapping[str, Any] | None = None,
    context: int = 1,
) -> ArticlePieces:
    """Cut each (target, text) row to what fits ``max_length`` tokens under ``strategy``.

    The budget is that of a (target, piece) sentence pair, so a single-text encoder
    that reads ``"target | piece"`` (SetFit) fits it too.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    targets = [str(t) for t in targets]
    texts = [str(t) if str(t).strip() else "." for t in texts]
    if strategy in WINDOWED:
        texts = [_windowed(x, t, lexicon, context) for x, t in zip(texts, targets, strict=True)]
    elif strategy == "closest_sentences":
        texts = [_closest_first(x, t) for x, t in zip(texts, targets, strict=True)]
    special = int(tokenizer.num_special_tokens_to_add(pair=True))
    # verbose=False: whole articles are tokenised here only to find where to cut them, so
    # the tokenizer's "longer than the maximum sequence length" warning would be noise.
    target_len = tokenizer(targets, add_special_tokens=False, verbose=False)["input_ids"]
    offsets = tokenizer(
        texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )["offset_mapping"]
    first, second, owner, truncated = [], [], [], 0
    for i, (target, text) in enumerate(zip(targets, texts, strict=True)):
        # The target keeps at most a quarter of the budget; the article gets the rest.
        budget = max(8, max_length - special - min(len(target_len[i]), max_length // 4))
        pieces, cut = _pieces(text, offsets[i], budget, strategy, int(max_chunks))
        truncated += bool(cut)
        for piece in pieces:
            first.append(target)
            second.append(piece)
            owner.append(i)
    return ArticlePieces(first, second, np.asarray(owner, dtype=np.int64), truncated)


def encode_rows(
    tokenizer: Any,
    targets: Sequence[str],
    texts: Sequence[str],
    strategy: str = "head",
    max_length: int = 256,
    **cut: Any,
) -> EncodedRows:
    """Encode each (target, text) row under ``strategy``; count rows cut short.

    ``cut`` holds :func:`select_pieces`'s ``max_chunks``, ``lexicon`` and ``context``.
    """
    chosen = select_pieces(tokenizer, targets, texts, strategy, max_length, **cut)
    encoded = tokenizer(
        chosen.targets,
        chosen.pieces,
        truncation="longest_first",
        max_length=int(max_length),
        padding=False,
    )
    return EncodedRows(
        input_ids=list(encoded["input_ids"]),
        token_type_ids=list(encoded["token_type_ids"]) if "token_type_ids" in encoded else None,
        owner=chosen.owner,
        n_truncated=chosen.n_truncated,
    )
