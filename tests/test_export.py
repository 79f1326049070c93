"""`csc export csconv` in the released shape, for both languages: speakers and labels in the
dialogue's language (or one forced with --labels), `language` on every record, business
areas mapped to the 8 released source classes by a YAML map, and a bad map as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cli.main import main
from csc.csconv.export import (
    released_shape,
    shape_lineage,
    unmapped_sources,
    write_export,
)
from csc.csconv.source_map import (
    SOURCE_MAP_ENV,
    SourceMapError,
    load_source_map,
    resolve_source_map,
)
from csc.framework import label_en
from csc.paths import PROJECT_ROOT
from warehouse import csconv_store as store
from warehouse.db import connect

SAMPLE_MAP = PROJECT_ROOT / "samples" / "source_map.yaml"


def utterances(*dialogues: tuple[str, str, str | None, list[tuple[str, int | None, str]]]
               ) -> pl.DataFrame:
    """A frame as export_frame returns it, from (csconv_id, language, area, turns)."""
    rows = [{"csconv_id": cid, "language": lang, "business_area": area, "utt_index": i,
             "speaker": speaker, "strategy_id": sid, "text": text}
            for cid, lang, area, turns in dialogues
            for i, (speaker, sid, text) in enumerate(turns)]
    return pl.DataFrame(rows, schema={"csconv_id": pl.String, "language": pl.String,
                                      "business_area": pl.String, "utt_index": pl.Int32,
                                      "speaker": pl.String, "strategy_id": pl.Int32,
                                      "text": pl.String})


ZH = ("zh-a", "zh", "信用卡", [("supporter", 1, "您好"), ("customer", None, "我的卡被锁了"),
                              ("supporter", 5, "别着急"), ("customer", None, "好的")])
EN = ("en-b", "en", "cards", [("supporter", 1, "Hello"), ("customer", None, "My card is blocked"),
                             ("supporter", 5, "I understand"), ("customer", None, "Thanks"),
                             ("supporter", 11, "Goodbye")])


def write_map(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_zh_dialogue_has_the_released_chinese_form():
    assert released_shape(utterances(ZH)) == [{
        "dialogue": [{"speaker": "客服", "strategy": "策略1 礼貌问候", "text": "您好"},
                     {"speaker": "客户", "strategy": "", "text": "我的卡被锁了"},
                     {"speaker": "客服", "strategy": "策略5 情感管理", "text": "别着急"},
                     {"speaker": "客户", "strategy": "", "text": "好的"}],
        "source": "信用卡", "language": "zh"}]


def test_an_en_dialogue_has_english_speakers_and_labels():
    assert released_shape(utterances(EN)) == [{
        "dialogue": [{"speaker": "agent", "strategy": "Strategy 1 Greeting", "text": "Hello"},
                     {"speaker": "customer", "strategy": "", "text": "My card is blocked"},
                     {"speaker": "agent", "strategy": "Strategy 5 Emotional Management",
                      "text": "I understand"},
                     {"speaker": "customer", "strategy": "", "text": "Thanks"},
                     {"speaker": "agent", "strategy": "Strategy 11 Appreciation & Closure",
                      "text": "Goodbye"}],
        "source": "cards", "language": "en"}]


def test_a_mixed_set_gives_each_dialogue_its_own_language_in_csconv_id_order():
    frame = utterances(ZH, EN)
    records = released_shape(frame.reverse())  # input order does not matter
    assert [r["language"] for r in records] == ["en", "zh"]  # "en-b" sorts before "zh-a"
    assert [r["dialogue"][0]["speaker"] for r in records] == ["agent", "客服"]
    assert [r["dialogue"][2]["strategy"] for r in records] == \
        ["Strategy 5 Emotional Management", "策略5 情感管理"]
    assert records[0]["dialogue"][1]["text"] == "My card is blocked"  # utterances in order


def test_labels_zh_gives_an_en_dialogue_the_released_chinese_form_and_keeps_its_language():
    record = released_shape(utterances(EN), labels="zh")[0]
    assert [t["speaker"] for t in record["dialogue"]] == ["客服", "客户", "客服", "客户", "客服"]
    assert [t["strategy"] for t in record["dialogue"]] == \
        ["策略1 礼貌问候", "", "策略5 情感管理", "", "策略11 感谢与告别"]
    assert record["dialogue"][0]["text"] == "Hello"  # only labels change, never the text
    assert record["language"] == "en"


def test_labels_en_gives_a_zh_dialogue_english_labels():
    record = released_shape(utterances(ZH), labels="en")[0]
    assert [(t["speaker"], t["strategy"]) for t in record["dialogue"]] == [
        ("agent", "Strategy 1 Greeting"), ("customer", ""),
        ("agent", "Strategy 5 Emotional Management"), ("customer", "")]
    assert record["language"] == "zh" and record["dialogue"][0]["text"] == "您好"


def test_no_strategy_is_an_empty_string_and_no_area_an_empty_source():
    frame = utterances(("c", "zh", None, [("supporter", None, "喂"), ("customer", None, "嗯")]))
    record = released_shape(frame)[0]
    assert [t["strategy"] for t in record["dialogue"]] == ["", ""]
    assert record["source"] == ""


def test_every_strategy_has_an_english_label_of_the_released_form():
    assert label_en(2) == "Strategy 2 Identity Verification"
    assert label_en(12) == "Strategy 12 Others"


def test_an_unknown_label_mode_or_dialogue_language_is_refused():
    with pytest.raises(ValueError, match="labels must be one of auto, zh, en"):
        released_shape(utterances(ZH), labels="fr")
    frame = utterances(("x", "ja", None, [("supporter", 1, "こんにちは")]))
    with pytest.raises(ValueError, match="dialogue x has language 'ja'"):
        released_shape(frame)
    assert released_shape(frame, labels="en")[0]["dialogue"][0]["speaker"] == "agent"


def test_a_mapped_source_is_a_released_class_in_the_label_language(tmp_path):
    smap = load_source_map(write_map(tmp_path, "信用卡: 账户与交易\nCards: account & transactions\n"
                                               "理财产品: product consultation\n"))
    records = released_shape(utterances(ZH, EN), source_map=smap)
    assert [r["source"] for r in records] == ["account & transactions", "账户与交易"]
    # forced label language spells the class that way too
    assert released_shape(utterances(EN), labels="zh", source_map=smap)[0]["source"] == "账户与交易"
    assert smap.lookup("理财产品") == 1  # the target's spelling does not matter
    assert smap.lookup(" CARDS ") == 0  # keys match ignoring case and surrounding space


def test_an_unmapped_source_is_other_and_is_listed(tmp_path):
    smap = load_source_map(write_map(tmp_path, "信用卡: 账户与交易\n"))
    frame = utterances(ZH, EN, ("zh-c", "zh", None, [("supporter", 1, "您好")]),
                       ("zh-d", "zh", "外汇业务", [("supporter", 1, "您好")]),
                       ("zh-e", "zh", "外汇业务", [("supporter", 1, "您好")]),
                       ("zh-f", "zh", "风险与安全", [("supporter", 1, "您好")]))
    records = released_shape(frame, source_map=smap)
    assert [r["source"] for r in records] == ["other", "账户与交易", "其他", "其他", "其他",
                                              "风险与安全"]
    # a value that is already a class name needs no line in the map
    assert unmapped_sources(frame, smap) == {"": 1, "cards": 1, "外汇业务": 2}
    assert unmapped_sources(frame, None) == {}
    assert released_shape(frame)[1]["source"] == "信用卡"  # no map: the raw value


def test_the_sample_map_covers_the_demo_areas_it_means_to():
    smap = load_source_map(SAMPLE_MAP)
    expected = {"信用卡": 0, "银行卡": 0, "账户与交易": 0, "accounts & transactions": 0,
                "cards": 0, "transfers": 0, "telecom billing": 0,
                "理财产品": 1, "贷款": 1, "外汇业务": 1, "网点服务": 1, "products": 1, "loans": 1,
                "手机银行": 2, "app & online banking": 2, "telecom home internet": 2,
                "投诉建议": 3, "complaints": 3, "积分与权益": 4, "telecom sales": 4,
                "风险与安全": 5, "fraud & security": 5, "理财规划": 6, "financial planning": 6,
                "在线客服": None, "online chat": None, "通信业务": None}
    assert {area: smap.lookup(area) for area in expected} == expected


@pytest.mark.parametrize(("text", "message"), [
    (None, "does not exist or is not a file"),
    ("信用卡: [账户与交易\n", "is not valid YAML at line 2"),
    ("- 信用卡\n- cards\n", "must be a non-empty YAML mapping"),
    ("", "must be a non-empty YAML mapping"),
    ("信用卡: 信用\n", "'信用卡' maps to '信用', which is not one of the 8 classes (账户与交易/"),
    ("cards:\n", "'cards' maps to None, which is not one of the 8 classes"),
    ("1: other\n", "key 1 is not a business-area name"),
    ("cards: other\nCards: complaints\n", "'Cards' is mapped twice, to different classes"),
])
def test_a_bad_map_is_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "map.yaml" if text is None else write_map(tmp_path, text)
    with pytest.raises(SourceMapError) as err:
        load_source_map(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_the_map_comes_from_the_option_else_the_environment(tmp_path, monkeypatch):
    a = write_map(tmp_path, "cards: other\n", "a.yaml")
    b = write_map(tmp_path, "cards: complaints\n", "b.yaml")
    monkeypatch.delenv(SOURCE_MAP_ENV, raising=False)
    assert resolve_source_map(None) is None
    monkeypatch.setenv(SOURCE_MAP_ENV, str(b))
    assert resolve_source_map(None).lookup("cards") == 3
    assert resolve_source_map(str(a)).lookup("cards") == 7
    monkeypatch.setenv(SOURCE_MAP_ENV, str(tmp_path / "gone.yaml"))
    with pytest.raises(SourceMapError, match=r"gone.yaml does not exist .*\(from \$CSC_SOURCE"):
        resolve_source_map(None)


def test_parquet_carries_the_same_fields_and_meta_the_label_language_and_map(tmp_path):
    path = write_map(tmp_path, "cards: account & transactions\n")
    smap = load_source_map(path)
    frame = utterances(ZH, EN)
    records = released_shape(frame, source_map=smap)
    lineage = shape_lineage(frame, records, "auto", smap)
    out = write_export(records, tmp_path / "x.parquet", "parquet", lineage)
    assert pl.read_parquet(out).to_dicts() == records
    assert pl.read_parquet(out).columns == ["dialogue", "source", "language"]
    meta = json.loads((tmp_path / "x.parquet.meta.json").read_text(encoding="utf-8"))
    assert meta["labels"] == "auto" and meta["label_languages"] == {"en": 1, "zh": 1}
    assert meta["source_map"] == {
        "path": str(path.resolve()), "sha256": smap.sha256, "unmapped": {"信用卡": 1}}
    assert len(smap.sha256) == 64
    forced = shape_lineage(frame, records, "zh", None)
    assert forced == {"labels": "zh", "label_languages": {"zh": 2}, "source_map": None}
    empty = write_export([], tmp_path / "empty.parquet", "parquet")
    assert pl.read_parquet(empty).columns == ["dialogue", "source", "language"]


# --- through the CLI ---------------------------------------------------------------------

def _turns(language: str) -> list[dict]:
    """10 alternating utterances using strategies 1, 2 and 11, so the set passes its checks."""
    texts = {"zh": ["您好", "你好", "请提供卡号", "尾号1234", "已核实", "谢谢", "卡已解锁",
                    "好的", "感谢来电", "再见"],
             "en": ["Hello", "Hi", "Your card number?", "Ends 1234", "Verified", "Thanks",
                    "Card unlocked", "Great", "Thanks for calling", "Bye"]}[language]
    sids = [1, None, 2, None, 7, None, 8, None, 11, None]
    return [{"utt_index": i, "speaker": "customer" if sid is None else "supporter",
             "strategy_id": sid, "strategy_label": None, "stage": None, "text": text}
            for i, (sid, text) in enumerate(zip(sids, texts, strict=True))]


def seed_csconv(db: Path) -> None:
    """A current CSConv set of one zh and one en dialogue, written as the stage writes it."""
    dialogues, utts = [], []
    for cid, language, area in (("c-en", "en", "cards"), ("c-zh", "zh", "信用卡")):
        dialogues.append({"csconv_id": cid, "dialogue_id": f"d-{cid}", "pipeline_version": "v1",
                          "language": language, "business_area": area, "n_utterances": 10,
                          "n_supporter": 5, "strategy_use": 1.0, "rewriter_model": "model-r",
                          "rewrite_prompt": "p1", "judge_model": "model-j", "run_id": "r1"})
        utts += [{"csconv_id": cid, **t} for t in _turns(language)]
    with connect(db) as con:
        store.write_outcomes(con, {"csconv.dialogues": dialogues, "csconv.utterances": utts})


def test_cli_export_labels_zh_and_a_source_map(warehouse, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(SOURCE_MAP_ENV, raising=False)
    seed_csconv(warehouse)
    out = tmp_path / "zh.jsonl"
    assert main(["export", "csconv", "--labels", "zh", "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["language"] for r in records] == ["en", "zh"]
    assert {t["speaker"] for r in records for t in r["dialogue"]} == {"客服", "客户"}
    assert records[0]["dialogue"][8] == {"speaker": "客服", "strategy": "策略11 感谢与告别",
                                         "text": "Thanks for calling"}
    assert [r["source"] for r in records] == ["cards", "信用卡"]  # no map: raw areas
    meta = json.loads((tmp_path / "zh.jsonl.meta.json").read_text(encoding="utf-8"))
    assert (meta["labels"], meta["label_languages"], meta["source_map"]) == \
        ("zh", {"zh": 2}, None)

    both = tmp_path / "auto.json"
    assert main(["export", "csconv", "--format", "json", "--source-map", str(SAMPLE_MAP),
                 "--out", str(both)]) == 0
    records = json.loads(both.read_text(encoding="utf-8"))
    assert [r["dialogue"][0] for r in records] == [
        {"speaker": "agent", "strategy": "Strategy 1 Greeting", "text": "Hello"},
        {"speaker": "客服", "strategy": "策略1 礼貌问候", "text": "您好"}]
    assert [r["source"] for r in records] == ["account & transactions", "账户与交易"]
    meta = json.loads((tmp_path / "auto.json.meta.json").read_text(encoding="utf-8"))
    assert meta["source_map"]["path"] == str(SAMPLE_MAP.resolve())
    assert meta["source_map"]["unmapped"] == {}


def test_cli_unmapped_areas_are_named_on_stderr(warehouse, tmp_path, capsys, monkeypatch):
    seed_csconv(warehouse)
    monkeypatch.setenv(SOURCE_MAP_ENV, str(write_map(tmp_path, "cards: complaints\n")))
    assert main(["export", "csconv", "--out", str(tmp_path / "x.jsonl")]) == 0
    assert "csc: 1 dialogue(s) exported with source 'other': the source map names no class " \
           "for 信用卡 (1)" in capsys.readouterr().err


def test_cli_a_bad_map_is_exit_2_and_one_line_without_a_traceback(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "export", "csconv", "--source-map", str(missing)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "CSC_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"csc: error: source map {missing} does not exist or is not a file\n"
    assert not (tmp_path / "none.duckdb").exists()  # refused before the warehouse is opened


def test_cli_a_map_with_a_bad_target_is_exit_2(warehouse, tmp_path, capsys):
    bad = write_map(tmp_path, "cards: credit\n")
    assert main(["export", "csconv", "--source-map", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"csc: error: source map {bad}: 'cards' maps to 'credit', which is "
                          "not one of the 8 classes")
    assert err.count("\n") == 1
