"""The data-quality gate over a real DuckDB file: a clean published warehouse passes, a planted
bad row (a strategy id 13, an unmasked phone number or e-mail, a broken judge verdict, metrics
out of range, counts that do not add up) fails naming the expectation, its table and its rows,
an empty warehouse passes with skips, and every run leaves ops.validation_results rows and
Data Docs."""

from __future__ import annotations

import json

import pytest
from helpers import csconv_dialogue, rolecs_accepted

from csc.errors import RuntimeFailure
from csc.finetune.export import Dialogue, Turn
from csc.quality.gate import GateFailed, run_gate
from warehouse.db import connect, insert_rows, query

# 11 utterances: within the CSConv post-filter's 10-50, with Greeting, Identity Verification
# and Appreciation & Closure, alternating.
CSCONV = [("supporter", 1, "您好，请问有什么可以帮您？"), ("customer", None, "我的信用卡被锁了"),
          ("supporter", 2, "请提供您的预留手机号码"), ("customer", None, "是[手机号码]"),
          ("supporter", 4, "请问是哪张卡？"), ("customer", None, "尾号1234那张"),
          ("supporter", 7, "已经为您解锁，今后请注意密码安全"), ("customer", None, "好的"),
          ("supporter", 9, "请问还有其他问题吗？"), ("customer", None, "没有了，谢谢"),
          ("supporter", 11, "感谢来电，再见")]
PHONE = "13812345678"
EMAIL = "wang.li@example.com"


def rolecs(did: str, texts: dict[int, str] | None = None, first: int = 1) -> Dialogue:
    turns = [Turn("supporter", first, "Hello, how can I help you today?"),
             Turn("customer", None, "My card is blocked."),
             Turn("supporter", 2, "May I have your name, please?"),
             Turn("customer", None, "It is Li Wang."),
             Turn("supporter", 11, "Your card is unblocked. Thank you, goodbye!")]
    for i, text in (texts or {}).items():
        turns[i] = Turn(turns[i].speaker, turns[i].strategy_id, text)
    return Dialogue(did, "en", tuple(turns))


def judged(con, ids: list[str], **criteria: bool) -> None:
    """The judge's 5/5 verdicts the RoleCS stage stores with an accepted dialogue."""
    five = {"strategy_adherence": True, "unreasonable_requests": True, "natural_replies": True,
            "varied_expression": True, "role_consistent": True} | criteria
    insert_rows(con, "rolecs.judgements", [
        {"dialogue_id": d, "version": "v1", **five, "passed": all(five.values()),
         "reason": None, "model": "judge", "prompt_version": "p", "run_id": "r"}
        for d in ids])


def metrics(con, run_key: str = "run-a", acc: float = 62.5, judge: float = 4.0) -> None:
    insert_rows(con, "eval.runs", [{"run_key": run_key, "model": "m", "kind": "model",
                                    "setting": "reference", "dataset": "csconv",
                                    "endpoint_model": "m", "params": "{}",
                                    "prompt_version": "p"}])
    base = {"run_key": run_key, "strategy_id": 0, "predicted_id": 0, "phase": "",
            "ci_low": None, "ci_high": None, "n_turns": 8, "status": "computed",
            "fingerprint": "f"}
    insert_rows(con, "eval.metrics", [
        base | {"metric": "acc", "value": acc, "ci_low": 40.0, "ci_high": 80.0},
        base | {"metric": "bleu2", "value": 12.0},
        base | {"metric": "resp_len", "value": 14.5},
        base | {"metric": "judge_empathy", "value": judge},
        base | {"metric": "bertscore", "value": None, "status": "not computed: no model"},
    ], stamp="computed_at")


def export(con, n_dialogues: int = 10, n_train: int = 8, n_validation: int = 1,
           n_dropped: int = 1) -> None:
    insert_rows(con, "finetune.exports", [{
        "export_id": "e1", "format_version": "1", "formats": ["openai"],
        "n_dialogues": n_dialogues, "n_train": n_train, "n_validation": n_validation,
        "n_dropped": n_dropped, "n_truncated": 0, "n_examples_openai": n_train,
        "n_examples_sharegpt": None, "n_examples_instruction": None, "tokens_openai": 100,
        "tokens_sharegpt": None, "tokens_instruction": None, "token_estimate": "chars/4",
        "max_tokens": 4096, "split_seed": 0, "validation_share": 0.1, "dialogues_hash": "h",
        "path": "/tmp/e1"}])


