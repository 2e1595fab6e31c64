"""Actor-aware features: alias lexicons, target / relation windows, conditioned n-grams.

Stance is about a target, and a news article talks about many actors. These
transformers look at the sentences that mention the target (or its aliases)
and keep their n-grams apart from the rest of the article.

The alias lexicon is loaded at *config time* (``load_actor_lexicon``, used as a
nested Hydra node) and stored as plain dicts / lists in the estimator's params,
so a saved model carries its own aliases and does not depend on ``conf/``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from stance.data.sentences import split_sentences  # noqa: F401 - re-exported for callers
from stance.features._util import ModelInputMixin, check_frame, plain
from stance.features.text import fit_vectorizer, make_tfidf
from stance.serialization import CompactVocabularyMixin

Lexicon = dict[str, dict[str, dict[str, list[str]]]]


def actors_dir() -> Path:
    """Directory with the shipped alias files (``conf/actors``)."""
    from stance.paths import conf_dir

    return conf_dir() / "actors"


def load_actor_lexicon(names: Sequence[str] | None = None, directory: str | None = None) -> Lexicon:
    """Read alias files into a plain, self-contained lexicon.

    Parameters
    ----------
    names:
        File stems under ``directory`` (``russia``, ``united_states``,
        ``ru_us_rapprochement``); ``None`` loads every file.
    directory:
        Where the YAML files are; default ``conf/actors``.

    Returns
    -------
    ``{"actors": {name: {"targets": [...], "aliases": [...]}},
    "relations": {name: {"targets": [...], "sides": [actor, actor]}}}``.
    A relation's sides must be actor files loaded alongside it.
    """
    folder = Path(directory) if directory else actors_dir()
    paths = (
        sorted(folder.glob("*.yaml"))
        if names is None
        else [folder / f"{n}.yaml" for n in plain(names)]
    )
    lexicon: Lexicon = {"actors": {}, "relations": {}}
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"actor file {path} not found (have: "
                f"{sorted(p.stem for p in folder.glob('*.yaml'))})"
            )
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        name = str(spec.get("name", path.stem))
        targets = [str(t) for t in spec.get("targets", [])]
        if "sides" in spec:
            lexicon["relations"][name] = {
                "targets": targets,
                "sides": [str(s) for s in spec["sides"]],
            }
        else:
            aliases = [str(a) for a in spec.get("aliases", [])]
            lexicon["actors"][name] = {"targets": targets or [name], "aliases": aliases}
    for name, rel in lexicon["relations"].items():
        missing = [s for s in rel["sides"] if s not in lexicon["actors"]]
        if missing:
            raise ValueError(f"relation {name!r}: side(s) {missing} have no actor file loaded")
    return lexicon


def _norm(s: str) -> str:
    return re.sub(r"[\s\-–—_]+", " ", s.strip().lower())


def content_words(target: str) -> list[str]:
    """Fallback aliases for a target with no alias file: its content words."""
    words = re.findall(r"\w+", target)
    out = [w for w in words if len(w) > 2 and w.lower() not in ENGLISH_STOP_WORDS]
    return out or ([target] if target.strip() else [])


@functools.lru_cache(maxsize=256)
def alias_pattern(aliases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for an alias list: acronyms (all caps, ≤ 5 chars) case-sensitive,
    everything else case-insensitive, whole words only. Cached at module level,
    never stored on an estimator (compiled regexes do not serialise)."""
    parts = []
    for alias in sorted({a for a in aliases if a.strip()}, key=len, reverse=True):
        body = re.escape(alias.strip()).replace(r"\ ", r"\s+")
        letters = re.sub(r"[^A-Za-z]", "", alias)
        acronym = letters.isupper() and len(letters) <= 5
        parts.append(body if acronym else f"(?i:{body})")
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


