"""Log lines never carry credentials: API tokens and keys in query strings, and the lead intake token in its
path, become `[redacted]`.

The websocket accepts `?token=<key>` (scripts cannot set headers on every client library), and uvicorn logs
the path with its query string ("WebSocket /ws/alerts/?token=..." [accepted], and the access log). The filter
sits on every handler of the root and uvicorn loggers, so it holds whatever logger a line comes from.
"""

from __future__ import annotations

import logging
import logging.config
import re

# Query parameters that carry a credential: ?token=, &api_key=, ?access_token=, ?key=, ?password=, ...
SECRET_QUERY_PARAM = re.compile(
    r"(?P<name>(?:[?&;]|%3F|%26)(?:token|access_token|api_token|api_key|apikey|key|secret|password|signature)=)"
    r"(?P<value>[^&;\s\"'#]+)",
    re.IGNORECASE,
)
# Paths that carry a credential: a lead provider's intake token (Django's "Bad Request: /intake/adf/<token>/",
# uvicorn's access log).
SECRET_PATH_SEGMENT = re.compile(r"(?P<name>/intake/adf/)(?P<value>[^/\s?\"'#]+)")
REDACTED = "[redacted]"
# uvicorn configures these before Django does; their handlers do not propagate to root.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "daphne", "django.server", "celery")


def redact(text: str) -> str:
    text = SECRET_QUERY_PARAM.sub(lambda m: m.group("name") + REDACTED, text)
    return SECRET_PATH_SEGMENT.sub(lambda m: m.group("name") + REDACTED, text)


def _redact_value(value):
    return redact(value) if isinstance(value, str) else value


class RedactSecretsFilter(logging.Filter):
    """Rewrites the message and its arguments in place; keeps the arguments' shape (uvicorn's access
    formatter unpacks them by position)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return True


def install_redaction(logger_names=SERVER_LOGGERS) -> None:
    """Put the filter on every handler of the root logger and the servers' loggers (idempotent)."""
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in logger_names]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
                handler.addFilter(RedactSecretsFilter())


def configure(logging_settings: dict) -> None:
    """LOGGING_CONFIG: dictConfig, then the filter on handlers that others (uvicorn) set up before Django."""
    logging.config.dictConfig(logging_settings)
    install_redaction()
