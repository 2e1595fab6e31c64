"""Save and load fitted pipelines safely.

Model files get shared between researchers, so loading one must never run
foreign code. Pipelines are stored with skops (a zip of JSON + arrays, no
pickle); at load time every type the file names is checked against an
allow-list: what skops trusts by default (scikit-learn, NumPy, SciPy) plus
classes and functions *defined in* the project's own ``stance.`` modules.
Anything else, and any pickle/joblib file, is refused unless the caller passes
``trusted=True`` explicitly.
"""

from __future__ import annotations

import importlib
import inspect
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

from stance.errors import ModelFileError

#: Leading bytes of formats that unpickle (i.e. can execute code) when loaded.
_PICKLE_MAGICS: tuple[bytes, ...] = (
    b"\x80",  # pickle protocol >= 2 (joblib's uncompressed format too)
    b"\x1f\x8b",  # gzip (joblib compress=gzip)
    b"x\x01",
    b"x\x5e",
    b"x\x9c",
    b"x\xda",  # zlib (joblib's default compression)
    b"BZh",  # bz2
    b"\xfd7zXZ",  # xz / lzma
    b"\x04\x22\x4d\x18",  # lz4
    b"ZF",  # joblib's own zlib-file header
)
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".sav", ".pck", ".p"}
_ZIP_MAGIC = b"PK\x03\x04"
#: scikit-learn internals skops handles safely but does not list by default:
#: fitted trees inside random forests / (histogram) gradient boosting (model=hgb), the per-fold
#: calibrators (plus their Bunch of parameters) inside a CalibratedClassifierCV,
#: which CalibratedLinearSVC (model=svm, voting, stacking) holds.
_EXTRA_TRUSTED = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.utils._bunch.Bunch",
    }
)
#: Module prefix of project code whose classes may appear in a model file.
_PROJECT_PREFIX = "stance."


def _skops_io() -> Any:
    """``skops.io``, imported without its seconds of start-up (see :mod:`.skops_import`)."""
    from stance.models.skops_import import import_skops_io

    return import_skops_io()


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (the only portable way to read it)
    os.umask(mask)
    return mask


def save_model(pipeline: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``pipeline`` to ``path`` in skops format, atomically.

    The file is written to a temporary name in the same directory and moved
    into place with :func:`os.replace`, so a crash never leaves a truncated
    model where a good one was expected.
    """
    sio = _skops_io()

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        sio.dump(pipeline, tmp_name)
        # mkstemp creates 0600; a shared model must be as readable as any file the user writes.
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def sniff_format(path: str | os.PathLike[str]) -> str:
    """Return ``"skops"``, ``"pickle"`` or ``"unknown"`` from the file's first bytes.

    Only the header is read; nothing is deserialised.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_ZIP_MAGIC):
        return "skops"
    if path.suffix.lower() in _PICKLE_SUFFIXES or any(head.startswith(m) for m in _PICKLE_MAGICS):
        return "pickle"
    return "unknown"


def _is_project_type(name: str) -> bool:
    """True when ``name`` resolves to a class/function *defined* in a ``stance.`` module.

    Checking where the object is defined (not just the dotted prefix) stops a
    file from smuggling in e.g. ``stance.some_module.os.system`` through a
    re-exported name.
    """
    if not name.startswith(_PROJECT_PREFIX) or "__main__" in name:
        return False
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - unknown module: simply not trusted
        return False
    obj = getattr(module, attr, None)
    if obj is None or not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return False
    return getattr(obj, "__module__", "") == module_name


def untrusted_types(path: str | os.PathLike[str]) -> list[str]:
    """Types in a skops file outside the allow-list (skops defaults + project code)."""
    sio = _skops_io()
    try:
        names = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged file
        raise ModelFileError(
            f"{path}: not a readable skops model file ({type(exc).__name__}: {exc}); "
            "it may be truncated or corrupt - re-save or re-download it"
        ) from exc
    return [name for name in names if name not in _EXTRA_TRUSTED and not _is_project_type(name)]


def load_pipeline(path: str | os.PathLike[str], trusted: bool = False) -> Any:
    """Load a fitted pipeline, refusing anything that could execute code.

    Parameters
    ----------
    path:
        A ``.skops`` file (or, with ``trusted=True`` only, a pickle/joblib file).
    trusted:
        Load types outside the allow-list, and pickle/joblib files. Only for
        files you created yourself or whose origin you trust: loading them can
        run arbitrary code.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    kind = sniff_format(path)
    if kind != "skops":
        if kind == "unknown" and not trusted:
            raise ModelFileError(
                f"{path}: not a skops model file (empty, corrupt or an unknown format); "
                "models are saved as .skops zip files by stance-run"
            )
        what = "a pickle/joblib file"
        if not trusted:
            raise ModelFileError(
                f"{path}: refusing to load {what}: unpickling can run arbitrary code. "
                "Re-save the model with stance.models.io.save_model (skops), or, only if "
                "you made this file yourself, pass trusted=True / --trust."
            )
        import joblib

        warnings.warn(
            f"loading {path} with joblib/pickle because trusted=True was given: "
            "this executes any code the file contains",
            UserWarning,
            stacklevel=2,
        )
        try:
            return joblib.load(path)
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"{path}: could not load ({type(exc).__name__}: {exc})") from exc

    sio = _skops_io()
    refused = untrusted_types(path)
    if refused and not trusted:
        raise ModelFileError(
            f"{path}: refusing to load types outside the allow-list: {', '.join(sorted(refused))}. "
            "Only scikit-learn/NumPy/SciPy types and the stance package's own classes are "
            "trusted; pass trusted=True / --trust only if you trust the file's origin."
        )
    allowed = sio.get_untrusted_types(file=path)  # already validated above
    try:
        return sio.load(path, trusted=allowed)
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError, TypeError) as exc:
        raise ModelFileError(
            f"{path}: model file is corrupt or was written by an incompatible version "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    except ImportError as exc:
        raise ModelFileError(
            f"{path}: the model needs code that is not installed ({exc}); install the stance "
            "version listed in its model card"
        ) from exc