def resolve_target(target: str, lexicon: Mapping[str, Any] | None) -> list[list[str]]:
    """Alias groups for ``target``: one group for an actor, two for a relation.

    Unknown targets fall back to the target string's content words.
    """
    key = _norm(target)
    lexicon = lexicon or {}
    actors = lexicon.get("actors", {}) or {}
    for name, rel in (lexicon.get("relations", {}) or {}).items():
        if key == _norm(name) or key in {_norm(t) for t in rel.get("targets", [])}:
            return [
                list(actors[s]["aliases"]) + list(actors[s].get("targets", []))
                for s in rel["sides"]
            ]
    for name, actor in actors.items():
        if key == _norm(name) or key in {_norm(t) for t in actor.get("targets", [])}:
            return [list(actor["aliases"]) + list(actor.get("targets", []))]
    return [content_words(target)]


def window_mask(
    sentences: Sequence[str], groups: Sequence[Sequence[str]], context: int, mode: str = "target"
) -> np.ndarray:
    """Which sentences fall in a window.

    ``mode="target"``: sentences mentioning any alias group (± ``context``).
    ``mode="relation"``: sentences mentioning *every* group (both sides of a
    relation) ± ``context``; with a single group this equals ``"target"``.
    """
    n = len(sentences)
    hits = np.zeros((len(groups), n), dtype=bool)
    for g, aliases in enumerate(groups):
        pattern = alias_pattern(tuple(aliases))
        if pattern is None:
            continue
        hits[g] = [bool(pattern.search(s)) for s in sentences]
    if mode == "relation":
        core = hits.all(axis=0) if len(groups) else np.zeros(n, bool)
    elif mode == "target":
        core = hits.any(axis=0) if len(groups) else np.zeros(n, bool)
    else:
        raise ValueError(f"mode must be 'target' or 'relation', got {mode!r}")
    mask = core.copy()
    for shift in range(1, max(int(context), 0) + 1):
        mask[shift:] |= core[:-shift]
        mask[:-shift] |= core[shift:]
    return mask


def split_windows(
    text: str,
    title: str,
    target: str,
    lexicon: Mapping[str, Any] | None,
    context: int = 1,
    mode: str = "target",
    include_title: bool = True,
) -> tuple[str, str]:
    """``(window_text, rest_text)`` for one document. The title counts as a sentence."""
    sentences = ([title] if include_title and title.strip() else []) + split_sentences(text)
    if not sentences:
        return "", ""
    groups = resolve_target(target, lexicon)
    mask = window_mask(sentences, groups, context, mode)
    inside = " \n".join(s for s, m in zip(sentences, mask, strict=False) if m)
    outside = " \n".join(s for s, m in zip(sentences, mask, strict=False) if not m)
    return inside, outside


