"""Kills the csc.pii mutants the PII rule tests left alive (issue 9, docs/testing.md)."""

import polars as pl

from csc.pii import mask_frame, mask_text


def test_frame_without_any_candidate_gets_a_zero_int32_count_column():
    df = pl.DataFrame({"text": ["你好", "hello", ""], "language": ["zh", "en", "zh"]})
    out = mask_frame(df)
    assert out.columns == ["text", "language", "pii_masked"]
    assert out.schema["pii_masked"] == pl.Int32
    assert out["pii_masked"].to_list() == [0, 0, 0]
    assert out["text"].to_list() == ["你好", "hello", ""]


def test_mixed_frame_keeps_row_order_and_counts():
    df = pl.DataFrame({"text": ["你好", "电话13812345678", "ok"],
                       "language": ["zh", "zh", "en"]})
    out = mask_frame(df)
    assert out["text"].to_list() == ["你好", "电话[手机号码]", "ok"]
    assert out["pii_masked"].to_list() == [0, 1, 0]
    assert out.schema["pii_masked"] == pl.Int32


def test_a_digit_run_too_long_for_any_kind_is_neither_masked_nor_counted():
    # 23 digits: a card is 16-19 digits that touch no other digit, so nothing here is PII;
    # the count must use the same digit guards as the replacement.
    text = "卡号12345678901234567890123"
    out = mask_frame(pl.DataFrame({"text": [text], "language": ["zh"]})).to_dicts()
    assert out == [{"text": text, "language": "zh", "pii_masked": 0}]


def test_an_email_followed_by_a_digit_is_masked_and_counted_once():
    # E-mail addresses have no digit guards: 'x@y.cc' before a '5' is still an address.
    out = mask_frame(pl.DataFrame({"text": ["邮箱x@y.cc5"], "language": ["zh"]})).to_dicts()
    assert out == [{"text": "邮箱[邮箱]5", "language": "zh", "pii_masked": 1}]


def test_mask_text_defaults_to_chinese_placeholders():
    assert mask_text("电话13812345678") == "电话[手机号码]"
    assert mask_text("mail a.b@example.com") == "mail [邮箱]"
    assert mask_text("mail a.b@example.com", "en") == "mail [EMAIL]"
