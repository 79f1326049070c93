"""From accepted RoleCS dialogues to the files of one fine-tuning export, in memory.

Pure: the service (csc.finetune.service) reads the dialogues, asks `build_export`, and writes
what it returns. Every choice here is in docs/finetune.md:

- turns are merged per speaker (consecutive customer turns joined; consecutive supporter turns
  only when they share a strategy, else the dialogue is dropped: one message with two
  strategies is the multi-strategy turn the method refuses), trailing customer turns dropped;
- identical dialogues (same language and turns) are exported once, under the smallest id;
- the split is by dialogue, from a hash of the seed and the dialogue id, so a dialogue keeps
  its split in every later export of a growing set; the train split is never empty;
- a dialogue over the per-example token limit is cut after its last supporter turn that fits,
  or dropped when not even its first supporter turn fits;
- the export id hashes the format version, the formats, every dialogue's placement and the
  files' text: the same set exported the same way gets the same id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from csc.finetune.formats import (
    FORMATS,
    TOKEN_ESTIMATE,
    history_line,
    instruction_text,
    messages_tokens,
    opening,
    system_prompt,
    target,
    validate_chat,
)

FORMAT_VERSION = "sft-1"  # change it when what a format writes changes
SPLITS = ("train", "validation")
DEFAULT_MAX_TOKENS = 16_000
DEFAULT_VALIDATION_SHARE = 0.1


@dataclass(frozen=True)
class Turn:
    speaker: str  # customer | supporter
    strategy_id: int | None  # supporter turns: 1-12
    text: str


@dataclass(frozen=True)
class Dialogue:
    dialogue_id: str
    language: str  # zh | en
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class ExportConfig:
    formats: tuple[str, ...] = FORMATS
    max_tokens: int = DEFAULT_MAX_TOKENS
    validation_share: float = DEFAULT_VALIDATION_SHARE
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ValueError(f"formats must be some of {', '.join(FORMATS)}, not {unknown}")
        if not 0 <= self.validation_share < 1:
            raise ValueError("validation_share must be from 0 to less than 1")
        object.__setattr__(self, "formats", tuple(f for f in FORMATS if f in self.formats))


@dataclass(frozen=True)
class Placement:
    """Where one considered dialogue went: a row of finetune.export_dialogues."""

    dialogue_id: str
    split: str  # train | validation | dropped
    reason: str | None = None
    kept_turns: int | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Export:
    export_id: str
    config: ExportConfig
    placements: tuple[Placement, ...]
    files: dict[str, str]  # file name -> text, every file of the folder but the manifest
    examples: dict[str, int]  # format -> examples written (both splits)
    tokens: dict[str, int]  # format -> estimated tokens (both splits)
    dialogues_hash: str
    notes: dict = field(default_factory=dict)

    def count(self, split: str) -> int:
        return sum(p.split == split for p in self.placements)

    @property
    def n_truncated(self) -> int:
        return sum(p.truncated for p in self.placements)

    def row(self, path: str) -> dict:
        """The finetune.exports row (created_at is stamped by the store)."""
        return {"export_id": self.export_id, "format_version": FORMAT_VERSION,
                "formats": list(self.config.formats), "n_dialogues": len(self.placements),
                "n_train": self.count("train"), "n_validation": self.count("validation"),
                "n_dropped": self.count("dropped"), "n_truncated": self.n_truncated,
                **{f"n_examples_{f}": self.examples.get(f) for f in FORMATS},
                **{f"tokens_{f}": self.tokens.get(f) for f in FORMATS},
                "token_estimate": TOKEN_ESTIMATE, "max_tokens": self.config.max_tokens,
                "split_seed": self.config.seed,
                "validation_share": self.config.validation_share,
                "dialogues_hash": self.dialogues_hash, "path": path}

    def manifest(self) -> dict:
        """What the folder's manifest.json says: the row, and each dialogue's placement."""
        return {**self.row(""), "path": None, "files": sorted(self.files),
                "dialogues": {p.dialogue_id: p.split for p in self.placements
                              if p.split != "dropped"},
                "dropped": {p.dialogue_id: p.reason for p in self.placements
                            if p.split == "dropped"},
                "truncated": [p.dialogue_id for p in self.placements if p.truncated]}


class NothingToExport(ValueError):
    """Every considered dialogue was dropped (or there was none): no export can be made."""

    def __init__(self, placements: Sequence[Placement]) -> None:
        reasons = sorted({(p.reason or "").split(":")[0] for p in placements})
        super().__init__(f"all {len(placements)} dialogue(s) dropped ({'; '.join(reasons)})"
                         if placements else "no accepted dialogue to export")
        self.placements = tuple(placements)


# -- one dialogue -----------------------------------------------------------------------------

def merge_turns(dialogue: Dialogue) -> tuple[list[Turn], str | None]:
    """The dialogue's turns, merged per speaker and ending on the supporter; or a reason to
    drop it. Blank turns are skipped before merging."""
    merged: list[Turn] = []
    for turn in dialogue.turns:
        text = turn.text.strip()
        if not text:
            continue
        if turn.speaker not in ("customer", "supporter"):
            return [], f"unknown speaker {turn.speaker!r}"
        if turn.speaker == "supporter" and not (turn.strategy_id and 1 <= turn.strategy_id <= 12):
            return [], "a supporter turn without a strategy 1-12"
        sid = turn.strategy_id if turn.speaker == "supporter" else None
        if merged and merged[-1].speaker == turn.speaker:
            last = merged[-1]
            if last.strategy_id != sid:
                return [], (f"consecutive supporter turns with strategies {last.strategy_id} "
                            f"and {sid}: merged, they would be a multi-strategy turn")
            merged[-1] = Turn(last.speaker, sid, f"{last.text}\n{text}")
        else:
            merged.append(Turn(turn.speaker, sid, text))
    while merged and merged[-1].speaker == "customer":
        merged.pop()  # nothing to learn after the last supporter turn
    if not merged:
        return [], "no supporter turn"
    return merged, None


def chat_messages(language: str, turns: Sequence[Turn]) -> list[dict]:
    """(a) OpenAI chat: system, then user (customer) and assistant (supporter) alternating."""
    messages = [{"role": "system", "content": system_prompt(language)}]
    if turns[0].speaker == "supporter":
        messages.append({"role": "user", "content": opening(language)})
    for t in turns:
        if t.speaker == "supporter":
            messages.append({"role": "assistant",
                             "content": target(t.strategy_id or 12, t.text, language)})
        else:
            messages.append({"role": "user", "content": t.text})
    return messages


def sharegpt_record(language: str, turns: Sequence[Turn]) -> dict:
    """(b) ShareGPT: the same conversation as human/gpt turns and a system field."""
    chat = chat_messages(language, turns)
    return {"conversations": [{"from": "human" if m["role"] == "user" else "gpt",
                               "value": m["content"]} for m in chat[1:]],
            "system": chat[0]["content"]}


def instruction_records(language: str, turns: Sequence[Turn]) -> list[dict]:
    """(c) One example per supporter turn: the history before it as input, its target as
    output."""
    records = []
    for k, t in enumerate(turns):
        if t.speaker == "supporter":
            history = "\n".join(history_line(h.speaker, h.strategy_id, h.text, language)
                                for h in turns[:k])
            records.append({"instruction": instruction_text(language), "input": history,
                            "output": target(t.strategy_id or 12, t.text, language)})
    return records


def example_tokens(fmt: str, record: dict) -> int:
    """Estimated tokens of one example of a format."""
    if fmt == "openai":
        return messages_tokens(m["content"] for m in record["messages"])
    if fmt == "sharegpt":
        return messages_tokens([record["system"], *(c["value"] for c in record["conversations"])])
    return messages_tokens([record["instruction"], record["input"], record["output"]])


def examples(fmt: str, language: str, turns: Sequence[Turn]) -> list[dict]:
    if fmt == "openai":
        return [{"messages": chat_messages(language, turns)}]
    if fmt == "sharegpt":
        return [sharegpt_record(language, turns)]
    return instruction_records(language, turns)


def largest_example(formats: Iterable[str], language: str, turns: Sequence[Turn]) -> int:
    """The most tokens any one example of these turns needs, in any of the formats (the last
    instruction example holds the longest history, so it is the largest of its format)."""
    sizes = [example_tokens(f, examples(f, language, turns)[-1]) for f in formats]
    return max(sizes)


def fit(formats: Sequence[str], language: str, turns: list[Turn], max_tokens: int
        ) -> tuple[list[Turn], str | None]:
    """The turns whose every example fits the limit: all of them, or the longest prefix that
    ends on a supporter turn; ([], reason) when not even the first supporter turn fits."""
    ends = [k + 1 for k, t in enumerate(turns) if t.speaker == "supporter"]
    for end in reversed(ends):
        if largest_example(formats, language, turns[:end]) <= max_tokens:
            return turns[:end], None
    need = largest_example(formats, language, turns[:ends[0]])
    return [], (f"over the token limit: the first supporter turn alone needs about {need} "
                f"tokens (limit {max_tokens})")


# -- the set ----------------------------------------------------------------------------------

def content_key(dialogue: Dialogue) -> str:
    """Same language and same turns (speaker, strategy, stripped text): the same dialogue."""
    turns = [(t.speaker, t.strategy_id, t.text.strip()) for t in dialogue.turns]
    return _hash([dialogue.language, turns])


def split_unit(dialogue_id: str, seed: int) -> float:
    """A dialogue's place in [0, 1), fixed by the seed and its id alone."""
    digest = hashlib.sha256(f"{seed}\x1f{dialogue_id}".encode()).hexdigest()
    return int(digest[:15], 16) / 16 ** 15


