"""The one root of every error `csc` reports in one line, never with a traceback.

    CscError                      exit_code 1 (never raised itself)
    ├── UserError                 exit_code 2: a usage or input mistake the user fixes
    │   └── ConfigError           a setting (environment variable, flag) we cannot use
    │       └── SettingsError     CSC_* values missing or malformed, one line each
    │                             (csc.settings; csc.llm.settings.LLMNotConfigured)
    └── RuntimeFailure            exit_code 1: something the run needs failed or is taken
        ├── StorageError          a corrupt, full or unwritable file (warehouse, LLM cache)
        └── RunInProgress         another run holds the warehouse's run lock

The other modules' errors subclass one of these branches (tests/test_error_root.py walks the
project and fails for a class that does not), so the CLI and the flows catch `CscError` once
and take the exit code from the error. The message names the file, setting or other run, and
what to do. Anything that is not a CscError is a bug and keeps its traceback.
"""


class CscError(Exception):
    """Root of the project's user-facing errors: one line (or one line per problem)."""

    exit_code: int = 1


class UserError(CscError):
    """A mistake in what the user asked for or gave us (exit 2): fix it and run again."""

    exit_code = 2


class RuntimeFailure(CscError, RuntimeError):
    """A run cannot go on for a reason outside the command line (exit 1): an endpoint, a
    file, another process; retrying now will not help."""

    exit_code = 1


class ConfigError(UserError, ValueError):
    """A setting (environment variable, flag) has a value we cannot use."""


class StorageError(RuntimeFailure):
    """A file the run reads or writes (warehouse, LLM cache) is corrupt, full or unwritable."""


class RunInProgress(RuntimeFailure):
    """Another run holds the warehouse's run lock; this one does no work."""
