"""No full NIK or No. KK in any log line.

Every 16-digit number (the shape of both) in a log record is masked as the screens mask it
(6309********0001), whatever wrote the line: gunicorn's access log (request lines, referrers),
Werkzeug's development server, the app's own loggers and tracebacks.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from app.access.personal import mask

# Sixteen digits not inside a longer number; in URLs a percent-escape (%27…) may stand just before.
_IDENTITY = re.compile(r"(?:(?<=%[0-9A-Fa-f]{2})|(?<!\d))\d{16}(?!\d)")
LOGGERS = ("", "gunicorn.access", "gunicorn.error", "werkzeug", "flask.app", "sqlalchemy.engine")


def redact(text: str) -> str:
    """The text with every 16-digit number masked."""
    return _IDENTITY.sub(lambda m: mask(m.group()), text)


class RedactIdentityNumbers(logging.Filter):
    """A logging filter that masks NIK / No. KK in the formatted message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactIdentityNumbers()


def install(*loggers: Any) -> None:
    """Put the filter on the named loggers and on every handler they and the root logger have.

    A logger's own filters see only records made on it, a handler's see every record it
    writes, so both are covered; handlers added later (gunicorn's) are covered by calling this
    again after they are set up.
    """
    targets = [logging.getLogger(name) if isinstance(name, str) else name for name in (*LOGGERS, *loggers)]
    for logger in targets:
        for holder in (logger, *logger.handlers):
            if _FILTER not in holder.filters:
                holder.addFilter(_FILTER)


class GunicornLogger(Logger):
    """gunicorn's logger with the filter on its access and error logs (`--logger-class`)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install(self.access_log, self.error_log)
