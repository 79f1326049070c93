"""The §3.2 rule pre-filter at, one below and one above every threshold.

csc-method §3.2: drop a dialogue when turns < 3 or > 30 (turns = merged lines // 2); any
merged utterance has 500 characters or more (the reference's test; 1,800 for English);
supporter lines >= 2 x customer lines; there is no customer line; or under 70% of customer
lines are longer than 3 characters. Here each row is one utterance of one raw line, so raw
and merged counts agree (tests/test_rules_raw_lines.py covers merged lines). Each case below
is built so that only the rule under test can fire (customer and supporter lines of 20
characters, enough lines for 3 turns, at least as many customer as supporter lines).
"""

import polars as pl
import pytest

from csc.rules import RULES, RuleConfig, prefilter

C, S = "customer", "supporter"
OK = 20  # characters: long enough for a customer line, far below the utterance limit


def verdict(lines: list[tuple[str, int]], cfg: RuleConfig = RuleConfig(),
            language: str = "zh") -> dict:
    df = pl.DataFrame([("d", s, n, language) for s, n in lines],
                      schema=["dialogue_id", "speaker", "n_chars", "language"], orient="row")
    rows = prefilter(df, cfg).to_dicts()
    assert len(rows) == 1
    return rows[0]


def pairs(k: int) -> list[tuple[str, int]]:
    return [(C, OK), (S, OK)] * k


def test_defaults_are_the_methods_thresholds():
    cfg = RuleConfig()
    assert (cfg.min_turns, cfg.max_turns, cfg.max_utterance_chars_zh) == (3, 30, 500)
    assert cfg.max_utterance_chars_en == 1800  # 500 x 3.6, docs/metrics.md
    assert (cfg.supporter_to_customer_max, cfg.min_customer_long_share,
            cfg.customer_long_chars) == (2.0, 0.7, 3)
    assert RULES == ("too_few_turns", "too_many_turns", "utterance_too_long",
                     "supporter_dominates", "no_customer", "customer_lines_too_short")


# too_few_turns: turns < 3. 6 lines = 3 turns (kept); 5 lines = 2 turns and 4 lines = 2 turns
# (dropped: turns is lines // 2); 8 lines = 4 turns (kept).
@pytest.mark.parametrize(("lines", "turns", "fires"), [
    (pairs(3), 3, False),  # exactly at the minimum
    ([*pairs(2), (C, OK)], 2, True),  # 5 lines: still 2 turns
    (pairs(2), 2, True),  # one turn below
    (pairs(4), 4, False),  # one above
])
def test_too_few_turns(lines, turns, fires):
    v = verdict(lines)
    assert v["n_turns"] == turns
    assert v["failed_rules"] == (["too_few_turns"] if fires else [])
    assert v["passed"] is (not fires)


# too_many_turns: turns > 30. 60 lines = 30 turns (kept), 61 lines = 30 turns (kept),
# 62 lines = 31 turns (dropped), 58 lines = 29 turns (kept).
@pytest.mark.parametrize(("lines", "turns", "fires"), [
    (pairs(30), 30, False),  # exactly at the maximum
    ([*pairs(30), (C, OK)], 30, False),
    (pairs(31), 31, True),  # one above
    (pairs(29), 29, False),  # one below
])
def test_too_many_turns(lines, turns, fires):
    v = verdict(lines)
    assert v["n_turns"] == turns
    assert v["failed_rules"] == (["too_many_turns"] if fires else [])


# utterance_too_long: any merged utterance of 500 characters or more (zh), 1,800 or more
# (en), whoever speaks it.
@pytest.mark.parametrize(("language", "chars", "fires"), [
    ("zh", 500, True), ("zh", 499, False), ("zh", 501, True),
    ("en", 1800, True), ("en", 1799, False), ("en", 1801, True), ("en", 500, False)])
@pytest.mark.parametrize("speaker", [C, S])
def test_utterance_too_long(language, chars, fires, speaker):
    lines = [*pairs(3), (speaker, chars)] if speaker == C else [*pairs(3)[:-1], (S, chars)]
    v = verdict(lines, language=language)
    assert v["max_utterance_chars"] == chars
    assert v["failed_rules"] == (["utterance_too_long"] if fires else [])


