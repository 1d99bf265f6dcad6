"""Errors that describe a user's mistake; the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class CdpError(Exception):
    """Base class for problems the user can fix (bad config, unreadable file, unknown id)."""


class ConfigError(CdpError):
    """The source, survivorship or segment configuration is invalid."""


class SourceFileError(CdpError):
    """An extract cannot be read at all: missing, empty, wrong columns or wrong encoding."""


class NotFoundError(CdpError):
    """A requested record, customer, segment or table does not exist."""


class QualityGateError(CdpError):
    """A data-quality gate failed, so nothing was published."""
