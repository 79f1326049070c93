"""Parse tolerance on realistic raw answers; strict validation after."""

import pytest

from csc.llm.parsing import ParseError, extract_json, parse_as, split_reasoning
from schemas.llm import PostfilterVerdict, PrefilterVerdict, RewrittenDialogue

# (raw answer as models write it, expected JSON value)
CORPUS = [
    ('{"low_quality": false}', {"low_quality": False}),
    ('```json\n{"low_quality": true, "reason": "辱骂"}\n```', {"low_quality": True, "reason": "辱骂"}),
    ("```\n{\"quality\": \"high\"}\n```", {"quality": "high"}),
    ('Sure! Here is my verdict:\n{"quality": "medium", "reason": "ok"}\nHope this helps.',
     {"quality": "medium", "reason": "ok"}),
    ('```json\n{\n  // judged on criteria a-c\n  "quality": "low", /* noise */\n  "reason": "x",\n}\n```',
     {"quality": "low", "reason": "x"}),
    ('<think>The agent greets, verifies, closes. Looks fine.</think>\n{"low_quality": false}',
     {"low_quality": False}),
    ('<think>\n先看客服是否礼貌……\n</think>\n\n```json\n{"low_quality": false, "reason": "正常"}\n```',
     {"low_quality": False, "reason": "正常"}),
    ('｛“low_quality”：true，“reason”：“客服态度冷漠”｝', {"low_quality": True, "reason": "客服态度冷漠"}),
    ('[{"speaker": "客服", "strategy": "策略1 礼貌问候", "text": "您好，请问有什么可以帮您？"},\n'
     ' {"speaker": "客户", "strategy": "", "text": "我的卡被锁了，网址是 http://x.cn//a"},]',
     [{"speaker": "客服", "strategy": "策略1 礼貌问候", "text": "您好，请问有什么可以帮您？"},
      {"speaker": "客户", "strategy": "", "text": "我的卡被锁了，网址是 http://x.cn//a"}]),
    ('The JSON: {"quality": "high", "reason": "a brace } inside a string"} done',
     {"quality": "high", "reason": "a brace } inside a string"}),
    ('{"reason": "客户说：“好的，谢谢”", "quality": "high"}',
     {"reason": "客户说：“好的，谢谢”", "quality": "high"}),
]


@pytest.mark.parametrize(("raw", "expected"), CORPUS)
def test_extracts_json_from_realistic_answers(raw, expected):
    assert extract_json(raw) == expected


@pytest.mark.parametrize("raw", [
    '{"low_quality": fal',                     # truncated
    '```json\n{"quality": "high", "reason": \n```',
    "I cannot judge this dialogue.",
    "",
])
def test_unreadable_answers_raise_parse_error(raw):
    with pytest.raises(ParseError):
        extract_json(raw)


def test_validation_is_strict_after_tolerant_extraction():
    assert parse_as('```json\n{"low_quality": true}\n```', PrefilterVerdict).low_quality
    with pytest.raises(ParseError, match="quality"):
        parse_as('{"quality": "excellent"}', PostfilterVerdict)
    with pytest.raises(ParseError, match="low_quality"):
        parse_as('{"verdict": false}', PrefilterVerdict)
    turns = parse_as('[{"speaker": "客服", "strategy": "GT", "text": "hi"}]', RewrittenDialogue)
    assert turns.root[0].strategy == "GT"


def test_reasoning_is_kept_apart_from_the_answer():
    s = split_reasoning("<think>step 1\nstep 2</think>\n{\"a\": 1}")
    assert s.answer == '{"a": 1}' and s.reasoning == "step 1\nstep 2"
    s = split_reasoning('{"a": 1}', reasoning_content="R1 thoughts")
    assert s.answer == '{"a": 1}' and s.reasoning == "R1 thoughts"
    assert split_reasoning("plain").reasoning is None


# ---- the balanced-span scan: strings, escapes and brackets inside them ----------------------
# Every raw answer below has prose around the JSON, so only the span scan can find it.

