"""One printer's topics ↔ the print service: ``P/print`` in, ``P/printed`` and ``P/status``
out (docs/protocol.rst, "MQTT print-server protocol").

No reactor here: the bridge is told of messages and events and answers through its link's
``publish``/``subscribe`` and each message's ``ack``. A QoS 1 job is acknowledged only once
the print service has recorded it on disk (or refused it, so that a bad message is not
redelivered for ever); a job refused because the daemon is stopping is not acknowledged,
so the broker keeps it for the next session.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ticketd.jobs.model import Job, JobEvent, JobKind, JobState
from ticketd.jobs.service import (UNKNOWN_YET, CancelResult, NotRecorded, PrinterEvent,
                                  PrintService, SubmitError, Submission)
from ticketd.mqtt import messages
from ticketd.mqtt.messages import BadRequest, CancelRequest, PrintRequest


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                keep: bool = True) -> Any: ...

    def subscribe(self, topic: str, qos: int = 1) -> None: ...


class PrinterBridge:
    log = Logger()

    def __init__(self, *, printer: str, prefix: str, service: PrintService, clock: Any,
                 max_payload: int = 1 << 20, hold: float = 0.0) -> None:
        """``hold``: how long a printer fault may hold a job that does not say (the
        printer's ``mqtt_hold``); 0, the original server's way: a fault answers it at once
        with the fault's text and it never prints later. ``prefix`` "" means none."""
        self.printer = printer
        self.prefix = prefix.rstrip("/")
        topic = f"{self.prefix}/" if self.prefix else ""
        self.status_topic = f"{topic}status"
        self.print_topic = f"{topic}print"
        self.printed_topic = f"{topic}printed"
        self.service = service
        self.clock = clock
        self.max_payload = max_payload
        self.hold = hold
        self.link: Publisher | None = None
        self._watch: set[str] = set()  # non-MQTT jobs a client asked about by jobid
        self._last_status: bytes | None = None
        self.received = 0
        self.refused = 0

    # --- link events ------------------------------------------------------------------------

    def connected(self, link: Publisher) -> None:
        """After every (re)connect: subscribe again and republish the status."""
        link.subscribe(self.print_topic, 1)
        self.publish_status(force=True)

    def disconnected(self, link: Publisher) -> None:
        pass

    def message(self, link: Any, msg: Any, ack: Any) -> None:
        if msg.topic != self.print_topic:
            ack.done()
            return
        expiry = None
        props = getattr(msg, "properties", None)
        if props is not None and hasattr(props, "MessageExpiryInterval"):
            expiry = float(props.MessageExpiryInterval)
        self.handle(msg.payload, ack.done, expiry, getattr(link, "redeliver", None))

    # --- jobs in ----------------------------------------------------------------------------

    def handle(self, payload: bytes, ack: Callable[[], None], expiry: float | None = None,
               redeliver: Callable[[str], None] | None = None) -> Deferred | None:
        """One ``P/print`` payload; ``ack`` is called once it may be PUBACKed. A job the
        journal could not record is not acked: ``redeliver`` gets the broker to send it
        again (and the journal may be well by then)."""
        self.received += 1
        req = self.service.stages.run("mqtt.parse", messages.parse, payload, self.max_payload)
        if isinstance(req, BadRequest):
            self._refuse(req.jobid, req.reason, len(payload), req.text)
            ack()
            return None
        if isinstance(req, CancelRequest):
            d = self._cancel(req.jobid, len(payload))
            d.addErrback(lambda f: self.log.failure("mqtt {prefix}: cancel {job} failed", f,
                                                    prefix=self.prefix, job=req.jobid))
            d.addBoth(lambda _: ack())
            return d
        assert isinstance(req, PrintRequest)
        expires = req.expires
        if expiry is not None:
            deadline = self.clock.seconds() + expiry
            expires = deadline if expires is None else min(expires, deadline)
        kind, body = ((JobKind.RAW, req.data) if req.data is not None
                      else (JobKind.DOCUMENT, req.document))
        d = self.service.submit(job_id=req.jobid, printer=self.printer, source="mqtt",
                                kind=kind, payload=body, expires=expires,
                                hold=self.hold if req.hold is None else req.hold)

        def accepted(sub: Submission) -> None:
            if sub.duplicate:
                self._duplicate(sub)
            ack()

        def refused(f: Any) -> None:
            if f.check(SubmitError) and f.value.audit is not None \
                    and not self.service.accepting:
                self.log.info("mqtt {prefix}: job {job} left with the broker: {error}",
                              prefix=self.prefix, job=req.jobid, error=str(f.value))
                return  # no PUBACK: redelivered to the next session
            if f.check(NotRecorded):
                self.log.warn("mqtt {prefix}: job {job} not recorded, not acked (the broker "
                              "sends it again): {error}", prefix=self.prefix,
                              job=req.jobid, error=str(f.value))
                if redeliver is not None:
                    redeliver("a job could not be recorded")
                return
            self._refuse(req.jobid, str(f.value) if f.check(SubmitError) else
                         f"ERROR: {f.getErrorMessage()}", len(payload))
            ack()

        return d.addCallbacks(accepted, refused)

    def _refuse(self, jobid: str | None, reason: str, size: int,
                text: str | None = None) -> None:
        """``text``: the answer when it is not ``Aborted: <reason>``."""
        self.refused += 1
        self.log.warn("mqtt {prefix}: job {job} refused: {reason} ({size} bytes)",
                      prefix=self.prefix, job=jobid, reason=reason, size=size, audit=True)
        if jobid is not None:
            self._out(messages.failed(jobid, text) if text else messages.aborted(jobid, reason))

    def _duplicate(self, sub: Submission) -> None:
        job = sub.job
        self.log.info("mqtt {prefix}: job {job} seen before ({state}): not printed again",
                      prefix=self.prefix, job=job.id, state=job.state.value)
        if not job.state.final and job.source != "mqtt":
            self._watch.add(job.id)
        payload = messages.for_job(job, status_text=self._status_text())
        if payload is not None:
            self._out(payload)

    def _cancel(self, jobid: str, size: int) -> Deferred[None]:
        """A cancel on this printer's topic cancels only this printer's jobs: the topic is
        the printer a client may act on. A job whose record is still being written is
        waited for (``flushed``), so that its printer is known before it is cancelled."""

        def check(job: Job | None, flushed: bool) -> Deferred[None] | None:
            if job is None and not flushed:
                return self.service.flushed().addCallback(
                    lambda _: self.service.job(jobid)).addCallback(check, True)
            if job is not None and job.printer != self.printer:
                self._refuse(jobid, f"job {jobid} is not a job of this printer", size)
                return None
            return self.service.cancel(jobid).addCallback(self._cancelled, jobid)

        return self.service.job(jobid).addCallback(check, False)

    def _cancelled(self, result: CancelResult, jobid: str) -> None:
        if result.cancelled:
            if result.job is not None and result.job.source != "mqtt":
                self._out(messages.for_job(result.job) or b"")
            return  # an MQTT job's "Aborted: CANCELLED" follows from its event
        self.log.info("mqtt {prefix}: cancel {job}: {message}", prefix=self.prefix,
                      job=jobid, message=result.message)
        if result.job is not None and result.job.printer == self.printer:
            payload = messages.for_job(result.job, status_text=self._status_text())
            if payload is not None:
                self._out(payload)

    def _status_text(self) -> str | None:
        status = self.service.status(self.printer)
        return f"Waiting: {status.text}" if status is not None else None

    # --- events out -------------------------------------------------------------------------

    def event(self, event: object) -> None:
        if isinstance(event, PrinterEvent):
            if event.printer == self.printer:
                if event.new != event.old:
                    self.publish_status()
                for job in event.held:  # resumed: the protocol has no text for it
                    if job.source == "mqtt" or job.id in self._watch:
                        self._out(messages.waiting(job.id, event.progress or "Waiting"))
            return
        if not isinstance(event, JobEvent):
            return
        job = event.job
        if job.printer != self.printer or not (job.source == "mqtt" or job.id in self._watch):
            return
        if event.new.final:
            self._watch.discard(job.id)
        if event.new is JobState.QUEUED:
            return  # accepted or resumed: the protocol has no text for it
        held = job.state is JobState.HELD  # the printer's status is said only then
        payload = messages.for_job(job, progress=event.progress,
                                   status_text=self._status_text() if held else None)
        if payload is not None:
            self._out(payload)

    def publish_status(self, force: bool = False) -> None:
        status = self.service.status(self.printer)
        if status is None or status is UNKNOWN_YET:
            return  # not read yet: the retained value (maybe the will's Offline) stands
        payload = messages.status(status.as_dict())
        if payload == self._last_status and not force:
            return
        self._last_status = payload
        if self.link is not None:
            self.link.publish(self.status_topic, payload, qos=1, retain=True, keep=False)

    def _out(self, payload: bytes) -> None:
        if self.link is not None and payload:
            self.service.stages.run("mqtt.reply", self.link.publish, self.printed_topic,
                                    payload, 1, False)
