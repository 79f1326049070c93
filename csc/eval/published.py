"""The paper's own reference-context results (csc-method §5), kept apart from ours.

Why a module of constants: the report compares our reference-context runs with these figures,
and they must never be mistaken for numbers this project measured. Everything here carries the
label `PUBLISHED_LABEL` wherever it is shown, and nothing here is ever a `RunReport`.

Scale: every figure is x100, as in the paper and as in our own headline metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PUBLISHED_LABEL = "published (paper)"
SOURCE = ("Zhu et al., \u201cEvaluating, Synthesizing, and Enhancing for Customer Support "
          "Conversation\u201d, arXiv 2508.04423 (AAAI 2026), reference-context table")

# The paper's columns, in its order, with the name of our headline metric measuring the same
# thing; BLEURT has no counterpart among our metrics (None).
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("bleu2", "B-2", "bleu2"),
    ("bleu4", "B-4", "bleu4"),
    ("rouge_l", "R-L", "rouge_l"),
    ("bertscore", "BS", "bertscore"),
    ("bleurt", "BR", None),
    ("acc", "ACC", "acc"),
)


@dataclass(frozen=True)
class PublishedRow:
    """One model's line of the paper's reference-context table."""

    model: str
    bleu2: float
    bleu4: float
    rouge_l: float
    bertscore: float
    bleurt: float
    acc: float

    def get(self, column: str) -> float:
        """A figure by its column key (see COLUMNS)."""
        return float(getattr(self, column))


def _row(model: str, *figures: float) -> PublishedRow:
    return PublishedRow(model, *figures)


REFERENCE_CONTEXT: tuple[PublishedRow, ...] = (
    _row("GPT-4o", 8.13, 2.97, 4.12, 64.26, 51.27, 42.58),
    _row("DeepSeek-R1", 11.67, 5.09, 8.44, 66.57, 52.09, 39.78),
    _row("DeepSeek-V3", 11.57, 4.95, 7.04, 66.09, 53.10, 41.99),
    _row("LLaMA3.1-8B-Instruct", 4.28, 1.44, 3.62, 58.68, 38.84, 17.16),
    _row("LLaMA3.1-8B-Instruct + RoleCS", 11.06, 4.77, 6.93, 66.21, 52.13, 42.15),
    _row("LLaMA3.1-70B-Instruct", 6.85, 2.38, 4.10, 63.14, 47.53, 38.78),
    _row("LLaMA3.1-70B-Instruct + RoleCS", 11.73, 5.11, 7.64, 66.62, 53.69, 42.79),
    _row("Qwen2.5-7B-Instruct", 6.73, 2.29, 3.80, 62.75, 48.21, 18.78),
    _row("Qwen2.5-7B-Instruct + RoleCS", 11.23, 4.80, 7.39, 66.35, 52.14, 42.96),
    _row("Qwen2.5-72B-Instruct", 8.61, 3.23, 5.41, 64.63, 52.49, 37.22),
    _row("Qwen2.5-72B-Instruct + RoleCS", 12.15, 5.32, 7.97, 66.85, 54.49, 43.29),
)

# The paper gives no generated-context table here, only that every score drops and the best
# strategy accuracy in that setting.
GENERATED_BEST_ACC = 39.44
GENERATED_BEST_MODEL = "LLaMA3.1-70B-Instruct + RoleCS"
GENERATED_NOTE = (f"Generated context (the model's own earlier replies): the paper reports lower "
                  f"scores throughout; its best ACC there is {GENERATED_BEST_ACC:.2f} "
                  f"({GENERATED_BEST_MODEL}).")


def best_reference_row() -> PublishedRow:
    """The paper's highest reference-context ACC: the bar a new model is measured against."""
    return max(REFERENCE_CONTEXT, key=lambda r: r.acc)


def _key(model: str) -> str:
    """A model name reduced to what survives different spellings of it: no organisation prefix
    ('Qwen/'), no 'meta-' prefix, lower case, letters and digits only, so 'Meta-Llama-3.1-8B-
    Instruct' and the paper's 'LLaMA3.1-8B-Instruct' meet."""
    name = model.rsplit("/", 1)[-1].lower()
    name = name.removeprefix("meta-")
    return re.sub(r"[^0-9a-z]", "", name)


_BY_KEY = {_key(r.model): r for r in REFERENCE_CONTEXT}


def match(model: str) -> PublishedRow | None:
    """The paper's row for the same model as one of ours, or None when the paper has none."""
    return _BY_KEY.get(_key(model))
