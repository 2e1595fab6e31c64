"""The one sentence splitter: target windows, sentence embeddings and explanations agree.

Cheap and deterministic (punctuation, closing quotes/brackets, newlines), not
linguistic: its job is to cut an article the same way wherever the code needs
sentences, so an explanation's "sentence" is the unit the features saw. Saved
models call it at transform time; changing it changes their features.
"""

from __future__ import annotations

import re

__all__ = ["SENTENCE_BOUNDARY", "split_sentences"]

#: After ``.!?…`` (and any closing quotes or brackets) plus whitespace, or at newlines.
SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?…])[\"”’')\]]*\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Non-empty, stripped sentences of ``text`` in order."""
    return [s.strip() for s in SENTENCE_BOUNDARY.split(text) if s and s.strip()]
