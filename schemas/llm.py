"""Contracts of the LLM calls: which roles exist, what each is given, what each must answer.

Every prompt ends its last user message with the role's input as one fenced ```json block, so
any model (or the offline simulator) reads the same structure. Answers are validated strictly
against the output models below; an answer that does not fit is re-asked, then dead-lettered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    Strict,
    field_validator,
    model_validator,
)

from csc.speakers import UNKNOWN_SPEAKER, role_of


class Role(StrEnum):
    REWRITER = "rewriter"
    PREFILTER_JUDGE = "prefilter_judge"
    POSTFILTER_JUDGE = "postfilter_judge"
    ANNOTATOR = "annotator"
    PERSONA_DESCRIBER = "persona_describer"
    PLANNER = "planner"
    SUPPORTER_ASSISTANT = "supporter_assistant"
    SUPPORTER = "supporter"
    CUSTOMER_ASSISTANT = "customer_assistant"
    CUSTOMER = "customer"
    DIALOGUE_JUDGE = "dialogue_judge"
    CANDIDATE = "candidate"  # the model under evaluation
    TURN_JUDGE = "turn_judge"  # scores a model's supporter turn 1-5 on three criteria
    PAIRWISE_JUDGE = "pairwise_judge"  # picks the better of two supporter turns


ROLE_HEADER = "X-CSC-Role"  # sent with every call; real endpoints ignore it



class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---- inputs (the fenced JSON block of the last user message) ----------------------------

class InputTurn(_Strict):
    speaker: Literal["customer", "supporter"]
    text: str
    strategy: str | None = None


class DialogueInput(_Strict):
    """Input of the pre-filter judge, rewriter, post-filter judge and annotator."""

    language: Literal["zh", "en"]
    dialogue: list[InputTurn]


class RolePlayInput(_Strict):
    """Input of the RoleCS roles: what each role may see of the simulated conversation."""

    language: Literal["zh", "en"]
    persona: str = ""
    topic: str = ""
    scenario: str = ""
    goal: str = ""
    strategy: str | None = None  # the supporter's assigned strategy (supporter role)
    direction: str = ""  # the customer assistant's hint (customer role)
    history: list[InputTurn] = Field(default_factory=list)
    # Strategies the supporter assistant must not pick: set when it is asked again because
    # its first answer would have used one strategy three times in a row.
    avoid: list[str] = Field(default_factory=list)


class CandidateInput(_Strict):
    """Input of a model under evaluation: the history up to the supporter turn to write."""

    language: Literal["zh", "en"]
    history: list[InputTurn]


class TurnJudgeInput(_Strict):
    """Input of the turn judge: the history the model saw, and the turn it wrote. Empty
    defaults so a reader that finds less still gets a valid (if empty) input."""

    language: Literal["zh", "en"]
    history: list[InputTurn] = Field(default_factory=list)
    strategy: str = ""  # the strategy the model chose, named in the dialogue's language
    reply: str = ""


class PairwiseInput(_Strict):
    """Input of the pairwise judge: a history and two candidate next supporter turns, shown
    as A and B (which one is the model's is hidden from the judge)."""

    language: Literal["zh", "en"]
    history: list[InputTurn] = Field(default_factory=list)
    strategy_a: str = ""
    reply_a: str = ""
    strategy_b: str = ""
    reply_b: str = ""


# ---- outputs ------------------------------------------------------------------------------
# Answers are held strictly to these types; the only coercions are the shapes models write in
# JSON mode (issue 11 A3), each done in a mode="before" validator below.

def _bool_from_string(value: Any) -> Any:
    """"true"/"false" (any case, spaces around) as the boolean; anything else is left for
    the strict bool check, which refuses "yes", "1", 1, null and the like."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


AnswerBool = Annotated[bool, Strict(), BeforeValidator(_bool_from_string)]


def _lowercase(value: Any) -> Any:
    """Enum values compare case-insensitively: "High" is "high"."""
    return value.strip().lower() if isinstance(value, str) else value


class PrefilterVerdict(_Strict):
    """§3.3: the prompt asks for `{"low_quality": bool}` only; a reason, if a model adds one,
    is kept for analysts but never required."""

    low_quality: AnswerBool
    reason: str = ""


class RewrittenTurn(_Strict):
    """One turn of a rewrite. `speaker` keeps the model's spelling (stored with the rewrite);
    `role` is what it means. A name outside the shared table (csc.speakers) fails validation,
    so the gateway asks the model again, naming the values it may use."""

    speaker: str
    strategy: str = ""
    text: str

    @field_validator("speaker")
    @classmethod
    def _known_speaker(cls, value: str) -> str:
        if role_of(value) is None:
            raise ValueError(f"{UNKNOWN_SPEAKER} '{value.strip()[:20]}': write 客服 or "
                             "supporter for the agent, 客户 or customer for the customer")
        return value

    @property
    def role(self) -> str:
        """'customer' or 'supporter' (a validated turn always has one)."""
        return role_of(self.speaker) or ""

    @field_validator("strategy", mode="before")
    @classmethod
    def _null_strategy(cls, value: Any) -> Any:
        """`"strategy": null` (customer turns in JSON mode) is no strategy, as if omitted."""
        return "" if value is None else value


_TURN_LIST_KEYS = ("dialogue", "turns")


class RewrittenDialogue(RootModel[list[RewrittenTurn]]):
    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        """JSON mode wants an object: `{"dialogue": [...]}` or `{"turns": [...]}` is the list
        (other keys beside it are ignored). Any other object is refused."""
        if not isinstance(value, dict):
            return value
        keys = [k for k in _TURN_LIST_KEYS if k in value]
        if len(keys) == 1 and isinstance(value[keys[0]], list):
            return value[keys[0]]
        raise ValueError("expected a list of turns, or an object holding it under "
                         "'dialogue' or 'turns'")

    @model_validator(mode="after")
    def _has_turns(self) -> RewrittenDialogue:
        """An empty list (`[]`, `{"dialogue": []}`) is no rewrite. The gateway re-asks with
        this message, so it says what to send."""
        if not self.root:
            raise ValueError(
                "the rewrite has no turn: answer with the whole rewritten dialogue, a JSON "
                'list of its turns, each {"speaker": ..., "strategy": ..., "text": ...}')
        return self


class PostfilterVerdict(_Strict):
    """§3.5(b): binary. 'high' only when the dialogue is finished, its strategies are followed
    and it holds no system or third-party noise; 'low' otherwise."""

    quality: Literal["high", "low"]
    reason: str = ""

    _quality = field_validator("quality", mode="before")(_lowercase)


class StrictPostfilterVerdict(_Strict):
    """The answer of the non-default 'strict' judge variant, which adds a 'medium' tier; only
    'high' is kept, as with the default judge."""

    quality: Literal["high", "medium", "low"]
    reason: str = ""

    _quality = field_validator("quality", mode="before")(_lowercase)


class TurnLabel(_Strict):
    index: int  # position of the turn in the input dialogue (0-based)
    strategy: str


class Annotation(_Strict):
    labels: list[TurnLabel]


class PersonaDescription(_Strict):
    description: str


class Plan(_Strict):
    scenario: str
    goal: str


class StrategyChoice(_Strict):
    strategy: str
    reason: str = ""


class SupporterReply(_Strict):
    text: str


class CustomerDirection(_Strict):
    direction: str


class CustomerReply(_Strict):
    text: str
    finished: AnswerBool = False


class DialogueJudgement(_Strict):
    strategy_adherence: AnswerBool
    unreasonable_requests: AnswerBool
    natural: AnswerBool
    varied: AnswerBool
    role_consistent: AnswerBool
    reason: str = ""

    @property
    def passed(self) -> bool:
        return all((self.strategy_adherence, self.unreasonable_requests, self.natural,
                    self.varied, self.role_consistent))


class CandidatePrediction(_Strict):
    """A model's next supporter turn under evaluation (csc-method §5): the strategy it chose
    and its reply. A strategy that names none of the 12 (or several) fails validation, so the
    gateway asks again naming the forms it may use; after the re-asks the turn is recorded as
    a parse failure, which the metrics count as wrong. `reply` is read as `response` too."""

    strategy: str
    response: str = Field(validation_alias=AliasChoices("response", "reply"))

    @field_validator("strategy")
    @classmethod
    def _one_strategy(cls, value: str) -> str:
        from csc.framework import normalise_label

        if not normalise_label(value).ok:
            raise ValueError(f"'{value.strip()[:40]}' is not one of the 12 strategies: write "
                             "its name as in the list (e.g. \"Problem Refinement\" or "
                             "\"策略4 细化问题\")")
        return value

    @property
    def strategy_id(self) -> int:
        from csc.framework import normalise_label

        return normalise_label(self.strategy).id  # type: ignore[return-value]


Score = Annotated[int, Strict(), Field(ge=1, le=5)]


class TurnJudgement(_Strict):
    """The turn judge's scores, each a whole number 1-5 (strict: "4", 4.5, true and 6 are
    refused, so the gateway asks again naming the field), and one sentence why."""

    resolution: Score  # does the reply move the customer's issue towards a fix
    empathy: Score
    appropriateness: Score  # is the strategy right here, and does the reply carry it out
    reason: str = ""


def _verdict_spelling(value: Any) -> Any:
    """'a', ' B ', 'Tie' are A, B, tie: the letter upper-case, the word lower-case."""
    if not isinstance(value, str):
        return value
    folded = value.strip()
    return folded.upper() if folded.lower() in ("a", "b") else folded.lower()


class PairwiseVerdict(_Strict):
    """Which reply is the better next supporter turn: "A", "B" or "tie"."""

    better: Literal["A", "B", "tie"]
    reason: str = ""

    _better = field_validator("better", mode="before")(_verdict_spelling)


@dataclass(frozen=True)
class RoleSpec:
    """Everything a role is, said once: what it answers, the stages that call it, and its
    generation defaults. Its prompt is `prompts/<role>.<language>.md` (csc.prompts), so a
    stage author asks a role by name and never restates its answer type or reloads its
    prompt. Settings (CSC_LLM_<ROLE>_TEMPERATURE, _MAX_TOKENS) override the defaults."""

    role: Role
    answer: type[BaseModel]
    stages: tuple[str, ...] = ()
    temperature: float | None = 0.0
    max_tokens: int | None = None
    # Named prompt variants whose answer differs from the role's default answer.
    variants: tuple[tuple[str, type[BaseModel]], ...] = ()

    def answer_type(self, variant: str | None = None) -> type[BaseModel]:
        return dict(self.variants).get(variant or "", self.answer)


# Temperatures follow the paper where it says something: every RoleCS role at 0.8, the
# rewriter (a reasoning model) without one. A role's stages are the LLM stages that call it:
# only those roles need a model (and are preflight-checked) when the stage runs. "annotate" is
# the independent annotation inside the csconv flow; the evaluation roles get their stage when
# it lands.
ROLES: dict[Role, RoleSpec] = {spec.role: spec for spec in (
    RoleSpec(Role.PREFILTER_JUDGE, PrefilterVerdict, ("csconv",)),
    RoleSpec(Role.REWRITER, RewrittenDialogue, ("csconv",), temperature=None),
    RoleSpec(Role.POSTFILTER_JUDGE, PostfilterVerdict, ("csconv",),
             variants=(("strict", StrictPostfilterVerdict),)),
    RoleSpec(Role.ANNOTATOR, Annotation, ("csconv", "annotate")),
    RoleSpec(Role.PERSONA_DESCRIBER, PersonaDescription, ("rolecs",), temperature=0.8),
    RoleSpec(Role.PLANNER, Plan, ("rolecs",), temperature=0.8),
    RoleSpec(Role.SUPPORTER_ASSISTANT, StrategyChoice, ("rolecs",), temperature=0.8),
    RoleSpec(Role.SUPPORTER, SupporterReply, ("rolecs",), temperature=0.8),
    RoleSpec(Role.CUSTOMER_ASSISTANT, CustomerDirection, ("rolecs",), temperature=0.8),
    RoleSpec(Role.CUSTOMER, CustomerReply, ("rolecs",), temperature=0.8),
    RoleSpec(Role.DIALOGUE_JUDGE, DialogueJudgement, ("rolecs",)),
    RoleSpec(Role.CANDIDATE, CandidatePrediction, ("evaluate",), max_tokens=512),
    RoleSpec(Role.TURN_JUDGE, TurnJudgement, ("evaluate",), max_tokens=256),
    RoleSpec(Role.PAIRWISE_JUDGE, PairwiseVerdict, ("evaluate",), max_tokens=256),
)}

# Views of the table above, for the code that asks one question of it.
OUTPUT_OF: dict[Role, type[BaseModel]] = {r: spec.answer for r, spec in ROLES.items()}
STAGE_ROLES: dict[str, tuple[Role, ...]] = {}
for _spec in ROLES.values():
    for _stage in _spec.stages:
        STAGE_ROLES.setdefault(_stage, ())
        STAGE_ROLES[_stage] += (_spec.role,)


def output_of(role: Role, variant: str | None = None) -> type[BaseModel]:
    """The answer type of `role` under a prompt variant (None: the default prompt)."""
    return ROLES[role].answer_type(variant)


INPUT_OF: dict[Role, type[BaseModel]] = {
    Role.PREFILTER_JUDGE: DialogueInput,
    Role.REWRITER: DialogueInput,
    Role.POSTFILTER_JUDGE: DialogueInput,
    Role.ANNOTATOR: DialogueInput,
    Role.PERSONA_DESCRIBER: RolePlayInput,
    Role.PLANNER: RolePlayInput,
    Role.SUPPORTER_ASSISTANT: RolePlayInput,
    Role.SUPPORTER: RolePlayInput,
    Role.CUSTOMER_ASSISTANT: RolePlayInput,
    Role.CUSTOMER: RolePlayInput,
    Role.DIALOGUE_JUDGE: DialogueInput,
    Role.CANDIDATE: CandidateInput,
    Role.TURN_JUDGE: TurnJudgeInput,
    Role.PAIRWISE_JUDGE: PairwiseInput,
}
