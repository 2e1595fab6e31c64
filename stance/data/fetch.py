"""Getting corpora into the data directory, and checking they are intact.

``fetch`` downloads the upstream repository archive at the pinned commit (or
takes a local copy), lays it out as the loaders expect, and writes
``SHA256SUMS``; ``verify`` re-hashes every file against ``SHA256SUMS``.
Downloads go to a temporary file and are moved into place only when complete,
so an interrupted fetch never leaves a half-written corpus.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from stance.data.registry import DATASETS, Dataset
from stance.errors import DataError

CHECKSUM_FILE = "SHA256SUMS"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_checksums(folder: Path) -> dict[str, str]:
    """``SHA256SUMS`` as {relative path: digest} (``sha256sum`` format, ``./`` optional)."""
    path = folder / CHECKSUM_FILE
    if not path.exists():
        raise DataError(f"{path} is missing: cannot verify {folder.name}")
    sums = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"{path}: line {number} is not '<sha256>  <file>'")
        sums[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return sums


def write_checksums(folder: Path) -> Path:
    """Hash every file under ``folder`` into its ``SHA256SUMS``."""
    lines = [
        f"{sha256_file(p)}  ./{p.relative_to(folder).as_posix()}"
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != CHECKSUM_FILE
    ]
    target = folder / CHECKSUM_FILE
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def verify(folder: Path) -> list[str]:
    """Problems found (missing / changed files); empty when the folder matches its sums."""
    problems = []
    for relative, expected in read_checksums(folder).items():
        path = folder / relative
        if not path.exists():
            problems.append(f"missing {relative}")
        elif sha256_file(path) != expected:
            problems.append(f"checksum mismatch {relative}")
    return problems


def download(url: str, dest: Path, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``dest`` (atomically), checking its SHA-256 when given."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:  # noqa: S310
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"download of {url} failed: {exc}; are you online? (or use --from PATH)"
        ) from None
    if sha256 and digest.hexdigest() != sha256.lower():
        partial.unlink(missing_ok=True)
        raise DataError(
            f"download of {url} has SHA-256 {digest.hexdigest()}, expected {sha256}; refusing it"
        )
    partial.replace(dest)
    return dest


def extract(archive: Path, into: Path) -> Path:
    """Unpack a .tar(.gz) or .zip safely; return the single top folder (or ``into``)."""
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                names = handle.namelist()
                _check_members(names, root)
                handle.extractall(into)
        else:
            with tarfile.open(archive) as handle:
                members = [m for m in handle.getmembers() if m.isfile() or m.isdir()]
                _check_members([m.name for m in members], root)
                handle.extractall(into, members=members)  # noqa: S202 - members checked above
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{archive}: not a readable archive ({exc})") from None
    tops = [p for p in into.iterdir()]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else into


def _check_members(names: list[str], root: Path) -> None:
    for name in names:
        if not (root / name).resolve().is_relative_to(root):
            raise DataError(f"archive member {name!r} would be written outside the target folder")


# ------------------------------------------------------------ layouts (upstream → data dir)


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, dirs_exist_ok=True)


#: Layouts named by a string in :attr:`Dataset.layout`; a corpus-specific layout is a
#: function in its spec module (e.g. :func:`stance.data.corpora.allsides.layout_allsides`).
LAYOUTS: dict[str, Callable[[Path, Path], None]] = {"copy": _copy_tree}


def layout_of(dataset: Dataset) -> Callable[[Path, Path], None]:
    """The function that lays ``dataset``'s unpacked archive out."""
    if callable(dataset.layout):
        return dataset.layout
    if dataset.layout not in LAYOUTS:
        raise DataError(
            f"{dataset.name}: unknown layout {dataset.layout!r}; known: {sorted(LAYOUTS)} "
            "or a function"
        )
    return LAYOUTS[dataset.layout]


def fetch_dataset(
    dataset: Dataset, data_dir: Path, source: Path | None = None, force: bool = False
) -> Path:
    """Put ``dataset`` into ``data_dir/<name>``: from ``source`` (folder or archive) or upstream.

    A folder with its own ``SHA256SUMS`` is verified after copying; otherwise
    ``SHA256SUMS`` is written for what was laid out, so ``verify`` can later
    catch corruption.
    """
    dest = Path(data_dir) / dataset.name
    if dest.exists() and any(dest.iterdir()) and not force:
        raise DataError(f"{dest} already exists; pass --force to replace it")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=f".fetch-{dataset.name}-") as tmp:
        work = Path(tmp)
        staged = work / "staged"
        staged.mkdir()
        if source is not None and Path(source).is_dir():
            _copy_tree(Path(source), staged)
        else:
            if source is not None:
                archive = Path(source)
                if not archive.exists():
                    raise DataError(f"missing file {archive}")
            else:
                if not dataset.url:
                    raise DataError(
                        f"{dataset.name} has no public upstream to download; "
                        f"copy it with `stance data fetch {dataset.name} --from PATH`"
                    )
                archive = download(dataset.url, work / "archive", dataset.sha256)
            top = extract(archive, work / "unpacked")
            layout_of(dataset)(top, staged)
        if (staged / CHECKSUM_FILE).exists():
            problems = verify(staged)
            if problems:
                raise DataError(
                    f"{dataset.name}: {len(problems)} file(s) fail their checksums: {problems[:5]}"
                )
        else:
            write_checksums(staged)
        if dest.exists():
            shutil.rmtree(dest)
        staged.replace(dest)
    return dest


def fetch(name: str, data_dir: Path, source: Path | None = None, force: bool = False) -> Path:
    """Fetch the dataset called ``name`` (see :data:`stance.data.registry.DATASETS`)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    return fetch_dataset(DATASETS[name], data_dir, source, force)
