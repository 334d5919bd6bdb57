"""Credentials never shown: ethoflow.runtime.redact."""

from __future__ import annotations

import logging

import pytest

from ethoflow.runtime.redact import redact_credentials, redact_log_records


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://lab:s3cret@db:5432/mlflow", "postgresql://lab:***@db:5432/mlflow"),
        ("postgresql+psycopg://lab:p@ss:w0rd@db/optuna", "postgresql+psycopg://lab:***@db/optuna"),
        ("http://admin:hunter2@127.0.0.1:5000", "http://admin:***@127.0.0.1:5000"),
        ("https://:tok3n@host/x", "https://:***@host/x"),
        ("sqlite:///data/runs/optuna.db?timeout=5", "sqlite:///data/runs/optuna.db?timeout=5"),
        ("http://127.0.0.1:5000/api/2.0 ok", "http://127.0.0.1:5000/api/2.0 ok"),
        ("mysql://db/x?user=lab&password=s3cret&ssl=1", "mysql://db/x?user=lab&password=***&ssl=1"),
        ("host=db user=lab password=s3cret dbname=x", "host=db user=lab password=*** dbname=x"),
        ("PREFECT_API_AUTH_STRING=admin:s3cret", "PREFECT_API_AUTH_STRING=admin:***"),
        ("MLFLOW_TRACKING_PASSWORD=s3cret", "MLFLOW_TRACKING_PASSWORD=***"),
        ("{'api_key': 's3cret', 'n': 1}", "{'api_key': '***', 'n': 1}"),
        ("token: s3cret", "token: ***"),
        ("max_tokens=5, tokenizer: bpe", "max_tokens=5, tokenizer: bpe"),
        ("no URL here", "no URL here"),
    ],
)
def test_credentials_are_hidden_and_the_rest_kept(text, shown):
    assert redact_credentials(text) == shown


def test_every_url_in_a_message_is_redacted():
    text = (
        "registry at http://a:one@h1/ unreachable; storage postgresql://b:two@h2/db failed\n"
        "retry postgresql://b:two@h2/db"
    )
    shown = redact_credentials(text)
    assert "one" not in shown and "two" not in shown
    assert shown.count(":***@") == 3


def test_redacting_twice_changes_nothing():
    once = redact_credentials("postgresql://lab:s3cret@db/x?password=s3cret")
    assert redact_credentials(once) == once


@pytest.fixture
def record_factory():
    saved = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(saved)


def test_log_records_are_redacted_with_their_tracebacks(record_factory, caplog):
    redact_log_records()
    redact_log_records()  # a second call does not wrap the factory twice
    logger = logging.getLogger("ethoflow.test_redact")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("storage %s", "postgresql://lab:s3cret@db/x")
        try:
            raise ConnectionError("cannot reach postgresql://lab:s3cret@db/x")
        except ConnectionError:
            logger.exception("search failed")
    logged = caplog.text
    assert "s3cret" not in logged
    assert "postgresql://lab:***@db/x" in logged
    assert "ConnectionError" in logged  # the traceback is still there


def test_the_excepthook_prints_the_traceback_redacted(capsys):
    from ethoflow.runtime.redact import redacted_excepthook

    try:
        raise RuntimeError("API request to http://lab:s3cret@host/api failed")
    except RuntimeError as error:
        redacted_excepthook(type(error), error, error.__traceback__)
    printed = capsys.readouterr().err
    assert "Traceback" in printed and "http://lab:***@host/api" in printed
    assert "s3cret" not in printed
