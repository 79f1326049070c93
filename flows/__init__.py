"""Prefect flows: one per stage, and `nightly`, the DAG that runs them in order."""
