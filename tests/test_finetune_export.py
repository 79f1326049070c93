"""Fine-tune exports of the accepted RoleCS set (docs/finetune.md): the three formats' exact
shape, merging and alternation, the target the evaluation's parser reads back, the split, the
dedupe, the token limit, the chat validator on hostile lines, and the trigger over a real
DuckDB file (every decision recorded, the same content never exported twice)."""

from __future__ import annotations

import json
import os

import pytest
from helpers import rolecs_accepted as _accepted

from cli.main import main
from csc.finetune import formats as F
from csc.finetune.export import (
    Dialogue,
    ExportConfig,
    NothingToExport,
    Turn,
    assign_splits,
    build_export,
    chat_messages,
    fit,
    instruction_records,
    merge_turns,
    sharegpt_record,
)
from csc.finetune.service import run_trigger, write_folder
from csc.finetune.trigger import gate, is_news, verdict
from csc.framework import STRATEGIES, normalise_label, strategy_label
from csc.llm.parsing import parse_as
from schemas.llm import CandidatePrediction
from warehouse.db import connect, query

S, C = "supporter", "customer"


def sup(sid: int, text: str) -> Turn:
    return Turn(S, sid, text)


def cus(text: str) -> Turn:
    return Turn(C, None, text)


ZH = Dialogue("00000000000000a1", "zh", (
    sup(1, "您好，请问有什么可以帮您？"),
    cus("我的信用卡被冻结了。"),
    cus("能帮我看看吗？"),
    sup(4, "请问是哪一张卡被冻结了？"),
    cus("尾号1234的那张。"),
    sup(11, "感谢您的耐心，再见。"),
))
EN = Dialogue("00000000000000b2", "en", (
    sup(1, "Hello, how can I help you today?"),
    cus("I was charged twice."),
    sup(5, "I am sorry about that."),
    sup(5, "I understand how annoying it is."),
    cus("Thanks."),
    sup(11, "Thank you for calling. Goodbye."),
    cus("Bye."),  # nothing to learn after it: dropped
))


def zh_target(label: str, reply: str) -> str:
    return json.dumps({"strategy": label, "response": reply}, ensure_ascii=False)


# -- the three formats, exactly -----------------------------------------------------------------

def test_the_openai_chat_example_of_each_dialogue_is_exactly_this():
    zh_sys, en_sys = F.system_prompt("zh"), F.system_prompt("en")
    assert chat_messages("zh", merge_turns(ZH)[0]) == [
        {"role": "system", "content": zh_sys},
        {"role": "user", "content": "（客户已接入）"},
        {"role": "assistant",
         "content": '{"strategy": "策略1 礼貌问候", "response": "您好，请问有什么可以帮您？"}'},
        {"role": "user", "content": "我的信用卡被冻结了。\n能帮我看看吗？"},
        {"role": "assistant",
         "content": '{"strategy": "策略4 细化问题", "response": "请问是哪一张卡被冻结了？"}'},
        {"role": "user", "content": "尾号1234的那张。"},
        {"role": "assistant",
         "content": '{"strategy": "策略11 感谢与告别", "response": "感谢您的耐心，再见。"}'},
    ]
    assert chat_messages("en", merge_turns(EN)[0]) == [
        {"role": "system", "content": en_sys},
        {"role": "user", "content": "(The customer has joined the chat.)"},
        {"role": "assistant",
         "content": '{"strategy": "Greeting", "response": "Hello, how can I help you today?"}'},
        {"role": "user", "content": "I was charged twice."},
        {"role": "assistant", "content": '{"strategy": "Emotional Management", "response": '
                                         '"I am sorry about that.\\nI understand how annoying '
                                         'it is."}'},
        {"role": "user", "content": "Thanks."},
        {"role": "assistant", "content": '{"strategy": "Appreciation & Closure", "response": '
                                         '"Thank you for calling. Goodbye."}'},
    ]
    # the system message is in the dialogue's language and names all 12 strategies as the
    # target spells them
    for s in STRATEGIES:
        assert strategy_label(s.id, "zh") in zh_sys and strategy_label(s.id, "en") in en_sys
    assert "你是一名客服" in zh_sys and "customer-support agent" in en_sys


