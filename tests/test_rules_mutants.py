"""Kills the csc.rules mutants the boundary tests left alive (issue 9, docs/testing.md).

Each expected value is written by hand from csc-method §3.2 and the column list of
`prefilter`'s docstring/select, not computed by the code under test.
"""

import hashlib

import polars as pl
import pytest

from csc.errors import ConfigError
from csc.rules import RuleConfig, prefilter

C, S = "customer", "supporter"
OK = 20


def verdict(lines, cfg=RuleConfig()) -> dict:
    df = pl.DataFrame([("d", s, n) for s, n in lines],
                      schema=["dialogue_id", "speaker", "n_chars"], orient="row")
    rows = prefilter(df, cfg).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_output_columns_and_types_in_order():
    df = pl.DataFrame([("d", s, OK) for s in (C, S) * 3],
                      schema=["dialogue_id", "speaker", "n_chars"], orient="row")
    out = prefilter(df)
    assert out.columns == ["dialogue_id", "passed", "failed_rules", "n_lines", "n_turns",
                           "n_customer", "n_supporter", "max_utterance_chars",
                           "customer_long_share", "rules_version"]
    assert out.schema["failed_rules"] == pl.List(pl.String)
    assert out.schema["customer_long_share"] == pl.Float64


def test_counts_of_a_seven_line_dialogue():
    # C S C S C S C: 7 lines, 4 customer, 3 supporter, 7 // 2 = 3 turns
    v = verdict([(C, OK), (S, OK)] * 3 + [(C, 5)])
    assert (v["n_lines"], v["n_turns"], v["n_customer"], v["n_supporter"]) == (7, 3, 4, 3)
    assert v["max_utterance_chars"] == OK
    assert v["customer_long_share"] == 1.0
    assert v["passed"] is True and v["failed_rules"] == []


def test_share_is_zero_not_null_nan_or_one_without_customer_lines():
    v = verdict([(S, OK)] * 6)
    assert v["n_customer"] == 0
    assert v["customer_long_share"] == 0.0  # not None (null), not NaN (0 / 0), not 1.0


def test_a_single_short_customer_line_is_judged_too_short():
    # One customer line of 2 characters: share 0 / 1 = 0.0 < 0.7. The rule applies from one
    # customer line on (only zero lines leaves it to no_customer).
    v = verdict([(C, 2), (S, OK)])
    assert v["n_customer"] == 1
    assert v["customer_long_share"] == 0.0
    assert v["failed_rules"] == ["too_few_turns", "customer_lines_too_short"]


def test_rules_version_is_stamped_on_every_row():
    # The version is "rules-" + the first 10 hex digits of the SHA-256 of the thresholds as
    # sorted-key JSON; the blob is written out here by hand.
    blob = ('{"customer_long_chars": 3, "max_turns": 30, "max_utterance_chars_en": 1800, '
            '"max_utterance_chars_zh": 500, "min_customer_long_share": 0.7, "min_turns": 3, '
            '"supporter_to_customer_max": 2.0}')
    expected = "rules-" + hashlib.sha256(blob.encode()).hexdigest()[:10]
    assert RuleConfig().version == expected
    assert verdict([(C, OK), (S, OK)] * 3)["rules_version"] == expected
    other = RuleConfig(min_turns=4)
    assert other.version != expected
    assert verdict([(C, OK), (S, OK)] * 3, other)["rules_version"] == other.version


def lines_verdict(utts, language="zh", cfg=RuleConfig()) -> dict:
    """`utts`: (speaker, [raw line lengths]) per merged utterance."""
    df = pl.DataFrame(
        [("d", s, sum(ls) + len(ls) - 1, ls, language) for s, ls in utts],
        schema={"dialogue_id": pl.String, "speaker": pl.String, "n_chars": pl.Int64,
                "source_line_chars": pl.List(pl.Int32), "language": pl.String}, orient="row")
    rows = prefilter(df, cfg).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_r3_and_r4_count_raw_lines_not_merged_utterances():
    # 4 merged pairs; customers 1 line each, supporters 3 lines each: 12 >= 2 x 4 (R3)
    v = lines_verdict([(C, [OK]), (S, [OK, OK, OK])] * 4)
    assert (v["n_lines"], v["n_turns"], v["n_customer"], v["n_supporter"]) == (8, 4, 4, 12)
    assert v["failed_rules"] == ["supporter_dominates"]
    # customers 3 lines each (9 in all), of which 1 long: 3/9 under 0.7 (R4); supporters 1
    v = lines_verdict([(C, [OK, 1, 2]), (S, [OK])] * 3)
    assert (v["n_customer"], v["n_supporter"]) == (9, 3)
    assert v["customer_long_share"] == 3 / 9
    assert v["failed_rules"] == ["customer_lines_too_short"]
    # a 4-character raw line is long, a 3-character one is not, inside one utterance
    v = lines_verdict([(C, [4, 4, 4, 3]), (S, [OK])] * 3)
    assert v["customer_long_share"] == 9 / 12


