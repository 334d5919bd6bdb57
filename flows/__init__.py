"""Prefect flows: thin wiring of the library functions in ``src/ethoflow`` into the pipeline.

Installed as the package ``ethoflow.flows`` (pyproject's ``package-dir``), so the CLI, DVC and
Prefect deployments import the same code whatever the working directory.
"""
