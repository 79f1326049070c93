"""Personas into the warehouse: from a file, or drawn from the attribute grids.

Every profile read ends in rolecs.personas (new or already there) or in
rolecs.persona_rejects with its reason, and the counts say so: read = new + present +
rejected.
"""

from __future__ import annotations

from pathlib import Path

from csc.paths import PROJECT_ROOT
from csc.rolecs.personas import Persona, generate_personas, profile_text, read_personas
from csc.settings import current
from warehouse.db import connect
from warehouse.rolecs_store import store_personas

SAMPLE_PERSONAS = PROJECT_ROOT / "samples" / "personas" / "personas.jsonl"


def _rows(personas: list[Persona]) -> list[dict]:
    return [{"persona_id": p.persona_id, "language": p.language, "profile": profile_text(p)}
            for p in personas]


def load_persona_file(path: Path | None = None, db: Path | None = None) -> dict[str, int]:
    """Store the personas of a JSON-lines file (default: CSC_ROLECS_PERSONAS, else the
    bundled samples)."""
    path = path or current().rolecs_personas or SAMPLE_PERSONAS
    personas, problems = read_personas(path)
    rejects = [{"line_no": p.line_no, "persona_id": p.persona_id, "reason": p.reason}
               for p in problems]
    with connect(db) as con:
        return store_personas(con, _rows(personas), rejects, str(path))


def load_generated(n: int, seed: int, db: Path | None = None) -> dict[str, int]:
    """Store `n` personas drawn from the attribute grids with `seed` (the same every time)."""
    with connect(db) as con:
        return store_personas(con, _rows(generate_personas(n, seed)), [],
                              f"generated:n={n},seed={seed}")
