"""An annotation that left a supporter turn unlabelled is not final (issue 11 B2).

Its target stays pending, the next run asks again (past a cache that holds the incomplete
answer), and the new answer replaces the old rows in one transaction, under the table's key.
A label that did not map (a multi-strategy label, an unknown name) is the annotator's answer
and is kept: only a turn the answer left out makes an annotation incomplete.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import GOOD_ZH, dialogue, ingest, write_jsonl

from csc.csconv.annotate import NOT_LABELLED, AnnotationStage, Target, _request, label_rows
from csc.llm.gateway import LLMGateway, cache_key
from csc.llm.journal import Cached, CallRow, Journal
from csc.llm.settings import LLMSettings, RoleSettings
from schemas.llm import Annotation, Role, TurnLabel
from simulator import SimConfig, run_in_thread
from warehouse.csconv_store import annotation_pending, target_turns, write_annotations
from warehouse.db import connect, query

VERSION, MODEL = "annotator.zh@test", "sim-annotator"
SUPPORTER_AT = (1, 3, 5, 7, 9)  # GOOD_ZH alternates and opens with the customer
LABELS = {1: "策略1 礼貌问候", 3: "策略2 确认身份", 5: "策略7 信息传达", 7: "策略6 提供建议",
          9: "策略11 感谢与告别"}


def answer(indices=SUPPORTER_AT, **labels: str) -> Annotation:
    """The annotator's answer labelling `indices`; labels['at<i>'] overrides turn i's label."""
    return Annotation(labels=[TurnLabel(index=i, strategy=labels.get(f"at{i}", LABELS[i]))
                              for i in indices])


@pytest.fixture
def raw(warehouse: Path, tmp_path: Path) -> dict[str, Target]:
    """Four raw zh dialogues (a..d) that passed the rules, as annotation targets."""
    rows = []
    for name in "abcd":
        turns = list(GOOD_ZH)
        turns[2] = ("客户", f"我姓王，卡号尾号是{ord(name)}")  # distinct texts, distinct ids
        rows.append(dialogue(name, turns))
    ingest(write_jsonl(tmp_path / "in.jsonl", rows), warehouse)
    with connect(warehouse) as con:
        ids = dict(query(con, "SELECT source_dialogue_id, dialogue_id FROM raw.dialogues"))
        turns = target_turns(con, "raw", list(ids.values()))
    return {name: Target("raw", ids[name], "zh", turns[ids[name]]) for name in "abcd"}


def write(db: Path, target: Target, ann: Annotation, run_id: str = "r1") -> None:
    with connect(db) as con:
        write_annotations(con, label_rows(target, ann, MODEL, VERSION, run_id))


def pending(db: Path, raw: dict[str, Target], version: str = VERSION,
            model: str = MODEL) -> list[str]:
    names = {t.target_id: name for name, t in raw.items()}
    with connect(db) as con:
        return sorted(names[i] for i in annotation_pending(con, "raw", "zh", version, model))


def stored(db: Path, target: Target) -> list[tuple]:
    with connect(db) as con:
        return query(con, "SELECT utt_index, strategy_id, label_error, run_id "
                          "FROM csconv.annotations WHERE target_id = ? ORDER BY utt_index",
                     [target.target_id])


# -- the store ------------------------------------------------------------------------------

def test_only_a_turn_left_out_keeps_a_target_pending(warehouse, raw):
    write(warehouse, raw["a"], answer())  # complete
    write(warehouse, raw["b"], answer((1, 3, 7, 9)))  # turn 5 left out
    write(warehouse, raw["c"], answer(at5="策略6+策略7", at7="Banana"))  # answered, unmapped
    # d: never annotated
    assert pending(warehouse, raw) == ["b", "d"]
    assert [row[2] for row in stored(warehouse, raw["b"])] == [None, None, NOT_LABELLED, None,
                                                               None]
    # another prompt version or model has annotated nothing yet
    assert pending(warehouse, raw, version="annotator.zh@other") == ["a", "b", "c", "d"]
    assert pending(warehouse, raw, model="sim-other") == ["a", "b", "c", "d"]


def test_a_new_answer_replaces_an_incomplete_annotation_whole(warehouse, raw):
    write(warehouse, raw["b"], answer((1, 3, 7, 9)), run_id="r1")
    write(warehouse, raw["b"], answer(at3="策略4 细化问题"), run_id="r2")
    assert stored(warehouse, raw["b"]) == [(1, 1, None, "r2"), (3, 4, None, "r2"),
                                           (5, 7, None, "r2"), (7, 6, None, "r2"),
                                           (9, 11, None, "r2")]
    assert "b" not in pending(warehouse, raw)


def test_a_second_incomplete_answer_replaces_the_first_and_stays_pending(warehouse, raw):
    write(warehouse, raw["b"], answer((1, 3, 7, 9)), run_id="r1")
    write(warehouse, raw["b"], answer((1, 3, 5, 7)), run_id="r2")
    assert stored(warehouse, raw["b"]) == [(1, 1, None, "r2"), (3, 2, None, "r2"),
                                           (5, 7, None, "r2"), (7, 6, None, "r2"),
                                           (9, None, NOT_LABELLED, "r2")]
    assert "b" in pending(warehouse, raw)


def test_a_complete_annotation_is_final(warehouse, raw):
    write(warehouse, raw["a"], answer(), run_id="r1")
    write(warehouse, raw["a"], answer((1, 3)), run_id="r2")  # a later answer changes nothing
    assert {row[3] for row in stored(warehouse, raw["a"])} == {"r1"}
    assert [row[1] for row in stored(warehouse, raw["a"])] == [1, 2, 7, 6, 11]


def test_the_old_rows_survive_when_the_new_ones_cannot_be_written(warehouse, raw):
    write(warehouse, raw["b"], answer((1, 3, 7, 9)), run_id="r1")
    before = stored(warehouse, raw["b"])
    rows = label_rows(raw["b"], answer(), MODEL, VERSION, "r2")
    rows[-1] = rows[-1] | {"utt_index": "not a number"}
    with connect(warehouse) as con, pytest.raises(Exception):  # noqa: B017 (duckdb's own)
        write_annotations(con, rows)
    assert stored(warehouse, raw["b"]) == before


# -- the next run ---------------------------------------------------------------------------

def sim_settings(url: str) -> LLMSettings:
    roles = {r: RoleSettings(model=MODEL, temperature=0.0, max_tokens=None, timeout=5.0)
             for r in Role}
    return replace(LLMSettings(base_url=url, api_key="sim-key", roles=roles),
                   backoff_base=0.01, backoff_cap=0.02)


def cache_answer(journal: Journal, settings: LLMSettings, target: Target,
                 ann: Annotation) -> None:
    """Put `ann` in the cache as the answer to `target`'s request, as an earlier run would."""
    req = _request(target)
    key = cache_key(settings, req)
    journal.record(CallRow(call_id=f"seed-{target.target_id}", run_id="r0", stage="annotate",
                           role="annotator", model=MODEL, item_key=req.item_key,
                           prompt_hash=key, prompt_version=req.prompt_version),
                   key, Cached(MODEL, ann.model_dump_json(), None, 1, 1, 0))


