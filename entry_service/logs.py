"""JSON log lines with the correlation id; phones, emails and tokens masked (SPEC OPS-001)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from adapters_http.server.context import CORRELATION_KEY

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_PHONE = re.compile(r"\+\d{4}(\d{3,})(\d{2})")
_TOKEN = re.compile(r"(Bearer\s+|eyJ)[A-Za-z0-9._\-]+")


def mask(text: str) -> str:
    """Masks email addresses, phone numbers and tokens in free text."""
    text = _TOKEN.sub("[token]", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(lambda m: m.group(0)[:5] + "*" * len(m.group(1)) + m.group(2), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            "correlationId": _correlation_id(),
        }
        if record.exc_info:
            line["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(line)


def _correlation_id() -> str | None:
    """The request's correlation id, which the HTTP middleware keeps in the WSGI environ."""
    try:
        from flask import has_request_context, request  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return None
    return request.environ.get(CORRELATION_KEY) if has_request_context() else None


def configure_logging(level: int = logging.INFO) -> None:
    """Every log line of the process as JSON on stderr (Python's warnings too)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    for chatty in ("httpx", "httpcore"):  # a line per outbound call at INFO: only their warnings are news
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


# The HTTP server's own log (granian's ``log_dictconfig``): its lines and its access lines as ours, on stderr.
GRANIAN_LOGGING = {
    "formatters": {
        "generic": {"()": "entry_service.logs.JsonFormatter"},
        "access": {"()": "entry_service.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"formatter": "generic", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
    },
}
