"""csc-method §2.2: one normaliser maps every label form seen in the wild to an id, flags a
label that names several strategies, and rejects the rest with a reason class.

Every expected value below is read off the strategy table of csc-method.md §2 by hand.
"""

from __future__ import annotations

import pytest

from csc.framework import Phase, normalise_label, usual_phase, usual_phases

# (label, expected ids, expected kind): kind is "ok" (one strategy), "multi" (several), or
# the class of the rejection.
TABLE: list[tuple[str | None, tuple[int, ...], str]] = [
    # decorated single labels
    ("### 策略1: 礼貌问候", (1,), "ok"),
    ("[策略1 礼貌问候]", (1,), "ok"),
    ("**策略1 礼貌问候**", (1,), "ok"),
    ("`策略2 确认身份`", (2,), "ok"),
    ("【策略5】情感管理", (5,), "ok"),
    ("【情感管理】", (5,), "ok"),
    ("策略五：情感管理", (5,), "ok"),
    ("策略一 礼貌问候", (1,), "ok"),
    ("策略九", (9,), "ok"),
    ("策略十 关系延续", (10,), "ok"),
    ("策略十一：感谢与告别", (11,), "ok"),
    ("策略十二 其它", (12,), "ok"),
    ("Strategy 5: Emotional Management", (5,), "ok"),
    ("**EM**", (5,), "ok"),
    ("## Greeting", (1,), "ok"),
    # a name that itself holds a joining word stays one strategy
    ("Appreciation & Closure", (11,), "ok"),
    ("Appreciation and Closure", (11,), "ok"),
    ("Restatement or Paraphrasing", (3,), "ok"),
    ("感谢与告别", (11,), "ok"),
    ("重述或转述", (3,), "ok"),
    ("策略11 感谢与告别", (11,), "ok"),
    # multi-strategy labels
    ("PS and ID", (6, 7), "multi"),
    ("PS & ID", (6, 7), "multi"),
    ("策略6和策略7", (6, 7), "multi"),
    ("策略6及策略7", (6, 7), "multi"),
    ("提供建议和信息传达", (6, 7), "multi"),
    ("策略6+策略7", (6, 7), "multi"),
    ("PS & Appreciation & Closure", (6, 11), "multi"),
    ("重述或转述和细化问题", (3, 4), "multi"),
    ("策略6+策略6", (6, 6), "multi"),
    # rejected, by class
    ("N/A", (), "unknown"),
    ("none", (), "unknown"),
    ("无", (), "unknown"),
    ("-", (), "unknown"),
    ("banana", (), "unknown"),
    ("", (), "empty"),
    (None, (), "empty"),
    ("**  **", (), "empty"),
    ("策略十三", (), "out_of_range"),
    ("策略13", (), "out_of_range"),
    ("策略五：礼貌问候", (), "contradiction"),
    ("策略3 banana", (), "unknown_name"),
    ("策略6和banana", (), "bad_part"),
    ("策略6+banana", (), "bad_part"),
]


@pytest.mark.parametrize(("label", "ids", "kind"), TABLE)
def test_label_table(label, ids, kind):
    result = normalise_label(label)
    assert (result.ids, result.kind) == (ids, kind), result.error
    assert result.ok == (kind == "ok")
    assert result.multi == (kind == "multi")
    assert (result.error is None) == (kind in ("ok", "multi"))
    assert result.raw == ("" if label is None else label)


def test_not_a_strategy_is_unknown_not_a_multi_label():
    for label in ("N/A", "n/a", "None", "无", "-", "—"):
        result = normalise_label(label)
        assert result.kind == "unknown" and "multi" not in (result.error or ""), label


# csc-method §2 table, column "stage (usual)": PR is Identifying/Exploring, ID is
# Exploring/Resolving, EM is Identifying (it recurs), Others has none.
def test_usual_stages_follow_the_reference_table():
    assert usual_phases(4) == (Phase.IDENTIFYING, Phase.EXPLORING)
    assert usual_phases(7) == (Phase.EXPLORING, Phase.RESOLVING)
    assert usual_phases(5) == (Phase.IDENTIFYING,)
    assert usual_phases(3) == (Phase.IDENTIFYING,)
    assert usual_phases(6) == (Phase.EXPLORING,)
    assert usual_phases(8) == (Phase.RESOLVING,)
    assert usual_phases(12) == ()
    # the single stage stored per turn is the first the table names
    assert usual_phase(4) is Phase.IDENTIFYING and usual_phase(7) is Phase.EXPLORING
    assert usual_phase(12) is None
