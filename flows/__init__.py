"""Prefect flows: thin wiring of the library functions in ``src/ethoflow`` into the pipeline.

Installed as the package ``ethoflow.flows`` (pyproject's ``package-dir``), so the CLI, DVC and
Prefect deployments import the same code whatever the working directory.

A flow run by a Prefect worker logs to the Prefect API without the CLI's log set-up: importing
the flows redacts credentials from every log record of the process, as the CLI does.
"""

from ethoflow.runtime.redact import redact_log_records

redact_log_records()