SPANS = [
    # an escaped quote inside a string does not end it
    (r'Verdict: {"reason": "客户说 \"退款\" 然后挂断", "quality": "low"} done',
     {"reason": '客户说 "退款" 然后挂断', "quality": "low"}),
    # ... nor does a brace right after it close the object
    (r'Answer: {"reason": "he typed \"}\" twice", "quality": "low"} thanks',
     {"reason": 'he typed "}" twice', "quality": "low"}),
    # an escaped backslash just before a closing quote: the quote does end the string
    (r'Path: {"path": "C:\\temp\\", "quality": "high"} end',
     {"path": "C:\\temp\\", "quality": "high"}),
    # an opening brace inside a string opens nothing
    ('Result: {"reason": "客户发了 { 符号", "quality": "medium"} ok',
     {"reason": "客户发了 { 符号", "quality": "medium"}),
    # a string whose first character is its closing quote
    ('Strategies: ["", "GT"] done', ["", "GT"]),
    # nested objects and arrays: the span ends at the outermost close
    ('Here you go: {"quality": "high", "scores": {"a": 1, "b": [1, {"c": 2}]}} bye',
     {"quality": "high", "scores": {"a": 1, "b": [1, {"c": 2}]}}),
    # the character after the close is not part of the span
    ('Answer: {"a": 1}.', {"a": 1}),
    # letters in prose and in comments are not brackets
    ('Verdict X: {"low_quality": false}', {"low_quality": False}),
    ('Answer: {"a": 1, // X marks it\n "b": 2} end', {"a": 1, "b": 2}),
    # an unpaired quote in the prose before the JSON
    ('He said "wait: {"a": 1}', {"a": 1}),
    # brackets in the prose before the JSON are skipped, not the end of the search
    ('根据[标准]，结论如下：{"low_quality": true, "reason": "辱骂"}',
     {"low_quality": True, "reason": "辱骂"}),
    ('I checked {criteria a-c}: {"quality": "high"}', {"quality": "high"}),
    ('[结论]{"low_quality": false}', {"low_quality": False}),
    # a span at the very start; the outer object, not the inner one
    ('{"a": {"b": 1}} is my answer', {"a": {"b": 1}}),
    # an opening bracket that never closes is passed over, and the scan goes on inside it
    ('{{"a": 1}', {"a": 1}),
]


@pytest.mark.parametrize(("raw", "expected"), SPANS)
def test_span_scan_respects_strings_and_escapes(raw, expected):
    assert extract_json(raw) == expected


# ---- <think> blocks -----------------------------------------------------------------------

def test_unclosed_think_block_is_reasoning_not_answer():
    raw = '<think>客户很生气 {"low_quality": true}'
    s = split_reasoning(raw)
    assert s.answer == "" and s.reasoning == '客户很生气 {"low_quality": true}'
    with pytest.raises(ParseError):
        extract_json(raw)


@pytest.mark.parametrize("raw", ["<think>I should answer false.</think>", "<think>\n\n</think>\n",
                                 "<think>still thinking"])
def test_reasoning_only_answers_raise_parse_error(raw):
    with pytest.raises(ParseError):
        extract_json(raw)


def test_think_blocks_are_case_insensitive_and_all_removed():
    assert extract_json('<THINK>x</THINK>{"a": 1}') == {"a": 1}
    s = split_reasoning('<think>a</think>{"a": 1}<think>b</think>', reasoning_content="R")
    assert s.answer == '{"a": 1}' and s.reasoning == "R\n\na\n\nb"
    assert split_reasoning("") == split_reasoning("", None)
    assert split_reasoning("").answer == "" and split_reasoning("").reasoning is None


# ---- comments and trailing commas: never inside strings -----------------------------------

