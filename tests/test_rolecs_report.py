"""The RoleCS quality and diversity report: the text metrics on tiny hand-computed cases, the
marts.rolecs_* views on a few dialogues simulated by the stage against the offline simulator,
and the flow's report (artifact and file) and near-duplicate step."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
import sacrebleu
from helpers import point_llm_at

from csc.kit import runner
from csc.rolecs import report
from csc.rolecs.intake import load_persona_file
from csc.rolecs.report import Turn, distinct_n, sample, self_bleu, text_metrics, tokenise
from csc.rolecs.service import mark_near_duplicates, report_numbers
from csc.rolecs.stage import RolecsStage
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, query

# -- tokens ----------------------------------------------------------------------------------


def test_tokens_are_chinese_characters_and_english_13a_words():
    assert tokenise("您好，我想查询[手机号码]123", "zh") == "您 好 ， 我 想 查 询 [ 手 机 号 码 ] 123"
    assert tokenise("Hello, I'd like to pay.", "en") == "Hello , I'd like to pay ."


# -- distinct-n --------------------------------------------------------------------------------


def test_distinct_n_by_hand():
    # "a b a" and "a b": unigrams a b a a b -> 2 distinct of 5 = 0.4; bigrams (within a turn
    # only) ab ba | ab -> 2 distinct of 3
    turns = [["a", "b", "a"], ["a", "b"]]
    assert distinct_n(turns, 1) == pytest.approx(2 / 5)
    assert distinct_n(turns, 2) == pytest.approx(2 / 3)
    # 你好你好: characters 你 好 你 好 -> 2 of 4; bigrams 你好 好你 你好 -> 2 of 3
    zh = [tokenise("你好你好", "zh").split()]
    assert distinct_n(zh, 1) == pytest.approx(0.5)
    assert distinct_n(zh, 2) == pytest.approx(2 / 3)
    assert distinct_n([["x"]], 2) is None  # no bigram at all
    assert distinct_n([["x", "y"], ["z", "w"]], 1) == 1.0


# -- self-BLEU ---------------------------------------------------------------------------------


def test_self_bleu_by_hand():
    # "a b c d" against "a b c e" (and the other way round, symmetric):
    #   1-grams 3/4 match, 2-grams (ab bc | cd) 2/3, 3-grams (abc | bcd) 1/2, 4-grams 0/1,
    #   which 'exp' smoothing makes 1 / (2 * 1) = 1/2; equal lengths: brevity penalty 1.
    #   BLEU = 100 * (3/4 * 2/3 * 1/2 * 1/2) ** (1/4) = 100 * 0.125 ** 0.25 = 59.46
    expected = 100 * 0.125 ** 0.25
    assert self_bleu(["a b c d", "a b c e"]) == pytest.approx(expected)
    assert expected == pytest.approx(59.46, abs=0.01)
    assert self_bleu(["a b c d"] * 3) == pytest.approx(100.0)  # each turn copies the others
    assert self_bleu(["a b c d", "e f g h"]) == 0.0  # nothing in common
    assert self_bleu(["a b c d"]) is None  # no other turn to compare with


def test_self_bleu_with_a_shorter_reference_applies_the_brevity_penalty():
    # "a b c" against "a b c d": every n-gram of the 3 matches (3/3, 2/2, 1/1; the effective
    # order is 3), ref length 4 > 3: BP = exp(1 - 4/3) = 0.7165 -> 71.65.
    # "a b c d" against "a b c": 3/4, 2/3, 1/2, then 0/1 -> 1/2 by 'exp' smoothing, BP 1:
    # 100 * (3/4 * 2/3 * 1/2 * 1/2) ** (1/4) = 59.46. Mean: 65.56.
    short = 100 * math.exp(1 - 4 / 3)
    assert self_bleu(["a b c", "a b c d"]) == pytest.approx((short + 100 * 0.125 ** 0.25) / 2)


@pytest.mark.parametrize("language, turns", [
    ("en", ["Could you confirm your name, please?", "Could you confirm your phone number?",
            "Thank you, your card is now blocked.", "Thank you for calling, goodbye.",
            "Please confirm your name and phone number.", "Could you"]),
    ("zh", ["请问您怎么称呼？", "请提供一下您的姓名和手机号。", "好的，您的卡已经冻结了。",
            "感谢您的来电，再见。", "请问您的手机号是多少？", "好的"]),
])
def test_self_bleu_equals_sacrebleus_sentence_bleu_against_the_others(language, turns):
    tokenize = {"en": "13a", "zh": "zh"}[language]
    expected = sum(sacrebleu.sentence_bleu(t, turns[:i] + turns[i + 1:], tokenize=tokenize).score
                   for i, t in enumerate(turns)) / len(turns)
    assert self_bleu([tokenise(t, language) for t in turns]) == pytest.approx(expected)


def test_the_sample_is_fixed_and_bounded():
    turns = [Turn("en", "customer", f"d{i}", j, f"turn {i} {j}") for i in range(20)
             for j in range(5)]
    chosen = sample(turns, 10)
    assert len(chosen) == 10
    assert chosen == sample(list(reversed(turns)), 10)  # not the input order
    assert sample(turns, 1000) == sample(turns, 100)  # all of them, in the same order


def test_text_metrics_per_language_and_role():
    turns = [Turn("en", "supporter", "d1", 0, "a b c d"), Turn("en", "supporter", "d2", 0,
                                                               "a b c e"),
             Turn("en", "customer", "d1", 1, "x y"), Turn("zh", "customer", "d3", 1, "你好你好")]
    rows = {(r["language"], r["speaker"]): r for r in text_metrics(turns)}
    assert rows[("en", "supporter")]["self_bleu"] == pytest.approx(100 * 0.125 ** 0.25)
    assert rows[("en", "supporter")]["distinct_1"] == pytest.approx(5 / 8)
    assert rows[("en", "customer")]["self_bleu"] is None  # one turn
    assert rows[("zh", "customer")]["distinct_2"] == pytest.approx(2 / 3)
    assert rows[("zh", "customer")]["sampled"] == 1


# -- the views on a simulated warehouse ---------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three dialogues per language simulated by the stage against the offline simulator, then
    checked for near-duplicates (the domain functions, no Prefect)."""
    folder = tmp_path_factory.mktemp("rolecs-report")
    db = folder / "wh.duckdb"
    with pytest.MonkeyPatch.context() as mp, run_in_thread(SimConfig(seed=3)) as sim:
        mp.setenv("CSC_WAREHOUSE", str(db))
        point_llm_at(mp, sim.base_url, folder / "llm.sqlite")
        load_persona_file(None)
        runner.run_all(RolecsStage.ref(batch="b1").build(), "run-1", limit=3, batch_size=50)
        with connect(db) as con:
            mark_near_duplicates(con)
    return db


