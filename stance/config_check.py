"""Check ``stance-run``'s command-line overrides before Hydra runs the app.

Hydra reports a typo such as ``modle=svm`` with several lines that recommend
``+modle=svm`` (which would silently add a useless key), and a value its
grammar rejects (``data.path=~/corpus.csv``) with ``LexerNoViableAltException``.
Here the overrides are parsed with Hydra's own parser and composed once with
``hydra.compose`` first; a failure becomes one :class:`OverrideError` naming
the bad override and, from :mod:`difflib` over the config groups and the
composed config's keys, the nearest valid one. ``~`` at the start of a path
value (``data.path``, ``paths.*``) is expanded, as a shell would for a plain
argument.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from stance.errors import ConfigError

#: Keys whose values are file-system paths: a leading ``~`` is expanded.
_PATH_KEY = re.compile(r"(?P<key>\+{0,2}(?:data\.path|paths\.[A-Za-z_]\w*))=(?P<value>.*)", re.S)
#: A value Hydra's grammar accepts without quotes (a conservative subset).
_BARE_VALUE = re.compile(r"[\w/.\-:+@%]+")
#: Hydra flags after which validation is pointless (Hydra prints and exits).
_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--info", "-i"}
_INFO_PREFIXES = ("--shell-completion", "-sc", "--info=")


class OverrideError(ConfigError):
    """A command-line override names no config key or group, or cannot be parsed."""


def expand_user_paths(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``~``/``~user`` expanded at the start of ``data.path`` and ``paths.*`` values.

    The shell does not expand ``~`` after ``data.path=`` (not an assignment word),
    and Hydra's grammar refuses a bare ``~``; the expanded path is quoted for
    Hydra when it holds characters its grammar would reject.
    """
    out = []
    for arg in argv:
        match = _PATH_KEY.fullmatch(arg)
        value = match["value"] if match else ""
        quote = value[:1] if value[:1] in "'\"" and value[-1:] == value[:1] else ""
        inner = value[1:-1] if quote and len(value) >= 2 else value
        if match and inner.startswith("~"):
            out.append(f"{match['key']}={_hydra_quote(os.path.expanduser(inner))}")
        else:
            out.append(arg)
    return out


def _hydra_quote(value: str) -> str:
    if _BARE_VALUE.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _split_override(raw: str) -> tuple[str, str]:
    key, _, value = raw.partition("=")
    return key, value


def _parse_error(raw: str, message: str) -> OverrideError:
    key, value = _split_override(raw)
    lines = [line for line in message.splitlines() if line.strip() and "hydra.cc" not in line]
    reason = lines[0].strip() if lines else "not valid override syntax"
    lexer = "LexerNoViableAltException: "
    caret = next((line.index("^") for line in lines if line.strip() == "^"), None)
    if reason.startswith(lexer) and caret is not None and 0 <= caret - len(lexer) < len(raw):
        reason = f"unexpected {raw[caret - len(lexer)]!r} at character {caret - len(lexer) + 1}"
    advice = (
        f"quote the value for Hydra inside shell quotes, e.g. \"{key}='{value}'\""
        if value
        else "write it as key=value"
    )
    return OverrideError(
        f"cannot read the override '{raw}' ({reason}): Hydra's grammar refuses characters "
        f"such as ~ ( ) [ ] {{ }} , = ' and spaces in a bare value; {advice}"
    )


def _walk_keys(node: Any, prefix: str = "") -> Iterable[str]:
    from omegaconf import DictConfig

    if isinstance(node, DictConfig):
        for key in node:
            name = f"{prefix}{key}"
            yield name
            child = node._get_node(key)
            if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
                yield from _walk_keys(child, f"{name}.")


def _has_key(cfg: Any, dotted: str) -> bool:
    from omegaconf import DictConfig

    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, DictConfig) or node._is_missing() or node._is_none():
            return False
        if part not in node.keys():  # noqa: SIM118 - `in node` is False for '???' values
            return False
        node = node._get_node(part)
    return True


def _all_groups(loader: Any, parent: str = "") -> list[str]:
    groups = []
    for name in loader.list_groups(parent):
        full = f"{parent}/{name}" if parent else name
        groups.append(full)
        groups.extend(_all_groups(loader, full))
    return groups


