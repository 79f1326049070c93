"""The RoleCS step before the LLM stage: personas into the warehouse."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from csc.rolecs import intake


@task(name="load-personas")
def load_personas(path: str | None = None, generate: int = 0, seed: int = 0) -> dict:
    """The personas file's profiles (default: the bundled samples), plus `generate` drawn
    from the attribute grids; counts per source (read = new + present + rejected)."""
    counts = {"file": intake.load_persona_file(Path(path) if path else None)}
    if generate:
        counts["generated"] = intake.load_generated(generate, seed)
    logger = get_run_logger()
    for source, c in counts.items():
        logger.info("personas (%s): %d read, %d new, %d already stored, %d rejected", source,
                    c["read"], c["new"], c["present"], c["rejected"])
    return counts
