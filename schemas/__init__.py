"""Data contracts: Pandera (polars) models enforced at stage boundaries."""