@pytest.fixture
def analyst(simulated: Path):
    con = duckdb.connect(str(simulated), read_only=True)
    yield con
    con.close()


def test_the_accepted_set_is_judged_and_checked_and_not_a_near_duplicate(analyst):
    assert query(analyst, "SELECT count(*) FROM marts.rolecs_accepted")[0][0] >= 1
    assert query(analyst, """
        SELECT dialogue_id FROM rolecs.dialogues d JOIN rolecs.near_duplicates n
        USING (dialogue_id) WHERE d.status = 'accepted' AND n.duplicate_of IS NULL
        EXCEPT SELECT dialogue_id FROM marts.rolecs_accepted""") == []
    assert query(analyst, """
        SELECT count(*) FROM marts.rolecs_accepted a JOIN rolecs.near_duplicates n
        USING (dialogue_id) WHERE n.duplicate_of IS NOT NULL OR a.status <> 'accepted'
        """) == [(0,)]


def test_the_summary_reconciles_with_the_dialogues(analyst):
    rows = query(analyst, "SELECT language, dialogues, accepted + near_duplicates + rejected + "
                        "stopped + unchecked, accepted, accepted_pct FROM marts.rolecs_summary "
                        "ORDER BY language")
    per_language = dict(query(analyst, "SELECT language, count(*) FROM rolecs.dialogues "
                                     "GROUP BY 1"))
    assert [r[0] for r in rows] == ["en", "zh"]
    for language, dialogues, parts, accepted, pct in rows:
        assert dialogues == parts == per_language[language] == 3
        assert pct == round(100 * accepted / dialogues, 2)
    lengths = query(analyst, "SELECT s.mean_utterances, s.min_utterances, s.max_utterances, "
                           "round(avg(a.n_utterances), 2), min(a.n_utterances), "
                           "max(a.n_utterances) FROM marts.rolecs_summary s "
                           "JOIN marts.rolecs_accepted a USING (language) GROUP BY ALL")
    assert lengths and all(r[:3] == r[3:] for r in lengths)


