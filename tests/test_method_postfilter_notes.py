"""csc-method §3.5(a): every trailing utterance that holds a parenthesised note, full-width or
ASCII, is dropped, again and again until the last utterance holds none. Only emoticons (a
bracket whose content is symbols, not words) are exempt, and a note inside the dialogue stays.
"""

from __future__ import annotations

import pytest
from rewrite_builders import CUS, SUP, T, base

from csc.csconv.postfilter import apply_rules, has_system_note


@pytest.mark.parametrize("text", [
    "（挂机）", "(笑)", "好的(笑)", "(customer hangs up)", "（客户已挂机）", "再见 (hangs up)",
    "（转人工）", "(system: call ended)", "（挂机)", "(ok)",
])
def test_a_note_in_words_is_a_note_however_short(text):
    assert has_system_note(text) is True


@pytest.mark.parametrize("text", [
    "谢谢 (^_^)", "(*^▽^*)", "好的（╥﹏╥）", "(。・ω・。)", "(^o^)", "(T_T)", "no brackets",
    "（）", "(ノ°▽°)ノ",
])
def test_an_emoticon_or_no_bracket_is_not_a_note(text):
    assert has_system_note(text) is False


@pytest.mark.parametrize("note", ["（挂机）", "(笑)", "(customer hangs up)"])
def test_one_trailing_noted_utterance_is_trimmed(note):
    out = apply_rules([*base(), T(SUP, note)])
    assert out.trimmed == 1 and out.passed and len(out.turns) == 10
    assert out.turns[-1].text == "再见"


def test_every_trailing_noted_utterance_is_trimmed_until_none_is_left():
    # three noted utterances at the end, one of them short (笑), one ASCII: all three go;
    # then "再见" (no note) ends the dialogue
    turns = [*base(), T(SUP, "(笑)"), T(CUS, "（挂机）"), T(SUP, "(customer hangs up)")]
    out = apply_rules(turns)
    assert out.trimmed == 3 and out.passed and len(out.turns) == 10


def test_trimming_stops_at_the_first_utterance_without_a_note():
    # a note, then a clean utterance, then a note: only the last is trailing
    turns = [*base()[:-1], T(CUS, "好的（笑）"), T(SUP, "再见", "策略11 感谢与告别"),
             T(CUS, "（挂机）")]
    out = apply_rules(turns)
    assert out.trimmed == 1 and out.passed and len(out.turns) == 11
    assert out.turns[9].text == "好的（笑）"


def test_a_trailing_emoticon_is_kept():
    turns = [*base()[:-1], T(CUS, "再见 (^_^)")]
    out = apply_rules(turns)
    assert out.trimmed == 0 and out.passed and out.turns[-1].text == "再见 (^_^)"


def test_a_note_inside_the_dialogue_is_kept():
    turns = base()
    turns[3] = T(CUS, "[手机号码]（笑）")
    out = apply_rules(turns)
    assert out.trimmed == 0 and out.passed and out.turns[3].text == "[手机号码]（笑）"
