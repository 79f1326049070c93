"""Errors that mean 'the user's configuration is wrong': reported in one line, no traceback."""


class ConfigError(ValueError):
    """A setting (environment variable, flag) has a value we cannot use."""
