"""The MQTT print-server payloads, parsed and built without I/O (docs/protocol.rst,
"MQTT print-server protocol").

:func:`parse` turns the bytes of one ``P/print`` message into a :class:`PrintRequest`,
a :class:`CancelRequest` or a :class:`BadRequest`; it never raises, so a hostile or broken
payload cannot stop the client. The ``printed_*`` and :func:`status` helpers build the
JSON that ticketd publishes, so the wording clients depend on lives in one place.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Union

import attrs

from ticketd import jobids, jsoncodec
from ticketd.jobs.api import fault_text
from ticketd.jobs.model import Job, JobState

MAX_JOBID = 200  # not the WebSocket API's 128: ids accepted until now stay valid
_JOBID_PEEK = 4096
_JOBID_RE = re.compile(rb'"jobid"\s*:\s*"([^"\\]{1,200})"')
# A lone surrogate can only come from a \uD800-\uDFFF escape, UTF-8 bytes ED A0-BF (json
# decodes bytes with "surrogatepass") or a UTF-16/32 payload (which has NUL bytes): only
# then is the full check paid for.
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")

OFFLINE = {"status": "Offline", "ok": False}
MAX_HOLD = 7 * 86400  # seconds, as a printer's hold_timeout


@attrs.frozen
class PrintRequest:
    """A job: raw ESC/POS bytes (``data``, maybe empty) or a v1 document; ``expires`` is
    unix seconds; ``hold`` the seconds a printer fault may hold it (None: not said)."""

    jobid: str
    data: bytes | None = None
    document: dict[str, Any] | None = None
    expires: float | None = None
    hold: float | None = None


@attrs.frozen
class CancelRequest:
    jobid: str


@attrs.frozen
class BadRequest:
    """A payload that is refused; ``jobid`` is set when one could be read (for the reply).
    ``text`` is the answer where the original server had its own (else ``Aborted: ...``)."""

    jobid: str | None
    reason: str  # "CATEGORY: message"
    text: str | None = None


Request = Union[PrintRequest, CancelRequest, BadRequest]


def parse(payload: bytes, max_payload: int = 1 << 20) -> Request:
    """One ``P/print`` payload → a request. Never raises."""
    if len(payload) > max_payload:
        m = _JOBID_RE.search(payload[:_JOBID_PEEK])
        jobid = m.group(1).decode("utf-8", "replace") if m else None
        if not jobids.is_valid(jobid, MAX_JOBID):
            jobid = None  # never echo control characters
        return BadRequest(jobid, f"JSON: payload of {len(payload)} bytes exceeds the limit "
                                 f"of {max_payload} bytes")
    try:
        obj = jsoncodec.loads(payload, _read)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        return BadRequest(None, f"JSON: not valid JSON: {str(e)[:200]}")
    if not isinstance(obj, dict):
        return BadRequest(None, f"JSON: expected an object, got {_kind(obj)}")
    jobid = obj.get("jobid")
    if isinstance(jobid, (int, float)) and not isinstance(jobid, bool):
        jobid = str(jobid)  # the original server took any jobid as its str()
    if jobid is None:
        return BadRequest(None, "JSON: field 'jobid' is required")
    if not isinstance(jobid, str) or not jobid:
        return BadRequest(None, f"JSON: field 'jobid' must be a non-empty string, got "
                                f"{_kind(jobid)}")
    if len(jobid) > MAX_JOBID:
        return BadRequest(None, f"JSON: field 'jobid' is longer than {MAX_JOBID} characters")
    if not jobids.is_valid(jobid, MAX_JOBID):
        return BadRequest(None, "JSON: field 'jobid' must be printable text (no control "
                                "characters, unpaired surrogates or only spaces)")
    if _SURROGATE_HINT.search(payload):
        problem = _unencodable(obj)
        if problem is not None:
            return BadRequest(jobid, problem)
    cancel = obj.get("cancel")
    if cancel is not None and cancel is not False:
        if cancel is not True:
            return BadRequest(jobid, f"JSON: field 'cancel' must be true, got {_kind(cancel)}")
        return CancelRequest(jobid)
    expires = obj.get("expires")
    if expires is not None and (isinstance(expires, bool)
                                or not isinstance(expires, (int, float))):
        return BadRequest(jobid, f"JSON: field 'expires' must be unix seconds (a number), "
                                 f"got {_kind(expires)}")
    expires = float(expires) if expires is not None else None
    hold = obj.get("hold")
    if hold is not None and (isinstance(hold, bool) or not isinstance(hold, (int, float))
                             or not 0 <= hold <= MAX_HOLD):
        return BadRequest(jobid, f"JSON: field 'hold' must be seconds (a number 0-{MAX_HOLD}), "
                                 f"got {_kind(hold)}")
    hold = float(hold) if hold is not None else None
    data, document = obj.get("data"), obj.get("document")
    if data is not None and document is not None:
        return BadRequest(jobid, "JSON: give either 'data' or 'document', not both")
    if document is not None:
        if not isinstance(document, dict):
            return BadRequest(jobid, f"JSON: field 'document' must be an object, got "
                                     f"{_kind(document)}")
        return PrintRequest(jobid, document=document, expires=expires, hold=hold)
    if data is None:
        return BadRequest(jobid, "JSON: field 'data' (base64 ESC/POS) or 'document' is "
                                 "required", "Aborted: missing data")
    if not isinstance(data, str):
        return BadRequest(jobid, f"RAW: field 'data' must be a base64 string, got "
                                 f"{_kind(data)}", _decoding_error(data))
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        return BadRequest(jobid, f"RAW: invalid base64 in 'data': {e}",
                          f"Error decoding data: e={e!r}")
    return PrintRequest(jobid, data=raw, expires=expires, hold=hold)  # empty: prints nothing


def _decoding_error(data: Any) -> str:
    """The original server's answer to ``data`` it could not decode, in its own words."""
    try:
        base64.b64decode(data)
    except Exception as e:  # what b64decode says of a number, a list ...
        return f"Error decoding data: e={e!r}"
    return "Error decoding data"


