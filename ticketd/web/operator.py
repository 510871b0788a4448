"""The operator's WebSocket messages (docs/protocol.rst, "Operator messages"): ``reprint``,
``pause``, ``resume``, ``clear`` and ``test_page``, for the dashboard, the CLI and other
admin tools. Sans-IO handlers of ``messages.Session``, which checks the tokens first: each
needs the admin token, as ``subscribe`` does, for each touches every client's jobs.

``reprint`` and ``test_page`` submit a job and are answered exactly like ``ticket`` (``ack``
or ``error``, later ``result``); the others answer one ``info`` whose ``status`` says what
was done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ticketd.web import replies
from ticketd.web.frames import BadRequest, job_id_of, safe_id
from ticketd.web.replies import Message

if TYPE_CHECKING:
    from ticketd.web.messages import Session


def _printer(session: Session, message: dict[str, Any], request_id: str | None) -> str:
    """The printer ``datos.printer`` names (name or alias); required, never the default."""
    datos = message.get("datos")
    name = datos.get("printer") if isinstance(datos, dict) else None
    if not isinstance(name, str):
        raise BadRequest(f"Field 'datos.printer' is required for type '{message['tipo']}'",
                         request_id)
    return session._printer(name, request_id, explicit=True)


def _answer(kind: str, mensaje: str, request_id: str | None, **fields: Any) -> Message:
    message = replies.extension(kind, mensaje, **fields)
    if request_id is not None:
        message["id"] = request_id
    return message


def reprint(session: Session, message: dict[str, Any]) -> None:
    """``{"tipo": "reprint", "id": NEW?, "datos": {"job": OLD}}``: OLD's bytes again."""
    new_id = job_id_of(message, required=False)
    datos = message.get("datos")
    old = datos.get("job") if isinstance(datos, dict) else None
    if isinstance(old, int) and not isinstance(old, bool):
        old = str(old)  # as an id sent as a number is read
    if not isinstance(old, str) or not old:
        raise BadRequest("Field 'datos.job' is required for type 'reprint': the id of the "
                         "finished job to print again", new_id)
    service = session.hub.service

    def submit(job_id: str) -> None:
        session._submit(job_id, "reprint", lambda jid: service.reprint(old, jid))

    if new_id is not None:
        submit(new_id)
    else:  # OLD~reprint-N: looked up first, so that its result is waited for
        session._later(service.reprint_id(old), submit, None)


#: tipo -> (paused, reply status, the mensaje when it changed, when it did not)
_HOLDS = {
    "pause": (True, "paused", "Paused {}: its jobs wait until it is resumed",
              "{} is already paused"),
    "resume": (False, "resumed_printer", "Resumed {}: its queued jobs print",
               "{} was not paused"),
}


def hold(session: Session, message: dict[str, Any]) -> None:
    """``pause`` and ``resume``: the operator's hold of a printer's queue."""
    paused, kind, changed, unchanged = _HOLDS[message["tipo"]]
    request_id = safe_id(message)
    printer = _printer(session, message, request_id)
    service = session.hub.service
    done = service.pause(printer) if paused else service.resume(printer)
    session.send(_answer(kind, (changed if done else unchanged).format(printer), request_id,
                         printer=printer))


def clear(session: Session, message: dict[str, Any]) -> None:
    """Cancel every waiting job of the printer; each one's ``result`` goes out as usual."""
    request_id = safe_id(message)
    printer = _printer(session, message, request_id)

    def done(ids: list[str]) -> None:
        session.send(_answer("cleared", f"Cancelled {len(ids)} queued jobs on {printer}",
                             request_id, printer=printer, cancelled=ids))

    session._later(session.hub.service.clear(printer), done, request_id)


def test_page(session: Session, message: dict[str, Any]) -> None:
    job_id = job_id_of(message, required=False)
    printer = _printer(session, message, job_id)
    service = session.hub.service
    session._submit(job_id, "test_page", lambda jid: service.test_page(printer, jid))


COMMANDS: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "reprint": reprint, "pause": hold, "resume": hold, "clear": clear,
    "test_page": test_page,
}

__all__ = ["COMMANDS", "reprint", "hold", "clear", "test_page"]
