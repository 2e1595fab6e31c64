"""Exceptions with messages a researcher can act on.

Every user-facing failure raises a subclass of :class:`StanceError`; the command
line prints its message (no traceback) and exits non-zero.
"""

from __future__ import annotations


class StanceError(Exception):
    """Base class: a problem the user can fix (bad input, bad config, missing file)."""


class DataError(StanceError):
    """The corpus is missing, malformed, or does not match its configuration."""


class ConfigError(StanceError):
    """A configuration value is invalid or inconsistent."""


class ModelFileError(StanceError):
    """A model file is missing, corrupt, or holds types that are not trusted."""