STRIPPED = [
    ('{"url": "http://a.cn//x", "note": "a /* b */ c", "tail": "x,}", "list": "[a,]", "q": 1,}',
     {"url": "http://a.cn//x", "note": "a /* b */ c", "tail": "x,}", "list": "[a,]", "q": 1}),
    (r'{"reason": "say \"hi\" // not a comment, }", "q": 1,}',
     {"reason": 'say "hi" // not a comment, }', "q": 1}),
    (r'{"reason": "a \" // b", "q": 1,}', {"reason": 'a " // b', "q": 1}),
    (r'{"reason": "引号\"，然后 /* 不是注释 */ ,}", "q": 1,}',
     {"reason": '引号"，然后 /* 不是注释 */ ,}', "q": 1}),
    (r'{"path": "C:\\", "q": 1, /* c */}', {"path": "C:\\", "q": 1}),
    ('{"a": 1} // final answer', {"a": 1}),
    ('{"a": "x*/y", /* note */ "b": 1}', {"a": "x*/y", "b": 1}),
    ('{/* a */ "x": 1, /* b */ "y": 2}', {"x": 1, "y": 2}),
    ('{"a": 1, /*/ odd */ "b": 2}', {"a": 1, "b": 2}),
    ('{"a": 1 /**/, "b": 2}', {"a": 1, "b": 2}),
    ('{"a": 1, /* c */"b": 2}', {"a": 1, "b": 2}),
    ('{"a": 1} /* unterminated', {"a": 1}),
    ('{"a": 1,"b": 2,}', {"a": 1, "b": 2}),
    ('{\n  "quality": "low", // the last item\n}', {"quality": "low"}),
    ('[1, 2, /* more later */ ]', [1, 2]),
    ('[",", ", ]"]', [",", ", ]"]),
    ('[1,\n 2,\r\n\t]', [1, 2]),
]


@pytest.mark.parametrize(("raw", "expected"), STRIPPED)
def test_comments_and_trailing_commas_are_removed_outside_strings_only(raw, expected):
    assert extract_json(raw) == expected


@pytest.mark.parametrize("raw", [
    "[1, 2,",              # truncated after a comma
    '{"a": "x\\',          # truncated after a backslash inside a string
    "   \n ",
    "}{",
    "Answer: {broken} and [also, broken]",
    "｛X”：1｝",             # a letter is not a quote
])
def test_truncated_or_broken_answers_raise_parse_error(raw):
    with pytest.raises(ParseError):
        extract_json(raw)


# ---- fences -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ('```json\n```\n{"a": 1}', {"a": 1}),                           # an empty fence first
    ('```\nnot json\n```\nthen\n```json\n{"a": 1}\n```', {"a": 1}),  # the second fence
    ('```jsonc\n{"a": 1, // c\n}\n```', {"a": 1}),
    ('```jsonc\n"high" // a bare value\n```', "high"),
    ('Verdict below.\n```JSON\n[1, 2]\n```\nAnything else?', [1, 2]),
])
def test_fenced_answers(raw, expected):
    assert extract_json(raw) == expected


# ---- full-width punctuation ---------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    # full-width syntax is fixed; the same characters inside strings are content and stay
    ('｛“low_quality”：true，“reason”：“客服态度冷漠，没有解决问题：敷衍”｝',
     {"low_quality": True, "reason": "客服态度冷漠，没有解决问题：敷衍"}),
    ('{"reason"：“客户说：好的”，"quality"："high"}', {"reason": "客户说：好的", "quality": "high"}),
    ('［｛“speaker”：“客服”，“text”：“您好，请问有什么可以帮您？”｝］',
     [{"speaker": "客服", "text": "您好，请问有什么可以帮您？"}]),
    ('结论：｛“low_quality”：false｝。', {"low_quality": False}),
    ('｛“low_quality“：true｝', {"low_quality": True}),             # “ used to close too
    ('{"quality”: "high"}', {"quality": "high"}),                  # mixed quotes
    ('“high”', "high"),
    # ASCII strings among full-width syntax keep their full-width content (and their X)
    ('{"reason": "客户要做X光，检查：明天"，"quality": "high"}',
     {"reason": "客户要做X光，检查：明天", "quality": "high"}),
    ('｛“reason”：“做X光，明天”｝', {"reason": "做X光，明天"}),
    # escaped quotes inside strings, in either kind of quoted string
    (r'{"reason": "他说\"好，行\"。", "q"：1}', {"reason": '他说"好，行"。', "q": 1}),
    (r'｛“reason”：“他说\"好\"，然后挂了”｝', {"reason": '他说"好"，然后挂了'}),
])
def test_full_width_punctuation(raw, expected):
    assert extract_json(raw) == expected


