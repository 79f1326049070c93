"""RoleCS near-duplicates: character shingles -> MinHash -> LSH, the mark decided on the exact
Jaccard (csc/rolecs/near_duplicates.py), and the incremental check that writes
rolecs.near_duplicates and shapes marts.rolecs_accepted (tasks/rolecs.py)."""

from __future__ import annotations

import pytest

from csc.rolecs.near_duplicates import (
    THRESHOLD,
    NearDuplicate,
    Text,
    bands,
    find_near_duplicates,
    jaccard,
    shingles,
)
from csc.rolecs.service import mark_near_duplicates
from warehouse.db import connect, query

ZH = ("您好，很高兴为您服务，请问有什么可以帮您？我的信用卡昨天在网上被盗刷了两笔，一共三千多块钱，"
      "我现在非常着急。请您先不要着急，我这边先帮您核实一下身份，请提供一下您的姓名和预留手机号。"
      "我叫王明，手机号是[手机号码]。好的，已经核实，我马上为您冻结这张卡，并提交盗刷争议申请。")
ZH_ONE_WORD = ZH.replace("昨天", "今天")
ZH_OTHER = ("你好，我想咨询一下理财产品的收益情况，最近看到你们推出了一款三个月期限的产品。"
            "您好，这款产品的预期年化收益率为百分之三点二，起购金额为一万元，到期自动赎回。"
            "那如果中途需要用钱，可以提前取出来吗？这款产品不支持提前赎回，建议您预留好备用资金。")
EN = ("Hello, thank you for calling, how can I help you today? My credit card was charged twice "
      "yesterday for an online order I never made, about three hundred dollars in total. I am "
      "sorry to hear that. Could you please confirm your full name and the phone number on the "
      "account? It is John Smith, [PHONE]. Thank you, I have verified you and blocked the card.")
EN_ONE_WORD = EN.replace("yesterday", "today")
EN_OTHER = ("Hi, I would like to know how to set up a standing order to my savings account every "
            "month. Of course. You can do it in the mobile app under Payments, then Standing "
            "orders, then New. Pick the savings account, the amount and the first date. Is there "
            "a fee? There is no fee for standing orders between your own accounts at our bank.")

T1, T2, T3 = "2026-01-01 10:00:00", "2026-01-02 10:00:00", "2026-01-03 10:00:00"


def texts(*rows: tuple[str, str, str, str]) -> list[Text]:
    return [Text(i, at, lang, text) for i, at, lang, text in rows]


# -- shingles -------------------------------------------------------------------------------


def test_shingles_are_characters_by_language_and_ignore_case_width_and_spacing():
    assert shingles("您好您好", "zh") == {"您好您", "好您好"}  # 3 characters in Chinese
    assert shingles("Hello  World", "en") == shingles("hello world", "en")
    assert shingles("hello", "en") == {"hello"}  # 5 in English; a short text is one shingle
    assert shingles("ＡＢＣＤＥＦ", "en") == shingles("abcdef", "en")  # full width, NFKC
    assert shingles("  ", "zh") == frozenset()


def test_bands_find_a_pair_at_the_threshold_almost_surely():
    b, r = bands(0.8)
    assert (b, r) == (25, 5)  # P(candidate | J = 0.8) = 1 - (1 - 0.8**5)**25 = 0.99995
    assert 1 - (1 - 0.8 ** r) ** b >= 0.999
    assert 1 - (1 - 0.3 ** r) ** b < 0.06  # an unrelated pair rarely costs an exact check


# -- find_near_duplicates on hand-made texts ----------------------------------------------------


@pytest.mark.parametrize("lang, same, one_word, other", [
    ("zh", ZH, ZH_ONE_WORD, ZH_OTHER),
    ("en", EN, EN_ONE_WORD, EN_OTHER),
])
def test_identical_and_one_word_changed_are_marked_unrelated_is_not(lang, same, one_word, other):
    found = find_near_duplicates(texts(("a", T1, lang, same), ("b", T2, lang, same),
                                       ("c", T3, lang, one_word), ("d", T3, lang, other)))
    exact = jaccard(shingles(same, lang), shingles(one_word, lang))
    assert THRESHOLD <= exact < 1
    # the earliest is kept; the later ones name it; c is as close to a as to b (both are the
    # same text), and the earlier of the two is named
    assert found == [NearDuplicate("b", "a", 1.0), NearDuplicate("c", "a", exact)]


