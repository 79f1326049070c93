"""Export the current CSConv set in the released shape (csc-method §6), so results compare
with the published data:

    {"dialogue": [{"speaker": "客服"|"客户", "strategy": "策略N 名称"|"", "text": ...}],
     "source": <business area>}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from csc.framework import label_zh

SPEAKER_ZH = {"supporter": "客服", "customer": "客户"}
FORMATS = ("json", "jsonl", "parquet")


def released_shape(utterances: pl.DataFrame) -> list[dict]:
    """`utterances`: csconv_id, business_area, utt_index, speaker, strategy_id, text."""
    out = []
    for (_, area), group in utterances.sort("csconv_id", "utt_index").group_by(
            ["csconv_id", "business_area"], maintain_order=True):
        out.append({
            "dialogue": [{"speaker": SPEAKER_ZH[s],
                          "strategy": label_zh(sid) if sid is not None else "", "text": t}
                         for s, sid, t in group.select("speaker", "strategy_id", "text")
                         .iter_rows()],
            "source": area or "",
        })
    return out


def write_export(records: list[dict], path: Path, fmt: str, lineage: dict | None = None) -> Path:
    """Write atomically: a reader never sees a half-written file. `lineage` (versions, models,
    whether the simulator made it) goes to a `<file>.meta.json` beside it."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "json":
        tmp.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "jsonl":
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                       encoding="utf-8")
    else:
        pl.DataFrame({"dialogue": [r["dialogue"] for r in records],
                      "source": [r["source"] for r in records]}).write_parquet(tmp)
    os.replace(tmp, path)
    if lineage is not None:
        meta = path.with_name(path.name + ".meta.json")
        meta.write_text(json.dumps({"dataset": "csconv", "dialogues": len(records), **lineage},
                                   ensure_ascii=False, indent=1), encoding="utf-8")
    return path
