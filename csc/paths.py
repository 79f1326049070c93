"""Where the project's own files live (the repo is installed editable, so this is the checkout),
and where the user's drop folder is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from csc.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples" / "raw"
DROP_ENV = "CSC_DROP_FOLDER"

NO_DROP = (f"no drop folder is configured: set {DROP_ENV}=/path/to/drop (or pass "
           "-p drop_folder=... to the deployment, or --drop to `csc run`); the bundled "
           f"samples are in {SAMPLES}")


def drop_folder(explicit: str | os.PathLike | None = None, *, settings: Any = None) -> Path:
    """The folder a run ingests: the caller's, else CSC_DROP_FOLDER (of `settings`, else of
    the current csc.settings). There is no default, so a scheduled run never quietly re-reads
    the samples instead of the user's data."""
    chosen = str(explicit).strip() if explicit is not None else ""
    origin = "the drop folder"
    if chosen:
        path = Path(chosen).expanduser()
    else:
        if settings is None:
            from csc.settings import current  # csc.settings imports this module

            settings = current()
        configured = settings.drop_folder
        if configured is None:
            raise ConfigError(NO_DROP)
        path, origin = configured, DROP_ENV
    if not path.exists():
        raise ConfigError(f"{origin} {path} does not exist: create it, or point "
                          f"{DROP_ENV} (or the drop_folder parameter) at the folder your "
                          "dialogue files land in")
    return path
