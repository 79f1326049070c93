"""PII masking applied before any text can leave the machine (LLM calls, exports).

What is masked, the placeholders and the limits: docs/pii.md.

Cost: one cheap scan picks the rows that could hold PII (a run of 7+ digits, an '@', a URL
start, or an invisible character); only those rows are cleaned (csc.textclean) and masked.
URLs, e-mails and @handles are replaced on the polars engine. Number kinds (ID card, bank
card, phone) go through Python, one row at a time, and only for rows with a 7-digit run.

Every match first becomes a sentinel "\\x00<letter>\\x00" (NUL cannot survive cleaning, so it
cannot come from the text), which later kinds do not match, and which is counted and rendered
in the row's language at the end.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers
import polars as pl

from csc.settings import current
from csc.textclean import NEEDS_CLEANING, clean_expr


@dataclass(frozen=True)
class PiiKind:
    name: str
    letter: str  # the sentinel's letter
    zh: str
    en: str


PII_KINDS: tuple[PiiKind, ...] = (
    PiiKind("url", "u", "[链接]", "[URL]"),
    PiiKind("email", "e", "[邮箱]", "[EMAIL]"),
    PiiKind("handle", "h", "[用户名]", "[USER]"),
    PiiKind("id_card", "i", "[身份证号]", "[ID_NUMBER]"),
    PiiKind("bank_card", "c", "[银行卡号]", "[CARD_NUMBER]"),
    PiiKind("phone", "p", "[手机号码]", "[PHONE]"),
)
KIND_NAMES = tuple(k.name for k in PII_KINDS)
_BY_NAME = {k.name: k for k in PII_KINDS}
_NUMBER_KINDS = frozenset({"id_card", "bank_card", "phone"})
HANDLES_ENV = "CSC_PII_MASK_HANDLES"


def _sentinel(name: str) -> str:
    return f"\x00{_BY_NAME[name].letter}\x00"


# --- configuration -------------------------------------------------------------------------

def handles_enabled() -> bool:
    """Whether @handles are masked: CSC_PII_MASK_HANDLES (default on; 0/false/no/off = off),
    read and checked by csc.settings.

    Some teams need the handles to tell agents apart, and a handle is often a shop's name.
    """
    return current().pii_mask_handles


def default_kinds() -> tuple[str, ...]:
    """Every kind, less handles when CSC_PII_MASK_HANDLES turns them off."""
    return tuple(n for n in KIND_NAMES if n != "handle" or handles_enabled())


def _chosen(kinds: Collection[str] | None) -> frozenset[str]:
    if kinds is None:
        return frozenset(default_kinds())
    unknown = set(kinds) - set(KIND_NAMES)
    if unknown:
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; known: {', '.join(KIND_NAMES)}")
    return frozenset(kinds)


# --- URL, e-mail, handle: polars patterns ----------------------------------------------------

# A URL starts with http(s)://, ftp:// or "www." (literal starts keep the scan cheap); it
# ends at white space, a Han character, full-width punctuation or a quote, and does not take
# trailing sentence punctuation with it.
_URL = (r"(?:https?://|ftp://|www\.)"
        r"[^\s<>\"'\p{Han}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]*"
        r"[^\s<>\"'\p{Han}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}.,;:!?)\]}]")
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
# A handle's '@' must not follow a character of an e-mail's local part ("user@localhost" is a
# broken address, not a mention); Han characters may precede it ("回复@客服小王"). Its name is
# word characters (any script), '-' and inner dots, so a sentence's full stop stays outside.
_HANDLE_NAME = r"@[\w\-]+(?:\.[\w\-]+)*"
_HANDLE = r"([^A-Za-z0-9._%+\-@])" + _HANDLE_NAME
_HANDLE_AT_START = "^" + _HANDLE_NAME  # separate: an alternation with ^ makes the scan slow
# Rows worth a closer look. Seven digits, each at most two separators from the next, is the
# shortest phone number masked; '@' and a URL start cover the other kinds.
_DIGITS7 = r"[0-9](?:[ .\-()/+]{0,2}[0-9]){6}"
_CANDIDATE_CLEAN = "|".join([_DIGITS7, "@", "://", r"www\."])  # for text cleaned already
_CANDIDATE = "|".join([_CANDIDATE_CLEAN, NEEDS_CLEANING])
_CANDIDATE_RE = re.compile(_CANDIDATE)  # the same pattern: Python's re reads it alike


def may_hold_pii(text: str) -> bool:
    """Whether `mask_frame` would look at `text` at all; one that may not is stored as it is,
    so a caller with a few texts can skip building a frame for them."""
    return _CANDIDATE_RE.search(text) is not None


def _mask_patterns(expr: pl.Expr, chosen: frozenset[str]) -> pl.Expr:
    if "url" in chosen:
        expr = expr.str.replace_all(_URL, _sentinel("url"))
    if "email" in chosen:
        expr = expr.str.replace_all(_EMAIL, _sentinel("email"))
    if "handle" in chosen:
        expr = (expr.str.replace(_HANDLE_AT_START, _sentinel("handle"))
                .str.replace_all(_HANDLE, "${1}" + _sentinel("handle")))
    return expr


# --- ID cards, bank cards, phones: one number span at a time --------------------------------

# A number span: digit groups joined by at most one separator (space - . /) or a bracketed
# group, with an optional leading '+' and a trailing X (ID cards). The look-arounds make it
# maximal: it neither starts nor ends next to a digit or a separator followed by a digit.
# Letters may touch it ("tel13812345678", or a colour code removed between them). The group
# is atomic, so a span that fails a guard is not retried shorter: part of a longer number is
# never masked (no "1-[PHONE]", no half of an order number).
_SPAN = re.compile(
    r"(?=[0-9+(])(?<![0-9+])(?<![0-9][\-./])"  # the look-ahead first: twice as fast
    r"(?>\+?(?:\(\+?[0-9]{1,5}\)|[0-9]+)(?:(?:[ \-./]| ?\(|\) ?)?[0-9]+\)?)*[Xx]?)"
    r"(?![0-9])(?![\-./][0-9])"
)
_ID = re.compile(r"[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                 r"[0-9]{3}[0-9Xx]")
# 16-19 digits: four groups of four, then the 1-3 digit tail of a 19-digit card, each group
# optionally after one space or '-' ("6217 0033 1020 4455 678" is one number).
_CARD = re.compile(r"[0-9]{4}(?:[ \-]?[0-9]{4}){3}(?:[ \-]?[0-9]{1,3})?")
_CN_MOBILE = re.compile(r"(?:86)?1[3-9][0-9]{9}")
_DATE = re.compile(r"(?:19|20)[0-9]{2}[\-./ ]?(?:0?[1-9]|1[0-2])[\-./ ]?(?:0?[1-9]|[12][0-9]|3[01])"
                   r"|(?:0?[1-9]|[12][0-9]|3[01])[\-./](?:0?[1-9]|[12][0-9]|3[01])[\-./]"
                   r"(?:19|20)?[0-9]{2}")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_NON_DIGIT = re.compile(r"[^0-9]")

# Region hints for numbers written without a country code, tried in order. Chinese rows are
# Chinese numbers; English rows come from anywhere, mostly the UK, the US and India here.
_REGIONS = {"zh": ("CN",), "en": ("GB", "US", "IN", "FR", "CN"), "fr": ("FR",)}


def regions_for(language: str) -> tuple[str, ...]:
    """Regions to read a national number in: 'en-GB' tries GB first, then the en list."""
    lang, _, region = language.partition("-")
    base = _REGIONS.get(lang.lower(), _REGIONS["en"])
    if region and len(region) == 2:
        return (region.upper(), *[r for r in base if r != region.upper()])
    return base


def _is_phone(span: str, digits: str, regions: tuple[str, ...]) -> bool:
    """A phone number, read whole.

    libphonenumber (the `phonenumbers` port) knows every country's number plan, which no
    hand-written pattern keeps up with: it accepts "0345 000 1234" and "98765 43210" and
    refuses a date or an order number that merely has the right length. It is only asked
    about spans that passed the cheap checks here, so ordinary rows never reach it.
    """
    if not 7 <= len(digits) <= 15 or _DATE.fullmatch(span) or _IPV4.fullmatch(span):
        return False
    if span.count(".") == 1:  # an amount or a version, not a dotted phone number
        return False
    if span.startswith("+") or digits.startswith("00"):
        number = "+" + (digits[2:] if digits.startswith("00") else digits)
        if _CN_MOBILE.fullmatch(number[1:]) and number.startswith("+86"):
            return True
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return False
        # a '+' says "phone number": a number of a possible length for its country will do
        # (fictional ranges such as +44 7700 900xxx are possible, not valid)
        return phonenumbers.is_possible_number(parsed)
    if _CN_MOBILE.fullmatch(digits):
        return True
    if span == digits and not digits.startswith("0"):
        # A bare run of digits without a trunk '0' is as often an order or account number
        # ("3348917502"), so only the unmistakable Chinese mobile shape above counts.
        return False
    for region in regions:
        try:
            parsed = phonenumbers.parse(span, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number_for_region(parsed, region):
            continue
        # A landline is written with its trunk '0' where the country has one ("0415-5550132"
        # in China); without it, "415-555-0132" in a Chinese row is not read as Chinese.
        trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix
        if (trunk == "0" and not digits.startswith("0")
                and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.FIXED_LINE):
            continue
        return True
    return False


def _kind_of(span: str, regions: tuple[str, ...], chosen: frozenset[str]) -> str | None:
    """Which number kind a whole span is, if any."""
    digits = _NON_DIGIT.sub("", span)
    if "id_card" in chosen and _ID.fullmatch(span):
        return "id_card"
    if "bank_card" in chosen and 16 <= len(digits) <= 19 and _CARD.fullmatch(span):
        return "bank_card"
    if "phone" in chosen and _is_phone(span, digits, regions):
        return "phone"
    return None


def _trim(span: str) -> str:
    """Drop a closing bracket that the span's own digits did not open ("(tel 13812345678)")."""
    while span.endswith(")") and span.count(")") > span.count("("):
        span = span[:-1]
    return span


