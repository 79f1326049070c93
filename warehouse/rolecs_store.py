"""Reads and idempotent writes of the rolecs.* tables that are not a stage's outcome rows."""

from __future__ import annotations

import json

import duckdb

from warehouse.db import insert_rows, query, transaction
from warehouse.queries import sql


def store_personas(con: duckdb.DuckDBPyConnection, personas: list[dict], rejects: list[dict],
                   source: str) -> dict[str, int]:
    """Add the personas not stored yet, in one transaction. A stored persona_id with another
    profile is refused with its reason, never updated: the dialogues made from the stored one
    would lose their meaning. `personas` rows: persona_id, language, profile (JSON text);
    `rejects` rows: line_no, persona_id, reason; they replace the source's earlier ones.
    Counts: read = new + present + rejected."""
    stored = {pid: (lang, json.loads(profile)) for pid, lang, profile in query(
        con, sql("rolecs/stored_personas"), [[p["persona_id"] for p in personas]])}
    new, present, refused = [], 0, list(rejects)
    for p in personas:
        known = stored.get(p["persona_id"])
        if known is None:
            new.append({**p, "source": source})
        elif known == (p["language"], json.loads(p["profile"])):
            present += 1
        else:
            refused.append({"line_no": None, "persona_id": p["persona_id"],
                            "reason": "persona_id already stored with another profile or "
                                      "language; a stored persona is never changed"})
    with transaction(con):
        insert_rows(con, "rolecs.personas",
                    [{k: p[k] for k in ("persona_id", "language", "profile", "source")}
                     for p in new], "loaded_at")
        con.execute(sql("rolecs/forget_rejects"), [source])
        insert_rows(con, "rolecs.persona_rejects",
                    [{**r, "source": source} for r in refused], "loaded_at", keyed=False)
    return {"read": len(personas) + len(rejects), "new": len(new), "present": present,
            "rejected": len(refused)}


def export_frame(con: duckdb.DuckDBPyConnection, language: str | None = None):
    """Utterances of the accepted dialogues, for export (a polars frame)."""
    return con.sql(sql("rolecs/export_utterances"), params=[language or None]).pl()


def export_lineage(con: duckdb.DuckDBPyConnection, language: str | None = None) -> dict:
    """Which versions and models made the exported set; travels with every export."""
    rows = query(con, sql("rolecs/export_lineage"), [language or None])
    models = sorted({m for _, m in rows})
    return {"versions": sorted({v for v, _ in rows}), "models": models,
            "simulator": any(m.startswith("sim-") for m in models)}
