"""Great Expectations suites for the tables we publish (exports, the current CSConv set).

Pandera guards each batch on its way in; these suites check the published table as a whole,
as analysts and model trainers will read it: shapes, ranges, keys and the CSConv invariants.
"""

from __future__ import annotations

import great_expectations as gx

E = gx.expectations


def csconv_utterances() -> list:
    return [
        E.ExpectColumnValuesToBeInSet(column="speaker", value_set=["customer", "supporter"]),
        E.ExpectColumnValuesToNotBeNull(column="text"),
        E.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1),
        E.ExpectCompoundColumnsToBeUnique(column_list=["csconv_id", "utt_index"]),
        E.ExpectColumnValuesToBeBetween(column="strategy_id", min_value=1, max_value=12),
        E.ExpectColumnValuesToNotBeNull(column="strategy_id", row_condition='speaker=="supporter"',
                                        condition_parser="pandas"),
        E.ExpectColumnValuesToBeNull(column="strategy_id", row_condition='speaker=="customer"',
                                     condition_parser="pandas"),
        E.ExpectColumnValuesToNotMatchRegex(column="strategy_label", regex=r"[+＋]"),
    ]


def csconv_dialogues(min_utterances: int, max_utterances: int) -> list:
    return [
        E.ExpectColumnValuesToBeUnique(column="csconv_id"),
        E.ExpectColumnValuesToBeInSet(column="language", value_set=["zh", "en"]),
        E.ExpectColumnValuesToBeBetween(column="n_utterances", min_value=min_utterances,
                                        max_value=max_utterances),
        E.ExpectColumnValuesToBeBetween(column="strategy_use", min_value=0.0, max_value=1.0),
        # computed per dialogue by the query that reads the published set
        E.ExpectColumnValuesToBeInSet(column="alternates", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="has_required_strategies", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="counts_match", value_set=[True]),
    ]
