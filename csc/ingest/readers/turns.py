"""Turning raw speakers and texts into a record's utterances, the same way for every format.

One source config names its speakers and their roles; `TurnMapper` applies that to each
utterance (and its size cap) for every format. `transcript` parses `Speaker: text` lines, the
one implementation shared by the line format and by the transcript layouts (a whole dialogue
in one CSV cell or JSON field). `DialogueParser` turns one decoded JSON dialogue object, from a
JSON array or a JSONL line, into a Record or a Rejected.
"""

from __future__ import annotations

import re
from typing import Any

from csc.ingest.readers.records import (
    Record,
    Rejected,
    dotted_get,
    dotted_path,
    excerpt,
    payload,
    scalar_text,
)
from csc.ingest.sources import SourceConfig

_LINE_SPEAKER = re.compile(r"^\s*([^:：\s][^:：]{0,19}?)\s*[:：]\s?(.*)$")


class TurnMapper:
    """Maps raw speaker values and text shapes for one source; shared by every format.

    This runs once per utterance, so the common case (string speaker, string text) is checked
    first and the messages are only formatted on failure.
    """

    def __init__(self, cfg: SourceConfig) -> None:
        self.roles = cfg.speakers.lookup()
        self.exact = dict(self.roles)  # raw values as the config spells them, before folding
        for group, role in (("customer", cfg.speakers.customer),
                            ("supporter", cfg.speakers.supporter), ("skip", cfg.speakers.skip)):
            self.exact.update(dict.fromkeys(role, group))
        self.known = ", ".join(sorted(self.roles)) or "(none)"
        self.max_chars = cfg.max_utterance_chars

    def add(self, rec: Record, speaker: Any, text: Any, label: Any, where: str,
            n: int) -> tuple[str, str] | None:
        """Append one utterance to `rec`; return (check, reason citing `where` `n`) if it
        can't be."""
        role = self.exact.get(speaker) if type(speaker) is str else None
        if role is None:
            raw_speaker = scalar_text(speaker)
            if raw_speaker is None:
                return "unknown_speaker", f"{where} {n}: missing speaker"
            role = self.roles.get(raw_speaker.strip().lower())
            if role is None:
                return "unknown_speaker", (f"{where} {n}: unknown speaker "
                                           f"'{excerpt(raw_speaker)}' (known: {self.known})")
        if role == "skip":
            rec.skipped += 1
            return None
        label = label if label is None or type(label) is str else scalar_text(label)
        if type(text) is not str:
            if isinstance(text, list) and text:
                # Each item is a source line of its own (an STC-3 turn's utterance list): the
                # §3.2 rules count raw lines, and merging joins a speaker's lines again.
                if not all(isinstance(t, str) for t in text):
                    return "turn_shape", f"{where} {n}: text list holds a non-string"
                longest = max(map(len, text))
                if longest > self.max_chars:
                    return self.too_long(longest, where, n)
                rec.speakers.extend([role] * len(text))
                rec.texts.extend(text)
                rec.labels.extend([label] * len(text))
                return None
            if text is None or isinstance(text, list):
                text = ""
            else:
                return "turn_shape", f"{where} {n}: text is a {type(text).__name__}, not a string"
        if len(text) > self.max_chars:
            return self.too_long(len(text), where, n)
        rec.speakers.append(role)
        rec.texts.append(text)
        rec.labels.append(label)
        return None

    def too_long(self, chars: int, where: str, n: int) -> tuple[str, str]:
        return "utterance_too_large", (f"{where} {n}: utterance is {chars:,} characters, over "
                                       f"the {self.max_chars:,} limit")


def transcript(lines: list[tuple[int, str]], rec: Record, mapper: TurnMapper,
                where: str) -> tuple[int, str, str] | None:
    """Add `Speaker: text` lines to `rec`: a line whose prefix is not a known speaker (a URL,
    'App version: 8.4', 'Thanks, Sam') continues the utterance before it. Only a first line
    with no known speaker is a problem: (its number, the check, the reason). Shared by the
    line format and the transcript layouts (a whole dialogue in one CSV cell or JSON field)."""
    turns: list[list[Any]] = []  # [raw speaker, text, line number]
    for n, text in lines:
        m = _LINE_SPEAKER.match(text)
        if m is not None and m.group(1).strip().lower() in mapper.roles:
            turns.append([m.group(1), m.group(2), n])
        elif turns:
            turns[-1][1] += "\n" + text.strip()
        else:
            who = excerpt(m.group(1) if m else text.strip(), 20)
            return n, "unknown_speaker", (f"{where} {n}: the dialogue starts without a known "
                                          f"speaker ('{who}'); known: {mapper.known}")
    for speaker, text, n in turns:
        problem = mapper.add(rec, speaker, text, None, where, n)
        if problem:
            return n, *problem
    return None


