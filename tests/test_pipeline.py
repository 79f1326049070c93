"""Normalisation, language detection, PII masking and the rule pre-filter, without a warehouse."""

import polars as pl
import pytest

from csc import language
from csc.ingest.pipeline import normalise_lines
from csc.pii import mask_frame, mask_text
from csc.rules import RuleConfig, prefilter


def test_merges_consecutive_lines_of_a_speaker_and_drops_empty_ones():
    lines = pl.DataFrame({
        "rec_i": [0, 0, 0, 0, 0, 1],
        "speaker": ["customer", "customer", "supporter", "supporter", "customer", "supporter"],
        "text": [" hi ", "e\u0301 there\r\nyes", "", "hello", "bye", "x"],
        "strategy_label": [None, None, None, "GT", None, None],
    }, schema_overrides={"rec_i": pl.Int32})
    merged, empties = normalise_lines(lines)
    first = merged.filter(pl.col("rec_i") == 0)
    assert first["speaker"].to_list() == ["customer", "supporter", "customer"]
    assert first["text"][0] == "hi\n\u00e9 there\nyes"  # NFC, trimmed, one newline style
    assert first["strategy_label"].to_list() == [None, "GT", None]
    assert first["utt_index"].to_list() == [0, 1, 2]
    assert empties.filter(pl.col("rec_i") == 0)["n_empty_dropped"].to_list() == [1]


@pytest.mark.parametrize(("text", "lang"), [
    ("你好，我的卡被锁了", "zh"), ("My card is blocked, help", "en"),
    ("我的iPhone手机银行App登录不上", "zh"), ("OK 好", "zh"), ("12345", "en"),
])
def test_language_detection(text, lang):
    assert language.detect(text) == lang


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("我的手机号是13812345678。", "zh", "我的手机号是[手机号码]。"),
    ("电话 +86 138 1234 5678 谢谢", "zh", "电话 [手机号码] 谢谢"),
    ("邮箱 wang.li@example.com", "zh", "邮箱 [邮箱]"),
    ("身份证110101199003071234", "zh", "身份证[身份证号]"),
    ("卡号 6222 0212 3456 7890", "zh", "卡号 [银行卡号]"),
    ("call me at (977) 625-2661", "en", "call me at [PHONE]"),
    ("mail a.b@x.co.uk now", "en", "mail [EMAIL] now"),
    ("order 3348917502 arrived", "en", "order 3348917502 arrived"),
    ("余额还有12345元", "zh", "余额还有12345元"),
])
def test_pii_masking(text, lang, expected):
    assert mask_text(text, lang) == expected


def test_mask_frame_keeps_row_order_and_counts():
    df = pl.DataFrame({"text": ["a", "tel 13812345678", "b", "x@y.com 13900001111",
                                "身份证号是320102198512150021。"],
                       "language": ["en", "zh", "en", "zh", "zh"]})
    out = mask_frame(df)
    assert out["text"].to_list() == ["a", "tel [手机号码]", "b", "[邮箱] [手机号码]",
                                     "身份证号是[身份证号]。"]
    assert out["pii_masked"].to_list() == [0, 1, 0, 2, 1]  # an ID is not also a card


def _utts(spec: dict[str, list[tuple[str, int]]]) -> pl.DataFrame:
    rows = [(d, s, n) for d, lines in spec.items() for s, n in lines]
    return pl.DataFrame(rows, schema=["dialogue_id", "speaker", "n_chars"], orient="row")


C, S = "customer", "supporter"


def test_each_rule_fires_alone():
    good = [(C, 20), (S, 20)] * 4
    spec = {
        "good": good,
        "few": [(C, 20), (S, 20)] * 2,
        "many": [(C, 20), (S, 20)] * 31,
        "long": [*good[:-1], (S, 501)],
        "dominant": [(S, 20), (S, 20), (C, 20), (S, 20), (S, 20), (C, 20), (S, 20), (S, 20)],
        "nocust": [(S, 20)] * 8,
        "short": [(C, 2), (S, 20), (C, 2), (S, 20), (C, 20), (S, 20), (C, 20), (S, 20)],
    }
    # 'dominant' alternates badly on purpose: rules read merged counts, not order.
    out = {r["dialogue_id"]: r for r in prefilter(_utts(spec)).iter_rows(named=True)}
    assert out["good"]["passed"] and out["good"]["failed_rules"] == []
    assert out["few"]["failed_rules"] == ["too_few_turns"]
    assert out["many"]["failed_rules"] == ["too_many_turns"]
    assert out["long"]["failed_rules"] == ["utterance_too_long"]
    assert out["dominant"]["failed_rules"] == ["supporter_dominates"]
    assert set(out["nocust"]["failed_rules"]) == {"no_customer", "supporter_dominates"}
    assert out["short"]["failed_rules"] == ["customer_lines_too_short"]
    assert out["short"]["customer_long_share"] == 0.5


def test_rule_thresholds_are_configurable_and_versioned():
    spec = {"d": [(C, 20), (S, 20)] * 2}
    loose = RuleConfig(min_turns=2)
    assert prefilter(_utts(spec), loose)["passed"].to_list() == [True]
    assert loose.version != RuleConfig().version
