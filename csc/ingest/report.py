"""Human-readable ingest summaries for the CLI and the Prefect artifact."""

from __future__ import annotations

COLUMNS = ("records", "new", "already_present", "quarantined", "prefilter_passed")
TOTALS = (*COLUMNS, "utterances")


def build_report(files: list[dict]) -> dict:
    """Per-file summaries plus totals; `reconciles` holds only when every file reconciles."""
    return {
        "files": files,
        "totals": {k: sum(f[k] for f in files) for k in TOTALS},
        "reconciles": all(f["reconciles"] for f in files),
        "ingested_anything": any(f["new"] or f["already_present"] for f in files),
    }


def render_markdown(report: dict) -> str:
    lines = ["# Ingest summary", "",
             "| file | source | " + " | ".join(COLUMNS) + " | note |",
             "|---|---|" + "---:|" * len(COLUMNS) + "---|"]
    for f in report["files"]:
        note = f.get("error") or ("unchanged, skipped" if f.get("skipped_unchanged") else "")
        cells = " | ".join(str(f[c]) for c in COLUMNS)
        lines.append(f"| {f['path']} | {f['source']} | {cells} | {note} |")
    t = report["totals"]
    lines.append("| **total** | | " + " | ".join(str(t[c]) for c in COLUMNS) + " | |")
    verdict = "reconcile" if report["reconciles"] else "DO NOT reconcile"
    lines += ["", f"Records read = new + already present + quarantined: the counts {verdict}."]
    return "\n".join(lines) + "\n"


def render_text(report: dict) -> str:
    width = max([len(f["path"]) for f in report["files"]] + [5])
    head = f"{'file':<{width}}  " + "  ".join(f"{c:>16}" for c in COLUMNS)
    rows = [head]
    for f in report["files"]:
        note = f"  ({f['error']})" if f.get("error") else (
            "  (unchanged, skipped)" if f.get("skipped_unchanged") else "")
        rows.append(f"{f['path']:<{width}}  " + "  ".join(f"{f[c]:>16}" for c in COLUMNS) + note)
    t = report["totals"]
    rows.append(f"{'total':<{width}}  " + "  ".join(f"{t[c]:>16}" for c in COLUMNS))
    rows.append("counts reconcile (records = new + already present + quarantined)"
                if report["reconciles"] else "WARNING: counts do not reconcile")
    return "\n".join(rows)