@functools.lru_cache(maxsize=1 << 16)  # a hotline or a customer's number recurs in a batch
def _match(span: str, regions: tuple[str, ...], chosen: frozenset[str]
           ) -> tuple[str, int] | None:
    """(kind, length) of the number that `span` starts with and is, if any."""
    span = _trim(span)
    if span[-1] in "Xx":  # an ID card's check character, or a letter after a number
        if "id_card" in chosen and _ID.fullmatch(span):
            return "id_card", len(span)
        span = _trim(span[:-1])
    kind = _kind_of(span, regions, chosen)
    return (kind, len(span)) if kind else None


_MAX_GROUPS = 6  # a phone number is written in at most this many space-separated groups


def _split_at_spaces(span: str, regions: tuple[str, ...], chosen: frozenset[str]
                     ) -> list[tuple[int, int, str]]:
    """Numbers inside a span that is none as a whole, e.g. two mobiles one space apart.

    Groups are taken greedily from the left, longest first; a span is only ever cut at a
    space, so no number loses a prefix or a tail to its neighbour.
    """
    starts = [0] + [m.end() for m in re.finditer(" ", span)]
    ends = [m.start() for m in re.finditer(" ", span)] + [len(span)]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(starts):
        for j in range(min(len(starts), i + _MAX_GROUPS), i, -1):
            hit = _match(span[starts[i]:ends[j - 1]], regions, chosen)
            if hit:
                found.append((starts[i], starts[i] + hit[1], hit[0]))
                i = j
                break
        else:
            i += 1
    return found


