"""A document is read and validated once, when it is submitted, before it is acknowledged.

So an invalid document gets its ``error`` at once (not an ``ack`` and later a failed
``result``), and the printer's thread gets a document known to be good: the v1 document
intake made of whatever dialect was sent, which the job keeps (and the journal stores) in
place of the original, with intake's warnings. Rendering then neither reads nor validates
it again (``Job.checked``).

Validation costs about a tenth of a millisecond for a receipt, less than handing it to a
thread and back; a document with more than :data:`ON_REACTOR` commands is validated in the
thread pool instead, so that no document, however long, holds up the reactor.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
from twisted.internet.defer import Deferred, fail, succeed

from ticketd.documents import check
from ticketd.jobs.api import SubmitError
from ticketd.stages import Stages

ON_REACTOR = 200  # commands; longer documents are validated in a thread
Runner = Callable[..., Deferred]


class InvalidDocument(SubmitError):
    """The document cannot be printed; ``str()`` is its errors, ``CATEGORY: path: ...``
    (docs/protocol.rst, "Error categories"), joined with ``; ``."""


@attrs.frozen
class Admitted:
    document: Any  # the v1 document, as intake read it
    warnings: tuple[str, ...]


def admit(document: Any, *, strict: bool, stages: Stages, run: Runner) -> Deferred[Admitted]:
    """The document read and validated (on the reactor, or in ``run``'s thread when it is
    long); fails with InvalidDocument, never raises."""
    commands = document.get("commands") if isinstance(document, dict) else None
    if isinstance(commands, list) and len(commands) > ON_REACTOR:
        return run(_admit, document, strict, stages)
    try:
        return succeed(_admit(document, strict, stages))
    except InvalidDocument:
        return fail()


def _admit(document: Any, strict: bool, stages: Stages) -> Admitted:
    checked = stages.run("validate", lambda: check(document, strict=strict))
    if checked.errors:
        raise InvalidDocument("; ".join(checked.errors))
    return Admitted(checked.document, checked.warnings)