# supporter_dominates: supporter lines >= 2 x customer lines. With 3 customer lines: 6
# supporter lines is exactly 2x (dropped), 5 is one below (kept), 7 one above (dropped).
# The rule counts lines, not order, so the lines need not alternate here.
@pytest.mark.parametrize(("n_supporter", "fires"), [(6, True), (5, False), (7, True)])
def test_supporter_dominates(n_supporter, fires):
    v = verdict([(C, OK)] * 3 + [(S, OK)] * n_supporter)
    assert (v["n_customer"], v["n_supporter"]) == (3, n_supporter)
    assert v["failed_rules"] == (["supporter_dominates"] if fires else [])


def test_supporter_dominates_on_merged_alternating_lines():
    # S C S: 2 supporter lines = 2 x 1 customer line, the samples' case (with too_few_turns)
    v = verdict([(S, OK), (C, OK), (S, OK)])
    assert v["failed_rules"] == ["too_few_turns", "supporter_dominates"]
    # S C S C S C S: 4 supporter vs 3 customer lines is under 2x: only the order differs
    v = verdict([(S, OK), (C, OK)] * 3 + [(S, OK)])
    assert v["failed_rules"] == []


# no_customer: zero customer lines drops; one customer line is enough for this rule.
def test_no_customer_at_zero_not_at_one():
    none = verdict([(S, OK)] * 6)
    assert none["n_customer"] == 0
    # 6 supporter lines and 0 customer lines are also >= 2 x 0: supporter_dominates fires too
    assert set(none["failed_rules"]) == {"no_customer", "supporter_dominates"}
    assert "customer_lines_too_short" not in none["failed_rules"]  # no share to judge
    one = verdict([(S, OK)] * 5 + [(C, OK)])
    assert one["n_customer"] == 1
    assert "no_customer" not in one["failed_rules"]


# customer_lines_too_short: under 70% of customer lines longer than 3 characters. With 10
# customer lines: 7 long = 0.7 exactly (kept), 6 long = 0.6 (dropped), 8 long = 0.8 (kept).
@pytest.mark.parametrize(("n_long", "fires"), [(7, False), (6, True), (8, False)])
def test_customer_lines_too_short_share(n_long, fires):
    customer = [(C, 4)] * n_long + [(C, 3)] * (10 - n_long)  # 4 chars is long, 3 is not
    v = verdict([x for pair in zip(customer, [(S, OK)] * 10, strict=True) for x in pair])
    assert v["customer_long_share"] == pytest.approx(n_long / 10)
    assert v["failed_rules"] == (["customer_lines_too_short"] if fires else [])


# "longer than 3 characters": a 3-character line is short, a 4-character line is long.
@pytest.mark.parametrize(("chars", "share", "fires"), [(3, 0.0, True), (4, 1.0, False),
                                                       (2, 0.0, True)])
def test_customer_line_length_boundary(chars, share, fires):
    v = verdict([(C, chars), (S, OK)] * 3)
    assert v["customer_long_share"] == share
    assert v["failed_rules"] == (["customer_lines_too_short"] if fires else [])


def test_thresholds_move_with_the_config():
    cfg = RuleConfig(min_turns=4, max_turns=5, max_utterance_chars_zh=100,
                     supporter_to_customer_max=1.5, min_customer_long_share=0.5,
                     customer_long_chars=10)
    assert verdict(pairs(4), cfg)["failed_rules"] == []
    assert verdict(pairs(3), cfg)["failed_rules"] == ["too_few_turns"]
    assert verdict(pairs(6), cfg)["failed_rules"] == ["too_many_turns"]
    assert verdict([*pairs(4), (C, 100)], cfg)["failed_rules"] == ["utterance_too_long"]
    assert verdict([*pairs(4), (C, 99)], cfg)["failed_rules"] == []
    # 4 customer lines, 6 supporter lines = 1.5 x 4: at the configured ratio
    assert verdict([(C, OK)] * 4 + [(S, OK)] * 6, cfg)["failed_rules"] == ["supporter_dominates"]
    # 10-char lines are not longer than 10: 2 of 4 long = 0.5 kept, 1 of 4 dropped
    assert verdict([(C, 11), (S, OK), (C, 11), (S, OK), (C, 10), (S, OK), (C, 10), (S, OK)],
                   cfg)["failed_rules"] == []
    assert verdict([(C, 11), (S, OK), (C, 10), (S, OK), (C, 10), (S, OK), (C, 10), (S, OK)],
                   cfg)["failed_rules"] == ["customer_lines_too_short"]