def _read(payload: bytes) -> Any:
    """json's reading of a payload: UTF-8, -16 or -32, as the original server read it."""
    return json.loads(payload, parse_constant=jsoncodec.no_constant)


def _unencodable(obj: dict[str, Any]) -> str | None:
    """Why ``obj`` cannot be stored and echoed as UTF-8 JSON, or None. A lone surrogate
    would fail only later, in the journal's batch, taking other clients' jobs with it."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "JSON: the message contains an unpaired surrogate (\\uD800-\\uDFFF)"
    except RecursionError:
        return "JSON: the message is nested too deeply"
    return None


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


# --- what ticketd publishes ---------------------------------------------------------------

# one encoder for every reply: ``json.dumps`` with a separators argument builds a new one
# per call
_ENCODER = json.JSONEncoder(separators=(", ", ": "))


def encode(obj: dict[str, Any]) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8")


def printed(jobid: str, status: str, finished: bool, success: bool) -> bytes:
    return encode({"jobid": jobid, "status": status, "finished": finished,
                   "success": success})


def in_progress(jobid: str) -> bytes:
    return printed(jobid, "In progress", False, False)


def waiting(jobid: str, text: str) -> bytes:
    """``text`` is the progress as the queue gives it, e.g. "Waiting: Out of paper"."""
    if not text.startswith("Waiting"):
        text = f"Waiting: {text}"
    return printed(jobid, text, False, False)


def done(jobid: str) -> bytes:
    return printed(jobid, "Printed", True, True)


def aborted(jobid: str, reason: str | None) -> bytes:
    return printed(jobid, f"Aborted: {reason or 'ERROR: unknown reason'}", True, False)


def failed(jobid: str, text: str) -> bytes:
    """Finished, not printed, with ``text`` as it is (the original server's answers)."""
    return printed(jobid, text, True, False)


def for_job(job: Job, progress: str | None = None, status_text: str | None = None
            ) -> bytes | None:
    """The ``P/printed`` payload for the job's present state (None: nothing to say)."""
    state = job.state
    if state is JobState.PRINTED:
        return done(job.id)
    if state is JobState.FAILED:
        fault = fault_text(job.reason)
        if fault is not None:  # met a fault and may not wait: the fault's text, as it is
            return failed(job.id, fault)
        if job.attempts > 0:  # its bytes went to the printer, which did not take them
            return failed(job.id, f"Print failed: {job.reason}")
    if state.final:
        return aborted(job.id, job.reason)
    if state is JobState.PRINTING:
        return in_progress(job.id)
    if state is JobState.SENT:
        # at the printer, the paper not out yet: still "In progress" (said already when it
        # started printing), or why it is late: "Waiting: Out of paper (the printer
        # stopped inside this job)"
        if progress is not None and progress.startswith("Waiting"):
            return waiting(job.id, progress)
        return None
    if state is JobState.HELD:
        return waiting(job.id, progress or status_text or "Waiting")
    return None  # queued: the protocol has no text for it


def status(fields: dict[str, Any]) -> bytes:
    """``P/status``: the printer's status dict (``status``, ``ok`` first)."""
    out = {"status": fields["status"], "ok": bool(fields["ok"])}
    out.update((k, v) for k, v in fields.items() if k not in out)
    return encode(out)


def offline() -> bytes:
    return encode(OFFLINE)