# ---- errors say what was wrong --------------------------------------------------------------

def test_parse_error_quotes_the_start_of_the_answer_on_one_line():
    with pytest.raises(ParseError) as err:
        extract_json("line one\nline two")
    assert str(err.value) == "no readable JSON in the answer (starts: 'line one line two')"
    with pytest.raises(ParseError) as err:
        extract_json("a" * 120 + "b" * 80)
    assert str(err.value) == f"no readable JSON in the answer (starts: '{'a' * 120}')"


def test_parse_as_any_type_and_its_error_messages():
    assert parse_as("Result: [1, 2]", list[int]) == [1, 2]
    assert parse_as('```json\n"x"\n```', int | str) == "x"
    with pytest.raises(ParseError) as err:
        parse_as('{"verdict": false}', PrefilterVerdict)
    assert str(err.value) == "JSON does not match PrefilterVerdict: low_quality: Field required"
    with pytest.raises(ParseError) as err:
        parse_as('[{"speaker": "客服", "text": 5}]', RewrittenDialogue)
    assert str(err.value) == ("JSON does not match RewrittenDialogue: "
                              "0.text: Input should be a valid string")
    with pytest.raises(ParseError) as err:
        parse_as('"x"', int)
    assert str(err.value) == ("JSON does not match int: (root): Input should be a valid "
                              "integer, unable to parse string as an integer")
    with pytest.raises(ParseError) as err:
        parse_as("[1.5]", int | bool)
    assert str(err.value).startswith("JSON does not match int | bool: int: ")
    assert "; bool: " in str(err.value)
    with pytest.raises(ParseError) as err:
        parse_as('["a", "b", "c", "d", "e", "f", "g"]', list[int])
    assert str(err.value).count("Input should be a valid integer") == 5
    assert "; 4: " in str(err.value) and "5: " not in str(err.value)


# ---- issue 11 A1: every candidate is tried; strings keep their punctuation ------------------

def test_prose_braces_before_the_answer_are_not_the_answer():
    raw = 'Looking at turn {3} … {"low_quality": false}'
    assert extract_json(raw) == {"low_quality": False}
    assert parse_as(raw, PrefilterVerdict).low_quality is False


@pytest.mark.parametrize("raw", [
    'Looking at turn [3] … {"low_quality": false}',            # valid JSON, wrong type
    'Looking at turn {"index": 3} … {"low_quality": false}',
    '```json\n[3]\n```\n```json\n{"low_quality": false}\n```',  # the second fence
    '{"turn": 3} then ```json\n{"low_quality": false}\n```',
])
def test_parse_as_tries_every_candidate_until_one_fits(raw):
    assert parse_as(raw, PrefilterVerdict).low_quality is False


def test_no_fitting_candidate_reports_the_first_readable_one():
    with pytest.raises(ParseError) as err:
        parse_as('Looking at turn [3] … {"verdict": false}', PrefilterVerdict)
    assert str(err.value) == ("JSON does not match PrefilterVerdict: (root): Input should be "
                              "a valid dictionary or instance of PrefilterVerdict")


@pytest.mark.parametrize(("raw", "expected"), [
    # mixed quotes around a key, a full-width comma inside a text: the comma is content
    ('{"quality”: "high", "reason": "好，的"}', {"quality": "high", "reason": "好，的"}),
    ('{"reason”: "客户说：好的，谢谢", "quality": "high"}',
     {"reason": "客户说：好的，谢谢", "quality": "high"}),
    ('Verdict: {"text”: "您好，请问［有］什么｛可以｝帮您？"}',
     {"text": "您好，请问［有］什么｛可以｝帮您？"}),
])
def test_full_width_repair_never_touches_string_values(raw, expected):
    assert extract_json(raw) == expected


def test_full_width_comma_in_a_rewritten_text_survives():
    raw = '[{"speaker”: "客服", "strategy": "GT", "text": "您好，请问有什么可以帮您？"}]'
    turns = parse_as(raw, RewrittenDialogue)
    assert turns.root[0].text == "您好，请问有什么可以帮您？"