@pytest.fixture
def published(warehouse):
    """A warehouse with every published table filled, cleanly."""
    with connect(warehouse) as con:
        csconv_dialogue(con, "c1", "zh", CSCONV)
        csconv_dialogue(con, "c2", "zh", CSCONV)
        rolecs_accepted(con, [rolecs("r1"), rolecs("r2", {3: "My number is [PHONE]."})])
        judged(con, ["r1", "r2"])
        metrics(con)
        export(con)
    return warehouse


def failures(result) -> dict[tuple[str, str, str | None], int]:
    return {(f.table, f.expectation, f.column): f.unexpected_count for f in result.failures}


def plant(db, statement: str, params: list | None = None) -> None:
    with connect(db) as con:
        con.execute(statement, params)


def test_a_clean_published_warehouse_passes_every_suite(published, tmp_path):
    result = run_gate(published, run_id="clean")
    assert result.passed, result.message()
    assert not result.skipped
    suites = {r.suite for r in result.results}
    assert suites == {"csconv", "rolecs", "eval", "finetune"}
    # the masked [PHONE] in r2 and [手机号码] in the CSConv turns were checked, and held
    pii = [r for r in result.results if r.column == "unmasked_pii"]
    assert {r.table for r in pii} == {"csconv.utterances", "rolecs.utterances"}
    assert all(r.status == "passed" for r in pii)
    assert result.message().startswith("quality gate passed")


def test_a_strategy_id_13_in_published_csconv_fails_naming_it_and_one_row(published):
    plant(published, "UPDATE csconv.utterances SET strategy_id = 13 "
                     "WHERE csconv_id = 'c2' AND utt_index = 6")
    result = run_gate(published, run_id="bad-strategy")
    assert not result.passed
    assert failures(result) == {
        ("csconv.utterances", "expect_column_values_to_be_between", "strategy_id"): 1}
    message = result.message()
    assert "csconv.utterances: expect_column_values_to_be_between(strategy_id" in message
    assert "max_value=12" in message and "failed for 1 row " in message and "13" in message
    assert "nothing published" in message


@pytest.mark.parametrize("planted", [f"Call me on {PHONE} tomorrow.",
                                     f"Mail me at {EMAIL} please.",
                                     "My number is +44 20 7946 0958."])
def test_unmasked_pii_in_an_accepted_rolecs_turn_fails_and_is_not_shown(published, planted):
    plant(published, "UPDATE rolecs.utterances SET text = ? "
                     "WHERE dialogue_id = 'r1' AND utt_index = 3", [planted])
    result = run_gate(published, run_id="pii")
    assert failures(result) == {
        ("rolecs.utterances", "expect_column_values_to_be_null", "unmasked_pii"): 1}
    message = result.message()
    assert "rolecs.utterances" in message and "failed for 1 row" in message
    # the sample says where, masked: the number or address itself is nowhere in the result
    assert PHONE not in message and EMAIL not in message and "7946" not in message
    stored = json.dumps([r.details for r in result.results])
    assert PHONE not in stored and EMAIL not in stored and "7946" not in stored


def test_unmasked_pii_in_published_csconv_fails_too(published):
    plant(published, "UPDATE csconv.utterances SET text = ? WHERE csconv_id = 'c1' "
                     "AND utt_index = 3", [f"是{PHONE}"])
    result = run_gate(published, run_id="pii-csconv")
    assert failures(result) == {
        ("csconv.utterances", "expect_column_values_to_be_null", "unmasked_pii"): 1}


def test_placeholders_and_ordinary_numbers_are_not_pii(published):
    texts = ["Your number [PHONE] and [EMAIL] are on file.", "请拨打[手机号码]或发邮件到[邮箱]",
             "Order 3348917502 ships on 2024-05-01.", "The fee is 1234.56 yuan."]
    with connect(published) as con:
        for i, text in enumerate(texts):
            con.execute("UPDATE rolecs.utterances SET text = ? WHERE dialogue_id = 'r1' "
                        "AND utt_index = ?", [text, i])
    result = run_gate(published, run_id="masked")
    assert result.passed, result.message()