def test_strategies_transitions_and_coverage_count_the_accepted_turns(analyst):
    supporter = query(analyst, "SELECT count(*), count(DISTINCT dialogue_id) FROM "
                             "marts.rolecs_accepted JOIN rolecs.utterances USING (dialogue_id) "
                             "WHERE speaker = 'supporter'")[0]
    assert query(analyst, "SELECT sum(turns) FROM marts.rolecs_strategy_distribution") == \
        [(supporter[0],)]
    # a dialogue of k supporter turns has k - 1 transitions
    assert query(analyst, "SELECT sum(transitions) FROM marts.rolecs_strategy_transitions") == \
        [(supporter[0] - supporter[1],)]
    rows = query(analyst, "SELECT language, sum(pct) FROM marts.rolecs_strategy_transitions "
                        "GROUP BY language, from_strategy_id")
    assert all(abs(total - 100) < 0.05 for _, total in rows)
    coverage = query(analyst, "SELECT language, stage_id, dialogues, accepted_dialogues, pct "
                            "FROM marts.rolecs_stage_coverage ORDER BY ALL")
    languages = {r[0] for r in coverage}
    assert len(coverage) == 5 * len(languages)
    for _language, stage, dialogues, total, pct in coverage:
        assert 0 <= dialogues <= total and pct == round(100 * dialogues / total, 2)
        if stage == 1:  # every dialogue opens with a Greeting: Connecting is always reached
            assert dialogues == total


def test_the_report_reads_the_views_and_says_it_is_the_simulator(analyst):
    numbers = report_numbers(analyst)
    figures = report.figures(numbers)
    accepted = query(analyst, "SELECT count(*) FROM marts.rolecs_accepted")[0][0]
    assert figures["accepted"] == accepted and figures["dialogues"] == 6
    assert figures["cost_usd"] == 0.0 and figures["cost_per_accepted_usd"] == 0.0
    texts = {(r["language"], r["speaker"]) for r in numbers["texts"]}
    assert {("en", "supporter"), ("en", "customer")} <= texts or \
        {("zh", "supporter"), ("zh", "customer")} <= texts
    for endpoint_is_simulator in (True, False):  # the warehouse's sim-* turns say it anyway
        markdown = report.render(numbers, endpoint_is_simulator)
        assert "offline **simulator**: these are not a model's results" in markdown
    lines = markdown.splitlines()
    assert f"| **all** | 6 | {accepted} | {100 * accepted / 6:.2f} | | | | |" in lines
    for title in ("## Stop reasons", "## Utterances per accepted dialogue", "## Cost",
                  "## Strategy distribution (accepted dialogues, supporter turns)",
                  "## Strategy transitions (accepted dialogues)",
                  "## Stage coverage (accepted dialogues)",
                  "## Lexical diversity (accepted dialogues)", "## Near-duplicates"):
        assert title in lines, title


def test_a_report_of_a_model_has_no_simulator_banner():
    numbers = {"summary": [{"language": "en", "dialogues": 2, "accepted": 1,
                            "accepted_pct": 50.0, "near_duplicates": 0, "rejected": 1,
                            "stopped": 0, "unchecked": 0, "mean_utterances": 12.0,
                            "min_utterances": 12, "max_utterances": 12}],
               "outcomes": [], "strategies": [], "transitions": [], "coverage": [],
               "near_duplicates": [], "texts": [],
               "cost": {"cost_usd": 0.5, "calls": 40, "simulator": False},
               "simulated": {"simulated": 0, "accepted": 1}}
    markdown = report.render(numbers, simulator=False)
    assert "simulator" not in markdown
    assert "per accepted dialogue: $0.500000." in markdown
    assert report.figures(numbers)["cost_per_accepted_usd"] == 0.5


# -- the flow ---------------------------------------------------------------------------------


@pytest.mark.prefect
def test_the_flow_checks_near_duplicates_and_writes_the_report(warehouse, tmp_path, monkeypatch,
                                                               prefect_server):
    from flows.rolecs import rolecs

    with run_in_thread(SimConfig(seed=5)) as sim:
        point_llm_at(monkeypatch, sim.base_url, tmp_path / "llm.sqlite")
        first = rolecs(per_language=2, batch="b1")
        again = rolecs(per_language=2, batch="b1")
    assert first["near_duplicates"]["checked"] == 4
    assert again["near_duplicates"]["checked"] == 0  # a rerun checks nothing again
    with connect(warehouse) as con:
        accepted = query(con, "SELECT count(*) FROM marts.rolecs_accepted")[0][0]
        assert query(con, "SELECT count(*) FROM rolecs.near_duplicates") == [(4,)]
    assert first["accepted"] == accepted == first["report"]["accepted"]
    assert first["accepted"] <= first["kept"]
    assert again["accepted"] == 0  # no dialogue of the rerun
    path = Path(first["report"]["report"])
    assert path == tmp_path / "out" / "reports" / "rolecs.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# RoleCS: quality and diversity\n")
    assert "offline **simulator**" in text and first["report"]["simulator"] is True