# ---- issue 11 A2: <think> inside a JSON string is text ----------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ('{"text": "Your bot wrote <think>x</think> in my chat"}',
     {"text": "Your bot wrote <think>x</think> in my chat"}),
    ('<think>quote the customer</think>\n{"text": "Your bot wrote <think>x</think> in my chat"}',
     {"text": "Your bot wrote <think>x</think> in my chat"}),
    ('```json\n{"text": "a <THINK>b</THINK> c", "finished": false}\n```',
     {"text": "a <THINK>b</THINK> c", "finished": False}),
    ('{"text": "an open <think> tag and more"}', {"text": "an open <think> tag and more"}),
    ('Answer: [{"speaker": "客户", "text": "<think>"}, {"speaker": "客服", "text": "</think>"}]',
     [{"speaker": "客户", "text": "<think>"}, {"speaker": "客服", "text": "</think>"}]),
])
def test_think_tags_inside_json_strings_are_text(raw, expected):
    assert extract_json(raw) == expected


def test_think_inside_a_string_is_not_reasoning():
    s = split_reasoning('<think>r</think>{"text": "x <think>y</think> z"}')
    assert s.answer == '{"text": "x <think>y</think> z"}' and s.reasoning == "r"
    s = split_reasoning('{"text": "x <think>y</think> z"}')
    assert s.answer == '{"text": "x <think>y</think> z"}' and s.reasoning is None
    # a whole block outside the JSON is still reasoning
    s = split_reasoning('{"a": 1}\n<think>after</think>')
    assert s.answer == '{"a": 1}' and s.reasoning == "after"


# ---- fences and brackets quoted inside a JSON string are text, not candidates ----------------
# The whole answer, or its outermost readable value, is the answer; a ```json block or a
# bracketed span inside one of its strings is what a turn says.

# The colleague's example: a customer turn quoting a fenced block with an empty dialogue.
QUOTED_EMPTY = (r'[{"speaker":"customer","strategy":"","text":"I pasted: ```json\n'
                r'{\"dialogue\": []}\n```"}, {"speaker":"supporter","strategy":"GT",'
                r'"text":"Thanks, I will check it."}]')
QUOTED_EMPTY_TURNS = [
    {"speaker": "customer", "strategy": "", "text": 'I pasted: ```json\n{"dialogue": []}\n```'},
    {"speaker": "supporter", "strategy": "GT", "text": "Thanks, I will check it."},
]
# A Chinese turn quoting a block with a whole dialogue in full-width quotes (which need no
# escaping inside a JSON string, so the quoted block reads as JSON on its own).
QUOTED_FULL = ('[{"speaker": "客户", "strategy": "", "text": "我贴错了：```json\\n'
               '{“dialogue”：[{“speaker”：“客户”，“text”：“你好”}]}\\n```"}, '
               '{"speaker": "客服", "strategy": "GT", "text": "收到，我看一下。"}]')
QUOTED_FULL_TURNS = [
    {"speaker": "客户", "strategy": "",
     "text": "我贴错了：```json\n{“dialogue”：[{“speaker”：“客户”，“text”：“你好”}]}\n```"},
    {"speaker": "客服", "strategy": "GT", "text": "收到，我看一下。"},
]


def _turns(raw: str) -> list[dict]:
    return [t.model_dump() for t in parse_as(raw, RewrittenDialogue).root]


@pytest.mark.parametrize("raw", [
    QUOTED_EMPTY,
    "Here is the rewrite:\n" + QUOTED_EMPTY + "\nHope this helps.",
    '{"dialogue": ' + QUOTED_EMPTY + "}",
])
def test_a_fence_quoted_in_a_turn_is_not_the_rewrite(raw):
    assert _turns(raw) == QUOTED_EMPTY_TURNS
    assert extract_json(raw) in (QUOTED_EMPTY_TURNS, {"dialogue": QUOTED_EMPTY_TURNS})


@pytest.mark.parametrize("raw", [QUOTED_FULL, "改写如下：\n" + QUOTED_FULL])
def test_a_quoted_dialogue_with_turns_does_not_replace_the_rewrite(raw):
    assert _turns(raw) == QUOTED_FULL_TURNS
    assert extract_json(raw) == QUOTED_FULL_TURNS


