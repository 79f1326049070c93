"""One table of the names that mean customer or supporter, shared by every reader of speakers.

Ingest source configs (`speakers: {shared: true}` in csc/ingest/sources/*.yaml) and the
rewrite's answer type (schemas.llm.RewrittenTurn) both map through it, so a name a model
writes ('客服人员', 'Customer Service') is known wherever it turns up. Names compare folded:
full-width as half-width (NFKC), any case, and without spaces, underscores, hyphens or the
decoration a model puts round a name ('**Agent**', '客服：'). Lookalikes that are not people
('bot', '机器人', 'system') are deliberately absent: such turns must be refused, not guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

CUSTOMER, SUPPORTER = "customer", "supporter"
# Starts the message of a refused name, in the re-ask and in a dead letter; the CSConv stage
# reads it to reject a rewrite whose speakers stayed unknown after the re-asks.
UNKNOWN_SPEAKER = "unknown speaker"

SHARED: dict[str, tuple[str, ...]] = {
    CUSTOMER: (
        "客户", "顾客", "用户", "客人", "来电人", "来电客户",
        "customer", "user", "client", "caller", "consumer",
    ),
    SUPPORTER: (
        "客服", "客服人员", "客服代表", "客服专员", "人工客服", "坐席", "座席", "坐席人员",
        "supporter", "agent", "customer service", "customer service agent",
        "customer service representative", "customer support", "support", "support agent",
        "helpdesk", "assistant", "staff", "representative", "operator",
    ),
}

# Characters that never tell two names apart: spacing, joiners, and decoration round a name.
_NOISE = re.compile(r"[\s_\-–—·・.:：*`'\"“”‘’\[\]【】()（）]+")


def fold(name: str) -> str:
    """The comparison key of a speaker name: NFKC, case-folded, noise removed."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", name).casefold())


class SpeakerTable(dict[str, str]):
    """Name -> role ('customer', 'supporter', or a caller's own such as 'skip').

    Keys are the names as given (trimmed, lower case) so messages can list them; every lookup
    (`get`, `in`, `[]`) folds the name first, so 'ＡＧＥＮＴ' and 'Customer  Service' are found.
    """

    def __init__(self, groups: Iterable[tuple[str, Iterable[str]]] = ()) -> None:
        super().__init__()
        self._folded: dict[str, str] = {}
        for role, names in groups:
            for name in names:
                self.add(name, role)

    def add(self, name: str, role: str, replace: bool = False) -> None:
        """Add one name. A name that folds onto another role's name is a mistake, unless
        `replace` (a source config's own names win over the shared table's)."""
        key = fold(name)
        if not key:
            raise ValueError(f"speaker name {name!r} is empty once spaces and brackets go")
        held = self._folded.get(key)
        if held is not None and held != role:
            if not replace:
                raise ValueError(f"speaker '{name.strip()}' is listed as both {held} and "
                                 f"{role}")
            for shown in [k for k in self if fold(k) == key]:
                super().__delitem__(shown)
        self._folded[key] = role
        super().__setitem__(name.strip().lower(), role)

    def get(self, name: object, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._folded.get(fold(name), default) if isinstance(name, str) else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and fold(name) in self._folded

    def __getitem__(self, name: str) -> str:
        return self._folded[fold(name)]


def shared_table(extra: Mapping[str, Iterable[str]] | None = None) -> SpeakerTable:
    """The shared names, plus a caller's own (`{"supporter": ["tier1"], "skip": [...]}`),
    which win where they name a shared name differently ('assistant' skipped as a bot)."""
    own = SpeakerTable((extra or {}).items())  # a caller's own names must agree among themselves
    table = SpeakerTable(SHARED.items())
    for name, role in own.items():
        table.add(name, role, replace=True)
    return table


SHARED_TABLE = shared_table()


def role_of(name: str) -> str | None:
    """'customer' or 'supporter' for a name of the shared table, else None."""
    return SHARED_TABLE.get(name)

