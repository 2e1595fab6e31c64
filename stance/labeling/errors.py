"""Errors of the labelling workflow: each names the project file or article it is about."""

from __future__ import annotations

from stance.errors import StanceError


class LabelingError(StanceError):
    """A labelling project cannot do what was asked (bad input, bad state)."""


class ProjectExistsError(LabelingError):
    """``stance label init`` was asked to create a project that is already there."""


class ProjectMissingError(LabelingError):
    """No project database at the expected path."""


class StoreUnavailableError(LabelingError):
    """The project database is locked by another process, read-only, or not a database."""


class UnknownLabelError(LabelingError):
    """A label outside the project's label set was submitted."""


class UnknownArticleError(LabelingError):
    """An article id that is not in the project's pool."""


class StaleLabelError(LabelingError):
    """The article was labelled by someone else after the page showing it was loaded."""
