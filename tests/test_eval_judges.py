"""LLM judges of the evaluation (issue 14): turn scores and the pairwise comparison with the
reference model, on the kit against the simulator over real HTTP into a real DuckDB file, and
their metrics (judge means, win rate) hand-computed on rows written directly (no LLM)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from helpers import CSCONV_EN, CSCONV_ZH, csconv_dialogue, journal_calls
from pydantic import ValidationError

from csc.eval import service
from csc.eval.context import EvalDialogue, EvalTurn, Prediction
from csc.eval.judge_pairwise import PairwiseStage, shown_first
from csc.eval.judge_stage import JudgeItem
from csc.eval.judge_turns import TurnJudgeStage
from csc.kit import runner
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import PairwiseVerdict, Role, TurnJudgement
from simulator import SimConfig, run_in_thread
from warehouse.db import connect, insert_rows, query, query_dicts, transaction

MODEL, REFERENCE = "qwen-test", "strategy-prior"

# ---- fixtures written as the stages and baselines write them ------------------------------




def _run(con, key: str, model: str, setting: str = "reference") -> None:
    with transaction(con):
        insert_rows(con, "eval.runs", [{
            "run_key": key, "model": model, "kind": "baseline" if model == REFERENCE
            else "model", "setting": setting, "dataset": "csconv", "endpoint_model": None,
            "params": "{}", "prompt_version": None}])


def _predict(con, key: str, cid: str, turns: list, reply, failed: set[int] = frozenset()
             ) -> None:
    """A prediction per supporter turn: the gold strategy and `reply(text)`; the turns in
    `failed` are parse failures."""
    lang = "zh" if cid.startswith("z") else "en"
    rows = [{"run_key": key, "csconv_id": cid, "utt_index": i, "language": lang,
             "gold_strategy": sid, "pred_strategy": None if i in failed else sid,
             "gold_text": t, "pred_text": None if i in failed else reply(t),
             "parse_status": "failed" if i in failed else "ok",
             "error": "unreadable" if i in failed else None}
            for i, (s, sid, t) in enumerate(turns) if s == "supporter"]
    with transaction(con):
        insert_rows(con, "eval.predictions", rows)


def _long(text: str) -> str:  # the model's reply: always longer than the reference's
    return text + ("，我们会尽快为您处理好。" if any("\u4e00" <= c <= "\u9fff" for c in text)
                   else " We will sort this out for you right away, step by step.")


def _world(warehouse: Path) -> None:
    """Two dialogues (zh 4 supporter turns, en 3), the model's run (its zh turn 4 a parse
    failure) and the reference baseline's run, both in the reference setting."""
    with connect(warehouse) as con:
        csconv_dialogue(con, "z1", "zh", CSCONV_ZH)
        csconv_dialogue(con, "e1", "en", CSCONV_EN)
        _run(con, "eval-model", MODEL)
        _run(con, "eval-ref", REFERENCE)
        _predict(con, "eval-model", "z1", CSCONV_ZH, _long, failed={4})
        _predict(con, "eval-model", "e1", CSCONV_EN, _long)
        _predict(con, "eval-ref", "z1", CSCONV_ZH, lambda t: t)
        _predict(con, "eval-ref", "e1", CSCONV_EN, lambda t: t)



def _judge(setting: str = "reference", model: str = MODEL):
    return (runner.run_all(TurnJudgeStage.ref(model=model, setting=setting).build(), "r1"),
            runner.run_all(PairwiseStage.ref(model=model, setting=setting).build(), "r1"))


# ---- the stages against the simulator -------------------------------------------------------

