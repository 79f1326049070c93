"""Errors reported in one line, never with a traceback.

ConfigError: the user's configuration is wrong (exit 2, a usage mistake).
RuntimeFailure: something the run needs failed or is taken - a corrupt or full file, a busy
warehouse, another run in progress (exit 1). The message names the file or the other run, and
what to do.
"""


class ConfigError(ValueError):
    """A setting (environment variable, flag) has a value we cannot use."""


class RuntimeFailure(RuntimeError):
    """A run cannot go on for a reason outside the command line; retrying now will not help."""


class StorageError(RuntimeFailure):
    """A file the run reads or writes (warehouse, LLM cache) is corrupt, full or unwritable."""


class RunInProgress(RuntimeFailure):
    """Another run holds the warehouse's run lock; this one does no work."""
