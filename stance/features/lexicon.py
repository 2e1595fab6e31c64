"""Dense lexicon features: sentiment in target windows, cooperation vs conflict,
hedges, intensifiers, subjectivity, quoted speech.

When to use: as a small, interpretable block next to n-grams (``make_union``),
especially on long articles where the tone around the target matters. On its
own it is weak; it rarely hurts because it is low-dimensional and scaled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from stance.data.sentences import split_sentences
from stance.features._util import ModelInputMixin, check_frame, plain
from stance.features.actors import resolve_target, window_mask

COOPERATION = frozenset(
    [
        "agree",
        "agreed",
        "agreement",
        "ally",
        "allies",
        "alliance",
        "cooperate",
        "cooperation",
        "cooperative",
        "dialogue",
        "diplomacy",
        "diplomatic",
        "deal",
        "detente",
        "détente",
        "engage",
        "engagement",
        "partner",
        "partners",
        "partnership",
        "peace",
        "peaceful",
        "rapprochement",
        "reset",
        "summit",
        "talks",
        "negotiate",
        "negotiation",
        "negotiations",
        "treaty",
        "friendly",
        "friendship",
        "trust",
        "ease",
        "easing",
        "thaw",
        "common",
        "ground",
        "constructive",
        "normalize",
        "normalise",
        "mutual",
        "joint",
        "understanding",
        "compromise",
        "support",
        "welcome",
        "welcomed",
    ]
)
CONFLICT = frozenset(
    [
        "conflict",
        "confrontation",
        "confront",
        "sanction",
        "sanctions",
        "sanctioned",
        "threat",
        "threaten",
        "threatens",
        "threatened",
        "war",
        "wars",
        "hostile",
        "hostility",
        "aggression",
        "aggressive",
        "attack",
        "attacks",
        "attacked",
        "tension",
        "tensions",
        "adversary",
        "adversaries",
        "enemy",
        "enemies",
        "expel",
        "expelled",
        "retaliate",
        "retaliation",
        "punish",
        "punishment",
        "condemn",
        "condemned",
        "accuse",
        "accused",
        "interference",
        "meddling",
        "hack",
        "hacking",
        "invade",
        "invasion",
        "annex",
        "annexation",
        "crisis",
        "escalate",
        "escalation",
        "rival",
        "rivalry",
        "cold",
        "provocation",
        "provocative",
        "dispute",
    ]
)
HEDGES = frozenset(
    [
        "may",
        "might",
        "could",
        "perhaps",
        "possibly",
        "probably",
        "apparently",
        "seemingly",
        "reportedly",
        "allegedly",
        "likely",
        "unlikely",
        "suggest",
        "suggests",
        "suggested",
        "appear",
        "appears",
        "appeared",
        "seem",
        "seems",
        "seemed",
        "somewhat",
        "unclear",
        "uncertain",
        "believe",
        "believed",
        "claim",
        "claims",
        "claimed",
        "estimate",
        "roughly",
    ]
)
INTENSIFIERS = frozenset(
    [
        "very",
        "extremely",
        "really",
        "totally",
        "absolutely",
        "completely",
        "utterly",
        "highly",
        "deeply",
        "so",
        "too",
        "incredibly",
        "truly",
        "strongly",
        "clearly",
        "definitely",
        "certainly",
        "entirely",
        "enormous",
        "massive",
        "huge",
        "outrageous",
        "disastrous",
        "unprecedented",
    ]
)
SUBJECTIVE = frozenset(
    [
        "good",
        "bad",
        "great",
        "terrible",
        "horrible",
        "awful",
        "wonderful",
        "excellent",
        "poor",
        "best",
        "worst",
        "shameful",
        "disgraceful",
        "stupid",
        "smart",
        "brilliant",
        "foolish",
        "dangerous",
        "reckless",
        "wise",
        "naive",
        "absurd",
        "ridiculous",
        "outrageous",
        "admirable",
        "corrupt",
        "evil",
        "heroic",
        "pathetic",
        "weak",
        "strong",
        "failed",
        "failure",
        "success",
        "successful",
        "should",
        "must",
        "ought",
        "sadly",
        "unfortunately",
        "fortunately",
        "hopefully",
    ]
)

FEATURE_NAMES: tuple[str, ...] = (
    "vader_doc_compound",
    "vader_doc_pos",
    "vader_doc_neg",
    "vader_win_compound",
    "vader_win_pos",
    "vader_win_neg",
    "vader_win_min",
    "vader_win_max",
    "win_share",
    "has_window",
    "cooperation",
    "conflict",
    "coop_minus_conflict",
    "win_cooperation",
    "win_conflict",
    "hedges",
    "intensifiers",
    "subjective",
    "quote_share",
    "exclamations",
    "questions",
    "log_length",
)

_WORD = re.compile(r"\w+")
_QUOTE = re.compile(r"[\"“”«»]([^\"“”«»]{1,2000})[\"“”«»]")


@functools.lru_cache(maxsize=1)
def _vader():
    """Module-level VADER analyser (never stored on an estimator: it does not serialise)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@functools.lru_cache(maxsize=200_000)
def _polarity(sentence: str) -> tuple[float, float, float]:
    scores = _vader().polarity_scores(sentence[:5000])
    return scores["compound"], scores["pos"], scores["neg"]


