"""Feature transformers: each takes the model-input frame (text, title, target)."""