def test_the_sharegpt_record_and_its_llama_factory_entry():
    assert sharegpt_record("zh", merge_turns(ZH)[0]) == {
        "conversations": [
            {"from": "human", "value": "（客户已接入）"},
            {"from": "gpt", "value": zh_target("策略1 礼貌问候", "您好，请问有什么可以帮您？")},
            {"from": "human", "value": "我的信用卡被冻结了。\n能帮我看看吗？"},
            {"from": "gpt", "value": zh_target("策略4 细化问题", "请问是哪一张卡被冻结了？")},
            {"from": "human", "value": "尾号1234的那张。"},
            {"from": "gpt", "value": zh_target("策略11 感谢与告别", "感谢您的耐心，再见。")},
        ],
        "system": F.system_prompt("zh"),
    }
    export = build_export([ZH, EN], ExportConfig(validation_share=0))
    info = json.loads(export.files["dataset_info.json"])
    # loss on the gpt turns only is LLaMA-Factory's default for this formatting
    assert info["csc_rolecs_sharegpt_train"] == {
        "file_name": "sharegpt.train.jsonl", "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                 "assistant_tag": "gpt"}}
    assert info["csc_rolecs_instruction_train"]["formatting"] == "alpaca"
    assert set(info) == {"csc_rolecs_sharegpt_train", "csc_rolecs_instruction_train"}


def test_the_instruction_examples_one_per_supporter_turn_with_the_history_as_input():
    records = instruction_records("en", merge_turns(EN)[0])
    assert [r["input"] for r in records] == [
        "",
        "supporter [Greeting]: Hello, how can I help you today?\ncustomer: I was charged twice.",
        "supporter [Greeting]: Hello, how can I help you today?\ncustomer: I was charged twice."
        "\nsupporter [Emotional Management]: I am sorry about that.\nI understand how annoying "
        "it is.\ncustomer: Thanks.",
    ]
    assert [json.loads(r["output"]) for r in records] == [
        {"strategy": "Greeting", "response": "Hello, how can I help you today?"},
        {"strategy": "Emotional Management",
         "response": "I am sorry about that.\nI understand how annoying it is."},
        {"strategy": "Appreciation & Closure", "response": "Thank you for calling. Goodbye."}]
    assert {r["instruction"] for r in records} == {F.instruction_text("en")}
    zh = instruction_records("zh", merge_turns(ZH)[0])
    assert zh[1]["input"] == ("客服【策略1 礼貌问候】：您好，请问有什么可以帮您？\n"
                              "客户：我的信用卡被冻结了。\n能帮我看看吗？")
    assert set(zh[0]) == {"instruction", "input", "output"}


def test_the_export_files_hold_both_dialogues_in_each_format():
    export = build_export([EN, ZH], ExportConfig(validation_share=0))
    assert sorted(export.files) == ["dataset_info.json", "instruction.train.jsonl",
                                    "openai.train.jsonl", "sharegpt.train.jsonl"]
    openai = [json.loads(line) for line in export.files["openai.train.jsonl"].splitlines()]
    assert [list(r) for r in openai] == [["messages"], ["messages"]]  # nothing else per line
    assert openai[0]["messages"] == chat_messages("zh", merge_turns(ZH)[0])  # by id: a1 < b2
    assert export.examples == {"openai": 2, "sharegpt": 2, "instruction": 6}
    assert export.files["openai.train.jsonl"].endswith("}\n")
    assert F.validate_chat(export.files["openai.train.jsonl"], 16_000) == []
    only = build_export([EN, ZH], ExportConfig(formats=("instruction",)))
    assert sorted(only.files) == ["dataset_info.json", "instruction.train.jsonl"]
    assert only.export_id != export.export_id  # the formats are part of what is exported


# -- merging and alternation --------------------------------------------------------------------

def test_turns_are_merged_per_speaker_and_the_chat_alternates():
    turns, why = merge_turns(Dialogue("x", "en", (
        cus("hi"), cus(" "), cus("there"), sup(4, "which card?"), sup(4, "the debit one?"),
        cus("debit"), sup(6, "try again"), cus("ok"), cus("bye"))))
    assert why is None
    assert turns == [Turn(C, None, "hi\nthere"), Turn(S, 4, "which card?\nthe debit one?"),
                     Turn(C, None, "debit"), Turn(S, 6, "try again")]
    roles = [m["role"] for m in chat_messages("en", turns)]
    assert roles == ["system", "user", "assistant", "user", "assistant"]  # no opening needed


def test_supporter_turns_with_two_strategies_are_not_merged_but_dropped():
    turns, why = merge_turns(Dialogue("x", "en", (sup(1, "hi"), sup(2, "your name?"))))
    assert turns == [] and "multi-strategy" in why
    assert merge_turns(Dialogue("x", "en", (cus("hello"),)))[1] == "no supporter turn"
    assert "without a strategy" in merge_turns(Dialogue("x", "en", (Turn(S, None, "hi"),)))[1]
    assert "unknown speaker" in merge_turns(Dialogue("x", "en", (Turn("bot", 1, "hi"),)))[1]


# -- the target: strategy and reply, read back by the evaluation's parser ----------------------

@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_target_is_read_back_by_normalise_label_and_the_candidate_parser(language):
    for s in STRATEGIES:
        text = F.target(s.id, "回复 reply", language)
        assert F.read_target(text) == (s.id, "回复 reply")
        label = json.loads(text)["strategy"]
        assert normalise_label(label).ids == (s.id,), label
        answer = parse_as(text, CandidatePrediction)  # what evaluation does with an answer
        assert normalise_label(answer.strategy).id == s.id and answer.response == "回复 reply"


def test_read_target_refuses_what_evaluation_could_not_score():
    for bad, why in [("Greeting: hi", "not a JSON object"), ("[1, 2]", "not a JSON object"),
                     ('{"strategy": "Greeting"}', "string fields"),
                     ('{"strategy": "Dancing", "response": "hi"}', "names no single"),
                     ('{"strategy": "策略6+策略7", "response": "hi"}', "names no single"),
                     ('{"strategy": "Greeting", "response": "  "}', "empty response")]:
        with pytest.raises(ValueError, match=why):
            F.read_target(bad)


# -- split, dedupe, token limit -----------------------------------------------------------------

def test_the_split_is_by_dialogue_deterministic_and_stable_as_the_set_grows():
    ids = [f"{i:016x}" for i in range(2000)]
    splits = assign_splits(ids, 0.1, seed=0)
    assert splits == assign_splits(list(reversed(ids)), 0.1, seed=0)  # order does not matter
    share = sum(s == "validation" for s in splits.values()) / len(ids)
    assert 0.08 < share < 0.12
    grown = assign_splits(ids + [f"{i:016x}" for i in range(2000, 2500)], 0.1, seed=0)
    assert {i: grown[i] for i in ids} == splits  # no dialogue changes side
    assert assign_splits(ids, 0.1, seed=1) != splits  # the seed matters
    assert set(assign_splits(ids, 0.0, seed=0).values()) == {"train"}


@pytest.mark.parametrize("n", [1, 2, 3, 9])
def test_a_tiny_set_never_has_an_empty_train_split(n):
    ids = [f"{i:016x}" for i in range(n)]
    splits = assign_splits(ids, 0.99, seed=0)
    assert list(splits.values()).count("train") == 1  # only the forced one
    assert splits == assign_splits(ids, 0.99, seed=0)


def test_every_example_of_a_dialogue_lands_in_its_dialogues_split():
    dialogues = [Dialogue(f"{i:016x}", "en", (sup(1, f"hello {i}"), cus("hi"), sup(4, f"q {i}")))
                 for i in range(60)]
    export = build_export(dialogues, ExportConfig(validation_share=0.3))
    split_of = {p.dialogue_id: p.split for p in export.placements}
    assert {"train", "validation"} <= set(split_of.values())
    for split in ("train", "validation"):
        lines = export.files[f"instruction.{split}.jsonl"].splitlines()
        numbers = {json.loads(line)["output"].split('"response": "')[1].split()[1].rstrip('"}')
                   for line in lines}
        assert {f"{int(n):016x}" for n in numbers} == {i for i, s in split_of.items()
                                                      if s == split}
    assert export.count("train") + export.count("validation") == 60


def test_identical_dialogues_are_exported_once_and_the_copy_says_whose():
    copy = Dialogue("00000000000000c3", "zh", ZH.turns)
    other = Dialogue("00000000000000d4", "zh", (sup(2, ZH.turns[0].text), *ZH.turns[1:]))
    export = build_export([copy, ZH, other], ExportConfig(validation_share=0))
    placed = {p.dialogue_id: (p.split, p.reason) for p in export.placements}
    assert placed == {ZH.dialogue_id: ("train", None),
                      copy.dialogue_id: ("dropped", f"duplicate of {ZH.dialogue_id}"),
                      other.dialogue_id: ("train", None)}  # one strategy differs: not a copy
    assert export.examples["openai"] == 2


def test_an_over_limit_dialogue_is_cut_after_the_last_supporter_turn_that_fits():
    long = Dialogue("00000000000000e5", "en", (
        sup(1, "hello"), cus("word " * 200), sup(4, "which?"), cus("word " * 200),
        sup(11, "bye")))
    formats = ("openai", "sharegpt", "instruction")
    turns = merge_turns(long)[0]
    whole = F.messages_tokens(m["content"] for m in chat_messages("en", turns))
    assert whole > 600
    limit = whole - 10
    kept, why = fit(formats, "en", turns, limit)
    assert why is None and kept == turns[:3] and kept[-1].speaker == S
    export = build_export([long, EN], ExportConfig(max_tokens=limit, validation_share=0))
    cut = next(p for p in export.placements if p.dialogue_id == long.dialogue_id)
    assert (cut.split, cut.truncated, cut.kept_turns) == ("train", True, 3)
    assert export.n_truncated == 1
    for fmt in formats:  # every example written is within the limit
        for line in export.files[f"{fmt}.train.jsonl"].splitlines():
            from csc.finetune.export import example_tokens

            assert example_tokens(fmt, json.loads(line)) <= limit
    assert F.validate_chat(export.files["openai.train.jsonl"], limit) == []
    # not even the first supporter turn fits: dropped, with why
    opener = Dialogue("00000000000000e6", "en", (cus("word " * 2000), sup(4, "which?")))
    tiny = build_export([opener, EN], ExportConfig(max_tokens=limit, validation_share=0))
    gone = next(p for p in tiny.placements if p.dialogue_id == opener.dialogue_id)
    assert gone.split == "dropped" and gone.reason.startswith("over the token limit: the "
                                                              "first supporter turn alone")
    with pytest.raises(NothingToExport, match="all 1 dialogue"):
        build_export([opener], ExportConfig(max_tokens=limit))


def test_the_token_estimate():
    assert F.estimate_tokens("您好，再见。") == 6  # one per CJK character and full-width mark
    assert F.estimate_tokens("hello big world") == 4  # ceil(3 * 1.3)
    assert F.estimate_tokens("尾号1234的卡") == 4 + 2  # 尾号的卡, and '1234' as one word
    assert F.messages_tokens(["hello", "您好"]) == 3 + (4 + 2) + (4 + 2)


def test_the_export_id_follows_the_content():
    a = build_export([ZH, EN], ExportConfig())
    assert build_export([EN, ZH], ExportConfig()).export_id == a.export_id
    # the knobs count through what they change: with no validation share, the seed changes
    # no file, and the id stays
    assert build_export([ZH, EN], ExportConfig(seed=1, validation_share=0)).export_id == \
        build_export([ZH, EN], ExportConfig(seed=2, validation_share=0)).export_id
    edited = Dialogue(EN.dialogue_id, "en", (*EN.turns[:-2], sup(11, "Goodbye.")))
    assert build_export([ZH, edited], ExportConfig()).export_id != a.export_id
    assert len(a.export_id) == 16 and a.dialogues_hash != a.export_id


# -- the validator of the chat file, on hostile lines -------------------------------------------

def _line(*messages: tuple[str, str], **extra) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in messages], **extra},
                      ensure_ascii=False)