def run_annotate(settings: LLMSettings, journal: Journal,
                 targets: list[Target]) -> tuple[list[dict], LLMGateway]:
    """The annotation stage's process() over `targets`, as its runner would call it."""
    stage = AnnotationStage(settings, "raw")

    async def go():
        gw = LLMGateway(settings, journal, run_id="r2", stage="annotate")
        try:
            outcomes = await asyncio.gather(*(stage.process(gw, t) for t in targets))
            assert {o.status for o in outcomes} == {"kept"}
            return stage.rows(outcomes, VERSION, "r2")["csconv.annotations"], gw
        finally:
            await gw.aclose()
    return asyncio.run(go())


def test_a_cached_incomplete_answer_is_asked_again_past_the_cache(tmp_path, raw):
    """b's cached answer left turn 5 out, a's is complete: only b goes to the endpoint, its
    fresh answer labels every supporter turn and replaces the cached one."""
    journal = Journal(tmp_path / "cache.sqlite")
    try:
        with run_in_thread(SimConfig(seed=1)) as sim:
            settings = sim_settings(sim.base_url)
            cache_answer(journal, settings, raw["a"], answer())
            cache_answer(journal, settings, raw["b"], answer((1, 3, 7, 9)))
            rows, gw = run_annotate(settings, journal, [raw["a"], raw["b"]])
            assert sim.stats()["requests"] == 1 and sim.stats()["by_role"] == {"annotator": 1}
            assert gw.refresh is False  # the gateway is left as it was given
            labelled = {(r["target_id"], r["utt_index"]): r["label_error"] for r in rows}
            assert sorted(labelled) == sorted((t.target_id, i) for t in (raw["a"], raw["b"])
                                              for i in SUPPORTER_AT)
            assert NOT_LABELLED not in labelled.values()
            again, _ = run_annotate(settings, journal, [raw["b"]])  # now served by the cache
            assert sim.stats()["requests"] == 1 and again == [
                r for r in rows if r["target_id"] == raw["b"].target_id]
    finally:
        journal.close()


def test_a_kept_csconv_dialogue_is_pending_until_complete(warehouse):
    """The same rule for the rewritten dialogues of marts.csconv_current."""
    with connect(warehouse) as con:
        con.execute("INSERT INTO csconv.dialogues (csconv_id, dialogue_id, pipeline_version, "
                    "language, n_utterances, n_supporter, strategy_use, rewriter_model, "
                    "rewrite_prompt, judge_model, run_id, created_at) VALUES ('c1', 'd1', "
                    "'v1', 'zh', 2, 1, 1.0, 'sim-r', 'p1', 'sim-j', 'r', now())")
        c1 = Target("csconv", "c1", "zh", [("customer", "你好"), ("supporter", "您好")])
        write_annotations(con, label_rows(c1, Annotation(labels=[]), MODEL, VERSION, "r1"))
        assert annotation_pending(con, "csconv", "zh", VERSION, MODEL) == ["c1"]
        write_annotations(con, label_rows(c1, Annotation(labels=[
            TurnLabel(index=1, strategy="策略1 礼貌问候")]), MODEL, VERSION, "r2"))
        assert annotation_pending(con, "csconv", "zh", VERSION, MODEL) == []
        assert query(con, "SELECT utt_index, strategy_id, run_id FROM csconv.annotations") \
            == [(1, 1, "r2")]
