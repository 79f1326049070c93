"""Rewritten dialogues for the post-filter tests: one passing base, edited per test."""

from __future__ import annotations

from schemas.llm import RewrittenTurn

SUP, CUS = "客服", "客户"


def T(speaker: str, text: str, strategy: str = "") -> RewrittenTurn:
    return RewrittenTurn(speaker=speaker, strategy=strategy, text=text)


def base() -> list[RewrittenTurn]:
    """10 alternating utterances with Greeting, Identity Verification and Closure: passes."""
    return [T(SUP, "您好，很高兴为您服务", "策略1 礼貌问候"), T(CUS, "你好，我的卡被锁了"),
            T(SUP, "请提供一下您的[手机号码]", "策略2 确认身份"), T(CUS, "[手机号码]"),
            T(SUP, "请问是哪天发生的？", "策略4 细化问题"), T(CUS, "昨天下午"),
            T(SUP, "已为您解锁", "策略8 解决实施"), T(CUS, "好的，谢谢"),
            T(SUP, "感谢您的来电，再见", "策略11 感谢与告别"), T(CUS, "再见")]