OK_TARGET = F.target(1, "hello", "en")


def test_the_validator_passes_a_good_file_and_names_every_problem_with_its_line():
    good = _line(("system", "s"), ("user", "hi"), ("assistant", OK_TARGET))
    assert F.validate_chat(good + "\n" + good + "\n", 100) == []
    assert F.validate_chat(_line(("user", "hi"), ("assistant", OK_TARGET)), 100) == []
    hostile = [
        good,                                                                # 1 fine
        _line(("system", "s"), ("user", ""), ("assistant", OK_TARGET)),      # 2 empty content
        _line(("system", "s"), ("assistant", OK_TARGET), ("user", "hi")),    # 3 wrong order
        _line(("system", "s"), ("bot", "hi"), ("assistant", OK_TARGET)),     # 4 bad role
        _line(("system", "s"), ("user", "word " * 200), ("assistant", OK_TARGET)),  # 5 long
        "{not json",                                                         # 6
        "",                                                                  # 7 blank
        _line(("system", "s"), ("user", "hi"), ("assistant", "Greeting: hello")),  # 8
        _line(("user", "hi"), ("system", "s"), ("assistant", OK_TARGET)),    # 9 system later
        _line(("system", "s"), ("user", "hi")),                              # 10 no assistant
        json.dumps({"messages": []}),                                        # 11
        json.dumps([1, 2]),                                                  # 12
        _line(("user", "hi"), ("assistant", OK_TARGET), extra=1),            # 13 extra key
        _line(("user", "hi"), ("assistant", OK_TARGET), ("user", "and?")),   # 14 ends on user
        json.dumps({"messages": [{"role": "user", "content": None},
                                 {"role": "assistant", "content": OK_TARGET}]}),  # 15
    ]
    problems = F.validate_chat("\n".join(hostile) + "\n", 100)
    by_line: dict[int, list[str]] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p.message)
    assert set(by_line) == set(range(2, 16)), by_line
    assert by_line[2] == ["message 1 (user) is empty"]
    assert by_line[3] == ["message 1 is assistant, expected user (system first, then user and "
                          "assistant alternating)", "the last message is user, not assistant"]
    assert by_line[4] == ["message 1 has role 'bot', not one of system, user, assistant"]
    assert len(by_line[5]) == 1 and by_line[5][0].endswith("over the limit of 100")
    assert by_line[6][0].startswith("not JSON")
    assert by_line[7] == ["empty line"]
    assert by_line[8] == ["message 2 (assistant) is not a JSON object"]
    assert by_line[9][0].startswith("message 1 is system, expected assistant")
    assert by_line[10] == ["no assistant message to learn from"]
    assert by_line[11] == ["no messages"]
    assert by_line[12] == ["not a JSON object"]
    assert by_line[13] == ["unexpected key 'extra'"]
    assert by_line[14] == ["the last message is user, not assistant"]
    assert by_line[15] == ["message 0 has no text content"]
    assert str(problems[0]) == "line 2: message 1 (user) is empty"