def assign_splits(ids: Sequence[str], share: float, seed: int) -> dict[str, str]:
    """train or validation per dialogue: validation when its unit is below the share. When that
    leaves no train dialogue (a tiny set), the one with the highest unit trains."""
    units = {i: split_unit(i, seed) for i in ids}
    splits = {i: "validation" if u < share else "train" for i, u in units.items()}
    if ids and "train" not in splits.values():
        splits[max(ids, key=lambda i: (units[i], i))] = "train"
    return splits


def _hash(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def dataset_info(files: Iterable[str]) -> dict:
    """LLaMA-Factory's dataset_info.json entries of the written sharegpt and instruction files.
    Loss falls on the gpt turns only: LLaMA-Factory masks the human turns and the system of a
    sharegpt dataset unless train_on_prompt is set (docs/finetune.md)."""
    info = {}
    for name in sorted(files):
        fmt, split = name.split(".")[:2]
        if fmt == "sharegpt":
            info[f"csc_rolecs_sharegpt_{split}"] = {
                "file_name": name, "formatting": "sharegpt",
                "columns": {"messages": "conversations", "system": "system"},
                "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                         "assistant_tag": "gpt"}}
        elif fmt == "instruction":
            info[f"csc_rolecs_instruction_{split}"] = {
                "file_name": name, "formatting": "alpaca",
                "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
    return info


def build_export(dialogues: Iterable[Dialogue], config: ExportConfig) -> Export:
    """The export of these dialogues: every one placed (a split, or dropped with why), the
    files' text, counts and the export id. NothingToExport when no dialogue is left."""
    ordered = sorted(dialogues, key=lambda d: d.dialogue_id)
    placements: dict[str, Placement] = {}
    kept: dict[str, tuple[Dialogue, list[Turn]]] = {}
    first_of: dict[str, str] = {}
    for d in ordered:
        key = content_key(d)
        if key in first_of:
            placements[d.dialogue_id] = Placement(d.dialogue_id, "dropped",
                                                  f"duplicate of {first_of[key]}")
            continue
        first_of[key] = d.dialogue_id
        turns, why = merge_turns(d)
        if why is None:
            fitted, why = fit(config.formats, d.language, turns, config.max_tokens)
        if why is not None:
            placements[d.dialogue_id] = Placement(d.dialogue_id, "dropped", why)
            continue
        kept[d.dialogue_id] = (d, fitted)
        placements[d.dialogue_id] = Placement(d.dialogue_id, "", None, len(fitted),
                                              len(fitted) < len(turns))
    if not kept:
        raise NothingToExport(list(placements.values()))
    splits = assign_splits(list(kept), config.validation_share, config.seed)
    for i, split in splits.items():
        p = placements[i]
        placements[i] = Placement(i, split, None, p.kept_turns, p.truncated)

    files: dict[str, str] = {}
    n_examples: dict[str, int] = {}
    n_tokens: dict[str, int] = {}
    for fmt in config.formats:
        n_examples[fmt] = n_tokens[fmt] = 0
        for split in SPLITS:
            records = [r for i, (d, turns) in kept.items() if splits[i] == split
                       for r in examples(fmt, d.language, turns)]
            n_examples[fmt] += len(records)
            n_tokens[fmt] += sum(example_tokens(fmt, r) for r in records)
            if records:
                files[f"{fmt}.{split}.jsonl"] = _jsonl(records)
    for name, text in files.items():
        if name.startswith("openai."):
            problems = validate_chat(text, config.max_tokens)
            if problems:  # the builder above makes valid files: this is a bug, not data
                raise AssertionError(f"{name} fails its own checks: {problems[:3]}")
    info = dataset_info(n for n in files if not n.startswith("openai."))
    if info:
        files["dataset_info.json"] = json.dumps(info, ensure_ascii=False, indent=1) + "\n"

    placed = tuple(placements[d.dialogue_id] for d in ordered)
    dialogues_hash = _hash(sorted((p.dialogue_id, p.split) for p in placed))[:16]
    export_id = _hash({"format_version": FORMAT_VERSION, "formats": list(config.formats),
                       "placements": [(p.dialogue_id, p.split, p.reason, p.kept_turns)
                                      for p in placed],
                       "files": files})[:16]
    return Export(export_id, config, placed, files, n_examples, n_tokens, dialogues_hash)
