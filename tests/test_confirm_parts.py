"""The confirmation's parts without a reactor: reading the printer's in-order answers, the
confirming steps of a job, recovery of a sent job, the config, and what each transport
says of a sent job."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import ConfigError, parse
from ticketd.jobs.job_steps import (AwaitConfirm, Fail, JobSteps, Progress, RecordPrinted,
                                    RecordPrinting, RecordSent, Retry, Write)
from ticketd.jobs.model import Job, JobKind, JobState
from ticketd.jobs.recovery import UNCONFIRMED_REASON, recover
from ticketd.mqtt import messages as mqtt
from ticketd.printers.confirm import Confirmation, Confirmations, process_id_request
from ticketd.printers.status import READY, PrinterStatus
from ticketd.web import replies

PAPER_OUT = PrinterStatus(paper_out=True)
MID_JOB = "Waiting: Out of paper (the printer stopped inside this job)"


class AnswersTests(SynchronousTestCase):
    def test_process_id_out_of_status_bytes_at_every_cut(self) -> None:
        c = Confirmations("process_id")
        token, request = c.request()
        self.assertEqual(request, b"\x1d(H\x06\x00\x30\x30" + token.encode())
        self.assertEqual(request, process_id_request(token.encode()))
        stream = b"\x12\x16" + b"\x37\x22" + token.encode() + b"\x00" + b"\x12"
        for cut in range(len(stream) + 1):
            c = Confirmations("process_id")
            token, _ = c.request()
            rest = c.feed(stream[:cut]) + c.feed(stream[cut:])
            self.assertEqual(rest, b"\x12\x16\x12", cut)
            self.assertEqual(c.state(token), "confirmed", cut)

    def test_gs_r_answers_in_order_status_bytes_pass(self) -> None:
        c = Confirmations("gs_r")
        a, request = c.request()
        b, _ = c.request()
        self.assertEqual(request, b"\x1dr\x01")
        self.assertEqual(c.feed(b"\x12\x11\x00"), b"\x12\x11")  # DLE EOT, XON; GS r's 0x00
        self.assertEqual((c.state(a), c.state(b)), ("confirmed", "pending"))
        c.link_closed()
        self.assertEqual(c.state(b), "lost")
        self.assertEqual(c.feed(b"\x00"), b"\x00")  # nothing asked: not an answer

    def test_gs_r_passes_over_automatic_status_back_at_every_cut(self) -> None:
        # An ASB packet (paper out: 10 00 0C 00) sent by itself, then the GS r answer.
        stream = b"\x10\x00\x0c\x00" + b"\x12" + b"\x0c"
        for cut in range(len(stream) + 1):
            c = Confirmations("gs_r")
            token, _ = c.request()
            first = c.feed(stream[:cut])
            if cut <= 5:
                self.assertEqual(c.state(token), "pending", cut)
            rest = first + c.feed(stream[cut:])
            self.assertEqual(rest, b"\x10\x00\x0c\x00\x12", cut)
            self.assertEqual(c.state(token), "confirmed", cut)
        c = Confirmations("gs_r")
        token, _ = c.request()
        c.feed(b"\x10\x00")
        c.link_closed()  # a packet cut by the link's end is not carried to the next link
        token, _ = c.request()
        self.assertEqual(c.feed(b"\x00"), b"")
        self.assertEqual(c.state(token), "confirmed")

    def test_a_later_id_answers_for_the_earlier_ones(self) -> None:
        c = Confirmations("process_id")
        a, _ = c.request()
        b, _ = c.request()
        c.feed(b"\x37\x22" + b.encode() + b"\x00")
        self.assertEqual((c.state(a), c.state(b)), ("lost", "confirmed"))


def sent_job() -> Job:
    return Job(id="s", printer="p", source="test", kind=JobKind.RAW, payload=b"x\n",
               created=1.0)


def confirming(retry_failed: int = 0, timeout: float = 30.0) -> JobSteps:
    steps = JobSteps(sent_job(), retry_failed, timeout)
    steps.begin(10.0, READY)
    assert steps.status_set(True) == RecordPrinting()
    assert steps.printing_recorded(True) == Write(b"x\n")
    steps.job.attempts = 1
    assert steps.written(READY, True, token="0001") == RecordSent(2)
    assert steps.sent(11.0) == AwaitConfirm("0001")
    return steps


class ConfirmingStepsTests(SynchronousTestCase):
    def test_confirmed_with_the_write_is_printed_at_once(self) -> None:
        steps = JobSteps(sent_job(), 0)
        steps.begin(10.0, READY)
        steps.status_set(True)
        steps.printing_recorded(True)
        self.assertEqual(steps.written(READY, True, "0001", confirmed=True), RecordPrinted(2))

    def test_paper_out_then_back_then_confirmed(self) -> None:
        steps = confirming()
        self.assertEqual(steps.confirmation(Confirmation(False, READY), 11.5, True),
                         AwaitConfirm("0001"))
        self.assertEqual(steps.confirmation(Confirmation(False, PAPER_OUT), 12.0, True),
                         Progress(MID_JOB))
        self.assertEqual(steps.reported(), AwaitConfirm("0001"))
        self.assertEqual(steps.confirmation(Confirmation(False, PAPER_OUT), 99.0, True),
                         AwaitConfirm("0001"))  # once per fault, however long
        self.assertEqual(steps.confirmation(Confirmation(False, READY), 100.0, True),
                         AwaitConfirm("0001"))
        self.assertEqual(steps.confirmation(Confirmation(True), 101.0, True),
                         RecordPrinted(2))

    def test_lost_after_paper_out_fails_or_retries_saying_so(self) -> None:
        reason = "PRINTER: the printer lost the job half-way (paper out, then power off)"
        for retry, expected in ((0, Fail(reason, io=True)), (1, Retry(reason))):
            steps = confirming(retry_failed=retry)
            steps.confirmation(Confirmation(False, PAPER_OUT), 12.0, True)
            lost = Confirmation(False, None, lost=True)
            self.assertEqual(steps.confirmation(lost, 13.0, True), expected)

    def test_lost_without_a_fault(self) -> None:
        steps = confirming()
        action = steps.confirmation(Confirmation(False, None, lost=True), 12.0, True)
        self.assertIsInstance(action, Fail)
        self.assertIn("before it confirmed the job", action.reason)  # type: ignore[union-attr]

    def test_no_answer_while_ready_reports_printed_with_a_warning(self) -> None:
        steps = confirming(timeout=5.0)
        self.assertEqual(steps.confirmation(Confirmation(False, READY), 15.9, True),
                         AwaitConfirm("0001"))
        action = steps.confirmation(Confirmation(False, READY), 16.0, True)
        self.assertIsInstance(action, RecordPrinted)
        self.assertIn("did not confirm", action.unconfirmed or "")  # type: ignore[union-attr]


class RecoveryTests(SynchronousTestCase):
    def test_a_sent_job_is_interrupted_never_reprinted(self) -> None:
        job = sent_job()
        job.state = JobState.SENT
        cfg = parse('[printers.p]\nconnection = "virtual"\nreprint_interrupted = true\n',
                    "t.toml").printer("p")
        out = recover([job], lambda name: cfg, 50.0)
        self.assertEqual((job.state, job.reason), (JobState.INTERRUPTED, UNCONFIRMED_REASON))
        self.assertEqual(out.finished, [job])


class ConfigTests(SynchronousTestCase):
    def printer(self, text: str) -> object:
        return parse("[printers.p]\n" + text, "t.toml").printer("p")

    def test_defaults(self) -> None:
        self.assertEqual(self.printer('connection = "network"\nhost = "h"\n').confirm, "gs_r")
        self.assertEqual(self.printer('connection = "virtual"\n').confirm, "realtime")
        self.assertEqual(self.printer('connection = "network"\nhost = "h"\n'
                                      'confirm = "process_id"\n').confirm, "process_id")

    def test_in_order_needs_a_network_printer(self) -> None:
        with self.assertRaises(ConfigError) as e:
            self.printer('connection = "serial"\ndevice = "/dev/x"\nconfirm = "gs_r"\n')
        self.assertIn("confirm", str(e.exception))
        with self.assertRaises(ConfigError):
            self.printer('connection = "network"\nhost = "h"\nconfirm = "paper"\n')


class TransportTests(SynchronousTestCase):
    def test_mqtt_says_nothing_new_but_the_hold(self) -> None:
        job = sent_job()
        job.state = JobState.SENT
        self.assertIsNone(mqtt.for_job(job, progress="Sent"))
        self.assertEqual(mqtt.for_job(job, progress=MID_JOB),
                         mqtt.waiting(job.id, MID_JOB))

    def test_websocket_infos(self) -> None:
        self.assertEqual(replies.sent("7")["status"], "sent")
        held = replies.stopped_inside("7", MID_JOB)
        self.assertEqual((held["tipo"], held["status"], held["mid_job"]), ("info", "held", True))
        self.assertTrue(held["mensaje"].startswith(MID_JOB))
