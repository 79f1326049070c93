"""PII masking applied before any text can leave the machine (LLM calls, exports).

Patterns run on the polars engine; only texts holding a digit run or an '@' are touched, so
masking costs little on ordinary chat lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# Digits must not touch other digits on either side; Rust regex has no look-around, so the
# neighbours are captured and put back.
_L, _R = r"(^|[^0-9])", r"([^0-9]|$)"


@dataclass(frozen=True)
class PiiKind:
    name: str
    pattern: str
    zh: str
    en: str
    bounded: bool = True  # pattern is wrapped in the digit guards above


PII_KINDS: tuple[PiiKind, ...] = (
    PiiKind("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
            "[邮箱]", "[EMAIL]", bounded=False),
    PiiKind("id_card",
            r"[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            r"[0-9]{3}[0-9Xx]", "[身份证号]", "[ID_NUMBER]"),
    # 16-19 digits: four groups of four, then the 1-3 digit tail of a 19-digit card, each
    # group optionally after one space or '-' ("6217 0033 1020 4455 678" is one number).
    PiiKind("bank_card", r"[0-9]{4}(?:[ \-]?[0-9]{4}){3}(?:[ \-]?[0-9]{1,3})?", "[银行卡号]",
            "[CARD_NUMBER]"),
    PiiKind("phone",
            r"(?:\+?86[ \-]?)?1[3-9][0-9](?:[ \-]?[0-9]{4}){2}"
            r"|\+[0-9]{1,3}[ \-]?\(?[0-9]{1,4}\)?(?:[ \-]?[0-9]{2,4}){2,3}"
            r"|\(?[0-9]{3}\)?[ .\-][0-9]{3}[ .\-][0-9]{4}"
            r"|0[0-9]{2,3}-[0-9]{7,8}",
            "[手机号码]", "[PHONE]"),
)
# Cheap pre-check: only rows that could hold PII run the patterns. An '@' alone (Weibo
# mentions) is not enough; the e-mail pattern needs word characters on both sides.
_CANDIDATE = r"[0-9]{5}|[A-Za-z0-9._%+\-]@[A-Za-z0-9\-]|[0-9]{3}[ .\-)][0-9]{3}"


def _replace(expr: pl.Expr, kind: PiiKind, placeholder: str) -> pl.Expr:
    if kind.bounded:
        return expr.str.replace_all(f"{_L}(?:{kind.pattern}){_R}", f"${{1}}{placeholder}${{2}}")
    return expr.str.replace_all(kind.pattern, placeholder)


def _count(expr: pl.Expr, kind: PiiKind) -> pl.Expr:
    pattern = f"{_L}(?:{kind.pattern}){_R}" if kind.bounded else kind.pattern
    return expr.str.count_matches(pattern)


def mask_frame(df: pl.DataFrame, text: str = "text", language: str = "language",
               kinds: tuple[PiiKind, ...] = PII_KINDS) -> pl.DataFrame:
    """Mask PII in `text` with placeholders in the row's language; add a `pii_masked` count.

    Row order is kept.
    """
    df = df.with_row_index("_pii_row")
    candidate = pl.col(text).str.contains(_CANDIDATE)
    hits = df.filter(candidate)
    if hits.height == 0:
        return df.drop("_pii_row").with_columns(pl.lit(0, pl.Int32).alias("pii_masked"))
    # Kinds run in order on the text the previous kind left, so an ID-card number is not
    # counted again as a card number.
    counts = []
    masked = hits.with_columns(pl.col(text).alias("_zh"), pl.col(text).alias("_en"))
    for i, kind in enumerate(kinds):
        masked = masked.with_columns(
            _count(pl.col("_zh"), kind).alias(f"_n{i}"),
            _replace(pl.col("_zh"), kind, kind.zh).alias("_zh"),
            _replace(pl.col("_en"), kind, kind.en).alias("_en"),
        )
        counts.append(pl.col(f"_n{i}"))
    masked = masked.with_columns(
        pl.when(pl.col(language) == "zh").then(pl.col("_zh")).otherwise(pl.col("_en"))
        .alias(text),
        pl.sum_horizontal(counts).cast(pl.Int32).alias("pii_masked"),
    ).drop("_zh", "_en", *[f"_n{i}" for i in range(len(kinds))])
    rest = df.filter(~candidate).with_columns(pl.lit(0, pl.Int32).alias("pii_masked"))
    return pl.concat([rest, masked], how="vertical").sort("_pii_row").drop("_pii_row")


def mask_text(text: str, language: str = "zh") -> str:
    """Mask one string; the same rules as `mask_frame`, for callers outside a frame."""
    df = pl.DataFrame({"text": [text], "language": [language]})
    return mask_frame(df)["text"][0]
