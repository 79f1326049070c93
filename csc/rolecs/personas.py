"""RoleCS personas and topics: the customers the role-play simulates, and what they call about.

The method (csc-method §4) starts every simulated dialogue from a structured customer profile,
which the persona_describer role turns into a second-person description, and one of seven
topics; one dialogue per (topic, persona) pair. The source does not say where its profiles came
from or how many there were, so a team gives its own file (`read_personas`, one JSON object a
line; samples/personas/personas.jsonl ships 64) or draws them from attribute grids
(`generate_personas`). Both give the same `Persona`, and its id is stable, so a re-run pairs
the same persona with the same topic and hits the LLM cache.

Pure Python: no Prefect, no warehouse. Bad lines in a file are reported, never raised, so one
typo does not stop a run over thousands of personas; only a file that cannot be read at all
raises (PersonaFileError, a UserError: the user fixes the path).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from csc.errors import UserError

LANGUAGES = ("zh", "en")
MIN_AGE, MAX_AGE = 18, 85
# The profile's fields in the order the generator's grids use; persona_id and language are the
# persona's, not its profile's.
PROFILE_FIELDS = ("age", "occupation", "region", "temperament", "communication_style",
                  "financial_literacy", "notes")


class PersonaFileError(UserError):
    """The personas file is missing or cannot be read (a bad line inside it is a problem)."""


@dataclass(frozen=True)
class Persona:
    """One simulated customer. `profile` holds the structured attributes only (age ...
    notes); treat it as read-only, since the id was derived from it."""

    persona_id: str
    language: str
    profile: dict[str, Any]


@dataclass(frozen=True)
class PersonaProblem:
    """A line of a personas file that is not a persona, and why (line_no counts from 1)."""

    line_no: int
    persona_id: str | None
    reason: str


def profile_text(p: Persona) -> str:
    """The profile as canonical JSON (sorted keys, non-ASCII kept): what the describer role
    receives, and what a persona's derived id hashes, so equal profiles read alike."""
    return _canonical(p.profile)


def _canonical(profile: Mapping[str, Any]) -> str:
    return json.dumps(dict(profile), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _profile_hash(profile: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(profile).encode("utf-8")).hexdigest()[:12]


# ---- reading a file ----------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
# An id travels into item keys, file names and log lines: plain characters only.
PersonaId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]


class PersonaRow(BaseModel):
    """One line of a personas file. Strict: "35" is not an age and 12 is not a region, and an
    unknown field is refused, so a misspelt optional field ("note") does not vanish silently."""

    model_config = ConfigDict(strict=True, extra="forbid")

    persona_id: PersonaId | None = None
    language: Literal["zh", "en"]
    age: int = Field(ge=MIN_AGE, le=MAX_AGE)
    occupation: Text
    region: Text
    temperament: Text
    communication_style: Text
    financial_literacy: Literal["low", "medium", "high"]
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    def persona(self) -> Persona:
        profile = self.model_dump(exclude={"persona_id", "language"}, exclude_none=True)
        if not profile.get("notes"):
            profile.pop("notes", None)  # "" is no note: the same profile as none
        pid = self.persona_id or f"{self.language}-{_profile_hash(profile)}"
        return Persona(pid, self.language, profile)


def _reason(exc: ValidationError) -> str:
    """The first validation error of a line as one short sentence naming the field."""
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"]) or "line"
    kind, given = err["type"], err.get("input")
    if kind == "missing":
        return f"missing field '{field}'"
    if kind == "extra_forbidden":
        return f"unknown field '{field}'"
    if field == "language":
        return f"language must be 'zh' or 'en', not {json.dumps(given, ensure_ascii=False)}"
    if field == "age" and kind in ("greater_than_equal", "less_than_equal"):
        return f"age {given} out of range {MIN_AGE}-{MAX_AGE}"
    shown = json.dumps(given, ensure_ascii=False)[:40]
    return f"invalid field '{field}' ({shown}): {err['msg']}"


