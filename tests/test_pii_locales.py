"""PII masking per locale: numbers as people write them in each place, masked whole, and the
look-alikes (orders, dates, amounts, versions) left as written (issue 10 A4).

Every expected string is written by hand from how the number is written in that country:
a phone number becomes one placeholder, with its '+country code' and trunk prefix inside it.
"""

import pytest

from csc.pii import mask_text

POSITIVE = [
    # zh: mainland mobiles in every common spelling, a Beijing landline
    ("手机13812345678", "zh", "手机[手机号码]"),
    ("手机 138 1234 5678", "zh", "手机 [手机号码]"),
    ("电话+86 138-1234-5678，谢谢", "zh", "电话[手机号码]，谢谢"),
    ("回电(+86) 138 1234 5678", "zh", "回电[手机号码]"),  # the bracketed code is part of it
    ("0086 138 1234 5678", "zh", "[手机号码]"),
    ("座机010-12345678", "zh", "座机[手机号码]"),
    ("手机138\u200b1234\u200b5678", "zh", "手机[手机号码]"),  # zero-width spaces inside
    ("两个号码13812345678 13912345678", "zh", "两个号码[手机号码] [手机号码]"),
    ("(联系人 13812345678)", "zh", "(联系人 [手机号码])"),  # the bracket is not the number's
    # en-GB: international, mobile, non-geographic 03 number
    ("call +44 7700 900123 now", "en-GB", "call [PHONE] now"),
    ("call 07700 900123 now", "en-GB", "call [PHONE] now"),
    ("ring 0345 000 1234.", "en-GB", "ring [PHONE]."),
    ("from abroad 0044 7700 900123", "en-GB", "from abroad [PHONE]"),
    # en-IN: mobile in 5+5, a Bangalore landline with its trunk 0, international
    ("my mobile 98765 43210", "en-IN", "my mobile [PHONE]"),
    ("office 08031234567", "en-IN", "office [PHONE]"),
    ("whatsapp +91 98765 43210", "en-IN", "whatsapp [PHONE]"),
    # en-US: brackets, dashes, the leading 1 and +1 inside the placeholder
    ("call (415) 555-0132 today", "en-US", "call [PHONE] today"),
    ("call 415-555-0132 today", "en-US", "call [PHONE] today"),
    ("toll free 1-800-555-0199", "en-US", "toll free [PHONE]"),
    ("call +1 (415) 555-0132", "en-US", "call [PHONE]"),
    # fr: international and national in pairs
    ("tél +33 1 23 45 67 89", "fr", "tél [PHONE]"),
    ("tél 01 23 45 67 89", "fr", "tél [PHONE]"),
    # plain en rows try the UK, US, India, France and China
    ("call 415-555-0132", "en", "call [PHONE]"),
    ("ring 0345 000 1234", "en", "ring [PHONE]"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), POSITIVE)
def test_phone_numbers_are_masked_whole(text, lang, expected):
    assert mask_text(text, lang) == expected


NEGATIVE = [
    ("order 112-3456789-1234567", "en-US"),  # an order number: 17 digits, no part of it
    ("订单112-3456789-1234567", "zh"),
    ("order 3348917502 arrived", "en-US"),  # a bare 10-digit run: an order, not a phone
    ("on 2024-03-15 at 14:30", "en"),
    ("2024年03月15日 14:30", "zh"),
    ("on 03/15/2024", "en-US"),
    ("le 15.03.2024", "fr"),
    ("total 1,234.56", "en"),
    ("金额￥5000，订单#12345", "zh"),
    ("amount 12345.67", "en"),
    ("version 8.4.1", "en"),
    ("server 192.168.10.20", "en"),
    ("1 2 3 4 5 6 7 8", "en"),  # small numbers one space apart
    ("call 415-555-0132", "zh"),  # a US number is no Chinese number: zh reads CN only
]


@pytest.mark.parametrize(("text", "lang"), NEGATIVE)
def test_look_alikes_stay_as_written(text, lang):
    assert mask_text(text, lang) == text


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("see https://example.com/a?b=1.", "en", "see [URL]."),  # the full stop is the sentence's
    ("看 https://example.com/x请点击", "zh", "看 [链接]请点击"),  # ends at a Han character
    ("www.example.com/path, ok", "en", "[URL], ok"),
    ("https://shop.example.com/u/13812345678", "zh", "[链接]"),  # one URL, not URL + phone
    ("hi @sam_smith.", "en", "hi [USER]."),
    ("回复@客服小王：好的", "zh", "回复[用户名]：好的"),
    ("mail sam@example.com", "en", "mail [EMAIL]"),  # an address stays [EMAIL]
    ("邮箱 13812345678@163.com", "zh", "邮箱 [邮箱]"),  # not a phone inside an address
])
def test_urls_handles_and_emails(text, lang, expected):
    assert mask_text(text, lang) == expected
