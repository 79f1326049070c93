"""Pandera contracts split bad rows out with the failing check instead of failing the batch."""

import polars as pl
import pytest
from pandera.errors import SchemaError

from schemas.raw import validate_raw

KEY_A, KEY_B = "a" * 32, "b" * 32


def _dialogues(**over):
    base = {"dialogue_id": [KEY_A, KEY_B], "source": ["s", "s"], "source_dialogue_id": [None, "x"],
            "source_file": ["f", "f"], "record_no": [1, 2], "line_no": [None, None],
            "language": ["zh", "en"], "business_area": [None, None], "n_utterances": [2, 1],
            "n_lines_in": [2, 1], "n_empty_dropped": [0, 0], "n_skipped": [0, 0],
            "pii_masked": [0, 0], "rec_i": [0, 1]}
    base.update(over)
    return pl.DataFrame(base, schema_overrides={"line_no": pl.Int64, "business_area": pl.String,
                                                "source_dialogue_id": pl.String})


def _utterances(**over):
    base = {"dialogue_id": [KEY_A, KEY_A, KEY_B], "utt_index": [0, 1, 0],
            "speaker": ["customer", "supporter", "customer"], "text": ["hi", "hello", "yo"],
            "n_chars": [2, 5, 2], "strategy_label": [None, None, None],
            "source_line_chars": [[2], [2, 2], [2]]}
    base.update(over)
    return pl.DataFrame(base, schema_overrides={"strategy_label": pl.String,
                                                "source_line_chars": pl.List(pl.Int32)})


def test_valid_frames_pass_whole_and_extra_columns_are_dropped():
    d, u, bad = validate_raw(_dialogues(), _utterances())
    assert d.height == 2 and u.height == 3 and bad.height == 0
    assert "rec_i" not in d.columns


def test_a_bad_utterance_fails_its_whole_dialogue_with_the_check_named():
    d, u, bad = validate_raw(_dialogues(), _utterances(speaker=["customer", "robot", "customer"]))
    assert d["dialogue_id"].to_list() == [KEY_B]
    assert u["dialogue_id"].to_list() == [KEY_B]
    row = bad.row(0, named=True)
    assert row["dialogue_id"] == KEY_A
    assert row["check"].startswith("RawUtterance:speaker.isin")
    assert "robot" in row["reason"]


def test_a_bad_dialogue_row_is_split_out():
    d, _, bad = validate_raw(_dialogues(language=["zh", "fr"]), _utterances())
    assert d["dialogue_id"].to_list() == [KEY_A]
    assert bad.row(0, named=True)["check"].startswith("RawDialogue:language")


def test_a_wrong_schema_is_a_programming_error_not_a_quarantine():
    with pytest.raises(SchemaError):
        validate_raw(_dialogues().drop("language"), _utterances())


@pytest.mark.parametrize("lines", [[], [2, 0]])
def test_an_utterance_without_raw_lines_or_with_an_empty_one_is_refused(lines):
    # Ingest drops empty lines before merging, so [] or a 0-character line is a bug upstream.
    _, u, bad = validate_raw(_dialogues(), _utterances(
        source_line_chars=[[2], lines, [2]]))
    assert u["dialogue_id"].to_list() == [KEY_B]
    assert "source_line_chars" in bad.row(0, named=True)["reason"]