def _parse_line(raw: bytes) -> tuple[Persona | None, str | None, str]:
    """(persona, None, "") or (None, the line's persona_id if it names one, reason)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, None, "not UTF-8 text"
    try:
        data = json.loads(text)
    except ValueError:
        return None, None, "not JSON"
    if not isinstance(data, dict):
        return None, None, f"not a JSON object (a {type(data).__name__})"
    pid = data.get("persona_id")
    pid = pid if isinstance(pid, str) else None
    try:
        return PersonaRow.model_validate(data).persona(), None, ""
    except ValidationError as exc:
        return None, pid, _reason(exc)


def read_personas(path: Path) -> tuple[list[Persona], list[PersonaProblem]]:
    """The personas of a JSON-lines file in file order, and one problem per line that is not
    one. Blank lines are skipped. A line repeating an earlier persona_id with identical content
    is the same persona (files get concatenated); with different content it is a problem, since
    the id would then name two customers. Raises PersonaFileError only when the file cannot be
    read at all."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PersonaFileError(f"cannot read personas file {path}: "
                               f"{exc.strerror or type(exc).__name__}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a BOM some editors write
    personas: list[Persona] = []
    problems: list[PersonaProblem] = []
    seen: dict[str, tuple[int, Persona]] = {}
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        persona, pid, reason = _parse_line(raw)
        if persona is None:
            problems.append(PersonaProblem(line_no, pid, reason))
            continue
        first = seen.get(persona.persona_id)
        if first is None:
            seen[persona.persona_id] = (line_no, persona)
            personas.append(persona)
        elif first[1] != persona:
            problems.append(PersonaProblem(
                line_no, persona.persona_id,
                f"duplicate persona_id '{persona.persona_id}' with different content "
                f"(first on line {first[0]})"))
    return personas, problems


# ---- generating from grids ---------------------------------------------------------------------

Grid = Sequence[Sequence[Mapping[str, Any]]]
"""A grid is a list of dimensions; a profile takes one entry of each and merges them. An entry
sets one field or several that must agree (age with occupation: no 19-year-old retiree), or
none (no notes)."""


