"""Log handlers for the worker: JSON lines for supervisors, readable lines for a terminal.

Only the CLI configures logging. Records of the worker carry the fields named in
`dicomidx.worker.logs.FIELDS`; both formats print every one that is set. The Azure SDK's own
loggers stay at WARNING at every verbosity: its request logs are noise here.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum

from dicomidx.worker.logs import FIELDS


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    TEXT = "text"


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class ReadableFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{name}={getattr(record, name)}"
            for name in FIELDS
            if name not in ("operation", "log_type") and getattr(record, name, None) is not None
        )
        kind = getattr(record, "log_type", None)
        head = f"{_timestamp(record)} {record.levelname:<7} {kind or '-':<10}"
        text = f"{head} {record.getMessage()}" + (f"  [{fields}]" if fields else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    """Send dicomidx's records to stderr in the chosen format; `auto` is text on a terminal."""
    if log_format is LogFormat.AUTO:
        log_format = LogFormat.TEXT if sys.stderr.isatty() else LogFormat.JSON

    handler = logging.StreamHandler(sys.stderr)
    is_json = log_format is LogFormat.JSON
    handler.setFormatter(JsonLinesFormatter() if is_json else ReadableFormatter())
    package = logging.getLogger("dicomidx")
    package.handlers[:] = [handler]
    package.setLevel(level)
    package.propagate = False

    # The SDK's warnings (a retried request, say) go through the same handler, so that a JSON
    # log stays JSON lines; its sign-in chatter stays out, dicomidx's own errors explain it.
    azure = logging.getLogger("azure")
    azure.handlers[:] = [handler]
    azure.setLevel(logging.DEBUG if debug_enabled() else logging.WARNING)
    azure.propagate = False
    logging.getLogger("azure.identity").setLevel(logging.ERROR)


def debug_enabled() -> bool:
    """Whether `dicomidx --debug` was given (it sets the root logger to DEBUG)."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
