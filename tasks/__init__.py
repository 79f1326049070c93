"""Prefect tasks: thin wrappers over the domain package that add retries, logging, artifacts."""