def test_every_predicted_turn_is_judged_and_compared_and_a_rerun_asks_nothing(warehouse,
                                                                             llm_env):
    _world(warehouse)
    with run_in_thread(SimConfig(seed=5)) as sim:
        llm_env(sim)
        turns, pairs = _judge()
        assert (turns.input, turns.kept, pairs.input, pairs.kept) == (2, 2, 2, 2)
        assert turns.reconciles and pairs.reconciles
        # 6 readable turns judged, 6 compared; the parse failure asks nothing
        assert journal_calls() == 12
        with connect(warehouse) as con:
            judged = query(con, "SELECT csconv_id, utt_index, status, resolution, empathy, "
                                "appropriateness, reason <> '', error IS NOT NULL "
                                "FROM eval.turn_judgements ORDER BY csconv_id, utt_index")
            pairwise = query_dicts(con, "SELECT * FROM eval.pairwise "
                                        "ORDER BY csconv_id, utt_index")
        assert [(c, i) for c, i, *_ in judged] == [("e1", 0), ("e1", 2), ("e1", 4), ("z1", 0),
                                                   ("z1", 2), ("z1", 4), ("z1", 6)]
        for cid, idx, status, *scores, reason, error in judged:
            if (cid, idx) == ("z1", 4):  # the model's parse failure: recorded, not judged
                assert (status, scores, error) == ("skipped", [None] * 3, True)
            else:
                assert status == "ok" and all(1 <= s <= 5 for s in scores) and reason
        assert len(pairwise) == 7
        assert {p["reference_run_key"] for p in pairwise} == {"eval-ref"}
        # the order is mixed, recorded, and the one the hash says
        assert {p["shown_first"] for p in pairwise} == {"model", "reference"}
        assert all(p["shown_first"] == shown_first(p["csconv_id"], p["utt_index"])
                   for p in pairwise)
        # the model's reply is always the longer one, so it wins wherever it was shown
        for p in pairwise:
            if (p["csconv_id"], p["utt_index"]) == ("z1", 4):
                assert (p["status"], p["verdict"]) == ("forfeit", "reference")
            else:
                assert (p["status"], p["verdict"]) == ("ok", "model"), p
        calls = journal_calls()
        again_turns, again_pairs = _judge()
        assert again_turns.input == again_pairs.input == 0 and journal_calls() == calls
        with connect(warehouse) as con:
            assert query(con, "SELECT count(*) FROM eval.turn_judgements")[0][0] == 7
            assert query(con, "SELECT count(*) FROM eval.pairwise")[0][0] == 7


def test_the_reference_model_is_not_compared_with_itself(warehouse, llm_env):
    _world(warehouse)
    with run_in_thread(SimConfig(seed=5)) as sim:
        llm_env(sim)
        pairs = runner.run_all(PairwiseStage.ref(model=REFERENCE, setting="reference")
                               .build(), "r1")
    assert pairs.input == 0
    with connect(warehouse) as con:
        assert query(con, "SELECT count(*) FROM eval.pairwise")[0][0] == 0


def test_an_unreadable_judge_answer_is_a_recorded_failure_not_a_crash(warehouse, llm_env,
                                                                     monkeypatch):
    monkeypatch.setenv("CSC_LLM_MAX_REASKS", "1")
    _world(warehouse)
    with run_in_thread(SimConfig(seed=6, rate_malformed=1.0)) as sim:
        llm_env(sim)
        turns, pairs = _judge()
    assert (turns.kept, turns.dead, pairs.kept, pairs.dead) == (2, 0, 2, 0)
    with connect(warehouse) as con:
        judged = query(con, "SELECT status, count(*), count(resolution), count(error) "
                            "FROM eval.turn_judgements GROUP BY status ORDER BY status")
        pairwise = query(con, "SELECT status, count(*), count(verdict), count(error) "
                              "FROM eval.pairwise GROUP BY status ORDER BY status")
    assert judged == [("failed", 6, 0, 6), ("skipped", 1, 0, 1)]
    assert pairwise == [("failed", 6, 0, 6), ("forfeit", 1, 1, 0)]


def test_an_endpoint_failure_abandons_the_dialogue_for_the_next_run(warehouse, llm_env,
                                                                   monkeypatch):
    monkeypatch.setenv("CSC_LLM_MAX_ATTEMPTS", "1")
    _world(warehouse)
    with run_in_thread(SimConfig(seed=7, rate_500=1.0)) as sim:
        llm_env(sim)
        turns = runner.run_all(TurnJudgeStage.ref(model=MODEL, setting="reference").build(),
                               "r1")
    assert (turns.kept, turns.dead) == (0, 2)
    with connect(warehouse) as con:
        assert query(con, "SELECT count(*) FROM eval.turn_judgements")[0][0] == 0
    with run_in_thread(SimConfig(seed=7)) as sim:
        llm_env(sim)
        turns = runner.run_all(TurnJudgeStage.ref(model=MODEL, setting="reference").build(),
                               "r2")
    assert turns.kept == 2
    with connect(warehouse) as con:
        assert query(con, "SELECT count(*) FROM eval.turn_judgements")[0][0] == 7


# ---- what a judge is shown ------------------------------------------------------------------

def _settings() -> LLMSettings:
    role = RoleSettings(model="judge", temperature=0.0, max_tokens=None, timeout=30.0)
    return LLMSettings(base_url="http://llm.example/v1", api_key="k",
                       roles={Role.TURN_JUDGE: role, Role.PAIRWISE_JUDGE: role})


def _item() -> JudgeItem:
    d = EvalDialogue("d1", "en", tuple(EvalTurn(i, s, sid, t) for i, (s, sid, t)
                                       in enumerate(CSCONV_EN)))
    own = {0: Prediction(0, 2, "own zero"), 2: Prediction.failed(2, "x"),
           4: Prediction(4, 7, "own four")}
    return JudgeItem(d, "eval-model", own, "eval-ref", {0: Prediction(0, 1, "ref zero"),
                                                        4: Prediction(4, 11, "ref four")})


