"""The HTTP access log without secrets: twisted.web's combined log line with the value of
every query parameter whose name holds ``token`` (``token``, ``auth_token``,
``admin_token``, however URL-encoded) replaced by ``REDACTED``, in the request line and
the referrer alike. Old clients still put ``?token=`` in URLs; the log must not keep it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from twisted.web.http import combinedLogFormatter

REDACTED = "REDACTED"
_PARAMETER = re.compile(r'([?&;])([^=&;\s"?#]*)=([^&;\s"#]*)')


def redact(line: str) -> str:
    """``line`` with the token parameters' values replaced."""
    def one(match: re.Match[str]) -> str:
        sep, key, value = match.groups()
        if "token" in unquote_plus(key).lower():
            value = REDACTED
        return f"{sep}{key}={value}"
    return _PARAMETER.sub(one, line)


def redacting_formatter(timestamp: str, request: Any) -> str:
    """An ``IAccessLogFormatter`` for ``Site(logFormatter=...)``."""
    return redact(combinedLogFormatter(timestamp, request))
