"""Prefect flows: thin wiring of the library functions into the pipeline."""
