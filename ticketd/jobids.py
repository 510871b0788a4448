"""The one rule for a client's job id, shared by the WebSocket and MQTT APIs.

A job id is echoed in replies, written to logs and to the journal (UTF-8), and shown on
the dashboard: control characters or lone surrogates in it would break one of them.
"""

from __future__ import annotations

from typing import Any

MAX_LENGTH = 128  # the WebSocket API's limit


def is_valid(value: Any, max_length: int = MAX_LENGTH) -> bool:
    """True for a printable, not blank string of 1..``max_length`` characters
    (``isprintable`` is False for control characters and lone surrogates)."""
    return (isinstance(value, str) and 0 < len(value) <= max_length and value.isprintable()
            and not value.isspace())
