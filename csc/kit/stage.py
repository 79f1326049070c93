"""An LLM stage, described: what it asks, what is pending, and how its outcomes become rows.

A stage is a page of domain code: `pending`, `load`, `process` and `rows` (plus `write` when a
table needs more than insert-if-absent). Everything else - the version, planning, the warehouse,
the journal, the gateway, contracts, commits and counts - is the runner's (csc.kit.runner).
No Prefect here, and no SQL: queries live in sql/ and run through warehouse/.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import duckdb
import pandera.polars as pa
import polars as pl

from csc.kit.ref import StageRef
from csc.llm.settings import LLMSettings
from csc.prompts import load_prompt
from schemas.llm import Role
from warehouse.db import insert_rows, transaction

Item = TypeVar("Item")
Out = TypeVar("Out")
LANGUAGES = ("zh", "en")


class LLMStage(ABC, Generic[Item, Out]):
    """One LLM stage for one run. Subclasses set the class attributes and the four methods."""

    name: ClassVar[str]  # the journal's stage, and the flows' and CLI's name for it
    roles: ClassVar[tuple[Role, ...]]  # the roles it asks, in the order it asks them
    tables: ClassVar[tuple[str, ...]]  # the tables its rows go to, in write order
    # Pandera contracts per table, checked before a commit (a failure is a bug, and raises).
    contracts: ClassVar[dict[str, type[pa.DataFrameModel]]] = {}
    # Tables whose rows carry no `created_at` stamp.
    unstamped: ClassVar[tuple[str, ...]] = ()
    languages: tuple[str, ...] = LANGUAGES
    # Items kept in flight per endpoint slot (CSC_LLM_CONCURRENCY). Two keep every slot busy
    # when an item makes a few calls; a stage whose item is a long chain of calls in sequence
    # (a RoleCS dialogue) wants more alive at once, or the run ends in a tail of idle slots.
    items_per_slot: ClassVar[int] = 2

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings

    @property
    def key(self) -> str:
        """Which stage this is among the runnable ones: the name, then any options' values
        (AnnotationStage(kind="raw") is "annotate-raw")."""
        return self.name

    @classmethod
    def ref(cls, **options: str) -> StageRef:
        """This stage with `options`, as a flow names it for the Prefect tasks."""
        key = "-".join((cls.name, *options.values()))
        return StageRef(key, f"{cls.__module__}:{cls.__qualname__}", tuple(options.items()))

    # -- what the stage declares ----------------------------------------------------------
    def settings_parts(self, language: str) -> list[str]:
        """The stage's own settings that shape an outcome (thresholds, rule versions)."""
        return []

    def version(self, language: str) -> str:
        """Identifies everything that shapes an item's outcome: each role's prompt and model,
        then the stage's settings. A new value means the item is processed again (its
        unchanged calls come from the cache)."""
        parts = [load_prompt(r, language).version + "|" + self.settings.role(r).model
                 for r in self.roles]
        parts += self.settings_parts(language)
        digest = hashlib.sha256("||".join(parts).encode()).hexdigest()[:12]
        return f"{self.name}-{language}-{digest}"

    @abstractmethod
    def pending(self, con: duckdb.DuckDBPyConnection, language: str, version: str,
                limit: int | None) -> list[str]:
        """Ids of the items without an outcome under `version`."""

    @abstractmethod
    def load(self, con: duckdb.DuckDBPyConnection, language: str,
             ids: Sequence[str]) -> list[Item]:
        """The items of `ids` (an id that vanished is simply absent)."""

    @abstractmethod
    async def process(self, gw: Any, item: Item) -> Out:
        """The domain logic: ask roles with `gw.ask`, decide, return the outcome."""

    @abstractmethod
    def rows(self, outcomes: list[Out], version: str, run_id: str) -> dict[str, list[dict]]:
        """Rows per table for finished outcomes (no I/O)."""

    def write(self, con: duckdb.DuckDBPyConnection, tables: dict[str, list[dict]]
              ) -> dict[str, int]:
        """Insert-if-absent, table by table, in one transaction (idempotent)."""
        with transaction(con):
            return {t: self.insert(con, t, tables.get(t, [])) for t in self.tables}

    def insert(self, con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> int:
        return insert_rows(con, table, rows, None if table in self.unstamped else "created_at")

    def check(self, tables: dict[str, list[dict]]) -> None:
        """Hold rows to the stage's contracts before they are written (raises on a bug)."""
        for table, contract in self.contracts.items():
            rows = tables.get(table)
            if rows:
                contract.validate(_typed(pl.DataFrame(rows, infer_schema_length=None),
                                         contract))


def _typed(frame: pl.DataFrame, contract: type[pa.DataFrameModel]) -> pl.DataFrame:
    """A column that is None in every row has no type; give it the contract's."""
    columns = contract.to_schema().columns
    return frame.with_columns(
        pl.col(name).cast(columns[name].dtype.type) for name in frame.columns
        if frame[name].dtype == pl.Null and name in columns)