def _dim(field: str, values: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    return tuple({field: v} if v is not None else {} for v in values)


GRIDS: dict[str, tuple[tuple[dict[str, Any], ...], ...]] = {
    "zh": (
        tuple({"age": a, "occupation": o} for a, o in (
            (19, "大学生"), (23, "外卖骑手"), (27, "软件工程师"), (30, "网店店主"),
            (34, "小学教师"), (37, "护士"), (41, "个体餐馆老板"), (44, "货车司机"),
            (48, "外贸业务员"), (52, "公务员"), (57, "自由摄影师"), (61, "全职家庭主妇"),
            (66, "退休工人"), (72, "退休中学教师"), (79, "退休会计"), (84, "退休农民"))),
        _dim("region", ("北京朝阳区", "上海浦东新区", "广东东莞", "四川成都", "湖北武汉",
                        "黑龙江哈尔滨", "浙江义乌", "云南大理", "河南周口农村", "新疆乌鲁木齐")),
        _dim("temperament", ("急躁", "温和", "多疑", "乐观", "焦虑", "固执", "冷静")),
        _dim("communication_style", ("说话直来直去", "喜欢反复确认细节", "客气但啰嗦",
                                     "言简意赅", "带点方言口音、用词随意", "爱抱怨")),
        _dim("financial_literacy", ("low", "medium", "high")),
        _dim("notes", (None, "不太会用手机银行", "最近刚换了手机号", "经常出差",
                       "替家里老人办理业务")),
    ),
    "en": (
        tuple({"age": a, "occupation": o} for a, o in (
            (20, "college student"), (24, "delivery driver"), (28, "software developer"),
            (31, "online shop owner"), (35, "primary school teacher"), (38, "nurse"),
            (42, "small restaurant owner"), (45, "truck driver"),
            (49, "import-export sales rep"), (53, "civil servant"),
            (56, "freelance photographer"), (60, "stay-at-home parent"),
            (67, "retired factory worker"), (71, "retired schoolteacher"),
            (78, "retired bookkeeper"), (83, "retired farmer"))),
        _dim("region", ("inner London", "Manchester suburbs", "rural Iowa", "Toronto", "Sydney",
                        "Glasgow", "Houston", "a small town in Wales", "Auckland", "Dublin")),
        _dim("temperament", ("impatient", "easygoing", "suspicious", "cheerful", "anxious",
                             "stubborn", "calm")),
        _dim("communication_style", ("blunt and to the point", "asks for every detail twice",
                                     "polite but long-winded", "terse", "casual and slangy",
                                     "complains a lot")),
        _dim("financial_literacy", ("low", "medium", "high")),
        _dim("notes", (None, "rarely uses the mobile app", "recently changed phone number",
                       "travels often for work", "handles banking for an elderly parent")),
    ),
}


def grid_size(grid: Grid) -> int:
    """How many profiles a grid crosses to (all distinct when its entries are)."""
    return math.prod(len(dim) for dim in grid)


def _profile_at(grid: Grid, index: int) -> dict[str, Any]:
    """The index-th combination of the grid (mixed radix over its dimensions, the last one
    fastest): sampling indices avoids building the whole cross product."""
    profile: dict[str, Any] = {}
    for dim in reversed(grid):
        index, k = divmod(index, len(dim))
        profile.update(dim[k])
    return {f: profile[f] for f in PROFILE_FIELDS if f in profile}


def generate_personas(n: int, seed: int, languages: Sequence[str] = LANGUAGES, *,
                      grids: Mapping[str, Grid] | None = None) -> list[Persona]:
    """n distinct personas drawn from the attribute grids with random.Random(seed): the same
    (n, seed, languages) always gives the same list. The languages share n as evenly as
    possible (the first ones take the remainder) and alternate in the list, so any prefix of
    it covers both. ValueError when n needs more profiles than a language's grid holds."""
    grids = GRIDS if grids is None else grids
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if not languages or len(set(languages)) != len(languages):
        raise ValueError(f"languages must be distinct and not empty: {tuple(languages)}")
    unknown = [lang for lang in languages if lang not in grids]
    if unknown:
        raise ValueError(f"no persona grid for language(s) {unknown}; known: {sorted(grids)}")
    sizes = {lang: grid_size(grids[lang]) for lang in languages}
    total = sum(sizes.values())
    base, extra = divmod(n, len(languages))
    quotas = {lang: base + (i < extra) for i, lang in enumerate(languages)}
    for lang, quota in quotas.items():
        if quota > sizes[lang]:
            raise ValueError(f"n={n} is larger than the persona grid: {total} distinct "
                             f"profiles in all, {sizes[lang]} for '{lang}' (asked for {quota})")
    rng = random.Random(seed)
    drawn: dict[str, list[Persona]] = {}
    for lang in languages:
        picks = rng.sample(range(sizes[lang]), quotas[lang])
        drawn[lang] = []
        for index in picks:
            profile = _profile_at(grids[lang], index)
            drawn[lang].append(Persona(f"gen-{lang}-{_profile_hash(profile)}", lang, profile))
    return [drawn[lang][i] for i in range(max(quotas.values(), default=0))
            for lang in languages if i < len(drawn[lang])]


# ---- topics ------------------------------------------------------------------------------------

# The seven topics of csc-method §4 as (zh, en). Each name holds a word the offline simulator
# matches on (simulator/templates.py TOPICS), in the same order, so demo runs get on-topic plans.
DEFAULT_TOPICS: tuple[tuple[str, str], ...] = (
    ("产品咨询", "product inquiry"),
    ("营销与推广", "marketing & promotions"),
    ("账户与交易管理", "account & transaction management"),
    ("理财咨询与规划", "financial consulting & planning"),
    ("风险管理与安全", "risk management & security"),
    ("投诉与纠纷", "complaints & disputes"),
    ("技术支持与线上服务", "technical support & online services"),
)


def topics_for(language: str) -> list[str]:
    """The topic names a dialogue in `language` is planned with."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    return [pair[LANGUAGES.index(language)] for pair in DEFAULT_TOPICS]

