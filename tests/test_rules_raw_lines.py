"""§3.2 R3/R4 count raw lines before the §3.1 merge, as the reference scripts do.

Each case goes through a real ingest of a file in the reference's own line format
("客户: …" / "客服: …"), so the counts come from what ingest keeps per utterance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csc.rules import RuleConfig
from tests.helpers import ingest, query_all

LONG_C = "我的银行卡昨天被锁了"  # 10 characters: a long customer line
LONG_S = "您好，请问有什么可以帮您"


def verdict(db: Path) -> dict:
    rows = query_all(db, "SELECT failed_rules, n_lines, n_customer, n_supporter, "
                         "customer_long_share FROM staging.prefilter")
    assert len(rows) == 1
    return dict(zip(("failed", "n_lines", "n_customer", "n_supporter", "share"), rows[0],
                    strict=True))


def write_lines(path: Path, lines: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{who}: {text}\n" for who, text in lines), encoding="utf-8")
    return path


def test_four_customer_lines_and_twelve_agent_lines_fail_r3(tmp_path, warehouse):
    # C S S S, four times: after merging, 8 alternating utterances (4 turns), but the raw
    # lines are 12 supporter >= 2 x 4 customer, so R3 drops it. No other rule fires.
    block = [("客户", LONG_C), ("客服", LONG_S), ("客服", LONG_S), ("客服", LONG_S)]
    ingest(write_lines(tmp_path / "r3.txt", block * 4), warehouse, source="lines")
    v = verdict(warehouse)
    assert (v["n_lines"], v["n_customer"], v["n_supporter"]) == (8, 4, 12)
    assert v["failed"] == ["supporter_dominates"]


def test_eleven_agent_lines_against_six_customer_lines_pass_r3(tmp_path, warehouse):
    # 11 < 2 x 6: kept. One more supporter line (12) would drop it: see the test above.
    lines = [("客户", LONG_C), ("客服", LONG_S), ("客服", LONG_S)] * 5 + [
        ("客户", LONG_C), ("客服", LONG_S)]
    ingest(write_lines(tmp_path / "ok.txt", lines), warehouse, source="lines")
    v = verdict(warehouse)
    assert (v["n_customer"], v["n_supporter"]) == (6, 11)
    assert v["failed"] == []


def test_eight_of_twelve_customer_lines_being_backchannels_fail_r4(tmp_path, warehouse):
    # 12 customer lines, 8 of them "嗯"/"对" (1 character): 4/12 = 0.33 are longer than 3
    # characters, under 0.7. Merged, the customer has 6 utterances, each holding a long line,
    # so counting merged utterances would have let it through.
    lines: list[tuple[str, str]] = []
    for i in range(6):
        lines += [("客户", LONG_C if i < 4 else "嗯"), ("客户", "对" if i % 2 else "嗯"),
                  ("客服", LONG_S)]
    # customer lines: 6 pairs = 12; long: the first line of pairs 0-3 = 4
    ingest(write_lines(tmp_path / "r4.txt", lines), warehouse, source="lines")
    v = verdict(warehouse)
    assert (v["n_lines"], v["n_customer"], v["n_supporter"]) == (12, 12, 6)
    assert v["share"] == pytest.approx(4 / 12)
    assert v["failed"] == ["customer_lines_too_short"]


def test_an_stc3_turn_counts_one_line_per_utterance_and_empty_ones_are_not_lines(
        tmp_path, warehouse):
    # 3 turns a side; each helpdesk turn holds 3 utterances (one of them empty) -> 2 lines
    # each, 6 in all; customers 3 lines. 6 >= 2 x 3: R3 fires. Empty utterances do not count.
    turns = []
    for _ in range(3):
        turns.append({"sender": "customer", "utterances": [LONG_C]})
        turns.append({"sender": "helpdesk", "utterances": [LONG_S, "  ", LONG_S]})
    path = tmp_path / "stc3.json"
    path.write_text(json.dumps([{"id": "1", "turns": turns}], ensure_ascii=False),
                    encoding="utf-8")
    ingest(path, warehouse, source="stc3")
    v = verdict(warehouse)
    assert (v["n_lines"], v["n_customer"], v["n_supporter"]) == (6, 3, 6)
    assert v["failed"] == ["supporter_dominates"]
    stored = query_all(warehouse, "SELECT text, source_line_chars FROM raw.utterances "
                                  "WHERE speaker = 'supporter' LIMIT 1")[0]
    assert stored == (f"{LONG_S}\n{LONG_S}", [len(LONG_S), len(LONG_S)])


def test_rows_stored_before_raw_lines_were_kept_count_one_line_each(tmp_path, warehouse):
    # An older warehouse has NULL source_line_chars: the verdict falls back to the utterance.
    from csc.ingest.verdicts import refresh_prefilter
    from warehouse.db import connect

    block = [("客户", LONG_C), ("客服", LONG_S), ("客服", LONG_S), ("客服", LONG_S)]
    ingest(write_lines(tmp_path / "old.txt", block * 4), warehouse, source="lines")
    with connect(warehouse) as con:
        con.execute("UPDATE raw.utterances SET source_line_chars = NULL")
        con.execute("DELETE FROM staging.prefilter")
    assert refresh_prefilter("run-old", db=warehouse, rules=RuleConfig()) == 1
    v = verdict(warehouse)
    assert (v["n_customer"], v["n_supporter"]) == (4, 4)
    assert v["failed"] == []
