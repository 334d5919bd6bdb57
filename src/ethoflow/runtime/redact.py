"""Credentials out of anything shown: messages, logs, MLflow tags, model cards, web pages.

A database or server URL may carry a password (``postgresql://user:secret@host/db``), and so may
a setting or an environment variable (``PREFECT_API_AUTH_STRING=admin:secret``). Whatever text
could show one goes through :func:`redact_credentials` first; :func:`redact_log_records` does it
for every log record of the process, :func:`redacted_excepthook` for a traceback that ends it.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType

HIDDEN = "***"

# scheme://user:password@host: the password up to the last "@" before the path (a password may
# hold an unescaped "@"; it cannot hold "/" or a space and still be read as a URL).
_URL_PASSWORD = re.compile(r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/]+(?=@)")
# password=…, token: …, 'api_key': '…' (query parameters, key=value DSNs, env lines, reprs).
_SECRET_VALUE = re.compile(
    r"(?P<keep>\b[\w-]*(?:password|passwd|pwd|secret|token|api_key|apikey)\b['\"]?"
    r"\s*[=:]\s*['\"]?)(?P<value>[^\s'\",;&}#]+)",
    re.IGNORECASE,
)
# PREFECT_API_AUTH_STRING=user:password and alike: the user stays readable.
_AUTH_STRING = re.compile(
    r"(?P<keep>\b\w*auth_string\b['\"]?\s*[=:]\s*['\"]?[^\s:'\"]*:)[^\s'\",;&}#]+",
    re.IGNORECASE,
)


def redact_credentials(text: str) -> str:
    """``text`` with every password, token and secret it holds replaced by ``***``: in URLs'
    user information, ``password=``/``token=``-style parameters and ``*_AUTH_STRING`` values.
    The rest (scheme, user, host, database) stays, so the message still says where."""
    text = _URL_PASSWORD.sub(rf"\g<keep>{HIDDEN}", text)
    text = _AUTH_STRING.sub(rf"\g<keep>{HIDDEN}", text)
    return _SECRET_VALUE.sub(
        lambda m: m.group(0) if m.group("value") == HIDDEN else f"{m.group('keep')}{HIDDEN}",
        text,
    )


def redact_log_records() -> None:
    """Redact every log record this process makes from now on, whichever handler writes it (the
    run's log file, the terminal, Prefect's API): its message and its traceback. Calling it
    again changes nothing."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call: logging reports it when formatting
            return record
        record.msg, record.args = redact_credentials(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted now, while the exception is at hand; formatters use exc_text as it is.
            record.exc_text = redact_credentials(
                "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            )
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def redacted_excepthook(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    """``sys.excepthook`` that prints the traceback of an uncaught exception redacted (MLflow's
    errors repeat the tracking URI, password included)."""
    sys.stderr.write(redact_credentials("".join(traceback.format_exception(kind, error, trace))))