def test_the_validator_reports_several_problems_of_one_line_and_an_empty_file():
    line = _line(("system", "s"), ("bot", ""), ("assistant", '{"strategy": "x"}'))
    messages = [p.message for p in F.validate_chat(line, 100)]
    assert messages == ["message 1 has role 'bot', not one of system, user, assistant",
                        "message 1 (bot) is empty",
                        'message 2 (assistant) needs string fields "strategy" and "response"']
    assert [str(p) for p in F.validate_chat("", 100)] == ["line 1: the file has no example"]


# -- the trigger, pure ---------------------------------------------------------------------------

def test_the_trigger_waits_below_the_threshold_and_starts_at_it_or_when_forced():
    assert gate(199, 200, False).decision == "wait"
    assert gate(199, 200, False).reason == ("199 new accepted dialogue(s), below the "
                                            "threshold of 200")
    assert gate(200, 200, False) is None and gate(0, 200, True) is None
    assert verdict(200, 200, False, "e" * 16, None).decision == "start"
    assert "forced" in verdict(3, 200, True, "e" * 16, None).reason
    from datetime import datetime

    again = verdict(0, 200, True, "e" * 16, datetime(2026, 1, 2, 3, 4, 5))
    assert again.decision == "already_exported" and "2026-01-02 03:04:05" in again.reason


