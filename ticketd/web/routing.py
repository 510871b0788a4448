"""What all WebSocket connections of one server share (``messages.py`` has the rest: the
sessions, and the Hub that opens them): the
print service, the tokens, the rate limit, the dashboard's feeds, and the routing of each
job's news (its ``result``, ``sent`` and a hold inside it, a queue's hold and its end) to the connections waiting for it.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Callable

from twisted.logger import Logger

from ticketd.jobs.model import JobEvent, JobState
from ticketd.jobs.service import PrinterEvent, PrintService
from ticketd.web import replies
from ticketd.web.access import tokens_match
from ticketd.web.live import Live

if TYPE_CHECKING:
    from ticketd.web.messages import Session


class Routing:
    """Shared by all connections of one server; routes job news to waiting connections."""

    log = Logger()

    def __init__(self, service: PrintService, *, clock: Any, auth_token: str | None = None,
                 rate_limit: float = 0.0, admin_token: str | None = None) -> None:
        self.service = service
        self.clock = clock
        self.auth_token = auth_token
        self.admin_token = admin_token  # None: no admin checks (the daemon always has one)
        self.rate_limit = rate_limit
        self.waiting: dict[str, set[Session]] = collections.defaultdict(set)
        self.sessions: set[Session] = set()
        self.live = Live(service, clock)  # the dashboard's subscriptions (live.py)
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.service.subscribe(self._on_event)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def token_ok(self, token: Any) -> bool:
        if self.auth_token is None:
            return True
        return isinstance(token, str) and tokens_match(token, self.auth_token)

    def wait(self, job_id: str, session: Session) -> None:
        self.waiting[job_id].add(session)

    def unwait(self, job_id: str, session: Session) -> None:
        waiters = self.waiting.get(job_id)
        if waiters is not None:
            waiters.discard(session)
            if not waiters:
                del self.waiting[job_id]

    def closed(self, session: Session) -> None:
        """The connection is gone: its jobs' results stay in the journal (``job_status``)."""
        self.sessions.discard(session)
        self.live.closed(session)
        for job_id in list(session.jobs):
            self.unwait(job_id, session)
        session.jobs.clear()

    def _on_event(self, event: Any) -> None:
        self.live.publish(event)
        if isinstance(event, PrinterEvent):
            self._hold_news(event)
            return
        if not isinstance(event, JobEvent):
            return
        if event.new is JobState.SENT:
            self._sent_news(event)
            return
        if not event.new.final:
            return
        waiters = self.waiting.pop(event.job.id, None)
        if not waiters:
            return
        message = replies.result(event.job)
        for session in waiters:
            session.jobs.discard(event.job.id)
            session.deliver(event.job.id, message)

    def _sent_news(self, event: JobEvent) -> None:
        """A job at the printer, not confirmed yet (``sent``), and why it is late (paper
        out inside it): ``info`` messages, which every client shows or ignores."""
        waiters = self.waiting.get(event.job.id)
        if not waiters:
            return
        if event.old is not JobState.SENT:
            message = replies.sent(event.job.id)
        elif event.progress is not None and event.progress.startswith("Waiting"):
            message = replies.stopped_inside(event.job.id, event.progress)
        else:
            return
        for session in list(waiters):
            session.deliver(event.job.id, message)

    def _hold_news(self, event: PrinterEvent) -> None:
        """A hold and its end reach the jobs' connections as ``info``: old clients show
        it, and the ack is no longer followed by silence while the paper is out. One
        printer event for the whole queue (a dict lookup per job); only the jobs someone
        waits for cost a message."""
        for jobs, held in ((event.held, True), (event.resumed, False)):
            for job in jobs:
                waiters = self.waiting.get(job.id)
                if not waiters:
                    continue
                message = (replies.held(job.id, event.progress) if held
                           else replies.resumed(job.id))
                for session in list(waiters):
                    session.deliver(job.id, message)
