"""The RoleCS quality and diversity report as Markdown (beyond the paper).

Pure: `render` gets the rows of the marts.rolecs_* views (by column name: the views are the one
definition of accepted, outcomes, strategies, transitions and stage coverage), the LLM cost of
the stage and the accepted set's turns; it computes only the text metrics itself.

Text metrics, per language and speaker role, over the accepted set's turns:

- **Tokens**: sacrebleu's tokenisers, as BLEU uses them: 'zh' for Chinese (every Chinese
  character a token; runs of Latin letters and digits as words), '13a' for English; no
  lower-casing.
- **Sample**: at most `SAMPLE` (500) turns per language and role, the first by a SHA-256 of
  "dialogue_id:utt_index", so the same warehouse always gives the same sample and a growing
  one mostly keeps it. Distinct-n falls as a corpus grows, and self-BLEU costs O(turns^2): a
  fixed-size sample keeps both comparable between nights and cheap.
- **distinct-n** (Li et al., 2016): distinct n-grams / all n-grams of the sample's turns
  (n-grams never cross a turn); 1 = nothing repeats.
- **self-BLEU** (Zhu et al., 2018): each sampled turn scored by sentence-level BLEU (sacrebleu:
  BLEU-4, 'exp' smoothing, effective order, as `sacrebleu.sentence_bleu`) against all the
  other sampled turns of the same language and role as references; the mean. 100 = every turn
  is copied from another; lower = more varied. The references' n-gram counts are merged once
  (a count's maximum over the others is its largest or, for the turn that holds it, its
  second-largest), so a turn is not re-tokenised 499 times; the test compares the result with
  `sacrebleu.sentence_bleu`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.helpers import extract_all_word_ngrams

from csc.framework import BY_ID

SAMPLE = 500
MAX_ORDER = 4  # BLEU-4
TOKENIZER = {"zh": "zh", "en": "13a"}
ROLES = ("supporter", "customer")


@dataclass(frozen=True)
class Turn:
    language: str
    speaker: str
    dialogue_id: str
    utt_index: int
    text: str


@cache
def _bleu(language: str) -> BLEU:
    return BLEU(tokenize=TOKENIZER.get(language, "13a"), effective_order=True,
                max_ngram_order=MAX_ORDER)


def tokenise(text: str, language: str) -> str:
    """The text as BLEU sees it: tokens separated by single spaces."""
    return _bleu(language).tokenizer(text.rstrip())


def sample(turns: Iterable[Turn], size: int = SAMPLE) -> list[Turn]:
    """The first `size` turns by a hash of their key: the same turns every time."""
    def key(t: Turn) -> bytes:
        return hashlib.sha256(f"{t.dialogue_id}:{t.utt_index}".encode()).digest()
    return sorted(turns, key=key)[:size]


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float | None:
    """Distinct n-grams over all n-grams of the turns; None when there is no n-gram."""
    grams = [tuple(toks[i:i + n]) for toks in token_lists for i in range(len(toks) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def _closest(length: int, lengths: Counter, own: int) -> int:
    """The reference length sacrebleu picks for a hypothesis of `length` among `lengths`
    minus one turn of length `own`: the closest, the shorter on a tie."""
    best: tuple[int, int] | None = None
    for ref_len, count in lengths.items():
        if ref_len == own and count == 1:
            continue
        key = (abs(length - ref_len), ref_len)
        if best is None or key < best:
            best = key
    assert best is not None
    return best[1]


def self_bleu(tokenised: Sequence[str]) -> float | None:
    """Mean sentence BLEU of each tokenised turn against all the others; None under 2 turns."""
    if len(tokenised) < 2:
        return None
    stats = [extract_all_word_ngrams(t, 1, MAX_ORDER) for t in tokenised]
    lengths = Counter(n for _, n in stats)
    top: dict[tuple, list[int]] = {}  # n-gram -> its two largest counts over all turns
    for grams, _ in stats:
        for g, c in grams.items():
            pair = top.setdefault(g, [0, 0])
            if c > pair[0]:
                pair[0], pair[1] = c, pair[0]
            elif c > pair[1]:
                pair[1] = c
    scores = []
    for grams, hyp_len in stats:
        correct, total = [0] * MAX_ORDER, [0] * MAX_ORDER
        for g, c in grams.items():
            first, second = top[g]
            others = second if c == first else first
            total[len(g) - 1] += c
            correct[len(g) - 1] += min(c, others)
        ref_len = _closest(hyp_len, lengths, hyp_len)
        scores.append(BLEU.compute_bleu(correct, total, hyp_len, ref_len, smooth_method="exp",
                                        effective_order=True,
                                        max_ngram_order=MAX_ORDER).score)
    return sum(scores) / len(scores)


def text_metrics(turns: Iterable[Turn], size: int = SAMPLE) -> list[dict]:
    """distinct-1, distinct-2 and self-BLEU per language and role, on the sample."""
    groups: dict[tuple[str, str], list[Turn]] = {}
    for t in turns:
        groups.setdefault((t.language, t.speaker), []).append(t)
    out = []
    for (language, speaker), group in sorted(groups.items()):
        chosen = sample(group, size)
        tokenised = [tokenise(t.text, language) for t in chosen]
        token_lists = [t.split() for t in tokenised]
        out.append({"language": language, "speaker": speaker, "turns": len(group),
                    "sampled": len(chosen), "distinct_1": distinct_n(token_lists, 1),
                    "distinct_2": distinct_n(token_lists, 2),
                    "self_bleu": self_bleu(tokenised)})
    return out


# ---- the report --------------------------------------------------------------------------

def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _abbr(sid: int | None) -> str:
    return BY_ID[sid].abbr if sid in BY_ID else str(sid)


def figures(numbers: dict) -> dict:
    """The headline figures (for the flow's summary): accepted, dialogues, cost."""
    summary = numbers["summary"]
    accepted = sum(r["accepted"] for r in summary)
    dialogues = sum(r["dialogues"] for r in summary)
    cost = numbers["cost"]["cost_usd"]
    return {"dialogues": dialogues, "accepted": accepted,
            "accepted_pct": round(100.0 * accepted / dialogues, 2) if dialogues else None,
            "cost_usd": cost,
            "cost_per_accepted_usd": (round(cost / accepted, 6)
                                      if accepted and cost is not None else None)}


def simulated(numbers: dict, simulator: bool) -> bool:
    """Is any of it the offline simulator's? This run's endpoint, a sim-* model among the
    stage's LLM calls, or a turn of the accepted set written by one."""
    return bool(simulator or numbers["cost"]["simulator"] or numbers["simulated"]["simulated"])


def render(numbers: dict, simulator: bool) -> str:
    f = figures(numbers)
    lines = ["# RoleCS: quality and diversity", ""]
    if simulated(numbers, simulator):
        sim = numbers["simulated"]
        lines += ["> Built with the offline **simulator**: these are not a model's results "
                  f"({sim['simulated']} of {sim['accepted']} accepted dialogues have turns "
                  "a sim-* model wrote).", ""]
    lines += ["Accepted: judged 5/5 and not a near-duplicate of an earlier dialogue or "
              "scenario (`marts.rolecs_accepted`).", "",
              "| language | dialogues | accepted | accepted rate (%) | near-duplicates | "
              "rejected by the judge | stopped | not yet checked |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in numbers["summary"]:
        lines.append(f"| {r['language']} | {r['dialogues']} | {r['accepted']} | "
                     f"{_num(r['accepted_pct'], 2)} | {r['near_duplicates']} | "
                     f"{r['rejected']} | {r['stopped']} | {r['unchecked']} |")
    lines.append(f"| **all** | {f['dialogues']} | {f['accepted']} | "
                 f"{_num(f['accepted_pct'], 2)} | | | | |")
    lines += ["", "## Stop reasons", "", "| language | stop reason | outcome | dialogues |",
              "|---|---|---|---:|"]
    for r in numbers["outcomes"]:
        lines.append(f"| {r['language']} | {r['stop_reason']} | {r['outcome']} | "
                     f"{r['dialogues']} |")
    lines += ["", "## Utterances per accepted dialogue", "",
              "| language | mean | min | max |", "|---|---:|---:|---:|"]
    for r in numbers["summary"]:
        lines.append(f"| {r['language']} | {_num(r['mean_utterances'], 2)} | "
                     f"{r['min_utterances'] if r['min_utterances'] is not None else 'n/a'} | "
                     f"{r['max_utterances'] if r['max_utterances'] is not None else 'n/a'} |")
    lines += _cost(numbers, f)
    lines += _strategies(numbers)
    lines += _transitions(numbers)
    lines += _coverage(numbers)
    lines += _texts(numbers)
    lines += _near_duplicates(numbers)
    return "\n".join(lines) + "\n"


def _cost(numbers: dict, f: dict) -> list[str]:
    cost = numbers["cost"]
    lines = ["", "## Cost", ""]
    if cost["cost_usd"] is None:
        return [*lines, "No LLM call of the RoleCS stage is recorded."]
    per = (f"${f['cost_per_accepted_usd']:.6f}" if f["cost_per_accepted_usd"] is not None
           else "n/a (nothing accepted)")
    lines.append(f"LLM cost of the RoleCS stage, all runs: ${cost['cost_usd']:.6f} over "
                 f"{cost['calls']} calls (cache hits included); per accepted dialogue: {per}.")
    lines.append("Every dialogue's calls count, rejected and near-duplicate ones included: "
                 "this is what one training dialogue costs.")
    if cost["simulator"]:
        lines.append("Calls to the simulator cost nothing: this is not a model's price.")
    return lines


def _strategies(numbers: dict) -> list[str]:
    lines = ["", "## Strategy distribution (accepted dialogues, supporter turns)", "",
             "| language | strategy | turns | % |", "|---|---|---:|---:|"]
    for r in numbers["strategies"]:
        sid = r["strategy_id"]
        name = BY_ID[sid].name if sid in BY_ID else str(sid)
        lines.append(f"| {r['language']} | {sid} {name} | {r['turns']} | "
                     f"{_num(r['pct'], 2)} |")
    return lines


def _transitions(numbers: dict) -> list[str]:
    """One matrix per language: rows the strategy, columns the next supporter turn's, cells
    transitions (the view's pct is each cell's share of its row)."""
    lines = ["", "## Strategy transitions (accepted dialogues)", "",
             "Rows: a supporter turn's strategy; columns: the next supporter turn's; cells: "
             "how often."]
    by_lang: dict[str, dict[tuple[int, int], int]] = {}
    for r in numbers["transitions"]:
        by_lang.setdefault(r["language"], {})[(r["from_strategy_id"], r["to_strategy_id"])] = \
            r["transitions"]
    for language, cells in sorted(by_lang.items()):
        ids = sorted({i for pair in cells for i in pair})
        lines += ["", f"**{language}**", "",
                  "| from \\ to | " + " | ".join(_abbr(i) for i in ids) + " |",
                  "|---|" + "---:|" * len(ids)]
        for a in ids:
            lines.append(f"| {_abbr(a)} | " + " | ".join(str(cells.get((a, b), "")) or "·"
                                                          for b in ids) + " |")
    return lines


def _coverage(numbers: dict) -> list[str]:
    lines = ["", "## Stage coverage (accepted dialogues)", "",
             "Share of accepted dialogues with a supporter turn in each conversation stage "
             "(by the strategy's usual stage; Others has none).", "",
             "| language | stage | dialogues | of | % |", "|---|---|---:|---:|---:|"]
    for r in numbers["coverage"]:
        lines.append(f"| {r['language']} | {r['stage_id']} {r['stage_name']} | "
                     f"{r['dialogues']} | {r['accepted_dialogues']} | {_num(r['pct'], 2)} |")
    return lines


def _texts(numbers: dict) -> list[str]:
    lines = ["", "## Lexical diversity (accepted dialogues)", "",
             f"On a fixed sample of at most {SAMPLE} turns per language and role; tokens: "
             "Chinese characters (sacrebleu 'zh'), English words (sacrebleu '13a'). "
             "Self-BLEU: each turn against all other sampled turns of its role (BLEU-4, "
             "0-100; lower is more varied).", "",
             "| language | role | turns | sampled | distinct-1 | distinct-2 | self-BLEU |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in numbers["texts"]:
        lines.append(f"| {r['language']} | {r['speaker']} | {r['turns']} | {r['sampled']} | "
                     f"{_num(r['distinct_1'])} | {_num(r['distinct_2'])} | "
                     f"{_num(r['self_bleu'], 2)} |")
    return lines


def _near_duplicates(numbers: dict) -> list[str]:
    lines = ["", "## Near-duplicates", "",
             "Dialogues whose text, or whose scenario and goal, repeat an earlier one's "
             "(Jaccard of character shingles at or above the threshold; "
             "`marts.rolecs_near_duplicates`). They are not accepted, whatever the judge said."]
    if not numbers["near_duplicates"]:
        return [*lines, "", "None."]
    lines += ["", "| language | kind | dialogues | least similarity | mean similarity |",
              "|---|---|---:|---:|---:|"]
    for r in numbers["near_duplicates"]:
        lines.append(f"| {r['language']} | {r['kind']} | {r['dialogues']} | "
                     f"{_num(r['min_similarity'])} | {_num(r['mean_similarity'])} |")
    return lines