def _texts(history: list[EvalTurn]) -> list[str]:
    return [t.text for t in history]


def test_the_turn_judge_sees_the_history_the_model_saw():
    item = _item()
    gen = asyncio.run(TurnJudgeStage(_settings(), MODEL, "generated").histories(item))
    assert _texts(gen[4]) == ["own zero", CSCONV_EN[1][2], "", CSCONV_EN[3][2]]  # its own turns
    ref = asyncio.run(TurnJudgeStage(_settings(), MODEL, "reference").histories(item))
    assert _texts(ref[4]) == [t for _, _, t in CSCONV_EN[:4]]  # the gold history
    assert sorted(gen) == sorted(ref) == [0, 2, 4]


def test_the_pairwise_judge_compares_only_turns_both_predicted_after_the_gold_history():
    turns = asyncio.run(PairwiseStage(_settings(), MODEL, "generated").histories(_item()))
    assert sorted(turns) == [0, 4]
    assert _texts(turns[4]) == [t for _, _, t in CSCONV_EN[:4]]


def test_positions_are_mixed_about_evenly_and_stable():
    firsts = [shown_first(f"c{d}", i) for d in range(100) for i in (0, 2, 4)]
    assert 0.35 < firsts.count("model") / len(firsts) < 0.65
    assert firsts == [shown_first(f"c{d}", i) for d in range(100) for i in (0, 2, 4)]


@pytest.mark.parametrize("bad", [0, 6, "4", 4.5, True, None])
def test_a_score_is_a_whole_number_from_1_to_5(bad):
    with pytest.raises(ValidationError):
        TurnJudgement.model_validate({"resolution": bad, "empathy": 3, "appropriateness": 3})
    ok = TurnJudgement.model_validate({"resolution": 1, "empathy": 5, "appropriateness": 3})
    assert (ok.resolution, ok.empathy, ok.appropriateness, ok.reason) == (1, 5, 3, "")


def test_a_pairwise_verdict_is_a_b_or_tie_in_any_case():
    assert [PairwiseVerdict.model_validate({"better": b}).better
            for b in ("a", " B ", "TIE", "Tie")] == ["A", "B", "tie", "tie"]
    with pytest.raises(ValidationError):
        PairwiseVerdict.model_validate({"better": "both"})


# ---- metrics, hand-computed on rows written directly -----------------------------------------

def _judgements(con, key: str, version: str, rows: list[tuple]) -> None:
    with transaction(con):
        insert_rows(con, "eval.turn_judgements", [
            {"run_key": key, "csconv_id": c, "utt_index": i, "judge_version": version,
             "resolution": r, "empathy": e, "appropriateness": a, "reason": "x",
             "status": status, "error": None if status == "ok" else "why"}
            for c, i, status, r, e, a in rows])


def _verdicts(con, key: str, ref: str, version: str, rows: list[tuple]) -> None:
    with transaction(con):
        insert_rows(con, "eval.pairwise", [
            {"run_key": key, "reference_run_key": ref, "csconv_id": c, "utt_index": i,
             "judge_version": version, "shown_first": first, "verdict": verdict,
             "reason": "x", "status": status, "error": None}
            for c, i, first, verdict, status in rows])


def _headline(con, key: str) -> dict[str, dict]:
    rows = query_dicts(con, "SELECT metric, value, ci_low, ci_high, n_turns, status "
                            "FROM eval.metrics WHERE run_key = ? AND strategy_id = 0 "
                            "AND phase = ''", [key])
    return {r["metric"]: r for r in rows}