def test_earlier_is_by_creation_then_id_whatever_the_input_order():
    rows = (("z", T1, "en", EN), ("y", T2, "en", EN), ("x", T2, "en", EN))
    found = find_near_duplicates(reversed(texts(*rows)))
    assert found == [NearDuplicate("x", "z", 1.0), NearDuplicate("y", "z", 1.0)]
    # same time: the smaller id is the earlier
    assert find_near_duplicates(texts(("b", T1, "en", EN), ("a", T1, "en", EN))) == \
        [NearDuplicate("b", "a", 1.0)]


def test_the_threshold_is_inclusive_on_the_exact_jaccard():
    # 12 distinct letters have 8 shingles of 5; 2 more letters add 2: J = 8 / 10 = 0.8 exactly;
    # 3 more add 3: J = 8 / 11 = 0.727
    base = "abcdefghijkl"
    assert jaccard(shingles(base, "en"), shingles(base + "mn", "en")) == 0.8
    found = find_near_duplicates(texts(("a", T1, "en", base), ("b", T2, "en", base + "mn"),
                                       ("c", T3, "en", base + "xyz")))
    assert found == [NearDuplicate("b", "a", 0.8)]
    assert find_near_duplicates(texts(("a", T1, "en", base), ("b", T2, "en", base + "mn")),
                                threshold=0.81) == []
    # Chinese: 10 distinct characters have 8 shingles of 3; 2 more add 2: J = 0.8
    zh = "一二三四五六七八九十"
    assert find_near_duplicates(texts(("a", T1, "zh", zh), ("b", T2, "zh", zh + "百千"),
                                      ("c", T3, "zh", zh + "万亿兆"))) == \
        [NearDuplicate("b", "a", 0.8)]


def test_the_most_similar_earlier_text_is_named():
    found = find_near_duplicates(texts(("a", T1, "en", EN), ("b", T2, "en", EN_ONE_WORD),
                                       ("c", T3, "en", EN_ONE_WORD)), new=["c"])
    assert found == [NearDuplicate("c", "b", 1.0)]  # b is identical, a only close


def test_languages_and_empty_texts_are_never_compared():
    found = find_near_duplicates(texts(("a", T1, "zh", "同样的内容"), ("b", T2, "en", "同样的内容"),
                                       ("c", T1, "en", ""), ("d", T2, "en", "")))
    assert found == []


def test_only_new_texts_are_checked_but_all_earlier_ones_count():
    rows = texts(("a", T1, "en", EN), ("b", T2, "en", EN), ("c", T3, "en", EN))
    assert find_near_duplicates(rows, new=["c"]) == [NearDuplicate("c", "a", 1.0)]
    assert find_near_duplicates(rows, new=[]) == []
    assert find_near_duplicates(rows, new=["c"]) == \
        [d for d in find_near_duplicates(rows) if d.id == "c"]


def test_the_result_is_the_same_on_every_run():
    rows = texts(*[(f"d{i}", T1, "zh", ZH.replace("三千", str(i))) for i in range(30)])
    assert find_near_duplicates(rows) == find_near_duplicates(list(reversed(rows)))


# -- the incremental check on a warehouse -------------------------------------------------------


