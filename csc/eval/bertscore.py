"""BERTScore, only with a local model and the bert_score package; otherwise 'not computed'.

The paper's BERTScore backbone is unknown (csc-method §5) and this project installs neither
bert-score nor torch, so the metric is computed only when the caller names a local model
(the CLI passes CSC_BERTSCORE_MODEL) and `bert_score` imports. Every other case returns
value None with a status saying why: a zero would read as a real, terrible score.
"""

from __future__ import annotations

from collections.abc import Sequence

from csc.eval.types import NOT_COMPUTED, MetricValue


def bertscore(refs: Sequence[str], preds: Sequence[str], model: str | None) -> MetricValue:
    """Mean BERTScore F1 (x100) of the replies against the references, or why not."""
    n = len(refs)
    if model is None:
        return MetricValue("bertscore", None, n=n, status=f"{NOT_COMPUTED}: no BERTScore model "
                           "given (set CSC_BERTSCORE_MODEL to a local model directory)")
    try:
        import bert_score  # optional, heavy (torch): imported only when asked for
    except ImportError as exc:
        return MetricValue("bertscore", None, n=n, status=f"{NOT_COMPUTED}: the bert_score "
                           f"package is not installed ({exc})")
    try:
        from transformers import AutoConfig

        layers = AutoConfig.from_pretrained(model).num_hidden_layers  # its last layer
        _, _, f1 = bert_score.score(list(preds), list(refs), model_type=model,
                                    num_layers=layers, verbose=False)
    except Exception as exc:  # a model that does not load is a status, not a crash
        return MetricValue("bertscore", None, n=n,
                           status=f"{NOT_COMPUTED}: BERTScore failed with {model!r}: {exc}")
    return MetricValue("bertscore", 100.0 * float(f1.mean()), n=n)
