"""Issue 11 A6 (pipeline half): a rewrite must be of its source.

Scores below are counted by hand from the term definitions in csc.csconv.faithfulness
(zh: bigrams inside runs of Han characters, minus the stop list; en: words of 3+ letters cut
to 5, minus the stop list), never read off the code.
"""

from __future__ import annotations

import pytest
from test_speakers import SOURCE_ZH, Scripted, answer, rewrite_zh, run_stage

from csc.csconv.faithfulness import MIN_TERMS, faithfulness, language_of, terms
from csc.csconv.postfilter import PostfilterConfig, apply_rules
from csc.errors import ConfigError
from schemas.llm import RewrittenTurn, Role

ZH_ENV, EN_ENV = "CSC_CSCONV_FAITHFUL_ZH", "CSC_CSCONV_FAITHFUL_EN"

# 8 customer terms: 信用 用卡 卡被 被冻 冻结 结了 | 么解 解冻 ('怎么' is a stop bigram)
SRC_ZH = [("customer", "信用卡被冻结了"), ("supporter", "您好"), ("customer", "怎么解冻")]
# holds 6 of them: 信用 用卡 卡被 被冻 冻结 结了 (not 么解, 解冻)
REW_ZH = ["您的信用卡被冻结了吗", "请问怎么办"]


def test_chinese_terms_are_han_bigrams_within_a_run_without_stop_bigrams():
    assert terms(["信用卡，被锁"], "zh") == {"信用", "用卡", "被锁"}  # none across the comma
    assert terms(["您好 iPhone 15 坏了"], "zh") == {"坏了"}  # Latin and digits left out
    assert terms(["我的［手机号码］丢了"], "zh") == {"我的", "丢了"}  # a placeholder is no term
    assert terms(["谢谢"], "zh") == frozenset()


def test_english_terms_are_content_words_cut_to_five_letters():
    assert terms(["The card was BLOCKED, blocking me"], "en") == {"card", "block"}
    assert terms(["ＭＡＬＬ [PHONE] at 9am"], "en") == {"mall"}  # full-width; 'am' too short
    assert terms(["I am ok"], "en") == frozenset()  # words under three letters


def test_the_score_is_the_share_of_the_customers_terms_in_the_rewrite():
    f = faithfulness(SRC_ZH, REW_ZH, "zh")
    assert (f.source_terms, f.shared, f.score) == (8, 6, 0.75)
    assert f.passes(0.75) and not f.passes(0.76)  # the threshold itself passes


def test_english_stems_case_and_width_match():
    source = [("customer", "My credit card was blocked yesterday at the mall"),
              ("supporter", "Sorry to hear that"),
              ("customer", "Please unblock it before Friday, I travel abroad")]
    # terms: credi card block yeste mall unblo frida trave abroa (9)
    rewrite = ["Your CARD is blocking payments at the Ｍａｌｌ since yesterday?",
               "Yes, please unblock it, I travel on Friday."]
    # shared: card block mall yeste unblo trave frida (7); not credi, abroa
    f = faithfulness(source, rewrite, "en")
    assert (f.source_terms, f.shared) == (9, 7)
    assert f.score == pytest.approx(7 / 9)


def test_few_customer_terms_fall_back_to_the_whole_source_then_to_no_verdict():
    # customer: 信用 用卡 卡被 被锁 (4, under MIN_TERMS); supporter: 请稍 稍等 | 正在 在查 查询 (5)
    source = [("customer", "信用卡被锁"), ("supporter", "请稍等，正在查询")]
    assert MIN_TERMS == 8
    f = faithfulness(source, ["请稍等", "正在", "查询"], "zh")
    # the rewrite holds 请稍 稍等 正在 查询; not 在查, which would span two of its turns
    assert (f.source_terms, f.shared) == (9, 4)
    # 4 + 3 = 7 terms in all: the check does not judge
    short = faithfulness([("customer", "信用卡被锁"), ("supporter", "请稍等，正在")], [], "zh")
    assert (short.score, short.source_terms) == (None, 7) and short.passes(1.0)


def test_the_rewrites_language_ignores_placeholders():
    assert language_of(["Hi, your number [手机号码] is verified", "ok [姓名]"]) == "en"
    assert language_of(["您好", "请问您的卡号"]) == "zh"


# -- the rule step ----------------------------------------------------------------------------


def T(speaker: str, text: str, strategy: str = "") -> RewrittenTurn:
    return RewrittenTurn(speaker=speaker, strategy=strategy, text=text)


def faithful_rewrite() -> list[RewrittenTurn]:
    return [T(s, t, g) for s, g, t in rewrite_zh()]


def test_a_faithful_rewrite_passes_and_keeps_its_score():
    out = apply_rules(faithful_rewrite(), PostfilterConfig(), SOURCE_ZH.turns, "zh")
    assert out.passed, out.reason
    assert out.faithfulness is not None and out.faithfulness >= 0.9


