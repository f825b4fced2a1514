"""Errors a user can cause; the CLI turns each into one line on stderr."""

__all__ = ["MicrogptError", "DataError", "ConfigError", "CheckpointError", "LogError",
           "OutputError", "ParameterError"]


class MicrogptError(Exception):
    """Base class for errors caused by user input."""


class DataError(MicrogptError, ValueError):
    """A dataset file that cannot be used (missing, empty, not UTF-8)."""


class ConfigError(MicrogptError, ValueError):
    """A model or training setting out of range, or contradicting a checkpoint."""


class CheckpointError(MicrogptError, ValueError):
    """A checkpoint that is missing, corrupt, truncated or from a future version."""


class LogError(MicrogptError, ValueError):
    """A metrics log that is missing, corrupt, or not in a format this version reads."""


class OutputError(MicrogptError, OSError):
    """An output that could not be written (a full disk, a vanished folder)."""


class ParameterError(MicrogptError, ValueError):
    """A parameter named wrongly: bad syntax, an unknown group, an index out of range."""