def mask_numbers(text: str, language: str, chosen: frozenset[str]) -> str:
    """Replace ID-card, bank-card and phone spans in `text` by sentinels."""
    regions = regions_for(language)
    out: list[str] = []
    last = 0
    for m in _SPAN.finditer(text):
        span, start = m.group(), m.start()
        hit = _match(span, regions, chosen)
        found = ([(0, hit[1], hit[0])] if hit else
                 _split_at_spaces(span, regions, chosen) if " " in span else [])
        for a, b, k in found:
            out += [text[last:start + a], _sentinel(k)]
            last = start + b
    out.append(text[last:])
    return "".join(out)


# --- frames ----------------------------------------------------------------------------------

def _render(expr: pl.Expr, zh: pl.Expr) -> pl.Expr:
    """Sentinels to placeholders in the row's language (zh, zh-*: Chinese; else English)."""
    sentinels = [_sentinel(k.name) for k in PII_KINDS]
    return (pl.when(zh).then(expr.str.replace_many(sentinels, [k.zh for k in PII_KINDS]))
            .otherwise(expr.str.replace_many(sentinels, [k.en for k in PII_KINDS])))


def mask_frame(df: pl.DataFrame, text: str = "text", language: str = "language",
               kinds: Collection[str] | None = None, cleaned: bool = False) -> pl.DataFrame:
    """Mask PII in `text` with placeholders in the row's language; add a `pii_masked` count.

    `kinds` names the kinds to run (KIND_NAMES); None means `default_kinds()`. Rows that are
    looked at are also cleaned (csc.textclean), so a zero-width space cannot hide a number
    from the patterns, whether or not the caller cleaned first. A caller whose texts went
    through `textclean.clean_expr` already says `cleaned=True` and skips both the search for
    characters to clean and the cleaning, which then change nothing (0.3 CPU-s of 1M
    ingested utterances). Row order is kept.
    """
    chosen = _chosen(kinds)
    # The candidate scan runs once; only the candidates' two columns are worked on, and their
    # results are scattered back in place (no concat and sort of every row and column).
    candidate = df.select(pl.col(text).str.contains(_CANDIDATE_CLEAN if cleaned else _CANDIDATE)
                          .fill_null(False)).to_series()
    rows = candidate.arg_true()
    if rows.len() == 0:
        return df.with_columns(pl.lit(0, pl.Int32).alias("pii_masked"))
    hits = df.select(pl.col(text).gather(rows), pl.col(language).gather(rows))
    found = pl.col(text) if cleaned else clean_expr(pl.col(text))
    hits = hits.with_columns(_mask_patterns(found, chosen).alias(text))
    if chosen & _NUMBER_KINDS:
        # Only rows with a 7-digit run go through Python; polars picks them much faster.
        numeric = hits.select(pl.col(text).str.contains(_DIGITS7).fill_null(False)).to_series()
        at = numeric.arg_true()
        if at.len():
            nums = hits.gather(at)
            langs = nums[language].cast(pl.String).to_list()
            masked = [mask_numbers(t, lang or "", chosen)
                      for t, lang in zip(nums[text].to_list(), langs, strict=True)]
            hits = hits.with_columns(
                hits[text].clone().scatter(at, pl.Series(masked, dtype=pl.String)))
    zh = pl.col(language).cast(pl.String).str.contains("^zh(?:-|$)").fill_null(False)
    hits = hits.select(
        _render(pl.col(text), zh).alias(text),
        pl.col(text).str.count_matches("\x00[a-z]\x00").cast(pl.Int32).alias("pii_masked"),
    )
    zeros = pl.repeat(0, df.height, dtype=pl.Int32, eager=True)
    return df.with_columns(df[text].clone().scatter(rows, hits[text]).alias(text),
                           zeros.scatter(rows, hits["pii_masked"]).alias("pii_masked"))


def mask_text(text: str, language: str = "zh", kinds: Collection[str] | None = None) -> str:
    """Mask one string; the same rules as `mask_frame`, for callers outside a frame."""
    df = pl.DataFrame({"text": [text], "language": [language]})
    return mask_frame(df, kinds=kinds)["text"][0]