def test_without_a_source_the_step_does_not_run():
    out = apply_rules(faithful_rewrite())
    assert out.passed and out.faithfulness is None


UNRELATED_ZH = [
    ("客服", "策略1 礼貌问候", "您好，这里是宽带客服中心"),
    ("客户", "", "我家宽带从早上开始就断网了，路由器灯一直闪红"),
    ("客服", "策略2 确认身份", "请告诉我装机地址和户主姓名"),
    ("客户", "", "地址是和平路八号，户主姓李"),
    ("客服", "策略4 细化问题", "请问光猫上的光信号灯是什么颜色"),
    ("客户", "", "光信号灯是红色的"),
    ("客服", "策略8 解决实施", "已经为您派单，维修师傅两小时内上门"),
    ("客户", "", "行，那我在家等着"),
    ("客服", "策略11 感谢与告别", "感谢来电，再见"),
    ("客户", "", "拜拜"),
]


def test_a_rewrite_of_another_dialogue_is_unfaithful_with_score_and_threshold():
    turns = [T(s, t, g) for s, g, t in UNRELATED_ZH]
    out = apply_rules(turns, PostfilterConfig(), SOURCE_ZH.turns, "zh")
    assert out.step == "unfaithful"
    assert out.reason.startswith("score 0.00 is under the zh threshold 0.20: 0 of the source's ")
    assert out.reason.endswith(" character bigrams are in the rewrite")


def test_a_chinese_source_rewritten_in_english_is_unfaithful():
    english = [
        ("agent", "Greeting", "Hello, thanks for calling, how can I help?"),
        ("customer", "", "My credit card failed at the mall yesterday"),
        ("agent", "Identity Verification", "May I have your card number?"),
        ("customer", "", "It is [CARD_NUMBER]"),
        ("agent", "Information Delivery", "Your card was frozen by our risk checks"),
        ("customer", "", "How do I unfreeze it? I need to pay"),
        ("agent", "Resolution Implementation", "I have filed the request, ten minutes"),
        ("customer", "", "Thanks"),
        ("agent", "Appreciation & Closure", "Thank you for calling, goodbye"),
        ("customer", "", "Bye"),
    ]
    out = apply_rules([T(s, t, g) for s, g, t in english], PostfilterConfig(),
                      SOURCE_ZH.turns, "zh")
    assert (out.step, out.reason) == ("unfaithful", "the rewrite is in en, its source in zh")


def test_a_rule_failure_is_reported_before_faithfulness():
    turns = [T(s, t, g) for s, g, t in UNRELATED_ZH][:8]  # 8 utterances: too short
    out = apply_rules(turns, PostfilterConfig(), SOURCE_ZH.turns, "zh")
    assert out.step == "length"


def test_a_zero_threshold_turns_the_score_check_off_but_not_the_language_check():
    turns = [T(s, t, g) for s, g, t in UNRELATED_ZH]
    off = PostfilterConfig(faithful_zh=0.0)
    assert apply_rules(turns, off, SOURCE_ZH.turns, "zh").passed
    assert off.faithful_threshold("zh") == 0.0 and off.faithful_threshold("en") == 0.30


# -- configuration ------------------------------------------------------------------------------


def test_thresholds_default_and_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(ZH_ENV, raising=False)
    monkeypatch.delenv(EN_ENV, raising=False)
    cfg = PostfilterConfig.from_env()
    assert (cfg.faithful_zh, cfg.faithful_en) == (0.20, 0.30)
    monkeypatch.setenv(ZH_ENV, " 0.35 ")
    monkeypatch.setenv(EN_ENV, "1")
    cfg = PostfilterConfig.from_env()
    assert (cfg.faithful_zh, cfg.faithful_en) == (0.35, 1.0)
    monkeypatch.setenv(ZH_ENV, "0")
    assert PostfilterConfig.from_env().faithful_zh == 0.0


@pytest.mark.parametrize("raw", ["1.01", "-0.1", "high", "nan", "20%"])
def test_a_bad_threshold_is_a_config_error_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(EN_ENV, raw)
    with pytest.raises(ConfigError, match=rf"^{EN_ENV}={raw} must be a number from 0 to 1$"):
        PostfilterConfig.from_env()


# -- the stage --------------------------------------------------------------------------------


def test_the_stage_rejects_an_unrelated_rewrite_before_the_judge(tmp_path):
    endpoint = Scripted([answer(UNRELATED_ZH)])
    o = run_stage(tmp_path, endpoint, SOURCE_ZH)
    assert (o.status, o.step) == ("rejected", "unfaithful")
    assert o.rewrite["faithfulness"] == 0.0
    assert endpoint.calls(Role.POSTFILTER_JUDGE) == []  # no judge call spent on it


def test_the_stage_keeps_a_faithful_rewrite_with_its_score(tmp_path):
    o = run_stage(tmp_path, Scripted([answer(rewrite_zh())]), SOURCE_ZH)
    assert o.status == "kept", o.reason
    assert o.rewrite["faithfulness"] == o.rules.faithfulness >= 0.9