def _rate(tokens: Sequence[str], vocab: frozenset[str]) -> float:
    return sum(t in vocab for t in tokens) / max(len(tokens), 1)


def lexicon_row(
    text: str,
    title: str,
    target: str,
    lexicon: Mapping[str, Any] | None,
    context: int = 1,
    max_sentences: int = 200,
) -> list[float]:
    """Raw (unscaled) lexicon features of one document, in :data:`FEATURE_NAMES` order."""
    sentences = ([title] if title.strip() else []) + split_sentences(text)
    sentences = sentences[:max_sentences]
    full = " ".join(sentences)
    tokens = [t.lower() for t in _WORD.findall(full)]
    if sentences:
        pol = np.array([_polarity(s) for s in sentences])
        mask = window_mask(sentences, resolve_target(target, lexicon), context, "target")
    else:
        pol = np.zeros((1, 3))
        mask = np.zeros(1, dtype=bool)
    win = pol[mask] if mask.any() else np.zeros((1, 3))
    win_tokens = [
        t.lower() for s, m in zip(sentences, mask, strict=False) if m for t in _WORD.findall(s)
    ]
    coop, confl = _rate(tokens, COOPERATION), _rate(tokens, CONFLICT)
    quoted = sum(len(m) for m in _QUOTE.findall(full))
    return [
        float(pol[:, 0].mean()),
        float(pol[:, 1].mean()),
        float(pol[:, 2].mean()),
        float(win[:, 0].mean()),
        float(win[:, 1].mean()),
        float(win[:, 2].mean()),
        float(win[:, 0].min()),
        float(win[:, 0].max()),
        float(mask.mean()),
        float(mask.any()),
        coop,
        confl,
        coop - confl,
        _rate(win_tokens, COOPERATION),
        _rate(win_tokens, CONFLICT),
        _rate(tokens, HEDGES),
        _rate(tokens, INTENSIFIERS),
        _rate(tokens, SUBJECTIVE),
        quoted / max(len(full), 1),
        full.count("!") / max(len(sentences), 1),
        full.count("?") / max(len(sentences), 1),
        float(np.log1p(len(tokens))),
    ]


class LexiconFeatures(ModelInputMixin, TransformerMixin, BaseEstimator):
    """Dense, standardised lexicon features (see :data:`FEATURE_NAMES`).

    VADER sentiment over the whole document and inside the target windows
    (sentences mentioning the target or its aliases, ± ``context``);
    cooperation vs conflict vocabulary (relation targets); hedges,
    intensifiers and a subjectivity proxy (rates per token); share of
    characters inside quotation marks (quoted speech); punctuation and length.

    Parameters
    ----------
    lexicon:
        Output of :func:`stance.features.actors.load_actor_lexicon`, or ``None``.
    context:
        Sentences of context around each target mention.
    scale:
        Standardise with the training mean / std (clipped to ±5).
    max_sentences:
        Read at most this many sentences (title first) of each document.

    Attributes
    ----------
    mean_ : ndarray of shape (n_lexicon_features,)
        Training mean of each raw feature.
    scale_ : ndarray of shape (n_lexicon_features,)
        Training standard deviation of each raw feature (1 where constant).
    n_features_in_ : int
        Number of columns of the frame seen in ``fit``.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"text": ["Talks went well!", "Sanctions and threats."],
    ...                   "title": ["", ""], "target": ["Russia", "Russia"]})
    >>> LexiconFeatures().fit_transform(X).shape == (2, len(FEATURE_NAMES))
    True
    """

    _parameter_constraints: dict = {
        "lexicon": [Mapping, None],
        "context": [Interval(Integral, 0, None, closed="left")],
        "scale": ["boolean"],
        "max_sentences": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        lexicon: Mapping[str, Any] | None = None,
        context: int = 1,
        scale: bool = True,
        max_sentences: int = 200,
    ):
        self.lexicon = lexicon
        self.context = context
        self.scale = scale
        self.max_sentences = max_sentences

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        check_frame(self, X, ["text"])
        lexicon = plain(self.lexicon)
        n = len(X)
        text = X["text"].fillna("").astype(str).tolist()
        title = X["title"].fillna("").astype(str).tolist() if "title" in X else [""] * n
        target = X["target"].fillna("").astype(str).tolist() if "target" in X else [""] * n
        rows = [
            lexicon_row(a, b, c, lexicon, self.context, self.max_sentences)
            for a, b, c in zip(text, title, target, strict=False)
        ]
        return np.asarray(rows, dtype=np.float64).reshape(n, len(FEATURE_NAMES))

    def fit(self, X: pd.DataFrame, y=None) -> LexiconFeatures:
        """Learn the mean and spread of each raw feature."""
        self._validate_params()
        check_frame(self, X, ["text"], reset=True)
        raw = self._raw(X)
        self.mean_ = raw.mean(axis=0)
        std = raw.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Dense rows in :data:`FEATURE_NAMES` order (standardised if ``scale``)."""
        check_is_fitted(self)
        raw = self._raw(X)
        if not self.scale:
            return raw
        return np.clip((raw - self.mean_) / self.scale_, -5.0, 5.0)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"lex:{n}" for n in FEATURE_NAMES], dtype=object)