@pytest.mark.parametrize(("raw", "expected"), [
    ("```json\n" + QUOTED_EMPTY + "\n```", QUOTED_EMPTY_TURNS),
    ("Rewrite:\n```json\n" + QUOTED_FULL + "\n```\nDone.", QUOTED_FULL_TURNS),
])
def test_a_fenced_answer_whose_text_holds_a_fenced_block(raw, expected):
    # the fence around the answer closes at its own marker, not at the one in the string
    assert extract_json(raw) == expected
    assert _turns(raw) == expected


def test_a_fence_marker_inside_a_string_opens_no_fence():
    raw = '{"note": "```"} then ```json\n{"low_quality": false}\n```'
    assert extract_json(raw) == {"low_quality": False}


def test_a_fence_closes_at_its_own_marker_not_one_in_a_string():
    raw = ('Looking at turn {"index": 3}:\n```json\n'
           '{"low_quality": false, "reason": "the customer typed ``` twice"}\n```')
    assert extract_json(raw) == {"low_quality": False, "reason": "the customer typed ``` twice"}


@pytest.mark.parametrize(("raw", "expected"), [
    # full-width JSON after prose: the ASCII brackets in its text are text
    ('改写如下：［｛“speaker”：“客服”，“strategy”：“GT”，“text”：“see [1, 2]”｝］',
     [{"speaker": "客服", "strategy": "GT", "text": "see [1, 2]"}]),
    # a fenced answer whose text holds a fence, then brackets
    ('```json\n[{"speaker": "客户", "text": "I pasted ```x``` and see [1, 2]"}]\n```',
     [{"speaker": "客户", "text": "I pasted ```x``` and see [1, 2]"}]),
])
def test_a_bracketed_span_inside_a_string_is_text(raw, expected):
    assert extract_json(raw) == expected


def test_brackets_in_a_string_never_fit_another_type():
    # a '"' string ends only at '"': the '”,' inside it (which the mixed-quote scan takes for
    # a string's end) does not make '[1, 2]' a value of its own
    with pytest.raises(ParseError, match=r"\(root\): Input should be a valid list"):
        parse_as('{"text": "a”, see [1, 2]"}', list[int])


NO_TURN = ('JSON does not match RewrittenDialogue: (root): Value error, the rewrite has no '
           'turn: answer with the whole rewritten dialogue, a JSON list of its turns, each '
           '{"speaker": ..., "strategy": ..., "text": ...}')


@pytest.mark.parametrize("raw", ["[]", '{"dialogue": []}', '```json\n{"turns": []}\n```'])
def test_an_empty_rewrite_is_refused_with_what_to_send(raw):
    with pytest.raises(ParseError) as err:
        parse_as(raw, RewrittenDialogue)
    assert str(err.value) == NO_TURN


# ---- the order of candidates (these pin the scan; the old one read them the same way) ------

def test_adjacent_values_are_both_candidates():
    assert parse_as('{"verdict": 1}{"low_quality": false}', PrefilterVerdict).low_quality is False


def test_a_full_width_value_after_an_ascii_one_is_a_candidate():
    raw = '{"turn": 3} 结论：｛“low_quality”：false｝'
    assert parse_as(raw, PrefilterVerdict).low_quality is False


@pytest.mark.parametrize(("raw", "expected"), [
    # each fence closes at the next marker, not the last one
    ('```json\n"high"\n```\nor\n```json\n"low"\n```', "high"),
    # fences come before values in the prose, and the prose between fences is no fence
    ('```\nnot json\n```\n{"a": 0}\n```json\n{"a": 1}\n```', {"a": 1}),
])
def test_fences_pair_in_order(raw, expected):
    assert extract_json(raw) == expected


def test_parse_as_without_json_quotes_the_answer():
    with pytest.raises(ParseError) as err:
        parse_as("I cannot judge this.", PrefilterVerdict)
    assert str(err.value) == "no readable JSON in the answer (starts: 'I cannot judge this.')"
