"""RoleCS personas, topics and the seven role prompts (csc.rolecs.personas, prompts/).

Expected values are written out by hand: line numbers of a file built here, the canonical JSON
of a profile, how n splits over the languages, the size of a small grid.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

import pytest

from csc.errors import UserError
from csc.framework import normalise_label, strategy_catalogue, strategy_label
from csc.prompts import load_prompt
from csc.rolecs.personas import (
    DEFAULT_TOPICS,
    GRIDS,
    Persona,
    PersonaFileError,
    PersonaProblem,
    generate_personas,
    grid_size,
    profile_text,
    read_personas,
    topics_for,
)
from schemas.llm import OUTPUT_OF, DialogueInput, InputTurn, Role, RolePlayInput
from simulator.responders import planner
from simulator.templates import TOPICS

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "personas" / "personas.jsonl"
CJK = re.compile(r"[\u4e00-\u9fff]")
ROLECS_ROLES = (Role.PERSONA_DESCRIBER, Role.PLANNER, Role.SUPPORTER_ASSISTANT, Role.SUPPORTER,
                Role.CUSTOMER_ASSISTANT, Role.CUSTOMER, Role.DIALOGUE_JUDGE)
GOOD = {"language": "en", "age": 30, "occupation": "nurse", "region": "Leeds",
        "temperament": "calm", "communication_style": "terse", "financial_literacy": "low"}


def _line(**changes) -> str:
    row = {**GOOD, **changes}
    return json.dumps({k: v for k, v in row.items() if v is not ...}, ensure_ascii=False)


def _write(tmp_path: Path, lines: list[str | bytes]) -> Path:
    path = tmp_path / "personas.jsonl"
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines)
                     + b"\n")
    return path


# ---- the sample file ---------------------------------------------------------------------------

def test_the_sample_file_loads_without_problems_32_per_language_at_least():
    personas, problems = read_personas(SAMPLE)
    assert problems == []
    by_lang = {lang: [p for p in personas if p.language == lang] for lang in ("zh", "en")}
    assert len(by_lang["zh"]) >= 32 and len(by_lang["en"]) >= 32
    assert len(personas) == len(by_lang["zh"]) + len(by_lang["en"])
    assert len({p.persona_id for p in personas}) == len(personas)
    assert len({profile_text(p) for p in personas}) == len(personas)
    for p in by_lang["zh"]:
        assert re.fullmatch(r"zh-\d{3}", p.persona_id)
        assert CJK.search(p.profile["occupation"]) and CJK.search(p.profile["region"])
    for p in by_lang["en"]:
        assert re.fullmatch(r"en-\d{3}", p.persona_id)
        assert not CJK.search(profile_text(p))


def test_the_sample_file_holds_no_contact_data():
    text = SAMPLE.read_text(encoding="utf-8")
    assert "@" not in text
    assert not re.search(r"\d{7,}", text)  # no phone or card numbers


# ---- bad lines ---------------------------------------------------------------------------------

def test_every_bad_line_is_a_problem_with_its_line_number_and_reason(tmp_path):
    path = _write(tmp_path, [
        _line(persona_id="ok-1"),                                       # 1 good
        "not json at all",                                              # 2
        "[1, 2]",                                                       # 3
        _line(persona_id="p4", occupation=...),                         # 4 missing
        _line(persona_id="p5", language="fr"),                          # 5
        _line(persona_id="p6", age=86),                                 # 6
        _line(persona_id="p7", age=17),                                 # 7
        "",                                                             # 8 blank: skipped
        _line(persona_id="p9", age="35"),                               # 9 a string
        _line(persona_id="p10", region=12),                             # 10 not text
        _line(persona_id="p11", financial_literacy="expert"),           # 11
        _line(persona_id="p12", note="typo for notes"),                 # 12 unknown field
        _line(persona_id="p13", occupation="   "),                      # 13 empty text
        b'{"persona_id": "p14", "region": "\xff"}',                     # 14 not UTF-8
        _line(persona_id="p15", age=True),                              # 15 a bool
        _line(persona_id="bad id!"),                                    # 16 unsafe id
        '"just a string"',                                              # 17
    ])
    personas, problems = read_personas(path)
    assert [p.persona_id for p in personas] == ["ok-1"]
    got = {p.line_no: p for p in problems}
    assert sorted(got) == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    assert got[2] == PersonaProblem(2, None, "not JSON")
    assert got[3] == PersonaProblem(3, None, "not a JSON object (a list)")
    assert got[4] == PersonaProblem(4, "p4", "missing field 'occupation'")
    assert got[5] == PersonaProblem(5, "p5", "language must be 'zh' or 'en', not \"fr\"")
    assert got[6] == PersonaProblem(6, "p6", "age 86 out of range 18-85")
    assert got[7] == PersonaProblem(7, "p7", "age 17 out of range 18-85")
    assert got[9].reason.startswith("invalid field 'age'")
    assert got[10].reason.startswith("invalid field 'region'")
    assert got[11].reason.startswith("invalid field 'financial_literacy'")
    assert got[12] == PersonaProblem(12, "p12", "unknown field 'note'")
    assert got[13].reason.startswith("invalid field 'occupation'")
    assert got[14] == PersonaProblem(14, None, "not UTF-8 text")
    assert got[15].reason.startswith("invalid field 'age'")
    assert got[16].persona_id == "bad id!"
    assert got[16].reason.startswith("invalid field 'persona_id'")
    assert got[17] == PersonaProblem(17, None, "not a JSON object (a str)")


def test_ages_at_the_bounds_are_kept(tmp_path):
    path = _write(tmp_path, [_line(persona_id="young", age=18), _line(persona_id="old", age=85)])
    personas, problems = read_personas(path)
    assert problems == []
    assert [p.profile["age"] for p in personas] == [18, 85]


def test_an_identical_duplicate_is_one_persona_a_conflicting_one_is_a_problem(tmp_path):
    same = _line(persona_id="dup")
    reordered = json.dumps(dict(reversed(list(json.loads(same).items()))))
    path = _write(tmp_path, [same, reordered, _line(persona_id="dup", age=31),
                             _line(persona_id="other")])
    personas, problems = read_personas(path)
    assert [p.persona_id for p in personas] == ["dup", "other"]
    assert personas[0].profile["age"] == 30  # the first one wins
    assert problems == [PersonaProblem(
        3, "dup", "duplicate persona_id 'dup' with different content (first on line 1)")]


def test_a_persona_without_an_id_gets_one_from_its_canonical_profile(tmp_path):
    path = _write(tmp_path, [_line(), _line(notes=""), _line(age=40)])
    personas, problems = read_personas(path)
    assert problems == []
    canonical = ('{"age":30,"communication_style":"terse","financial_literacy":"low",'
                 '"occupation":"nurse","region":"Leeds","temperament":"calm"}')
    expected = "en-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]
    # an empty note is no note: lines 1 and 2 are the same persona
    assert personas[0].persona_id == expected
    assert len(personas) == 2 and personas[1].persona_id != expected
    assert profile_text(personas[0]) == canonical


def test_profile_text_is_sorted_compact_and_keeps_chinese():
    p = Persona("zh-x", "zh", {"region": "四川成都", "age": 40, "notes": "经常出差"})
    assert profile_text(p) == '{"age":40,"notes":"经常出差","region":"四川成都"}'


def test_the_profile_holds_neither_id_nor_language_and_text_is_stripped(tmp_path):
    path = _write(tmp_path, [_line(persona_id="a", occupation="  nurse ", notes=" busy ")])
    (p,), _ = read_personas(path)
    assert p == Persona("a", "en", {"age": 30, "occupation": "nurse", "region": "Leeds",
                                    "temperament": "calm", "communication_style": "terse",
                                    "financial_literacy": "low", "notes": "busy"})


def test_a_bom_and_crlf_line_ends_are_read(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _line(persona_id="a").encode() + b"\r\n"
                     + _line(persona_id="b").encode() + b"\r\n")
    personas, problems = read_personas(path)
    assert problems == [] and [p.persona_id for p in personas] == ["a", "b"]


@pytest.mark.parametrize("name", ["missing.jsonl", "."])
def test_a_file_that_cannot_be_read_is_a_one_line_user_error(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(PersonaFileError) as info:
        read_personas(path)
    assert isinstance(info.value, UserError)
    message = str(info.value)
    assert "\n" not in message and str(path) in message


# ---- the generator -----------------------------------------------------------------------------

def test_the_generator_is_deterministic_and_its_personas_distinct():
    first = generate_personas(40, seed=7)
    assert first == generate_personas(40, seed=7)
    assert first != generate_personas(40, seed=8)
    assert len({p.persona_id for p in first}) == 40
    assert len({profile_text(p) for p in first}) == 40
    for p in first:
        digest = hashlib.sha256(profile_text(p).encode()).hexdigest()[:12]
        assert p.persona_id == f"gen-{p.language}-{digest}"


def test_the_generator_splits_n_over_the_languages_and_alternates():
    got = generate_personas(5, seed=1)
    assert [p.language for p in got] == ["zh", "en", "zh", "en", "zh"]
    assert all(CJK.search(p.profile["occupation"]) for p in got if p.language == "zh")
    assert not any(CJK.search(profile_text(p)) for p in got if p.language == "en")
    assert [p.language for p in generate_personas(3, 1, languages=("en",))] == ["en"] * 3
    assert generate_personas(0, 1) == []


def test_generated_personas_read_back_from_a_file_unchanged(tmp_path):
    made = generate_personas(30, seed=3)
    path = _write(tmp_path, [json.dumps({"persona_id": p.persona_id, "language": p.language,
                                         **p.profile}, ensure_ascii=False) for p in made])
    assert read_personas(path) == (made, [])


TINY = {lang: (({"age": 30, "occupation": f"{lang}-a"}, {"age": 60, "occupation": f"{lang}-b"}),
               ({"region": "r1"}, {"region": "r2"}), ({"temperament": "t"},),
               ({"communication_style": "c"},),
               ({"financial_literacy": "low"},), ({},))
        for lang in ("zh", "en")}


def test_a_grid_can_be_drawn_whole_but_not_beyond():
    assert grid_size(TINY["zh"]) == 4  # 2 people x 2 regions
    whole = generate_personas(8, seed=0, grids=TINY)
    assert sorted((p.profile["occupation"], p.profile["region"]) for p in whole) == [
        (f"{lang}-{who}", region) for lang in ("en", "zh") for who in "ab"
        for region in ("r1", "r2")]
    assert all("notes" not in p.profile for p in whole)
    with pytest.raises(ValueError, match=r"8 distinct profiles in all, 4 for 'zh'"):
        generate_personas(9, seed=0, grids=TINY)
    with pytest.raises(ValueError, match=r"4 for 'en' \(asked for 5\)"):
        generate_personas(5, seed=0, languages=("en",), grids=TINY)


def test_the_default_grid_size_is_in_the_error():
    total = grid_size(GRIDS["zh"]) + grid_size(GRIDS["en"])
    with pytest.raises(ValueError, match=f"{total} distinct profiles"):
        generate_personas(total + 1, seed=0)


@pytest.mark.parametrize("languages", [(), ("zh", "zh"), ("fr",)])
def test_bad_languages_are_refused(languages):
    with pytest.raises(ValueError):
        generate_personas(2, 0, languages=languages)


# ---- topics ------------------------------------------------------------------------------------

def test_seven_topics_per_language_in_the_method_order():
    assert len(DEFAULT_TOPICS) == 7
    assert topics_for("zh")[0] == "产品咨询" and topics_for("en")[0] == "product inquiry"
    assert topics_for("zh") == [zh for zh, _ in DEFAULT_TOPICS]
    assert topics_for("en") == [en for _, en in DEFAULT_TOPICS]
    with pytest.raises(ValueError):
        topics_for("fr")


@pytest.mark.parametrize("index", range(7))
def test_each_topic_name_is_the_simulators_topic_of_the_same_place(index):
    for lang, name in zip(("zh", "en"), DEFAULT_TOPICS[index], strict=True):
        first = next(i for i, t in enumerate(TOPICS) if any(w in name.lower() for w in t["match"]))
        assert first == index, (name, first)
        plan = planner(RolePlayInput(language=lang, topic=name), random.Random(0))
        assert plan.scenario in TOPICS[index][lang][0]


# ---- the role prompts --------------------------------------------------------------------------

@pytest.fixture
def default_prompts(monkeypatch):
    monkeypatch.delenv("CSC_PROMPTS_DIR", raising=False)
    for role in ROLECS_ROLES:
        monkeypatch.delenv(f"CSC_{role.value.upper()}_VARIANT", raising=False)


def _payload(role: Role, lang: str):
    history = [InputTurn(speaker="supporter", text="您好" if lang == "zh" else "Hello",
                         strategy=strategy_label(1, lang)),
               InputTurn(speaker="customer", text="我的卡被锁了" if lang == "zh" else
                         "My card is locked")]
    if role is Role.DIALOGUE_JUDGE:
        return DialogueInput(language=lang, dialogue=history)
    return RolePlayInput(language=lang, persona="P-MARK", topic=topics_for(lang)[4],
                         scenario="S-MARK", goal="G-MARK", strategy=strategy_label(4, lang),
                         direction="D-MARK", history=history)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", ROLECS_ROLES, ids=lambda r: r.value)
def test_each_role_prompt_loads_renders_and_shows_its_answer_shape(default_prompts, role, lang):
    prompt = load_prompt(role, lang)
    assert prompt.version.startswith(f"{role.value}.{lang}@")
    catalogue = strategy_catalogue(lang)
    payload = _payload(role, lang)
    system, user = prompt.render(payload, strategies=catalogue)
    assert system["role"] == "system" and user["role"] == "user"
    assert "{{" not in system["content"] + user["content"]
    block = json.dumps(payload.model_dump(mode="json"), ensure_ascii=False, indent=1)
    assert user["content"].endswith(f"```json\n{block}\n```")
    assert bool(CJK.search(system["content"])) == (lang == "zh")
    if "{{strategies}}" in prompt.user:
        assert catalogue in user["content"]
    # the last instruction shows exactly the answer's fields, as valid JSON
    shape = [line for line in prompt.user.splitlines() if line.startswith("{")][-1]
    example = json.loads(shape)
    answer = OUTPUT_OF[role]
    assert set(example) == set(answer.model_fields)
    answer.model_validate(example)


@pytest.mark.parametrize("role", [Role.SUPPORTER_ASSISTANT, Role.SUPPORTER,
                                  Role.DIALOGUE_JUDGE], ids=lambda r: r.value)
def test_the_strategy_roles_get_the_annotators_catalogue(default_prompts, role):
    for lang in ("zh", "en"):
        assert "{{strategies}}" in load_prompt(role, lang).user
        assert "{{strategies}}" in load_prompt(Role.ANNOTATOR, lang).user


def test_the_supporter_assistant_example_answer_is_a_strategy_label(default_prompts):
    for lang in ("zh", "en"):
        user = load_prompt(Role.SUPPORTER_ASSISTANT, lang).user
        shape = json.loads([x for x in user.splitlines() if x.startswith("{")][-1])
        found = normalise_label(shape["strategy"])
        assert found.ok and shape["strategy"] == strategy_label(found.id, lang)