def test_a_decision_is_news_unless_it_repeats_or_only_confirms_the_newest():
    from datetime import datetime

    def row(d):
        return d.row("run-1")

    started = verdict(250, 200, False, "e" * 16, None)
    quiet = gate(0, 200, False)
    assert is_news(started, None) and is_news(quiet, None)
    assert is_news(started, row(started))  # a start made an export: always recorded
    assert not is_news(quiet, row(started))  # nothing new since the export: it confirms it
    assert is_news(gate(3, 200, False), row(started))  # dialogues came
    assert is_news(quiet, row(verdict(250, 200, True, "e" * 16, None)))  # forcing changed
    assert is_news(gate(0, 100, False), row(started))  # the threshold changed
    assert not is_news(gate(3, 200, False), row(gate(3, 200, False)))  # a repeat
    assert is_news(gate(4, 200, False), row(gate(3, 200, False)))
    exported = verdict(0, 200, True, "e" * 16, datetime(2026, 1, 2, 3, 4, 5))
    assert not is_news(exported, row(verdict(7, 200, True, "e" * 16, None)))
    assert not is_news(exported, row(exported))
    assert is_news(exported, row(quiet))


# -- the trigger over a warehouse ---------------------------------------------------------------

def _many(n: int, start: int = 0) -> list[Dialogue]:
    return [Dialogue(f"{i:016x}", "en" if i % 2 else "zh",
                     (sup(1, f"hello {i}"), cus(f"question {i}"), sup(7, f"answer {i}"),
                      cus("thanks"), sup(11, "bye")))
            for i in range(start, start + n)]


