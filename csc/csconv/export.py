"""Export the current CSConv set, or the accepted RoleCS set, in the released shape
(csc-method §6), so results compare with the published data:

    {"dialogue": [{"speaker": "客服"|"客户", "strategy": "策略N 名称"|"", "text": ...}],
     "source": <business area>, "language": "zh"|"en"}

English dialogues get the same shape in English by default (`agent`/`customer`,
`Strategy N Name`), so an English reader needs no Chinese to use them; `labels="zh"` gives
the released Chinese form for every dialogue. `source` is the raw business area, or one of
the 8 released classes when a source map is given.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import polars as pl

from csc.csconv.source_map import OTHER, SOURCE_CLASSES, SourceMap
from csc.framework import label_en, label_zh

FORMATS = ("json", "jsonl", "parquet")
LABEL_MODES = ("auto", "zh", "en")
SPEAKERS = {"zh": {"supporter": "客服", "customer": "客户"},
            "en": {"supporter": "agent", "customer": "customer"}}
PARQUET_SCHEMA = {
    "dialogue": pl.List(pl.Struct({"speaker": pl.String, "strategy": pl.String,
                                   "text": pl.String})),
    "source": pl.String,
    "language": pl.String,
}


def _strategy(strategy_id: int | None, language: str) -> str:
    if strategy_id is None:
        return ""
    return label_zh(strategy_id) if language == "zh" else label_en(strategy_id)


def _label_language(labels: str, language: str, csconv_id: str) -> str:
    if labels != "auto":
        return labels
    if language not in SPEAKERS:
        raise ValueError(f"dialogue {csconv_id} has language {language!r}; labels 'auto' "
                         "needs zh or en")
    return language


def _source(area: str | None, label_language: str, source_map: SourceMap | None) -> str:
    if source_map is None:
        return area or ""
    index = source_map.lookup(area)
    zh, en = SOURCE_CLASSES[OTHER if index is None else index]
    return zh if label_language == "zh" else en


def _dialogues(utterances: pl.DataFrame, key: str, source: str):
    """(id, language, source, rows) per dialogue, in id order."""
    ordered = utterances.sort(key, "utt_index")
    for (cid, language, area), group in ordered.group_by(
            [key, "language", source], maintain_order=True):
        yield cid, language, area, group.select("speaker", "strategy_id", "text").iter_rows()


def released_shape(utterances: pl.DataFrame, labels: str = "auto",
                   source_map: SourceMap | None = None, *, key: str = "csconv_id",
                   source: str = "business_area") -> list[dict]:
    """`utterances`: `key` (the dialogue's id), language, `source`, utt_index, speaker,
    strategy_id, text. `labels`: 'auto' (each dialogue in its own language), 'zh' or 'en' for
    all. RoleCS dialogues take the same shape with their topic as the source."""
    if labels not in LABEL_MODES:
        raise ValueError(f"labels must be one of {', '.join(LABEL_MODES)}")
    out = []
    for cid, language, area, rows in _dialogues(utterances, key, source):
        lang = _label_language(labels, language, cid)
        out.append({
            "dialogue": [{"speaker": SPEAKERS[lang][s], "strategy": _strategy(sid, lang),
                          "text": t} for s, sid, t in rows],
            "source": _source(area, lang, source_map),
            "language": language,
        })
    return out


def unmapped_sources(utterances: pl.DataFrame, source_map: SourceMap | None) -> dict[str, int]:
    """Dialogues per raw business area the map does not name ('' for none), which the export
    files under 'other': the list of what the map still lacks."""
    if source_map is None:
        return {}
    areas = utterances.unique("csconv_id").get_column("business_area").to_list()
    missed = Counter(a or "" for a in areas if source_map.lookup(a) is None)
    return dict(sorted(missed.items()))


def shape_lineage(utterances: pl.DataFrame, records: list[dict], labels: str,
                  source_map: SourceMap | None) -> dict:
    """How the records were shaped, for `<file>.meta.json`: label mode, the label language
    each dialogue got, and the source map (path, hash, what it left unmapped)."""
    written = Counter(labels if labels != "auto" else r["language"] for r in records)
    smap = None if source_map is None else {
        **source_map.lineage(), "unmapped": unmapped_sources(utterances, source_map)}
    return {"labels": labels, "label_languages": dict(sorted(written.items())),
            "source_map": smap}


def write_export(records: list[dict], path: Path, fmt: str, lineage: dict | None = None,
                 dataset: str = "csconv") -> Path:
    """Write atomically: a reader never sees a half-written file. `lineage` (versions, models,
    whether the simulator made it, how labels and sources were shaped) goes to a
    `<file>.meta.json` beside it."""
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
        pl.DataFrame({name: [r[name] for r in records] for name in PARQUET_SCHEMA},
                     schema=PARQUET_SCHEMA).write_parquet(tmp)
    os.replace(tmp, path)
    if lineage is not None:
        meta = path.with_name(path.name + ".meta.json")
        meta.write_text(json.dumps({"dataset": dataset, "dialogues": len(records), **lineage},
                                   ensure_ascii=False, indent=1), encoding="utf-8")
    return path
