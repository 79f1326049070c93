"""When a fine-tune export (and so a job) is due: pure functions of what the warehouse says.

The policy (docs/finetune.md): an export is made when the accepted dialogues that are in no
export yet reach the threshold (CSC_FINETUNE_MIN_NEW_DIALOGUES), or when forced; an export whose
id already exists is never written or trained on again. Every decision carries its reason, and
the service records in finetune.decisions each one that is news (`is_news`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

START, WAIT, ALREADY_EXPORTED = "start", "wait", "already_exported"
DECISIONS = (START, WAIT, ALREADY_EXPORTED)


@dataclass(frozen=True)
class Decision:
    decision: str  # start | wait | already_exported
    reason: str
    new_dialogues: int
    threshold: int
    forced: bool
    export_id: str | None = None

    def row(self, run_id: str | None) -> dict:
        """The finetune.decisions row (decided_at is stamped by the store)."""
        return {"export_id": self.export_id, "new_dialogues": self.new_dialogues,
                "threshold": self.threshold, "forced": self.forced,
                "decision": self.decision, "reason": self.reason, "run_id": run_id}


def gate(new_dialogues: int, threshold: int, force: bool) -> Decision | None:
    """A wait decision when too few new dialogues have come and nobody forces an export;
    None: build the export and ask `verdict`."""
    if force or new_dialogues >= threshold:
        return None
    return Decision(WAIT, f"{new_dialogues} new accepted dialogue(s), below the threshold "
                          f"of {threshold}", new_dialogues, threshold, force)


def why_building(new_dialogues: int, threshold: int, force: bool) -> str:
    if new_dialogues >= threshold:
        return f"{new_dialogues} new accepted dialogue(s) reach the threshold of {threshold}"
    return f"forced with {new_dialogues} new accepted dialogue(s) (threshold {threshold})"


def verdict(new_dialogues: int, threshold: int, force: bool, export_id: str,
            exported_at: datetime | None) -> Decision:
    """Start with the built export, unless an export with its id exists (`exported_at`)."""
    why = why_building(new_dialogues, threshold, force)
    if exported_at is not None:
        return Decision(ALREADY_EXPORTED,
                        f"{why}, but the same content was exported as {export_id} at "
                        f"{exported_at:%Y-%m-%d %H:%M:%S}: nothing written, no job",
                        new_dialogues, threshold, force, export_id)
    return Decision(START, why, new_dialogues, threshold, force, export_id)


def nothing_to_export(new_dialogues: int, threshold: int, force: bool, why: str) -> Decision:
    """A wait decision for a due export that would hold no dialogue."""
    return Decision(WAIT, f"{why_building(new_dialogues, threshold, force)}, but nothing can "
                          f"be exported: {why}", new_dialogues, threshold, force)


def is_news(decision: Decision, newest: dict | None) -> bool:
    """Whether `decision` belongs in finetune.decisions after `newest` (that table's latest
    row as a dict, None when empty). A start always does: it made an export. A decision that
    wrote nothing does not when it repeats the newest row (the same decision, export, counts,
    threshold, forcing and reason), nor when the newest row started an export and no
    dialogue has become new since, under the same threshold and forcing: it only confirms
    that export. So a nightly rerun with nothing new adds no row (issue 16)."""
    if decision.decision == START or newest is None:
        return True
    row = decision.row(None)
    if all(newest[k] == row[k] for k in ("decision", "export_id", "new_dialogues",
                                         "threshold", "forced", "reason")):
        return False
    return not (newest["decision"] == START and decision.new_dialogues == 0
                and (newest["threshold"], newest["forced"]) == (decision.threshold,
                                                                 decision.forced))