def numbered(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of a transcript with their numbers (1 for the first)."""
    return [(n, t) for n, t in enumerate(text.splitlines(), start=1) if t.strip()]


class DialogueParser:
    """Turns one decoded JSON dialogue object into a Record or a Rejected."""

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg
        self.mapper = TurnMapper(cfg)
        self.id_path = dotted_path(cfg.id)
        self.turns_path = dotted_path(cfg.turns)
        self.speaker_path = dotted_path(cfg.speaker)
        self.text_path = dotted_path(cfg.text)
        self.label_path = dotted_path(cfg.strategy)
        self.area_path = dotted_path(cfg.business_area)
        paths = (self.speaker_path, self.text_path)
        single = all(len(p) == 1 and isinstance(p[0], str) for p in paths) and (
            len(self.label_path) <= 1 and all(isinstance(x, str) for x in self.label_path))
        self.fast_keys = (
            (self.speaker_path[0], self.text_path[0],
             self.label_path[0] if self.label_path else None) if single else None)
        # A one-part path is one dict lookup on the dialogue object (the usual case).
        self.id_key, self.turns_key, self.area_key = (
            p[0] if len(p) == 1 and isinstance(p[0], str) else None
            for p in (self.id_path, self.turns_path, self.area_path))

    def _get(self, obj: dict, key: str | None, path: tuple[str | int, ...]) -> Any:
        """`dotted_get(obj, path)`, as one lookup when the path is one key."""
        return obj.get(key) if key is not None else dotted_get(obj, path)

    def parse(self, obj: Any, record_no: int, line_no: int | None, raw: Any) -> Record | Rejected:
        if not isinstance(obj, dict):
            return Rejected(record_no, line_no, None, "record_shape",
                            f"expected a JSON object, got {type(obj).__name__}", payload(raw))
        raw_id = self._get(obj, self.id_key, self.id_path) if self.id_path else None
        ext_id = raw_id if type(raw_id) is str else scalar_text(raw_id)
        if raw_id is not None and ext_id is None:  # stored as NULL, it would pass for no id
            kind = {dict: "an object", list: "an array", bool: "a boolean"}.get(
                type(raw_id), f"a {type(raw_id).__name__}")
            return Rejected(record_no, line_no, None, "bad_id",
                            f"id field '{self.cfg.id}' is {kind}, not a string or number",
                            payload(raw))
        if self.cfg.transcript:
            return transcript_field(self, obj, record_no, line_no, ext_id, raw)
        turns = self._get(obj, self.turns_key, self.turns_path)
        if not isinstance(turns, list):
            what = "missing" if turns is None else f"a {type(turns).__name__}"
            return Rejected(record_no, line_no, ext_id, "record_shape",
                            f"turns field '{self.cfg.turns}' is {what}, not a list", payload(raw))
        area = self._get(obj, self.area_key, self.area_path)
        rec = Record(record_no, line_no, ext_id, area if type(area) is str else scalar_text(area))
        add, fast = self.mapper.add, self.fast_keys
        for i, turn in enumerate(turns, start=1):
            if fast and type(turn) is dict:  # the common shape: one key per field
                sk, tk, lk = fast
                problem = add(rec, turn.get(sk), turn.get(tk), turn.get(lk) if lk else None,
                              "turn", i)
            else:
                problem = add(rec, dotted_get(turn, self.speaker_path),
                              dotted_get(turn, self.text_path),
                              dotted_get(turn, self.label_path) if self.label_path else None,
                              "turn", i)
            if problem:
                return Rejected(record_no, line_no, ext_id, *problem, payload(raw))
        return rec


def transcript_field(parser: DialogueParser, obj: dict, record_no: int, line_no: int | None,
                      ext_id: str | None, raw: Any) -> Record | Rejected:
    """A dialogue whose turns are one string field of `Speaker: text` lines."""
    cfg = parser.cfg
    text = dotted_get(obj, dotted_path(cfg.transcript))
    if type(text) is not str:
        what = "missing" if text is None else f"a {type(text).__name__}"
        return Rejected(record_no, line_no, ext_id, "record_shape",
                        f"transcript field '{cfg.transcript}' is {what}, not a string",
                        payload(raw))
    rec = Record(record_no, line_no, ext_id, scalar_text(dotted_get(obj, parser.area_path)))
    problem = transcript(numbered(text), rec, parser.mapper, "transcript line")
    if problem:
        return Rejected(record_no, line_no, ext_id, problem[1], problem[2], payload(raw))
    return rec
