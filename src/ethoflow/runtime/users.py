"""Who acts: the user a lab server authenticated, else the login name on this machine.

Behind the lab's proxy (docker/Caddyfile) the web UI hears the checked user in a header the
proxy overwrites, and the MLflow client signs in as ``MLFLOW_TRACKING_USERNAME``; on a lab PC
without either, the login name stands in.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping

# Set by the proxy to the user it authenticated, replacing whatever a client sent.
USER_HEADER = "X-Ethoflow-User"
# The users, space-separated, the proxy lets into Prefect; the web UI lets them start a retrain.
MAINTAINERS_VARIABLE = "ETHOFLOW_MAINTAINERS"


def login_name() -> str:
    """The login name of this process's user ("unknown" when it has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # e.g. a container user without a passwd entry
        return "unknown"


def web_user(headers: Mapping[str, str]) -> str:
    """The user the proxy authenticated for this web request, else the login name."""
    return headers.get(USER_HEADER, "").strip() or login_name()


def mlflow_user() -> str:
    """The user the MLflow server authenticates (``MLFLOW_TRACKING_USERNAME``), else the
    login name."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip() or login_name()


def is_maintainer(user: str) -> bool:
    """Whether ``user`` may start work for the whole lab (a retrain): one of
    ``ETHOFLOW_MAINTAINERS``, or anyone when it is unset (a lab PC without the proxy, where the
    person at it may run ``ethoflow`` commands anyway)."""
    maintainers = os.environ.get(MAINTAINERS_VARIABLE, "").split()
    return not maintainers or user in maintainers