def _values(override: Any) -> list[str]:
    """The option names a group override asks for (every choice of a sweep)."""
    if override.is_sweep_override():
        try:
            return [str(v) for v in override.sweep_string_iterator()]
        except Exception:  # noqa: BLE001 - glob/interval sweeps: Hydra checks them itself
            return []
    value = override.value()
    return [] if value is None else [str(value)]


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate (case-insensitive, so ``model.c`` finds ``model.C``), or None."""
    by_lower = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


class _Checker:
    """Diagnoses which override made the composition fail, with a suggestion."""

    def __init__(self, loader: Any, config_name: str) -> None:
        self.loader = loader
        self.config_name = config_name
        self.groups = _all_groups(loader)

    def bad_group_choice(self, override: Any, raw: str) -> OverrideError | None:
        group = override.key_or_group
        options = self.loader.get_group_options(group)
        for value in _values(override):
            if value in options:
                continue
            hint = _suggest(value, options)
            did = f"did you mean {override.get_key_element()}={hint}? " if hint else ""
            return OverrideError(
                f"'{raw}': there is no {group} '{value}'; {did}"
                f"choices: {', '.join(sorted(options))}"
            )
        return None

    def bad_key(self, override: Any, raw: str, cfg: Any) -> OverrideError | None:
        key = override.key_or_group
        _, value = _split_override(raw)
        exists = _has_key(cfg, key)
        if override.is_add() and not override.is_force_add():
            if exists:
                return OverrideError(
                    f"'{raw}': {key} already exists; drop the '+' to change it: {key}={value}"
                )
            return None
        if override.is_force_add() or exists:
            return None
        fix = (lambda k: f"~{k}") if override.is_delete() else (lambda k: f"{k}={value}")
        group, choice = self._owning_group(key, cfg)
        if group is not None:
            # model.alpha under model=logreg: only that option's keys are candidates.
            prefix = group.replace("/", ".") + "."
            keys = [k for k in _walk_keys(cfg) if k.startswith(prefix)]
            rest = _suggest(key[len(prefix) :], [k[len(prefix) :] for k in keys])
            hint = prefix + rest if rest else None
            did = f"did you mean {fix(hint)}? " if hint else ""
            shown = ", ".join(k[len(prefix) :] for k in keys if "." not in k[len(prefix) :])
            return OverrideError(
                f"'{raw}': {group}={choice} has no key '{key[len(prefix) :]}'; {did}"
                f"its keys: {shown or '(none)'}; another {group} option may have it"
            )
        keys = [k for k in _walk_keys(cfg) if key.startswith("hydra") or not k.startswith("hydra")]
        top_groups = [g for g in self.groups if not g.startswith("hydra")]
        hint = _suggest(key, [*top_groups, *keys])
        did = (
            f"did you mean {fix(hint)}?"
            if hint
            else "`stance-run --cfg job` lists the keys, README.md the groups"
        )
        new = "" if override.is_delete() else f" (to add a new key on purpose: +{key}={value})"
        return OverrideError(f"'{raw}': no config key or group '{key}'; {did}{new}")

    def _owning_group(self, key: str, cfg: Any) -> tuple[str | None, str | None]:
        """The config group (and its chosen option) that ``key``'s parent node comes from."""
        parts = key.split(".")
        choices = _choices(cfg)
        for n in range(len(parts) - 1, 0, -1):
            group = "/".join(parts[:n])
            if group in self.groups and _has_key(cfg, ".".join(parts[:n])):
                return group, choices.get(group, "?")
        return None, None


def _choices(cfg: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in cfg.hydra.runtime.choices.items()}
    except Exception:  # noqa: BLE001 - composed without the hydra node
        return {}


def check_overrides(argv: Sequence[str], conf: Path, config_name: str = "config") -> list[str]:
    """Validate the Hydra command line ``argv``; return it with path ``~`` expanded.

    Raises :class:`OverrideError` (one line) for an override Hydra would refuse.
    Sweeps (``-m model=logreg,svm``) are checked choice by choice; interval
    sweeps are checked for their key only.
    """
    argv = expand_user_paths(argv)
    if any(a in _INFO_FLAGS or a.startswith(_INFO_PREFIXES) for a in argv):
        return argv
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args(argv)
    if args.config_dir or args.config_path or args.experimental_rerun:
        return argv  # a different config tree: leave it all to Hydra
    raws: list[str] = list(args.overrides or [])
    if not raws:
        return argv
    _compose_or_explain(raws, conf, args.config_name or config_name)
    return argv


def _compose_or_explain(raws: list[str], conf: Path, config_name: str) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    parser = OverridesParser.create()
    parsed = []
    for raw in raws:
        try:
            parsed.append(parser.parse_overrides([raw])[0])
        except OverrideParseException as exc:
            raise _parse_error(raw, exc.message) from None

    # One composable override per argument: a sweep stands in by its first choice;
    # interval/glob sweeps (Optuna, glob(*)) are left out and their keys checked after.
    probe, deferred = [], []
    for raw, override in zip(raws, parsed, strict=True):
        if not override.is_sweep_override():
            probe.append((raw, override, raw))
            continue
        try:
            first = next(iter(override.sweep_string_iterator()))
            probe.append((raw, override, f"{override.get_key_element()}={first}"))
        except Exception:  # noqa: BLE001
            deferred.append((raw, override))

    errors = (HydraException, OmegaConfBaseException, ValueError, KeyError)
    with initialize_config_dir(config_dir=str(conf), version_base="1.3", job_name="stance-run"):
        loader = GlobalHydra.instance().config_loader()
        checker = _Checker(loader, config_name)
        # Every choice of a group sweep, not only the one composed below.
        for raw, override in zip(raws, parsed, strict=True):
            if (
                override.key_or_group in checker.groups
                and not override.package
                and (problem := checker.bad_group_choice(override, raw)) is not None
            ):
                raise problem
        try:
            cfg = compose(config_name, [p[2] for p in probe], return_hydra_config=True)
        except errors as exc:
            raise _explain(checker, probe, exc) from None
        for raw, override in deferred:
            if (
                override.key_or_group not in checker.groups
                and (problem := checker.bad_key(override, raw, cfg)) is not None
            ):
                raise problem


def _explain(checker: _Checker, probe: list, exc: Exception) -> OverrideError:
    """Find the override behind a failed composition; else Hydra's first line."""
    from hydra import compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    group_items = [p for p in probe if p[1].key_or_group in checker.groups and not p[1].package]
    for raw, override, _ in group_items:
        if (problem := checker.bad_group_choice(override, raw)) is not None:
            return problem
    try:
        base = compose(checker.config_name, [p[2] for p in group_items], return_hydra_config=True)
    except (HydraException, OmegaConfBaseException, ValueError, KeyError):
        base = None
    if base is not None:
        for raw, override, _ in probe:
            if override.key_or_group in checker.groups or override.package:
                continue
            if (problem := checker.bad_key(override, raw, base)) is not None:
                return problem
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return OverrideError(f"invalid override: {first.strip()}")
