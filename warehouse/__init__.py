"""DuckDB access: one file, numbered migrations, one writer at a time."""

from warehouse.db import WarehouseBusy, connect, query, warehouse_path

__all__ = ["WarehouseBusy", "connect", "query", "warehouse_path"]
