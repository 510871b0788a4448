"""Reading one WebSocket frame: the JSON object it must hold and the client's job id.

Every problem is a :class:`BadRequest` whose ``str()`` is the ``mensaje`` the client gets.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ticketd import jobids, jsoncodec

MAX_ID = jobids.MAX_LENGTH
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BadRequest(Exception):
    """A refused frame; ``str()`` is the client's ``mensaje``."""

    def __init__(self, mensaje: str, job_id: str | None = None) -> None:
        super().__init__(mensaje)
        self.job_id = job_id


class Refused(BadRequest):
    """A refusal that leaves an audit event (``audit=True``): a bad token or a refused job.
    ``reason``: auth_failed, unknown_printer, rate_limited, queue_full, unavailable."""

    def __init__(self, mensaje: str, job_id: str | None, reason: str) -> None:
        super().__init__(mensaje, job_id)
        self.reason = reason


def _read(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"), parse_constant=jsoncodec.no_constant)


def decode(frame: bytes | str) -> dict[str, Any]:
    """The message object of one text frame, or BadRequest saying what is wrong with it."""
    try:
        data = frame if isinstance(frame, bytes) else frame.encode("utf-8")
        message = jsoncodec.loads(data, _read)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, bad UTF-8, 5000-digit ints
        raise BadRequest(f"JSON: malformed message: {str(e)[:200]}") from None
    if not isinstance(message, dict):
        raise BadRequest("JSON: a message must be a JSON object")
    if _SURROGATE_ESCAPE.search(data):  # rare: only then pay for the full check
        try:
            json.dumps(message, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest("JSON: the message contains an unpaired surrogate escape") from None
        except RecursionError:
            raise BadRequest("JSON: the message is nested too deeply") from None
    return message


def show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 64 else text[:61] + "..."


def job_id_of(message: dict[str, Any], *, required: bool) -> str | None:
    """The client's job id: a printable string of 1-128 characters (numbers are accepted
    and turned into strings); None when absent and not required."""
    value = message.get("id")
    if value is None:
        if required:
            raise BadRequest("Field 'id' is required for type " + repr(message.get("tipo")))
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not jobids.is_valid(value, MAX_ID):
        raise BadRequest(f"Field 'id' must be a printable string of 1-{MAX_ID} characters")
    return value


MAX_TTL = 7 * 86400.0


def deadline_of(message: dict[str, Any], now: float, job_id: str | None) -> float | None:
    """The job's deadline (extension): ``expires`` (unix seconds) and/or ``ttl`` (seconds
    from now) on the message; the earlier one wins. A job not started by then ends
    ``expired`` and is never printed."""
    deadlines = []
    for field in ("expires", "ttl"):
        value = message.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise BadRequest(f"Field '{field}' must be a number of seconds, got {show(value)}",
                             job_id)
        if field == "ttl":
            if not 0 < value <= MAX_TTL:
                raise BadRequest(f"Field 'ttl' must be between 0 and {MAX_TTL:g} seconds, "
                                 f"got {show(value)}", job_id)
            value = now + value
        deadlines.append(float(value))
    return min(deadlines) if deadlines else None


def safe_id(message: dict[str, Any]) -> str | None:
    """The message's id to echo in a reply, if it is a usable one."""
    try:
        return job_id_of(message, required=False)
    except BadRequest:
        return None
