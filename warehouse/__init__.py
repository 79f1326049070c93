"""DuckDB access: one file, numbered migrations, one writer at a time."""

from warehouse.db import WarehouseBusy, WarehouseError, connect, query, warehouse_path

__all__ = ["WarehouseBusy", "WarehouseError", "connect", "query", "warehouse_path"]
