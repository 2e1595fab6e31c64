"""A tiny randomly initialised BERT encoder written to a folder (no download).

Shared by the transformer tests; it holds no tests itself. The vocabulary is
the lower-cased words of the synthetic run-directory corpus plus BERT's
special tokens, so the WordPiece tokenizer maps the test texts to real ids.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.run_dir_fixtures import TARGET, make_run_dir, training_data

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tiny_encoder(folder: Path, *, safetensors: bool = True) -> Path:
    """Write config, weights and tokenizer of a 1-layer, 16-wide BERT to ``folder``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    X, _ = training_data()
    words = set(re.findall(r"\w+|[^\w\s]", " ".join([*X["text"], TARGET]).lower()))
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(SPECIAL + sorted(words))}
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(SPECIAL) + len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder, safe_serialization=safetensors)
    if not safetensors:  # transformers 5 always writes safetensors: make the pickled one
        for path in folder.glob("*.safetensors"):
            path.unlink()
        torch.save(BertModel(config).state_dict(), folder / "pytorch_model.bin")
    return folder


def save_encoder_run(classifier, folder: Path) -> Path:
    """A run directory whose model.skops is clean -> raw -> ``classifier`` (already fitted)."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from stance.data.clean import TextCleaner
    from stance.models.io import save_model

    run = make_run_dir(folder)
    X, _ = training_data()
    front = [("clean", TextCleaner().fit(X)), ("features", FunctionTransformer().fit(X))]
    save_model(Pipeline([*front, ("clf", classifier)]), run / "model.skops")
    return run
