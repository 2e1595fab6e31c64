"""What a user's file is and whether it can be read: format, compression, encoding.

Shared by every reader of tabular input — training's ``data=file``
(:mod:`stance.data.files`), ``stance predict`` and ``stance tag``
(:mod:`stance.data.stream`) — so a file name means the same format everywhere
and a bad file gets the same message.

File names → formats: ``.csv``; ``.tsv`` / ``.tab``; ``.jsonl`` / ``.ndjson``
/ ``.json`` (all three are **JSON records**: one object per line, or a file
holding one array of objects); ``.parquet`` / ``.pq``; each of the text
formats may be compressed (``.gz``, ``.bz2``, ``.xz``).
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma
from pathlib import Path

from stance.errors import DataError

__all__ = [
    "COMPRESSIONS",
    "FORMATS",
    "TEXT_FORMATS",
    "EncodingError",
    "check_encoding",
    "detect_format",
    "find_bad_json_line",
    "find_undecodable",
    "json_layout",
    "open_binary",
]

#: ``format`` values; ``json`` is an alias of ``jsonl`` (the same JSON records).
FORMATS = ("auto", "csv", "tsv", "jsonl", "json", "parquet", "json_dir", "hf_disk", "hf_hub")
#: Formats read as text, hence with an encoding.
TEXT_FORMATS = frozenset({"csv", "tsv", "jsonl", "json"})
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SUFFIXES = (
    (".csv", "csv"),
    (".tsv", "tsv"),
    (".tab", "tsv"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "jsonl"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
)


class EncodingError(DataError):
    """A text file holds bytes that are not valid in the encoding it is read with."""


def _compression(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return suffix if suffix in COMPRESSIONS else None


def open_binary(path: str | Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when its name ends in ``.gz`` / ``.bz2`` / ``.xz``."""
    path = Path(path)
    opener = COMPRESSIONS.get(_compression(path) or "", open)
    return opener(path, "rb")  # type: ignore[return-value]


def detect_format(path: str | Path, fmt: str | None = "auto") -> str:
    """Resolve ``fmt`` (``None`` or ``"auto"``: from the path) to one of :data:`FORMATS`.

    ``json`` comes back as ``jsonl``: both mean JSON records.
    """
    fmt = fmt or "auto"
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; known: {list(FORMATS)}")
    if fmt != "auto":
        return "jsonl" if fmt == "json" else fmt
    p = Path(path)
    if p.is_dir():
        if (p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists():
            return "hf_disk"
        if any(p.glob("*.parquet")):
            return "parquet"
        if any(p.glob("*.json")):
            return "json_dir"
        raise DataError(
            f"{p} is a directory but holds neither *.json / *.parquet files nor a dataset "
            "saved with save_to_disk"
        )
    name = p.name.lower()
    if _compression(p):
        name = name[: -len(p.suffix)]
    for suffix, kind in _SUFFIXES:
        if name.endswith(suffix):
            return kind
    if not p.exists():
        # "owner/name" without a local file: a Hugging Face hub dataset.
        text = str(path)
        if text.count("/") <= 1 and not text.startswith((".", "/", "~")) and "." not in p.name:
            return "hf_hub"
        raise DataError(f"missing file {p}")
    raise DataError(
        f"cannot tell the format of {p} from its name; set the format to one of "
        f"{['csv', 'tsv', 'jsonl', 'parquet']}"
    )


def find_undecodable(
    path: str | Path, encoding: str = "utf-8", limit: int | None = None
) -> str | None:
    """Describe the first byte of ``path`` not valid in ``encoding`` (offset, line), or ``None``.

    ``limit``: look at the first ``limit`` (decompressed) bytes only.
    """
    path = Path(path)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    line = 1
    try:
        with open_binary(path) as handle:
            while chunk := handle.read(1 << 20 if limit is None else min(1 << 20, limit - offset)):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start
                    line += chunk[: exc.start].count(b"\n")
                    where = " (in the decompressed stream)" if _compression(path) else ""
                    return (
                        f"{path}: byte 0x{chunk[exc.start]:02x} at offset {bad}{where}, "
                        f"line {line}, is not valid {encoding}"
                    )
                line += chunk.count(b"\n")
                offset += len(chunk)
                if limit is not None and offset >= limit:
                    return None
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"{path}: the file ends inside a multi-byte {encoding} character (truncated?)"
    except (OSError, EOFError) as exc:
        return f"{path}: cannot read the file ({exc}); is it truncated or not really compressed?"
    return None


def check_encoding(
    path: str | Path, encoding: str = "utf-8", option: str = "--encoding", limit: int | None = None
) -> None:
    """Raise :class:`EncodingError` naming the file, the byte and the fix if ``path`` is not
    ``encoding`` text. ``option`` is how the user sets the encoding (``--encoding``,
    ``data.encoding=``)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r} ({option})") from None
    problem = find_undecodable(path, encoding, limit)
    if problem is None:
        return
    if "is not valid" in problem:
        suggest = "cp1252" if encoding.replace("-", "").lower() == "latin1" else "latin-1"
        sep = "" if option.endswith("=") else " "
        problem += (
            f"; the file is in another encoding: pass {option}{sep}{suggest} (or whichever it "
            f"is, e.g. cp1252), or re-save it as {encoding}"
        )
    raise EncodingError(problem)


def json_layout(path: str | Path, encoding: str = "utf-8") -> str:
    """``"array"`` when the file holds one JSON array of records, else ``"lines"``."""
    with open_binary(path) as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                first = stripped[:4].decode(encoding, "ignore").lstrip("\ufeff")
                return "array" if first.startswith("[") else "lines"
    return "lines"


def json_error(exc: json.JSONDecodeError) -> str:
    """``json``'s message with its column ("Unterminated string starting at column 9")."""
    message = exc.msg.removesuffix(" at")
    return f"{message} at column {exc.colno}"


def find_bad_json_line(path: str | Path, encoding: str = "utf-8") -> str | None:
    """Describe the first JSON-lines record that does not parse (line number, truncation)."""
    path = Path(path)
    try:
        with open_binary(path) as handle:
            lines = handle.read().decode(encoding).split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        return f"{path}: cannot read the file ({exc})"
    if json_layout(path, encoding) == "array":
        try:
            json.loads("\n".join(lines))
        except json.JSONDecodeError as exc:
            return f"{path}: line {exc.lineno} is not valid JSON: {json_error(exc)}"
        return None
    last = max((i for i, text in enumerate(lines) if text.strip()), default=-1)
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = " (the file looks truncated mid-line)" if number - 1 == last else ""
            return f"{path}: line {number} is not valid JSON{hint}: {json_error(exc)}"
        if not isinstance(record, dict):
            return f"{path}: line {number} is a JSON {type(record).__name__}, expected an object"
    return None
