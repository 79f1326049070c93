"""Declarative source descriptions: a new JSON/JSONL/CSV layout needs a YAML file, not code."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from csc.errors import UserError
from csc.settings import current
from csc.speakers import SpeakerTable, shared_table

BUILTIN_DIR = Path(__file__).parent / "sources"
FORMATS = ("json", "jsonl", "csv", "lines")


class SourceError(UserError, ValueError):
    """A source name or config file the user gave cannot be used."""


class Speakers(BaseModel):
    """Raw speaker values meaning customer or supporter; `skip` values are dropped and counted.

    With `shared: true` the names of the shared table (csc.speakers: 客服, 坐席, agent,
    Customer Service, 顾客, user, ...) are known too, and the config's own lists add to them
    (or override one, e.g. `skip: [assistant]` for a source whose assistant is a bot).
    Names match folded (any case, full-width, spacing), in configs with or without `shared`.
    """

    model_config = ConfigDict(extra="forbid")
    shared: bool = False
    customer: list[str] = Field(default_factory=list)
    supporter: list[str] = Field(default_factory=list)
    skip: list[str] = Field(default_factory=list)

    def _own(self) -> dict[str, list[str]]:
        return {"customer": self.customer, "supporter": self.supporter, "skip": self.skip}

    @model_validator(mode="after")
    def _usable(self) -> Speakers:
        """Both roles named, and no name given two roles (checked here, so a bad config is
        refused when it is loaded, with its path)."""
        if not self.shared and not (self.customer and self.supporter):
            raise ValueError("name at least one customer and one supporter value, or set "
                             "shared: true")
        self.lookup()
        return self

    def lookup(self) -> SpeakerTable:
        """Folded name -> customer | supporter | skip."""
        if self.shared:
            return shared_table(self._own())
        return SpeakerTable(self._own().items())


Column = str | int


class CsvColumns(BaseModel):
    """Where a CSV keeps each field: column names from the header row, or, with
    `header: false`, positions (0 for the first column). Rows sharing `dialogue_id` are one
    dialogue, one utterance a row; with `transcript`, each row is a whole dialogue whose cell
    holds `Speaker: text` lines, read like the line format."""

    model_config = ConfigDict(extra="forbid")
    header: bool = True
    dialogue_id: Column = "dialogue_id"
    speaker: Column = "speaker"
    text: Column = "text"
    transcript: Column | None = None
    strategy: Column | None = None
    order: Column | None = None
    business_area: Column | None = None
    delimiter: str = ","

    def required(self) -> list[Column]:
        """The columns a file must have (the others may be absent): a transcript layout needs
        no speaker or text column."""
        if self.transcript is not None:
            return [self.dialogue_id, self.transcript]
        return [self.dialogue_id, self.speaker, self.text]

    @model_validator(mode="after")
    def _names_or_positions(self) -> CsvColumns:
        optional = (self.business_area,) if self.transcript is not None else (
            self.strategy, self.order, self.business_area)
        used = self.required() + [c for c in optional if c is not None]
        if self.header and any(isinstance(c, int) for c in used):
            raise ValueError("column positions (numbers) need header: false")
        if not self.header and not all(isinstance(c, int) and c >= 0 for c in used):
            raise ValueError("without a header, columns are positions (0 for the first): set "
                             "dialogue_id, " + ("transcript" if self.transcript is not None
                                                else "speaker and text") + " to numbers")
        return self


class SourceConfig(BaseModel):
    """Where a dialogue's id, turns, speaker and text live in one record of a source.

    Paths are dotted (`meta.id`); a numeric segment indexes a list (`0` for `["agent", "hi"]`).
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    format: Literal["json", "jsonl", "csv", "lines"]
    description: str = ""
    records: str | None = None  # json only: path to the list of dialogues inside a top object
    # json/jsonl: a field holding the whole dialogue as `Speaker: text` lines (instead of turns)
    transcript: str | None = None
    id: str | None = None  # missing or absent ids fall back to the content key
    turns: str = "turns"
    speaker: str = "speaker"
    text: str = "text"
    strategy: str | None = None
    business_area: str | None = None
    join: str = "\n"  # joins a speaker's consecutive source lines (and list items) on merging
    language: Literal["auto", "zh", "en"] = "auto"
    speakers: Speakers
    csv: CsvColumns = Field(default_factory=CsvColumns)
    mask_pii: bool = True
    # One size policy for every format. A record (a JSON element or line, a CSV dialogue's
    # rows, a block of lines) over max_record_bytes of UTF-8, or an utterance over
    # max_utterance_chars characters, is quarantined alone; the rest of the file is read.
    # CSC_MAX_RECORD_BYTES and CSC_MAX_UTTERANCE_CHARS override both for every source.
    max_record_bytes: int = Field(5_000_000, gt=0)
    max_utterance_chars: int = Field(100_000, gt=0)

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, v: str) -> str:
        if not v or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError("name must be letters, digits, '-' or '_'")
        return v

    def fingerprint(self) -> str:
        """Changes whenever the config would parse a file differently."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def _load_yaml(path: Path) -> SourceConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SourceError(f"cannot read source config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f"source config {path} must be a YAML mapping")
    data.setdefault("name", path.stem)
    data.update(_size_overrides())
    try:
        return SourceConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise SourceError(f"source config {path} is invalid: {problems}") from None


SIZE_ENV = {"max_record_bytes": "CSC_MAX_RECORD_BYTES",
            "max_utterance_chars": "CSC_MAX_UTTERANCE_CHARS"}


def _size_overrides() -> dict[str, int]:
    """Size caps set in the environment (csc.settings checks them), which win over every
    source config's."""
    settings = current()
    return {field: getattr(settings, field) for field in SIZE_ENV
            if getattr(settings, field) is not None}


def load_source(spec: str) -> SourceConfig:
    """A built-in source name (`stc3`) or the path of a YAML config file."""
    candidate = Path(spec)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise SourceError(f"source config {spec} does not exist")
        return _load_yaml(candidate)
    builtin = BUILTIN_DIR / f"{spec}.yaml"
    if builtin.is_file():
        return _load_yaml(builtin)
    raise SourceError(
        f"unknown source '{spec}': use one of {', '.join(builtin_names())} or a YAML config path"
    )


def source_for_file(path: Path) -> SourceConfig:
    """The default built-in source for a file, chosen by its extension."""
    name = path.name.lower()
    for suffix in (".gz",):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".jsonl") or name.endswith(".ndjson"):
        return load_source("jsonl")
    if name.endswith(".json"):
        return load_source("json")
    if name.endswith(".csv") or name.endswith(".tsv"):
        return load_source("csv")
    return load_source("lines")
