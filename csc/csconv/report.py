"""The CSConv funnel as Markdown: counts after each step, strategies, before vs after."""

from __future__ import annotations

from csc.framework import BY_ID

# Reject steps in the order a dialogue meets them (csc.csconv.stage / postfilter).
STEPS = (
    ("llm_prefilter", "LLM pre-filter (abusive language, cold agent)"),
    ("speaker", "speakers are customer or supporter (re-asked before dropping)"),
    ("length", "(c) utterance count within bounds"),
    ("label_mismatch", "a label written in a turn's text agrees with the turn's"),
    ("multi_strategy", "(d) no multi-strategy turn"),
    ("strategy_label", "every strategy label maps to one of the 12"),
    ("required_strategies", "(e) Greeting, Identity Verification, Closure present"),
    ("alternation", "(f) strict speaker alternation"),
    ("empty_turn", "no empty turn"),
    ("unfaithful", "the rewrite is of its source (language, shared content)"),
    ("judge", "(b) LLM judge says 'high'"),
)


def _count(rows: list[dict], outcome: str, step: str | None = None) -> int:
    """Dialogues of the funnel rows (marts.csconv_funnel, by column name) with `outcome`
    and, for rejects, `step`."""
    return sum(r["dialogues"] for r in rows
               if r["outcome"] == outcome and (step is None or r["step"] == step))


def funnel(numbers: dict) -> dict:
    """Counts per step and the reconciliation: input = kept + rejected + dead + pending."""
    rows = numbers["funnel"]
    rejected = {step: _count(rows, "rejected", step) for step, _ in STEPS}
    kept = _count(rows, "kept")
    dead = _count(rows, "dead_lettered")
    total_in = numbers["rule_passed"][0][0]
    pending = total_in - kept - sum(rejected.values()) - dead
    return {"input": total_in, "rejected": rejected, "kept": kept, "dead_lettered": dead,
            "pending": pending, "reconciles": pending >= 0}


def render(numbers: dict, simulator: bool) -> str:
    f = funnel(numbers)
    lines = ["# CSConv funnel", ""]
    if simulator:
        lines += ["> Built with the offline **simulator**: these are not a model's results.", ""]
    lines += ["| step | dropped | remaining |", "|---|---:|---:|",
              f"| dialogues passing the rule pre-filter | | {f['input']} |"]
    remaining = f["input"] - f["dead_lettered"] - f["pending"]
    for step, title in STEPS:
        remaining -= f["rejected"][step]
        lines.append(f"| {title} | {f['rejected'][step]} | {remaining} |")
    lines += [f"| **kept** | | **{f['kept']}** |", "",
              f"Dead-lettered (an LLM call failed for good; retried next run): "
              f"{f['dead_lettered']}. Not yet processed: {f['pending']}.",
              f"Input = kept + rejected + dead-lettered + pending: "
              f"{f['input']} = {f['kept']} + {sum(f['rejected'].values())} + "
              f"{f['dead_lettered']} + {f['pending']}.", ""]
    trimmed = numbers["trimmed"][0]
    lines.append(f"(a) trailing system-note utterances trimmed: {trimmed[1]} in {trimmed[0]} "
                 "rewrites.")
    rewrites, spans, in_reasoning = numbers["pii"][0]
    lines.append(f"PII the masker caught in rewrites before storage: {spans} spans in the turns "
                 f"of {rewrites} rewrites; {in_reasoning} in their reasoning.")
    before = numbers["before"][0][0]
    after_len, after_use = numbers["after"][0]
    raw_use = numbers["raw_strategy_use"][0][0]
    lines += ["", "| | before rewriting | after |", "|---|---:|---:|",
              f"| mean utterances per dialogue | {before} | {after_len} |",
              f"| strategy use, excluding Others (%) | {raw_use} | {after_use} |", "",
              "Before: raw dialogues that entered the stage; their strategy use comes from the "
              "independent annotator.", "", "## Strategy distribution (kept dialogues)", "",
              "| strategy | supporter turns |", "|---|---:|"]
    for sid, turns in numbers["strategies"]:
        name = BY_ID[sid].name if sid in BY_ID else str(sid)
        lines.append(f"| {sid} {name} | {turns} |")
    if numbers["agreement"]:
        n, acc, kappa = numbers["agreement"][0]
        lines += ["", f"Label agreement, rewrite vs independent annotator, over {n} turns: "
                      f"accuracy {acc or 0:.3f}, Cohen's kappa {kappa or 0:.3f}."]
    return "\n".join(lines) + "\n"