@pytest.mark.parametrize(("statement", "table", "expectation", "column"), [
    ("UPDATE rolecs.utterances SET strategy_id = 5 WHERE dialogue_id = 'r1' AND utt_index = 0",
     "marts.rolecs_accepted", "expect_column_values_to_be_in_set", "opens_with_greeting"),
    ("UPDATE rolecs.utterances SET speaker = 'supporter', strategy_id = 4 "
     "WHERE dialogue_id = 'r1' AND utt_index = 1",
     "marts.rolecs_accepted", "expect_column_values_to_be_in_set", "alternates"),
    ("UPDATE rolecs.utterances SET strategy_id = 13 WHERE dialogue_id = 'r1' AND utt_index = 2",
     "rolecs.utterances", "expect_column_values_to_be_between", "strategy_id"),
    ("UPDATE rolecs.utterances SET text = '' WHERE dialogue_id = 'r1' AND utt_index = 1",
     "rolecs.utterances", "expect_column_value_lengths_to_be_between", "text"),
    ("UPDATE rolecs.judgements SET natural_replies = false WHERE dialogue_id = 'r2'",
     "marts.rolecs_accepted", "expect_column_values_to_be_in_set", "judged_five_of_five"),
    ("DELETE FROM rolecs.judgements WHERE dialogue_id = 'r2'",
     "marts.rolecs_accepted", "expect_column_values_to_be_in_set", "judged_five_of_five"),
    ("UPDATE eval.metrics SET value = 101 WHERE metric = 'acc'",
     "eval.metrics", "expect_column_values_to_be_between", "value"),
    ("UPDATE eval.metrics SET value = 0.5 WHERE metric = 'judge_empathy'",
     "eval.metrics", "expect_column_values_to_be_between", "value"),
    ("UPDATE eval.metrics SET value = -1 WHERE metric = 'resp_len'",
     "eval.metrics", "expect_column_values_to_be_between", "value"),
    ("UPDATE eval.metrics SET value = NULL WHERE metric = 'bleu2'",
     "eval.metrics", "expect_column_values_to_not_be_null", "value"),
    ("UPDATE finetune.exports SET n_dropped = 2",
     "finetune.exports", "expect_column_values_to_be_in_set", "counts_add_up"),
    ("UPDATE finetune.exports SET n_train = 0, n_validation = 9",
     "finetune.exports", "expect_column_values_to_be_between", "n_train"),
])
def test_each_planted_bad_row_fails_its_critical_expectation(published, statement, table,
                                                             expectation, column):
    plant(published, statement)
    result = run_gate(published)
    assert not result.passed
    assert (table, expectation, column) in failures(result), result.message()


def test_more_than_50_rolecs_utterances_fail(published):
    long = Dialogue("r3", "en", tuple(
        Turn("supporter", 1 if i == 0 else 6, f"step {i}") if i % 2 == 0
        else Turn("customer", None, f"ok {i}") for i in range(51)))
    with connect(published) as con:
        rolecs_accepted(con, [long])
        judged(con, ["r3"])
    result = run_gate(published)
    assert failures(result) == {
        ("marts.rolecs_accepted", "expect_column_values_to_be_between", "n_utterances"): 1}


def test_a_warning_is_recorded_and_publishes_anyway(published):
    # a percentile interval that misses its point estimate: odd, not wrong
    plant(published, "UPDATE eval.metrics SET ci_low = 70 WHERE metric = 'acc'")
    result = run_gate(published, run_id="warn")
    assert result.passed
    assert [(w.table, w.column) for w in result.warnings] == [
        ("eval.metrics", "interval_holds_value")]
    assert "1 warning(s)" in result.message()


def test_a_published_table_that_lost_its_rows_fails(published):
    # CSConv has run (csconv.dialogues has rows) but the published set is empty
    plant(published, "INSERT INTO csconv.rejects BY NAME SELECT dialogue_id, pipeline_version, "
                     "'f' AS step, 'x' AS reason, now() + INTERVAL 1 DAY AS created_at, "
                     "'r' AS run_id FROM csconv.dialogues")
    result = run_gate(published)
    assert set(failures(result)) == {
        ("marts.csconv_current", "expect_table_row_count_to_be_between", None),
        ("csconv.utterances", "expect_table_row_count_to_be_between", None)}
    assert "observed 0" in result.message()