def add_dialogue(con, did: str, at: str, text: str, scenario: str = "", status: str = "accepted",
                 language: str = "en") -> None:
    """A RoleCS dialogue with its scenario and one turn per line of `text`."""
    con.execute("INSERT INTO rolecs.scenarios VALUES (?, ?, 'v1', ?, 'p1', 'topic', 'desc', ?, "
                "'goal', 'm', 'p', 'm', 'p', 'r', ?::TIMESTAMP)",
                [did, f"s-{did}", language, scenario or f"scenario of {did} " * 4, at])
    lines = text.split(". ")
    con.execute("INSERT INTO rolecs.dialogues VALUES (?, ?, 'v1', ?, 'p1', 'topic', ?, 'closure', "
                "?, ?, ?, '[]', 'r', ?::TIMESTAMP)",
                [did, f"s-{did}", language, status, len(lines), (len(lines) + 1) // 2,
                 status == "accepted" if status != "stopped" else None, at])
    for i, line in enumerate(lines):
        con.execute("INSERT INTO rolecs.utterances VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL, 'm', "
                    "'p')", [did, i, "supporter" if i % 2 == 0 else "customer",
                             1 if i % 2 == 0 else None, line])


def marks(con) -> list[tuple]:
    return query(con, "SELECT dialogue_id, kind, duplicate_of, similarity FROM "
                      "rolecs.near_duplicates ORDER BY dialogue_id")


def accepted(con) -> list[str]:
    return [d for (d,) in query(con, "SELECT dialogue_id FROM marts.rolecs_accepted "
                                     "ORDER BY dialogue_id")]


def test_the_check_is_incremental_and_a_rerun_adds_nothing(warehouse):
    with connect(warehouse) as con:
        add_dialogue(con, "a1", T1, EN)
        add_dialogue(con, "a2", T2, EN_ONE_WORD)
        add_dialogue(con, "a3", T2, EN_OTHER, status="rejected")
        assert accepted(con) == []  # nothing checked yet: nothing accepted
        assert mark_near_duplicates(con) == {"checked": 3, "dialogue": 1, "scenario": 0}
        first = marks(con)
        stored = ["\n".join(text.split(". ")) for text in (EN, EN_ONE_WORD)]  # turns by line
        exact = jaccard(shingles(stored[0], "en"), shingles(stored[1], "en"))
        assert first == [("a1", None, None, None), ("a2", "dialogue", "a1", exact),
                         ("a3", None, None, None)]
        assert accepted(con) == ["a1"]  # a2 repeats a1; a3 was rejected by the judge

        assert mark_near_duplicates(con) == {"checked": 0, "dialogue": 0, "scenario": 0}
        assert marks(con) == first

        # new dialogues are checked against the old ones: a4 repeats the rejected a3 (an
        # earlier dialogue whatever its verdict), a5 has a1's scenario, a6 is new
        add_dialogue(con, "a4", T3, EN_OTHER)
        add_dialogue(con, "a5", T3, ZH, scenario="scenario of a1 " * 4)
        add_dialogue(con, "a6", T3, "Something else entirely. Nothing like the others here.")
        assert mark_near_duplicates(con) == {"checked": 3, "dialogue": 1, "scenario": 1}
        assert marks(con)[:3] == first
        assert marks(con)[3:] == [("a4", "dialogue", "a3", 1.0), ("a5", "scenario", "a1", 1.0),
                                  ("a6", None, None, None)]
        assert accepted(con) == ["a1", "a6"]
        outcomes = dict(query(con, "SELECT outcome, sum(dialogues)::BIGINT FROM "
                                   "marts.rolecs_outcomes GROUP BY 1"))
        assert outcomes == {"accepted": 2, "near_duplicate": 3, "rejected": 1}
        # rows are written once: the dialogues' status is what the judge said
        assert query(con, "SELECT count(*) FROM rolecs.dialogues WHERE status = 'accepted'") \
            == [(5,)]


def test_a_dialogue_repeating_both_text_and_scenario_is_marked_as_a_dialogue(warehouse):
    with connect(warehouse) as con:
        add_dialogue(con, "b1", T1, EN, scenario="the same scenario " * 4)
        add_dialogue(con, "b2", T2, EN, scenario="the same scenario " * 4)
        mark_near_duplicates(con)
        assert marks(con) == [("b1", None, None, None), ("b2", "dialogue", "b1", 1.0)]
        assert query(con, "SELECT language, near_duplicates, accepted, unchecked FROM "
                          "marts.rolecs_summary") == [("en", 1, 1, 0)]
