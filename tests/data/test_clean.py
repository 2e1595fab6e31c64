"""The article cleaner: boilerplate out, substance in, idempotent on any Unicode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stance.data.clean import TextCleaner, clean_article
from tests.paths import SEED_DOCUMENT

SEED = SEED_DOCUMENT
TITLE = "The Senator gave a letter to the Kremlin trump Putin"


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip("shared seed document not available")
    return SEED.read_text(encoding="utf-8")


def test_seed_document_boilerplate_removed(seed_text: str):
    cleaned = clean_article(seed_text)
    assert cleaned.count(TITLE) == 1
    assert "Read more" not in cleaned
    assert "HelpWhat you need to know" not in cleaned
    assert not cleaned.rstrip().endswith("Even Donald trump.")
    # substantive paragraphs stay, paragraph breaks kept
    assert "Rand Paul sent a letter" in cleaned
    assert "The Senator from Kentucky, Paul is against the American policy" in cleaned
    assert "after a completed investigation" in cleaned
    assert "\n\n" in cleaned and "\n\n\n" not in cleaned
    # curly quotes straightened
    assert "\u201c" not in cleaned and '"through diplomatic channels,"' in cleaned
    assert clean_article(cleaned) == cleaned


def test_title_given_drops_headline_at_top(seed_text: str):
    cleaned = clean_article(seed_text, title=TITLE)
    assert TITLE not in cleaned
    assert cleaned.startswith("U.S. Senator Rand Paul")


@pytest.mark.parametrize(
    "line",
    [
        "Read more",
        "Read more: Senate votes on sanctions",
        "Share this article",
        "Subscribe to our newsletter",
        "Follow us on Twitter",
        "By John Smith",
        "Photo: Getty Images",
        "(Photo by Alex Wong/Getty Images)",
        "Advertisement",
        "HelpWhat you need to know about the trade war",
    ],
)
def test_boilerplate_lines(line: str):
    body = "The talks resumed on Monday in Geneva after a long pause between the delegations."
    assert clean_article(f"{body}\n\n{line}\n\n{body} Again.") == f"{body}\n\n{body} Again."


def test_rules_can_be_switched_off():
    text = "Real paragraph with enough words to stay here.\n\nRead more"
    assert clean_article(text, read_more=False, trailing_fragment_words=0).endswith("Read more")
    assert clean_article("He said \u201chi\u201d", quotes=False) == "He said \u201chi\u201d"
    assert clean_article("\ufb01ne", unicode=False) == "\ufb01ne"
    assert clean_article("\ufb01ne") == "fine"  # NFKC


def test_whitespace_normalised_paragraphs_kept():
    text = "  First   para\tline.  \r\n\r\n\r\n Second\u00a0para here now. \n\n\n\n"
    assert clean_article(text) == "First para line.\n\nSecond para here now."


def test_never_empty_from_single_short_paragraph():
    assert clean_article("Yes.") == "Yes."
    assert clean_article("") == ""
    assert clean_article(None) == ""  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_idempotent_on_any_unicode(text: str):
    once = clean_article(text)
    assert isinstance(once, str)
    assert clean_article(once) == once


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Headline here",
                "Read more",
                "HelpNav",
                "By Ann Lee",
                "Body text with many words in it.",
                "Share",
                "\u201cQuoted\u201d words",
                "Short.",
                "\n",
                "  ",
                "\u2028",
                "\ufb01",
            ]
        ),
        max_size=12,
    ),
    st.sampled_from(["", "Headline here"]),
)
def test_idempotent_on_article_like_input(parts: list[str], title: str):
    text = "\n\n".join(parts)
    once = clean_article(text, title=title)
    assert clean_article(once, title=title) == once


def test_text_cleaner_is_a_stateless_transformer_and_skops_safe(tmp_path: Path):
    from sklearn.base import clone

    frame = pd.DataFrame(
        {"text": ["Body of it all here.\n\nRead more"], "title": ["\u201cT\u201d"], "target": ["x"]}
    )
    cleaner = TextCleaner(bylines=False)
    out = cleaner.fit(frame).transform(frame)
    assert out["text"][0] == "Body of it all here."
    assert out["title"][0] == '"T"'
    assert out["target"][0] == "x"
    assert frame["text"][0].endswith("Read more")  # input untouched
    assert clone(cleaner).get_params()["bylines"] is False
    assert TextCleaner(enabled=False).transform(frame) is frame

    import skops.io as sio

    path = tmp_path / "cleaner.skops"
    sio.dump(cleaner, path)
    untrusted = sio.get_untrusted_types(file=path)
    loaded = sio.load(path, trusted=untrusted)
    pd.testing.assert_frame_equal(loaded.transform(frame), out)
