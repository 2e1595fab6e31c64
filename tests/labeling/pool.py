"""A small synthetic archive for labelling tests: written on the fly, never corpus text.

Articles about NATO enlargement carry words typical of their label (so a model can
learn them); unrelated articles mention other things. Outlets and years vary so
the cold start's spread over strata can be checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LABELS = ("favor", "against", "neutral", "unrelated")
WORDS = {
    "favor": ["welcome", "strengthens", "security", "democracy", "historic", "success"],
    "against": ["provocation", "dangerous", "reckless", "escalation", "threat", "mistake"],
    "neutral": ["reported", "ministers", "meeting", "said", "discussed", "statement"],
    "unrelated": ["football", "recipe", "weather", "election", "market", "concert"],
}
OUTLETS = ("Daily A", "Times B", "Herald C", "Post D")
NATO_FILE = """name: nato
targets: [NATO enlargement, NATO expansion]
aliases: [NATO, North Atlantic Treaty Organization, alliance, Stoltenberg, enlargement, accession]
"""


def make_pool(n: int = 60, seed: int = 0) -> list[dict]:
    """``n`` articles, labels cycling through LABELS with ``favor`` rarer."""
    rng = np.random.default_rng(seed)
    cycle = [
        "unrelated",
        "neutral",
        "against",
        "unrelated",
        "neutral",
        "favor",
        "unrelated",
        "against",
    ]
    rows = []
    for i in range(n):
        label = cycle[i % len(cycle)]
        words = rng.choice(WORDS[label], size=12)
        topic = "NATO enlargement" if label != "unrelated" else "the city council"
        sentences = [
            f"Officials spoke about {topic} on Monday.",
            " ".join(words[:6]).capitalize() + ".",
            "The alliance and Stoltenberg were mentioned."
            if label != "unrelated"
            else "Nothing else happened.",
            " ".join(words[6:]).capitalize() + ".",
        ]
        rows.append(
            {
                "doc_id": f"a{i:03d}",
                "headline": f"Story {i} on {topic}",
                "body": " ".join(sentences[:2]) + "\n\n" + " ".join(sentences[2:]),
                "outlet": OUTLETS[i % len(OUTLETS)],
                "published": f"{2015 + i % 5}-0{1 + i % 9}-1{i % 9}",
                "gold": label,
            }
        )
    return rows


def write_pool(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path