def _decisions(db) -> list[tuple]:
    with connect(db) as con:
        return query(con, "SELECT decision, export_id, new_dialogues, threshold, forced, reason "
                          "FROM finetune.decisions ORDER BY decided_at, rowid")


def _folders(out) -> list[str]:
    root = out / "finetune"
    return sorted(os.listdir(root)) if root.exists() else []


def test_wait_start_already_exported_and_force_each_recorded(warehouse, monkeypatch, tmp_path):
    out = tmp_path / "out"
    monkeypatch.setenv("CSC_FINETUNE_MIN_NEW_DIALOGUES", "5")
    with connect(warehouse) as con:
        _accepted(con, _many(4))
        _accepted(con, _many(2, start=100), status="rejected")  # never exported
        _accepted(con, _many(1, start=200), duplicate_of="0000000000000000")  # near-duplicate
    first = run_trigger()
    assert first.decision.decision == "wait" and first.path is None
    assert _folders(out) == []

    with connect(warehouse) as con:
        _accepted(con, _many(1, start=4))  # the fifth: the threshold is reached
    started = run_trigger()
    assert started.decision.decision == "start"
    assert started.decision.reason == "5 new accepted dialogue(s) reach the threshold of 5"
    export = started.export
    assert started.path == out / "finetune" / export.export_id
    assert _folders(out) == [export.export_id]  # no temporary folder left behind
    written = sorted(os.listdir(started.path))
    assert "manifest.json" in written and "openai.train.jsonl" in written
    manifest = json.loads((started.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["export_id"] == export.export_id and len(manifest["dialogues"]) == 5
    before = {name: (started.path / name).stat().st_mtime_ns for name in written}

    # nothing new: wait, whatever exists; it only confirms the export: not recorded
    waited = run_trigger()
    assert waited.decision.decision == "wait" and waited.decision.new_dialogues == 0
    again = run_trigger(force=True)  # forced, but the same content: nothing written
    assert again.decision.decision == "already_exported"
    assert run_trigger(force=True).decision == again.decision  # recorded once, not twice
    assert again.decision.export_id == export.export_id and again.path == started.path
    assert _folders(out) == [export.export_id]
    assert {n: (started.path / n).stat().st_mtime_ns for n in written} == before

    with connect(warehouse) as con:
        _accepted(con, _many(2, start=10))
    forced = run_trigger(force=True)  # 2 new, below 5, forced: a new export of all 7
    assert forced.decision.decision == "start" and "forced with 2 new" in forced.decision.reason
    assert forced.export.export_id != export.export_id
    old_splits = {p.dialogue_id: p.split for p in export.placements}
    assert {p.dialogue_id: p.split for p in forced.export.placements
            if p.dialogue_id in old_splits} == old_splits

    # the decisions that were news: not the wait that confirmed the export, nor the repeated
    # already_exported (forced: the first one differs from the unforced start)
    decisions = _decisions(warehouse)
    assert [d[0] for d in decisions] == ["wait", "start", "already_exported", "start"]
    assert [d[2] for d in decisions] == [4, 5, 0, 2]
    assert [d[4] for d in decisions] == [False, False, True, True]
    assert {d[3] for d in decisions} == {5}
    assert decisions[0][1] is None and decisions[2][1] == export.export_id
    with connect(warehouse) as con:
        rows = query(con, "SELECT export_id, n_dialogues, n_train + n_validation + n_dropped, "
                          "path FROM finetune.exports ORDER BY created_at")
        assert [(r[1], r[2]) for r in rows] == [(5, 5), (7, 7)]
        assert rows[0][3] == str(started.path)
        # the rejected and near-duplicate dialogues were never considered
        assert query(con, "SELECT count(*) FROM finetune.export_dialogues WHERE dialogue_id "
                          "IN (SELECT dialogue_id FROM rolecs.dialogues WHERE status <> "
                          "'accepted' OR dialogue_id = '00000000000000c8')")[0][0] == 0


def test_counts_reconcile_exported_plus_dropped_is_what_was_new(warehouse, monkeypatch):
    monkeypatch.setenv("CSC_FINETUNE_MIN_NEW_DIALOGUES", "1")
    monkeypatch.setenv("CSC_FINETUNE_MAX_TOKENS", "400")
    long = Dialogue("00000000000000ff", "en", (cus("word " * 400), sup(4, "ok")))
    copy = Dialogue("0000000000000fff", ZH.language, ZH.turns)
    with connect(warehouse) as con:
        _accepted(con, [ZH, EN, long, copy])
    outcome = run_trigger()
    e = outcome.export
    assert outcome.decision.new_dialogues == 4
    assert e.count("train") + e.count("validation") + e.count("dropped") == 4
    assert e.count("dropped") == 2  # the copy of ZH, and the one over the limit
    with connect(warehouse) as con:
        reasons = dict(query(con, "SELECT dialogue_id, reason FROM finetune.export_dialogues "
                                  "WHERE split = 'dropped'"))
        row = query(con, "SELECT n_dialogues, n_train, n_validation, n_dropped, n_truncated, "
                         "n_examples_openai, n_examples_instruction, tokens_openai > 0, "
                         "max_tokens FROM finetune.exports")[0]
        assert query(con, "SELECT count(*) FROM finetune.export_dialogues")[0][0] == 4
    assert reasons[copy.dialogue_id] == f"duplicate of {ZH.dialogue_id}"
    assert reasons[long.dialogue_id].startswith("over the token limit")
    assert row == (4, 2, 0, 2, 0, 2, 6, True, 400)  # 2 dialogues < 10: no validation


def test_nothing_to_export_is_a_recorded_wait(warehouse):
    outcome = run_trigger(force=True)
    assert outcome.decision.decision == "wait"
    assert outcome.decision.reason.endswith("no accepted dialogue to export")
    assert len(_decisions(warehouse)) == 1
    run_trigger(force=True)  # the same decision again: not a new row
    assert len(_decisions(warehouse)) == 1
    run_trigger()  # not forced: a different decision (the reason differs), recorded
    assert [d[4] for d in _decisions(warehouse)] == [True, False]


def test_an_orphan_folder_of_a_crashed_export_is_replaced_whole(tmp_path):
    export = build_export([ZH, EN], ExportConfig())
    root = tmp_path / "finetune"
    (root / export.export_id).mkdir(parents=True)
    (root / export.export_id / "openai.train.jsonl").write_text("half", encoding="utf-8")
    path = write_folder(export, root)
    assert (path / "openai.train.jsonl").read_text(encoding="utf-8") == \
        export.files["openai.train.jsonl"]
    assert os.listdir(root) == [export.export_id]


# -- the command --------------------------------------------------------------------------------

def test_csc_export_sft_prints_the_decision_and_the_folder(warehouse, capsys, monkeypatch):
    with connect(warehouse) as con:
        _accepted(con, [ZH, EN])
    assert main(["export", "sft"]) == 1  # 2 new, below 200: waits
    assert capsys.readouterr().out == ("wait: 2 new accepted dialogue(s), below the threshold "
                                       "of 200\n")
    assert main(["export", "sft", "--force", "--format", "openai"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "start: forced with 2 new accepted dialogue(s) (threshold 200)"
    assert "openai 2 examples" in out[1] and out[2].startswith("files: ")
    folder = out[2].removeprefix("files: ")
    assert sorted(os.listdir(folder)) == ["manifest.json", "openai.train.jsonl"]
    assert main(["export", "sft", "--force", "--format", "openai"]) == 0
    assert capsys.readouterr().out.startswith("already_exported: ")


@pytest.mark.parametrize(("argv", "says"), [
    (["export", "sft", "--format", "json"], "--format json is for csconv and rolecs"),
    (["export", "csconv", "--format", "openai"], "--format openai is for sft"),
    (["export", "rolecs", "--force"], "--force applies to sft only"),
    (["export", "sft", "--out", "x.jsonl"], "--out: not for sft"),
    (["export", "sft", "--language", "zh"], "--language: not for sft"),
])
def test_a_mistake_with_export_sft_is_one_line_and_exit_2(argv, says, warehouse, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
