"""Pair features: how a text relates to its own per-row target (a free-text claim).

When the target changes from row to row (a headline, a fact-check claim), what
predicts stance is the *relation* between the two: does the body talk about the
claim at all, and what do the sentences closest to it say (deny, hedge, report)?
These features never grow with the number of distinct targets: every block has
a fixed vocabulary learnt once over all rows, so 10 or 100,000 claims give the
same feature space (unlike :class:`stance.features.actors.TargetConditioned`).

Blocks (stacked, sparse):

* ``pair:*`` dense relation features, standardised: TF-IDF cosine of claim and
  body, of claim and its best sentences and of claim and the lead; claim-word
  and claim-bigram overlap; BM25 of the body for the claim; refuting, hedging,
  reporting-verb and negation cues and VADER polarity in the sentences closest
  to the claim, in the whole body and in the claim itself.
* with ``cue_features``, the same cues over *every* sentence about the claim, in the
  best sentence and in the lead, and the share of claim words the body negates
  (``pair:*``, :data:`CUE_NAMES`); with ``cue_words``, each cue word's own rate
  (``cue:*``). Off by default; FNC-1's pinned model uses ``cue_features``.
* with ``embedding_model`` (the [embed] extra), sentence-vector features of the
  claim and the body's sentences (best, top mean, lead and body-mean cosines, ...);
  with ``embedding_interactions`` too, ``embx:*``: the claim vector times the mean
  vector of its closest sentences.
* ``claim:*`` n-grams of the claim, its own vocabulary (kept apart from the body).
* ``near:*`` n-grams of the ``top_sentences`` body sentences closest to the claim.

The published FNC-1 systems (UCL: TF vectors + TF-IDF cosine; Athene: overlap,
refuting words, polarity, topic-model cosines; Talos: overlap / SVD features)
use the same families; here they are computed per sentence, so cues count only
where the body talks about the claim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from stance.data.sentences import split_sentences
from stance.features._util import ModelInputMixin, as_tuple, check_frame
from stance.features.lexicon import HEDGES, _polarity
from stance.features.text import fit_vectorizer, make_tfidf, require_columns
from stance.models.onnx_backend import BACKENDS
from stance.serialization import CompactVocabularyMixin

#: Words that dispute or deny (Athene / FNC baseline list, extended).
REFUTING = frozenset(
    [
        "fake",
        "fraud",
        "hoax",
        "hoaxes",
        "false",
        "deny",
        "denies",
        "denied",
        "denial",
        "not",
        "despite",
        "nope",
        "doubt",
        "doubts",
        "doubted",
        "bogus",
        "debunk",
        "debunked",
        "debunks",
        "prank",
        "pranks",
        "retract",
        "retracted",
        "retraction",
        "untrue",
        "rumor",
        "rumors",
        "rumour",
        "rumours",
        "misleading",
        "fabricated",
        "fiction",
        "satire",
        "satirical",
        "unconfirmed",
        "unfounded",
        "baseless",
        "incorrect",
        "wrong",
        "myth",
        "refute",
        "refuted",
        "refutes",
        "dismiss",
        "dismissed",
        "never",
        "no",
        "nothing",
        "neither",
        "nor",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "didn't",
        "doesn't",
        "don't",
    ]
)
#: Verbs and phrases that attribute a claim to someone (typical of "discuss").
REPORTING = frozenset(
    [
        "said",
        "says",
        "say",
        "told",
        "tells",
        "reported",
        "reports",
        "reportedly",
        "according",
        "claimed",
        "claims",
        "claim",
        "announced",
        "stated",
        "states",
        "added",
        "explained",
        "revealed",
        "confirmed",
        "confirms",
        "confirm",
        "alleged",
        "allegedly",
        "suggested",
        "wrote",
        "writes",
        "posted",
        "tweeted",
        "insisted",
        "noted",
    ]
)
NEGATION = frozenset(["not", "no", "never", "nothing", "none", "neither", "nor", "n't", "without"])

DENSE_NAMES: tuple[str, ...] = (
    "cos_body",
    "cos_best_sentence",
    "cos_top_mean",
    "cos_lead",
    "best_position",
    "share_related_sentences",
    "overlap_body",
    "overlap_top",
    "overlap_lead",
    "jaccard_body",
    "bigram_overlap_body",
    "bm25_body",
    "refuting_top",
    "refuting_body",
    "hedging_top",
    "hedging_body",
    "reporting_top",
    "reporting_body",
    "negation_top",
    "question_top",
    "polarity_top",
    "polarity_top_min",
    "refuting_claim",
    "hedging_claim",
    "negation_claim",
    "question_claim",
    "polarity_claim",
    "polarity_agreement",
    "log_claim_words",
    "log_body_words",
)

#: Added after :data:`DENSE_NAMES` when ``cue_features`` is set: cues in every sentence
#: about the claim (not only the top few), in the best sentence and the lead, and claim
#: words the body negates (a refuting or negation word shortly before them).
CUE_NAMES: tuple[str, ...] = (
    "refuting_best",
    "refuting_related",
    "negation_related",
    "hedging_related",
    "reporting_related",
    "refuting_lead",
    "share_related_refuting",
    "negated_claim_words",
    "cos_second_sentence",
    "cos_best_minus_body",
)

#: With ``cue_words``, the rate of each of these words in the sentences about the claim.
CUE_WORDS: tuple[str, ...] = tuple(sorted(REFUTING | HEDGES | REPORTING | NEGATION))
_CUE_INDEX = {w: j for j, w in enumerate(CUE_WORDS)}

#: Tokens after a refuting or negation word in which a claim word counts as negated.
NEGATION_WINDOW = 5

#: Added after :data:`DENSE_NAMES` (and :data:`CUE_NAMES`) when ``embedding_model`` is set.
EMBED_NAMES: tuple[str, ...] = (
    "embed_cos_best_sentence",
    "embed_cos_top_mean",
    "embed_cos_lead",
    "embed_cos_body_mean",  # claim vs the mean of the body's sentence vectors
    "embed_share_related",  # share of sentences whose cosine passes EMBED_RELATED
    "embed_best_position",  # where the best sentence sits (0 first, 1 last)
    "embed_best_margin",  # best cosine minus the median sentence's
)
#: Sentence-vector cosine above which a sentence counts as about the claim (MiniLM scale).
EMBED_RELATED = 0.5

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _content(words: Sequence[str]) -> list[str]:
    return [w for w in words if w not in ENGLISH_STOP_WORDS and len(w) > 1]


def _rate(words: Sequence[str], vocab: frozenset[str]) -> float:
    return sum(w in vocab for w in words) / max(len(words), 1)


def _share_in(needles: Sequence[str], haystack: set[str]) -> float:
    return sum(n in haystack for n in needles) / len(needles) if needles else 0.0


def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:], strict=False))


class _Body:
    """What the features need of one distinct text, computed once per text (bodies repeat)."""

    def __init__(self, text: str, vectorizer: TfidfVectorizer, lead: int):
        sentences = split_sentences(text) or [text]
        self.sentences = sentences
        self.words = _words(text)
        self.content = set(_content(self.words))
        self.bigrams = _bigrams(_content(self.words))
        self.sentence_words = [_words(s) for s in sentences]
        matrix = vectorizer.transform(sentences + [text, " ".join(sentences[:lead])])
        self.sentence_vectors = matrix[: len(sentences)]
        self.body_vector = matrix[len(sentences)]
        self.lead_vector = matrix[len(sentences) + 1]
        self._cues: tuple[np.ndarray, set[str]] | None = None
        self._cue_words: np.ndarray | None = None

    def cue_word_counts(self) -> np.ndarray:
        """Counts of each :data:`CUE_WORDS` word, one row per sentence."""
        if self._cue_words is None:
            counts = np.zeros((len(self.sentence_words), len(CUE_WORDS)))
            for j, words in enumerate(self.sentence_words):
                for w in words:
                    if w in _CUE_INDEX:
                        counts[j, _CUE_INDEX[w]] += 1
            self._cue_words = counts
        return self._cue_words

    def cues(self) -> tuple[np.ndarray, set[str]]:
        """Per sentence ``[words, refuting, negation, hedging, reporting]`` counts, and the
        words that follow a refuting or negation word within :data:`NEGATION_WINDOW`."""
        if self._cues is None:
            counts = np.zeros((len(self.sentence_words), 5))
            negated: set[str] = set()
            for j, words in enumerate(self.sentence_words):
                counts[j] = [
                    len(words),
                    sum(w in REFUTING for w in words),
                    sum(w in NEGATION for w in words),
                    sum(w in HEDGES for w in words),
                    sum(w in REPORTING for w in words),
                ]
                for i, w in enumerate(words):
                    if w in REFUTING or w in NEGATION:
                        negated.update(words[i + 1 : i + 1 + NEGATION_WINDOW])
            self._cues = (counts, negated)
        return self._cues


class ClaimPairFeatures(ModelInputMixin, CompactVocabularyMixin, TransformerMixin, BaseEstimator):
    """Relation features between each row's ``text`` and its own ``target`` (a claim).

    Parameters
    ----------
    top_sentences : int, default=3
        Body sentences closest to the claim (TF-IDF cosine) that the cue counts
        and the ``near`` n-grams read.
    lead_sentences : int, default=3
        Sentences that make up the lead (the ``*_lead`` features).
    related_threshold : float, default=0.1
        Cosine above which a sentence counts as about the claim
        (``share_related_sentences``).
    ngram_range : tuple of int, default=(1, 2)
        Word n-grams of the ``claim`` and ``near`` blocks (a Hydra list is
        converted in :meth:`fit`; the parameter is stored as given).
    min_df : int or float, default=2
        As in :class:`~sklearn.feature_extraction.text.TfidfVectorizer`, for the n-gram blocks.
    max_features : int or None, default=50000
        Vocabulary cap of each n-gram block; the feature space never grows with
        the number of distinct claims.
    claim_ngrams : bool, default=True
        Add the ``claim:`` n-gram block.
    near_ngrams : bool, default=True
        Add the ``near:`` n-gram block.
    dense_weight : float, default=1.0
        Multiplier of the standardised dense block (its weight next to the n-grams).
    cue_features : bool, default=False
        Add the :data:`CUE_NAMES` block (cues in every sentence about the claim,
        in the best sentence and the lead; claim words the body negates).
    cue_words : bool, default=False
        Add one ``cue:<word>`` column per :data:`CUE_WORDS` word: its rate in the
        sentences about the claim (the best sentence when none is), so a
        non-linear model can weigh "hoax" apart from "not".
    bm25_k1, bm25_b : float, default=1.2, 0.75
        BM25 parameters of ``bm25_body``.
    embedding_model : str or None, default=None
        A sentence-transformers model (e.g. ``"all-MiniLM-L6-v2"``; needs
        ``pip install 'stance[embed]'``): adds the claim's cosine to the body's
        sentence vectors (best, top-``top_sentences`` mean, lead, body mean; share
        of sentences about the claim, where the best one sits, its margin over the
        median), which sees paraphrases TF-IDF misses. ``None``: no embeddings.
    embedding_interactions : bool, default=False
        With ``embedding_model``, also add the element-wise product of the claim's
        vector and the mean vector of its ``top_sentences`` closest body sentences
        (``embx:0`` ... ``embx:383`` for MiniLM, standardised): which meanings the
        claim and its best sentences share, for a linear model to weigh.
    embedding_cache_dir : str or None, default=None
        Where the sentence vectors are cached (see
        :class:`~stance.features.embeddings.SentenceEmbedding`'s ``cache_dir``);
        ``""`` turns the cache off (``stance tag`` does, to tag an archive).
    embedding_backend : {"torch", "onnx", "onnx-int8", "onnx-int8-mixed"}, default="torch"
        How the sentence vectors are computed (see
        :class:`~stance.features.embeddings.SentenceEmbedding`); ``onnx-int8``
        encodes ~5x faster on CPU. Vectors are cached on disk per sentence, so
        sweeps and refits encode each body once.

    Attributes
    ----------
    n_features_in_ : int
        Columns of the model-input frame seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Those columns' names.
    similarity_ : TfidfVectorizer
        Unigram TF-IDF over bodies and claims, for every cosine.
    counts_ : CountVectorizer
        Unigram counts for BM25; ``idf_`` and ``avgdl_`` are its statistics.
    idf_ : ndarray of float
        BM25 idf per term of ``counts_``.
    avgdl_ : float
        Mean body length in ``counts_`` terms.
    claim_vectorizer_, near_vectorizer_ : TfidfVectorizer or None
        The n-gram blocks' vectorisers.
    mean_, scale_ : ndarray of float
        Standardisation of the dense block.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({
    ...     "text": ["The mayor denied the report. It is a hoax.", "Rain is expected today."],
    ...     "title": ["", ""],
    ...     "target": ["Mayor resigns after report", "Mayor resigns after report"],
    ... })
    >>> ClaimPairFeatures(min_df=1).fit_transform(X).shape[0]
    2
    """

    _parameter_constraints: dict = {
        "top_sentences": [Interval(Integral, 1, None, closed="left")],
        "lead_sentences": [Interval(Integral, 1, None, closed="left")],
        "related_threshold": [Interval(Real, 0, 1, closed="both")],
        "ngram_range": [tuple, list, "array-like"],
        "min_df": TfidfVectorizer._parameter_constraints["min_df"],
        "max_features": TfidfVectorizer._parameter_constraints["max_features"],
        "claim_ngrams": ["boolean"],
        "near_ngrams": ["boolean"],
        "dense_weight": [Interval(Real, 0, None, closed="left")],
        "cue_features": ["boolean"],
        "cue_words": ["boolean"],
        "bm25_k1": [Interval(Real, 0, None, closed="left")],
        "bm25_b": [Interval(Real, 0, 1, closed="both")],
        "embedding_model": [str, None],
        "embedding_backend": [StrOptions(set(BACKENDS))],
        "embedding_interactions": ["boolean"],
        "embedding_cache_dir": [str, None],
    }
    _vectorizer_attributes = ("similarity_", "counts_", "claim_vectorizer_", "near_vectorizer_")
    #: Read by :mod:`stance.target_checks` (no target-blind warning for these features).
    reads_target = True

    def __init__(
        self,
        top_sentences: int = 3,
        lead_sentences: int = 3,
        related_threshold: float = 0.1,
        ngram_range: Sequence[int] = (1, 2),
        min_df: int | float = 2,
        max_features: int | None = 50000,
        claim_ngrams: bool = True,
        near_ngrams: bool = True,
        dense_weight: float = 1.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        embedding_model: str | None = None,
        cue_features: bool = False,
        cue_words: bool = False,
        embedding_backend: str = "torch",
        embedding_interactions: bool = False,
        embedding_cache_dir: str | None = None,
    ):
        self.top_sentences = top_sentences
        self.lead_sentences = lead_sentences
        self.related_threshold = related_threshold
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.claim_ngrams = claim_ngrams
        self.near_ngrams = near_ngrams
        self.dense_weight = dense_weight
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.embedding_model = embedding_model
        self.cue_features = cue_features
        self.cue_words = cue_words
        self.embedding_backend = embedding_backend
        self.embedding_interactions = embedding_interactions
        self.embedding_cache_dir = embedding_cache_dir

    def __setstate__(self, state: dict) -> None:
        # Models saved before the backend parameter existed encoded with torch.
        state.setdefault("embedding_backend", "torch")
        state.setdefault("embedding_interactions", False)
        state.setdefault("embedding_cache_dir", None)
        super().__setstate__(state)

    # --- fitting --------------------------------------------------------------------------

    def _validate_params(self) -> None:
        """scikit-learn's constraints, then the shape of ``ngram_range`` (a Hydra list too)."""
        super()._validate_params()
        if len(as_tuple(self.ngram_range)) != 2:
            raise ValueError(f"ngram_range must be (min_n, max_n), got {self.ngram_range!r}")

    def _columns(self, X: pd.DataFrame, *, reset: bool = False) -> tuple[list[str], list[str]]:
        check_frame(self, X, reset=reset)
        require_columns(X, ["text", "target"])
        text = X["text"].fillna("").astype(str).tolist()
        target = X["target"].fillna("").astype(str).tolist()
        return text, target

    def fit(self, X: pd.DataFrame, y=None) -> ClaimPairFeatures:
        """Learn the vocabularies, BM25 statistics and the dense block's scaling."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        """Fit and return the training matrix (bodies are processed once)."""
        self._validate_params()
        text, target = self._columns(X, reset=True)
        unique_text = list(dict.fromkeys(text))
        unique_target = list(dict.fromkeys(target))
        self.similarity_ = fit_vectorizer(
            TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32),
            unique_text + unique_target,
        )
        self.counts_ = fit_vectorizer(
            CountVectorizer(stop_words="english", dtype=np.float32), unique_text
        )
        tf = self.counts_.transform(unique_text)
        df = np.asarray((tf > 0).sum(axis=0)).ravel()
        n = max(len(unique_text), 1)
        self.idf_ = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float64)
        self.avgdl_ = float(tf.sum() / n) or 1.0
        dense, near = self._pairs(text, target)
        self.mean_ = dense.mean(axis=0) if len(dense) else np.zeros(dense.shape[1])
        std = dense.std(axis=0) if len(dense) else np.ones(dense.shape[1])
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        self.claim_vectorizer_ = self._ngram_block(target) if self.claim_ngrams else None
        self.near_vectorizer_ = self._ngram_block(near) if self.near_ngrams else None
        return self._stack(dense, target, near)

    def _ngram_block(self, docs: list[str]) -> TfidfVectorizer:
        vec = make_tfidf(
            "word",
            as_tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
        )
        return fit_vectorizer(vec, docs)

    # --- transforming ---------------------------------------------------------------------

    def transform(self, X: pd.DataFrame):
        """Sparse ``[pair dense | claim n-grams | near n-grams]`` matrix, one row per pair."""
        check_is_fitted(self)
        text, target = self._columns(X)
        dense, near = self._pairs(text, target)
        return self._stack(dense, target, near)

    def _stack(self, dense: np.ndarray, target: list[str], near: list[str]):
        scaled = np.clip((dense - self.mean_) / self.scale_, -5.0, 5.0) * float(self.dense_weight)
        blocks = [sp.csr_matrix(scaled.astype(np.float32))]
        if self.claim_vectorizer_ is not None:
            blocks.append(self.claim_vectorizer_.transform(target))
        if self.near_vectorizer_ is not None:
            blocks.append(self.near_vectorizer_.transform(near))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _pairs(self, text: list[str], target: list[str]) -> tuple[np.ndarray, list[str]]:
        """Dense features and the near-sentence document of every row, grouped by body."""
        width = len(DENSE_NAMES) + (len(CUE_NAMES) if self.cue_features else 0)
        width += len(CUE_WORDS) if self.cue_words else 0
        dense = np.zeros((len(text), width), dtype=np.float64)
        near: list[str] = [""] * len(text)
        rows_of: dict[str, list[int]] = {}
        for i, body in enumerate(text):
            rows_of.setdefault(body, []).append(i)
        claim_vectors = self.similarity_.transform(target)
        claim_counts = self.counts_.transform(target)
        claim_counts.data[:] = 1.0
        for body_text, rows in rows_of.items():
            body = _Body(body_text, self.similarity_, int(self.lead_sentences))
            bm25 = self._bm25(body_text)
            claims = claim_vectors[rows]
            sims = (claims @ body.sentence_vectors.T).toarray()
            whole = (claims @ body.body_vector.T).toarray().ravel()
            lead = (claims @ body.lead_vector.T).toarray().ravel()
            queries = claim_counts[rows]
            bm25_scores = np.asarray(queries @ bm25).ravel()
            query_terms = np.maximum(np.asarray(queries.sum(axis=1)).ravel(), 1.0)
            for k, i in enumerate(rows):
                dense[i], near[i] = self._row(
                    target[i], body, sims[k], whole[k], lead[k], bm25_scores[k] / query_terms[k]
                )
        if self.embedding_model:
            dense = np.hstack([dense, self._embedding_cosines(rows_of, target)])
        return dense, near

    def _embedding_cosines(self, rows_of: dict[str, list[int]], target: list[str]) -> np.ndarray:
        """Claim-to-sentence cosines of sentence vectors (:data:`EMBED_NAMES`), per row."""
        from stance.features.embeddings import SentenceEmbedding

        encoder = SentenceEmbedding(
            model_name=str(self.embedding_model),
            backend=self.embedding_backend,
            cache_dir=self.embedding_cache_dir,
        )
        bodies = list(rows_of)
        sentences = [split_sentences(b) or [b or "."] for b in bodies]
        # One call: embed() encodes each distinct sentence once and caches it on disk.
        unique_claims = list(dict.fromkeys(target))
        vectors = encoder.embed([s for group in sentences for s in group] + unique_claims)
        claim_vec = vectors[len(vectors) - len(unique_claims) :]
        claim_row = {c: j for j, c in enumerate(unique_claims)}
        width = claim_vec.shape[1] if self.embedding_interactions else 0
        out = np.zeros((len(target), len(EMBED_NAMES) + width))
        start = 0
        k, lead = int(self.top_sentences), int(self.lead_sentences)
        for body, group in zip(bodies, sentences, strict=True):
            sent_vec = vectors[start : start + len(group)]
            start += len(group)
            rows = rows_of[body]
            sims = claim_vec[[claim_row[target[i]] for i in rows]] @ sent_vec.T
            mean = sent_vec.mean(axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            top = -np.sort(-sims, axis=1)[:, :k]
            best = sims.max(axis=1)
            out[rows, 0] = best
            out[rows, 1] = top.mean(axis=1)
            out[rows, 2] = sims[:, :lead].mean(axis=1)
            out[rows, 3] = claim_vec[[claim_row[target[i]] for i in rows]] @ mean
            out[rows, 4] = (sims > EMBED_RELATED).mean(axis=1)
            out[rows, 5] = sims.argmax(axis=1) / max(len(group) - 1, 1)
            out[rows, 6] = best - np.median(sims, axis=1)
            if width:
                closest = np.argsort(-sims, axis=1, kind="stable")[:, :k]
                near = sent_vec[closest].mean(axis=1)
                near /= np.maximum(np.linalg.norm(near, axis=1, keepdims=True), 1e-12)
                claims = claim_vec[[claim_row[target[i]] for i in rows]]
                out[np.asarray(rows)[:, None], len(EMBED_NAMES) + np.arange(width)] = claims * near
        return out

    def _bm25(self, body_text: str) -> np.ndarray:
        tf = self.counts_.transform([body_text]).toarray().ravel()
        length = tf.sum()
        k1, b = float(self.bm25_k1), float(self.bm25_b)
        norm = k1 * (1 - b + b * length / self.avgdl_)
        return (self.idf_ * tf * (k1 + 1) / (tf + norm + 1e-12)).astype(np.float32)

    def _row(
        self, claim: str, body: _Body, sims: np.ndarray, whole: float, lead: float, bm25: float
    ) -> tuple[list[float], str]:
        k = min(int(self.top_sentences), len(sims))
        order = np.argsort(-sims, kind="stable")[:k]
        top_words = [w for j in order for w in body.sentence_words[j]]
        top_set = set(top_words)
        lead_set = {w for ws in body.sentence_words[: int(self.lead_sentences)] for w in ws}
        claim_words = _words(claim)
        claim_content = _content(claim_words)
        claim_set = set(claim_content)
        union = claim_set | body.content
        top_polarity = [_polarity(body.sentences[j])[0] for j in order]
        claim_polarity = _polarity(claim)[0] if claim.strip() else 0.0
        near_polarity = float(np.mean(top_polarity)) if top_polarity else 0.0
        top_text = " ".join(body.sentences[j] for j in order)
        features = [
            whole,
            float(sims.max()) if len(sims) else 0.0,
            float(sims[order].mean()) if k else 0.0,
            lead,
            float(order[0] / max(len(sims) - 1, 1)) if k else 0.0,
            float((sims > float(self.related_threshold)).mean()) if len(sims) else 0.0,
            _share_in(claim_content, body.content),
            _share_in(claim_content, top_set),
            _share_in(claim_content, lead_set),
            len(claim_set & body.content) / max(len(union), 1),
            _share_in(list(_bigrams(claim_content)), body.bigrams),
            bm25,
            _rate(top_words, REFUTING),
            _rate(body.words, REFUTING),
            _rate(top_words, HEDGES),
            _rate(body.words, HEDGES),
            _rate(top_words, REPORTING),
            _rate(body.words, REPORTING),
            _rate(top_words, NEGATION),
            float(top_text.count("?")),
            near_polarity,
            float(min(top_polarity)) if top_polarity else 0.0,
            float(any(w in REFUTING for w in claim_words)),
            float(any(w in HEDGES for w in claim_words)),
            float(any(w in NEGATION for w in claim_words)),
            float("?" in claim),
            claim_polarity,
            claim_polarity * near_polarity,
            float(np.log1p(len(claim_words))),
            float(np.log1p(len(body.words))),
        ]
        if self.cue_features:
            features += self._cues(claim_content, body, sims, order, whole)
        if self.cue_words:
            about = sims > float(self.related_threshold)
            if not about.any():
                about = np.isin(np.arange(len(sims)), order[:1])
            words = max(sum(len(body.sentence_words[j]) for j in np.flatnonzero(about)), 1)
            features += (body.cue_word_counts()[about].sum(axis=0) / words).tolist()
        return features, top_text

    def _cues(
        self,
        claim_content: list[str],
        body: _Body,
        sims: np.ndarray,
        order: np.ndarray,
        whole: float,
    ) -> list[float]:
        """The :data:`CUE_NAMES` values of one pair."""
        counts, negated = body.cues()
        related = sims > float(self.related_threshold)

        def rate(rows: np.ndarray | slice, column: int) -> float:
            block = counts[rows]
            return float(block[:, column].sum() / max(block[:, 0].sum(), 1.0))

        best = order[:1]
        ranked = np.sort(sims)[::-1]
        return [
            rate(best, 1),
            rate(related, 1),
            rate(related, 2),
            rate(related, 3),
            rate(related, 4),
            rate(slice(0, int(self.lead_sentences)), 1),
            float((counts[related, 1] > 0).sum() / max(related.sum(), 1)),
            _share_in(claim_content, negated),
            float(ranked[1]) if len(ranked) > 1 else 0.0,
            float(ranked[0] - whole) if len(ranked) else 0.0,
        ]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``pair:<name>``, then ``claim:<n-gram>``, then ``near:<n-gram>``."""
        check_is_fitted(self)
        dense = DENSE_NAMES + (CUE_NAMES if self.cue_features else ())
        names = [f"pair:{n}" for n in dense]
        names += [f"cue:{w}" for w in CUE_WORDS] if self.cue_words else []
        names += [f"pair:{n}" for n in EMBED_NAMES] if self.embedding_model else []
        if self.embedding_model and self.embedding_interactions:
            width = len(self.mean_) - len(names)  # the product block ends the dense block
            names += [f"embx:{i}" for i in range(width)]
        if self.claim_vectorizer_ is not None:
            names += [f"claim:{t}" for t in self.claim_vectorizer_.get_feature_names_out()]
        if self.near_vectorizer_ is not None:
            names += [f"near:{t}" for t in self.near_vectorizer_.get_feature_names_out()]
        return np.asarray(names, dtype=object)