def test_r2_limit_follows_the_dialogues_language():
    base = [(C, [OK]), (S, [OK])] * 3
    assert lines_verdict([*base, (C, [500])], "zh")["failed_rules"] == ["utterance_too_long"]
    assert lines_verdict([*base, (C, [1799])], "en")["failed_rules"] == []
    assert lines_verdict([*base, (C, [1800])], "en")["failed_rules"] == ["utterance_too_long"]
    cfg = RuleConfig(max_utterance_chars_zh=50, max_utterance_chars_en=60)
    assert lines_verdict([*base, (C, [49])], "zh", cfg)["failed_rules"] == []
    assert lines_verdict([*base, (C, [50])], "zh", cfg)["failed_rules"] == ["utterance_too_long"]
    assert lines_verdict([*base, (C, [59])], "en", cfg)["failed_rules"] == []
    assert lines_verdict([*base, (C, [60])], "en", cfg)["failed_rules"] == ["utterance_too_long"]


def test_without_a_language_column_the_zh_limit_holds():
    assert verdict([(C, OK), (S, OK)] * 3 + [(C, 500)])["failed_rules"] == ["utterance_too_long"]


def test_a_missing_language_is_read_as_zh():
    df = pl.DataFrame([("d", s, 600, None) for s in (C, S) * 3],
                      schema={"dialogue_id": pl.String, "speaker": pl.String,
                              "n_chars": pl.Int64, "language": pl.String}, orient="row")
    assert prefilter(df).to_dicts()[0]["failed_rules"] == ["utterance_too_long"]


def test_thresholds_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CSC_RULES_MAX_UTTERANCE_CHARS_EN", "2000")
    monkeypatch.setenv("CSC_RULES_MIN_CUSTOMER_LONG_SHARE", "0.5")
    cfg = RuleConfig.from_env()
    assert (cfg.max_utterance_chars_en, cfg.min_customer_long_share) == (2000, 0.5)
    assert cfg.max_utterance_chars_zh == 500 and cfg.min_turns == 3
    assert isinstance(cfg.max_utterance_chars_en, int)
    assert cfg.version != RuleConfig().version


def test_no_environment_gives_the_defaults(monkeypatch):
    for name in ("MIN_TURNS", "MAX_UTTERANCE_CHARS_EN", "MIN_CUSTOMER_LONG_SHARE"):
        monkeypatch.delenv(f"CSC_RULES_{name}", raising=False)
    monkeypatch.setenv("CSC_RULES_MAX_TURNS", "  ")  # blank means unset
    assert RuleConfig.from_env() == RuleConfig()


def test_a_whole_number_threshold_at_the_bounds(monkeypatch):
    monkeypatch.setenv("CSC_RULES_MIN_TURNS", "30")  # equal to max_turns: allowed
    monkeypatch.setenv("CSC_RULES_CUSTOMER_LONG_CHARS", "0")  # zero is not negative
    cfg = RuleConfig.from_env()
    assert (cfg.min_turns, cfg.customer_long_chars) == (30, 0)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CSC_RULES_MIN_TURNS", "three", "CSC_RULES_MIN_TURNS=three must be a whole number >= 0"),
    ("CSC_RULES_MIN_TURNS", "2.5", "CSC_RULES_MIN_TURNS=2.5 must be a whole number >= 0"),
    ("CSC_RULES_MIN_CUSTOMER_LONG_SHARE", "-0.1",
     "CSC_RULES_MIN_CUSTOMER_LONG_SHARE=-0.1 must be a number >= 0"),
    ("CSC_RULES_MIN_TURNS", "40",
     "CSC_RULES_MIN_TURNS=40 must be <= CSC_RULES_MAX_TURNS, which is 30"),
    ("CSC_RULES_MIN_TURNS", "-1", "CSC_RULES_MIN_TURNS=-1 must be a whole number >= 0"),
    ("CSC_RULES_SUPPORTER_TO_CUSTOMER_MAX", "x",
     "CSC_RULES_SUPPORTER_TO_CUSTOMER_MAX=x must be a number >= 0"),
])
def test_a_bad_threshold_is_a_config_error(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        RuleConfig.from_env()
    assert str(err.value) == message


def test_a_null_line_list_counts_as_one_line_of_the_utterance():
    # rows stored before raw lines were kept: NULL source_line_chars = one line of n_chars
    df = pl.DataFrame(
        [("d", C, 2, None), ("d", S, OK, [OK, OK]), ("d", C, OK, [OK])] * 3,
        schema={"dialogue_id": pl.String, "speaker": pl.String, "n_chars": pl.Int64,
                "source_line_chars": pl.List(pl.Int32)}, orient="row")
    v = prefilter(df).to_dicts()[0]
    # customers: 3 null rows (1 short line each) + 3 one-line rows; supporters 6 lines
    assert (v["n_customer"], v["n_supporter"]) == (6, 6)
    assert v["customer_long_share"] == 3 / 6