def test_judge_means_and_win_rate_by_hand(warehouse):
    with connect(warehouse) as con:
        csconv_dialogue(con, "z1", "zh", CSCONV_ZH)
        csconv_dialogue(con, "e1", "en", CSCONV_EN)
        for key, model in (("eval-model", MODEL), ("eval-ref", REFERENCE),
                           ("eval-other", "other")):
            _run(con, key, model)
            _predict(con, key, "z1", CSCONV_ZH, lambda t: t)
            _predict(con, key, "e1", CSCONV_EN, lambda t: t)
        # an older judge version, all 1s and all losses: superseded, never counted
        _judgements(con, "eval-model", "judge-old", [("z1", 0, "ok", 1, 1, 1)])
        _verdicts(con, "eval-model", "eval-ref", "judge-old",
                  [("z1", 0, "model", "reference", "ok")])
        _judgements(con, "eval-model", "judge-new", [
            ("z1", 0, "ok", 5, 4, 3), ("z1", 2, "ok", 3, 2, 1), ("z1", 4, "failed", *[None] * 3),
            ("z1", 6, "skipped", *[None] * 3), ("e1", 0, "ok", 4, 4, 4)])
        _verdicts(con, "eval-model", "eval-ref", "judge-new", [
            ("z1", 0, "model", "model", "ok"), ("z1", 2, "reference", "tie", "ok"),
            ("z1", 4, "model", "reference", "forfeit"), ("e1", 0, "reference", "model", "ok"),
            ("e1", 2, "model", None, "failed")])
        _judgements(con, "eval-ref", "judge-new", [("z1", 0, "ok", 2, 2, 2)])
    service.refresh_metrics(db=warehouse, resamples=200)
    with connect(warehouse) as con:
        m = _headline(con, "eval-model")
        ref = _headline(con, "eval-ref")
        other = _headline(con, "eval-other")
        board = query_dicts(con, "SELECT model, judge_resolution, judge_empathy, "
                                 "judge_appropriateness, win_rate FROM marts.leaderboard "
                                 "ORDER BY model")
    # failed and skipped turns are not judged turns: 3 of them
    assert m["judge_resolution"]["value"] == pytest.approx(12 / 3)
    assert m["judge_empathy"]["value"] == pytest.approx(10 / 3)
    assert m["judge_appropriateness"]["value"] == pytest.approx(8 / 3)
    assert m["judge_resolution"]["n_turns"] == 3
    # wins 2 + tie 0.5 + forfeit lost 0, over 4 compared (the judge failure is not one)
    assert m["win_rate"]["value"] == pytest.approx(100 * 2.5 / 4)
    assert m["win_rate"]["n_turns"] == 4
    for name in ("judge_resolution", "judge_empathy", "judge_appropriateness", "win_rate"):
        assert m[name]["ci_low"] <= m[name]["value"] <= m[name]["ci_high"], name
        assert m[name]["status"] == "computed"
    assert ref["judge_resolution"]["value"] == 2.0
    assert ref["win_rate"]["value"] is None
    assert ref["win_rate"]["status"] == "not computed: this is the reference model"
    assert other["judge_empathy"]["value"] is None
    assert other["judge_empathy"]["status"] == "not computed: no judged turns"
    assert other["win_rate"]["status"].startswith("not computed: no turn compared")
    assert board == [
        {"model": "other", "judge_resolution": None, "judge_empathy": None,
         "judge_appropriateness": None, "win_rate": None},
        {"model": MODEL, "judge_resolution": pytest.approx(4.0),
         "judge_empathy": pytest.approx(10 / 3), "judge_appropriateness": pytest.approx(8 / 3),
         "win_rate": pytest.approx(62.5)},
        {"model": REFERENCE, "judge_resolution": 2.0, "judge_empathy": 2.0,
         "judge_appropriateness": 2.0, "win_rate": None}]


def test_new_judgements_make_the_metrics_stale(warehouse):
    with connect(warehouse) as con:
        csconv_dialogue(con, "e1", "en", CSCONV_EN)
        for key, model in (("eval-model", MODEL), ("eval-ref", REFERENCE)):
            _run(con, key, model)
            _predict(con, key, "e1", CSCONV_EN, lambda t: t)
    assert sorted(service.refresh_metrics(db=warehouse, resamples=50)["computed"]) == [
        "eval-model", "eval-ref"]
    assert service.refresh_metrics(db=warehouse, resamples=50)["computed"] == []
    with connect(warehouse) as con:
        _judgements(con, "eval-model", "judge-new", [("e1", 0, "ok", 4, 4, 4)])
    assert service.refresh_metrics(db=warehouse, resamples=50)["computed"] == ["eval-model"]
    with connect(warehouse) as con:
        _verdicts(con, "eval-model", "eval-ref", "judge-new",
                  [("e1", 0, "model", "model", "ok")])
    assert service.refresh_metrics(db=warehouse, resamples=50)["computed"] == ["eval-model"]
    with connect(warehouse) as con:
        assert _headline(con, "eval-model")["win_rate"]["value"] == 100.0
    assert service.refresh_metrics(db=warehouse, resamples=50)["computed"] == []


def test_the_leaderboard_keeps_its_columns_and_appends_the_judges(warehouse):
    with connect(warehouse) as con:
        columns = [c for (c,) in query(con, "SELECT column_name FROM information_schema.columns "
                                            "WHERE table_schema = 'marts' AND table_name = "
                                            "'leaderboard' ORDER BY ordinal_position")]
    assert columns[-5:] == ["acc_differs_from_next", "judge_resolution", "judge_empathy",
                            "judge_appropriateness", "win_rate"]
    assert columns[:6] == ["setting", "model", "kind", "run_key", "n_turns", "computed_at"]
