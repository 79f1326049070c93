"""PII masking at its boundaries: every kind, both placeholder languages, and the digit runs
that must stay as they are. Expected strings are written by hand from each pattern's intent
(csc/pii.py and csc-method §3.4: sensitive data become placeholders), not copied from output.
"""

import polars as pl
import pytest

from csc.pii import mask_frame, mask_text

ZH = {"card": "[银行卡号]", "id": "[身份证号]", "phone": "[手机号码]", "email": "[邮箱]"}
EN = {"card": "[CARD_NUMBER]", "id": "[ID_NUMBER]", "phone": "[PHONE]", "email": "[EMAIL]"}

# Bank cards. The pattern's intent is a payment-card number of 16 to 19 digits: four groups
# of four, optionally separated by one space or '-', then an optional tail of 1-3 digits
# (UnionPay debit cards run to 19 digits). Digits must not touch other digits, so a 15-digit
# run (too short for these cards; an order or account reference, say) and a 20-digit run (no
# card is that long) are not cards and stay as written, rather than being half-masked.
CARD_16 = "6222021234567890"
CARD_17 = "62220212345678901"
CARD_18 = "622202123456789012"  # digits 7-10 are '1234', not 19xx/20xx: not an ID-card shape
CARD_19 = "6222021234567890123"


@pytest.mark.parametrize("number", [CARD_16, CARD_17, CARD_18, CARD_19])
def test_card_numbers_of_16_to_19_digits_are_masked_whole(number):
    assert mask_text(f"卡号{number}", "zh") == "卡号[银行卡号]"
    assert mask_text(f"card {number}, thanks", "en") == "card [CARD_NUMBER], thanks"


def test_the_19_digit_card_of_the_issue_is_fully_masked():
    masked = mask_text("卡号6222021234567890123", "zh")
    assert masked == "卡号[银行卡号]"
    assert not any(ch.isdigit() for ch in masked)  # not even the 3-digit tail is left


@pytest.mark.parametrize("number", ["622202123456789",  # 15 digits
                                    "62220212345678901234"])  # 20 digits
def test_digit_runs_just_outside_card_lengths_are_not_cards(number):
    assert mask_text(f"单号{number}", "zh") == f"单号{number}"
    assert mask_text(f"ref {number} ok", "en") == f"ref {number} ok"


@pytest.mark.parametrize(("written", "lang", "expected"), [
    ("卡号 6222 0212 3456 7890 请核实", "zh", "卡号 [银行卡号] 请核实"),
    ("card 4539-1488-0343-6467 please", "en", "card [CARD_NUMBER] please"),
    # a 19-digit card written in groups of four: the 3-digit tail belongs to the number
    ("卡号 6217 0033 1020 4455 678 请核实", "zh", "卡号 [银行卡号] 请核实"),
    ("card 6217-0033-1020-4455-678 please", "en", "card [CARD_NUMBER] please"),
])
def test_grouped_card_numbers_are_masked_whole(written, lang, expected):
    assert mask_text(written, lang) == expected


# Mainland mobile numbers: 1[3-9]x plus 8 digits, 11 in all, not inside a longer digit run.
@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("手机号13812345678。", "zh", "手机号[手机号码]。"),
    ("my number is 13812345678", "en", "my number is [PHONE]"),
    ("手机 138-1234-5678", "zh", "手机 [手机号码]"),
    ("+86 138 1234 5678", "en", "[PHONE]"),
    ("call (312) 555-0176 today", "en", "call [PHONE] today"),
    ("call 415-555-0198 today", "en", "call [PHONE] today"),
    ("座机 010-12345678", "zh", "座机 [手机号码]"),
])
def test_phone_numbers(text, lang, expected):
    assert mask_text(text, lang) == expected


@pytest.mark.parametrize("run", [
    "813812345678",  # a mobile number with one digit in front (12 digits)
    "138123456789",  # ... with one digit behind
    "20138123456789",  # ... inside a 14-digit reference: too short for a card as well
])
def test_a_phone_number_inside_a_longer_digit_run_is_left_alone(run):
    assert mask_text(f"流水{run}", "zh") == f"流水{run}"
    assert mask_text(f"ref {run}", "en") == f"ref {run}"


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("邮箱 wang.li@example.com", "zh", "邮箱 [邮箱]"),
    ("mail Zhang.San+bank@mail.example.com.cn.", "en", "mail [EMAIL]."),
    ("write to report@anhe-bank.example.com，谢谢", "zh", "write to [邮箱]，谢谢"),
    ("@安和银行 客服你好", "zh", "[用户名] 客服你好"),  # a mention: a handle, not an address
    ("user@localhost", "en", "user@localhost"),  # no top-level domain
])
def test_emails(text, lang, expected):
    assert mask_text(text, lang) == expected


# ID cards: 6-digit area (not starting 0), birth date 19xx/20xx-MM-DD, 3-digit sequence, then
# a check character that may be X. 18 characters.
@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("身份证11010519491231002X", "zh", "身份证[身份证号]"),
    ("身份证11010519491231002x。", "zh", "身份证[身份证号]。"),
    ("ID 11010519491231002X ok", "en", "ID [ID_NUMBER] ok"),
    ("身份证号110101199003071234", "zh", "身份证号[身份证号]"),
])
def test_id_cards_with_and_without_x(text, lang, expected):
    assert mask_text(text, lang) == expected


def test_placeholders_follow_the_row_language_and_counts_add_up():
    text = "卡 6222021234567890123, 身份证 11010519491231002X, 手机 13812345678, a@b.cn"
    df = pl.DataFrame({"text": [text, text], "language": ["zh", "en"]})
    out = mask_frame(df)
    expected = "卡 {card}, 身份证 {id}, 手机 {phone}, {email}"
    assert out["text"].to_list() == [expected.format(**ZH), expected.format(**EN)]
    assert out["pii_masked"].to_list() == [4, 4]