def _frame_windows(
    X: pd.DataFrame, lexicon, context, mode, include_title
) -> tuple[list[str], list[str]]:
    text = X["text"].fillna("").astype(str).tolist()
    title = (
        (X["title"] if "title" in X else pd.Series([""] * len(X))).fillna("").astype(str).tolist()
    )
    target = (
        (X["target"] if "target" in X else pd.Series([""] * len(X))).fillna("").astype(str).tolist()
    )
    pairs = [
        split_windows(a, b, c, lexicon, context, mode, include_title)
        for a, b, c in zip(text, title, target, strict=False)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


class TargetWindowTfidf(ModelInputMixin, CompactVocabularyMixin, TransformerMixin, BaseEstimator):
    """Target-conditioned n-grams: TF-IDF of the sentences that mention the target,
    kept apart from TF-IDF of the rest of the document.

    When to use: long documents that discuss several actors (news articles,
    BASIL, the rapprochement corpus) — the evaluative words near a mention of
    the target say more about stance toward *it* than the article as a whole.
    For short texts (tweets) every sentence is a window; prefer
    :class:`TargetConditioned` there.

    Parameters
    ----------
    lexicon:
        Output of :func:`load_actor_lexicon` (plain dict). ``None``: every target
        falls back to its own content words.
    context:
        Sentences of context on each side of a mention.
    mode:
        ``"target"`` (sentences mentioning the target or, for a relation, either
        side) or ``"relation"`` (sentences mentioning both sides).
    keep_rest:
        Also emit a separate block for the sentences outside the windows.
    include_title:
        Count the title as the document's first sentence.
    analyzer, ngram_range, min_df, max_df, max_features, sublinear_tf:
        As in :class:`~sklearn.feature_extraction.text.TfidfVectorizer`.

    Attributes
    ----------
    window_vectorizer_ : TfidfVectorizer
        Fitted on the window sentences.
    rest_vectorizer_ : TfidfVectorizer or None
        Fitted on the other sentences (``None`` unless ``keep_rest``).
    n_features_in_ : int
        Number of columns of the frame seen in ``fit``.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"text": ["Putin spoke. Rain fell.", "Putin left. Sun shone."],
    ...                   "title": ["", ""], "target": ["Russia", "Russia"]})
    >>> lexicon = {"actors": {"russia": {"targets": ["Russia"], "aliases": ["Putin"]}}}
    >>> features = TargetWindowTfidf(lexicon, context=0, min_df=1).fit(X)
    >>> [n for n in features.get_feature_names_out() if n.startswith("win:")]
    ['win:left', 'win:putin left', 'win:putin spoke', 'win:spoke']
    """

    _vectorizer_attributes = ("window_vectorizer_", "rest_vectorizer_")
    _parameter_constraints: dict = {
        "lexicon": [Mapping, None],
        "context": [Interval(Integral, 0, None, closed="left")],
        "mode": [StrOptions({"target", "relation"})],
        "keep_rest": ["boolean"],
        "include_title": ["boolean"],
        "analyzer": [StrOptions({"word", "char", "char_wb"})],
        "ngram_range": [Sequence],
        "min_df": TfidfVectorizer._parameter_constraints["min_df"],
        "max_df": TfidfVectorizer._parameter_constraints["max_df"],
        "max_features": TfidfVectorizer._parameter_constraints["max_features"],
        "sublinear_tf": ["boolean"],
    }

    def __init__(
        self,
        lexicon: Mapping[str, Any] | None = None,
        context: int = 1,
        mode: str = "target",
        keep_rest: bool = True,
        include_title: bool = True,
        analyzer: str = "word",
        ngram_range: Sequence[int] = (1, 2),
        min_df: int | float = 2,
        max_df: float = 0.9,
        max_features: int | None = 100000,
        sublinear_tf: bool = True,
    ):
        self.lexicon = lexicon
        self.context = context
        self.mode = mode
        self.keep_rest = keep_rest
        self.include_title = include_title
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _vec(self) -> TfidfVectorizer:
        return make_tfidf(
            self.analyzer,
            self.ngram_range,
            min_df=self.min_df,
            max_df=self.max_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
        )

    def _windows(self, X):
        check_frame(self, X, ["text"])
        return _frame_windows(X, plain(self.lexicon), self.context, self.mode, self.include_title)

    def fit(self, X: pd.DataFrame, y=None) -> TargetWindowTfidf:
        """Split each document into window / rest sentences and fit a vectoriser on each."""
        self._validate_params()
        check_frame(self, X, ["text"], reset=True)
        inside, outside = self._windows(X)
        self.window_vectorizer_ = fit_vectorizer(self._vec(), inside)
        self.rest_vectorizer_ = fit_vectorizer(self._vec(), outside) if self.keep_rest else None
        return self

    def transform(self, X: pd.DataFrame):
        """``[window block, rest block]`` TF-IDF rows (CSR)."""
        check_is_fitted(self)
        inside, outside = self._windows(X)
        blocks = [self.window_vectorizer_.transform(inside)]
        if self.rest_vectorizer_ is not None:
            blocks.append(self.rest_vectorizer_.transform(outside))
        return sp.hstack(blocks, format="csr")

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        return self.fit(X).transform(X)

    def get_feature_names_out(self, input_features=None):
        """``"win:<n-gram>"`` then ``"rest:<n-gram>"`` per output column."""
        check_is_fitted(self)
        names = [f"win:{n}" for n in self.window_vectorizer_.get_feature_names_out()]
        if self.rest_vectorizer_ is not None:
            names += [f"rest:{n}" for n in self.rest_vectorizer_.get_feature_names_out()]
        return np.asarray(names, dtype=object)


class TargetConditioned(ModelInputMixin, TransformerMixin, BaseEstimator):
    """Per-target copies of another transformer's features ("feature augmentation").

    Output = ``[shared block, block for target 1, ..., block for target T]``
    where the block for target *t* is the base features on rows whose target is
    *t* and zero elsewhere. A linear model on top learns shared weights plus a
    per-target correction — per-target models inside one pooled estimator, so
    it fits the ``features -> clf`` pipeline contract. Unseen targets at predict
    time get only the shared block.

    When to use: corpora with several targets whose stance vocabulary differs
    (SemEval-2016 / TweetEval: "pro-life" is *against* abortion but says nothing
    about climate). Not needed for single-target corpora.

    Parameters
    ----------
    base:
        Any transformer of the model-input frame (e.g. :class:`NgramTfidf` or a
        ``FeatureUnion`` of them).
    shared:
        Keep the shared (target-independent) block.
    shared_weight:
        Multiplier of the shared block (relative regularisation of shared vs
        per-target weights).
    max_targets:
        Refuse (``ValueError`` in ``fit``) more distinct targets than this: the
        width is (targets + 1) x the base's, so per-row free-text targets
        (claims) would grow it without bound; use ``ClaimPairFeatures`` there.
        ``None``: no limit.

    Attributes
    ----------
    base_ : transformer
        The fitted clone of ``base`` (an :class:`NgramTfidf` when ``base`` is ``None``).
    targets_ : list of str
        The targets seen in ``fit``, one block each.
    n_features_in_ : int
        Number of columns of the frame seen in ``fit``.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> import pandas as pd
    >>> from stance.features.text import NgramTfidf
    >>> X = pd.DataFrame({"text": ["good deal", "bad deal"], "title": ["", ""], "target": ["a", "b"]})
    >>> TargetConditioned(NgramTfidf(min_df=1)).fit_transform(X).shape  # 5 n-grams x (shared + 2 targets)
    (2, 15)
    """

    _parameter_constraints: dict = {
        "base": [HasMethods(["fit", "transform"]), None],
        "shared": ["boolean"],
        "shared_weight": [Interval(Real, 0, None, closed="left")],
        "max_targets": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        base: Any = None,
        shared: bool = True,
        shared_weight: float = 1.0,
        max_targets: int | None = 50,
    ):
        self.base = base
        self.shared = shared
        self.shared_weight = shared_weight
        self.max_targets = max_targets

    def _base(self):
        if self.base is None:
            from stance.features.text import NgramTfidf

            return NgramTfidf()
        return self.base

    def fit(self, X: pd.DataFrame, y=None) -> TargetConditioned:
        """Fit the base transformer on all rows and record the targets."""
        self._validate_params()
        check_frame(self, X, ["target"], reset=True)
        targets = sorted(X["target"].fillna("").astype(str).unique().tolist())
        from stance.target_checks import too_many_targets

        problem = too_many_targets(len(targets), self.max_targets)
        if problem:
            raise ValueError(problem)
        self.base_ = clone(self._base())
        self.base_.fit(X, y)
        self.targets_ = targets
        return self

    def transform(self, X: pd.DataFrame):
        """``[shared block, block per fitted target]`` (CSR)."""
        check_is_fitted(self)
        check_frame(self, X, ["target"])
        Z = sp.csr_matrix(self.base_.transform(X))
        targets = X["target"].fillna("").astype(str).to_numpy()
        blocks = [Z * float(self.shared_weight)] if self.shared else []
        for t in self.targets_:
            blocks.append(sp.diags((targets == t).astype(np.float64)) @ Z)
        return sp.hstack(blocks, format="csr")

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        return self.fit(X, y).transform(X)


def make_union(
    blocks: Mapping[str, Any], weights: Mapping[str, float] | None = None, n_jobs: int | None = None
):
    """Hydra factory: a :class:`sklearn.pipeline.FeatureUnion` from a name → transformer map.

    When to use: combine feature blocks in config, e.g. word + char n-grams +
    lexicon features. Each block is a nested ``_target_`` node.
    """
    from sklearn.pipeline import FeatureUnion

    items: Iterable[tuple[str, Any]] = [(str(k), v) for k, v in dict(blocks).items()]
    return FeatureUnion(
        list(items), transformer_weights=plain(weights) and dict(plain(weights)), n_jobs=n_jobs
    )