def test_an_empty_warehouse_passes_with_every_suite_skipped(warehouse, tmp_path):
    result = run_gate(warehouse, run_id="fresh")
    assert result.passed
    assert result.skipped == ["csconv", "rolecs", "eval", "finetune"]
    assert "no rows yet" in result.message()
    with connect(warehouse) as con:
        rows = query(con, "SELECT suite, expectation, status, success FROM "
                          "ops.validation_results WHERE run_id = 'fresh' ORDER BY suite")
        history = query(con, "SELECT suite, status, gate_passed FROM marts.quality_history "
                             "WHERE run_id = 'fresh' ORDER BY suite")
    assert rows == [(s, "no rows yet", "skipped", None)
                    for s in ("csconv", "eval", "finetune", "rolecs")]
    assert history == [(s, "skipped", True) for s in ("csconv", "eval", "finetune", "rolecs")]
    assert (tmp_path / "out" / "quality" / "data_docs" / "index.html").is_file()


def test_only_the_stages_that_ran_are_checked(warehouse):
    with connect(warehouse) as con:
        csconv_dialogue(con, "c1", "zh", CSCONV)
    result = run_gate(warehouse)
    assert result.passed and result.skipped == ["rolecs", "eval", "finetune"]


def test_results_are_stored_one_row_per_expectation(published):
    plant(published, "UPDATE csconv.utterances SET strategy_id = 13 "
                     "WHERE csconv_id = 'c2' AND utt_index = 6")
    result = run_gate(published, run_id="stored")
    with connect(published) as con:
        rows = query(con, "SELECT suite, \"table\", expectation, \"column\", critical, status, "
                          "success, unexpected_count, details FROM ops.validation_results "
                          "WHERE run_id = 'stored'")
        history = query(con, "SELECT suite, status, critical_failures, unexpected_rows, "
                             "gate_passed FROM marts.quality_history WHERE run_id = 'stored' "
                             "ORDER BY suite")
    assert len(rows) == len(result.results) > 30
    failed = [r for r in rows if r[5] == "failed"]
    assert [r[:8] for r in failed] == [
        ("csconv", "csconv.utterances", "expect_column_values_to_be_between", "strategy_id",
         True, "failed", False, 1)]
    assert json.loads(failed[0][8])["sample"] == ["13"]
    assert ("csconv", "failed", 1, 1, False) in history
    assert ("rolecs", "passed", 0, 0, False) in history


def test_data_docs_are_built_offline_and_replaced_whole(published, tmp_path):
    docs = tmp_path / "docs"
    first = run_gate(published, docs_dir=docs)
    assert first.docs_path == docs / "index.html" and first.docs_path.is_file()
    assert not first.docs_note
    pages = list((docs / "validations").rglob("*.html"))
    assert pages, "a page per validated table"
    index = first.docs_path.read_text(encoding="utf-8")
    assert "csconv.csconv_utterances" in index
    plant(published, "UPDATE csconv.utterances SET text = ? WHERE csconv_id = 'c1' "
                     "AND utt_index = 3", [f"是{PHONE}"])
    second = run_gate(published, docs_dir=docs)
    assert not second.passed
    # the folder was replaced, not added to: one build's pages, no leftovers beside it
    assert len(list((docs / "validations").rglob("*.html"))) == len(pages)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".docs")] == []
    for page in docs.rglob("*.html"):
        assert PHONE not in page.read_text(encoding="utf-8")


def test_gate_failed_is_a_runtime_failure_with_the_message():
    assert issubclass(GateFailed, RuntimeFailure)
    error = GateFailed("quality gate failed: x")
    assert error.exit_code == 1 and str(error) == "quality gate failed: x"


def test_the_quality_flow_fails_with_one_paragraph_and_passes_when_clean(published,
                                                                          prefect_server):
    from flows.quality import quality
    from tasks.runs import RunRefused

    assert quality()["passed"] is True
    plant(published, "UPDATE csconv.utterances SET strategy_id = 13 "
                     "WHERE csconv_id = 'c2' AND utt_index = 6")
    with pytest.raises(RunRefused) as refused:
        quality()
    message = str(refused.value)
    assert refused.value.exit_code == 1 and "\n" not in message
    assert message.startswith("quality gate failed, nothing published")
    assert "csconv.utterances: expect_column_values_to_be_between(strategy_id" in message
    assert "failed for 1 row" in message and "Traceback" not in message
    with connect(published) as con:
        runs = query(con, "SELECT status FROM ops.runs WHERE flow = 'quality' "
                          "ORDER BY started_at")
    assert runs == [("completed",), ("failed",)]
