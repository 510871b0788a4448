"""The emulator's print mechanism: speed, paper roll, buffer and flow control, and the
answers that come only once the bytes before them have printed (GS r, GS ( H fn 48, ASB)."""

from __future__ import annotations

from twisted.internet import task
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from ticketd.emulator import commands, core, tcp
from ticketd.emulator.live import LiveEmulator
from ticketd.emulator.mechanism import PrintSettings

LINE = 25.4 / 6  # mm per line feed at the default spacing


def receipt(lines: int) -> bytes:
    return b"\x1b@" + b"".join(b"line %03d\n" % i for i in range(lines)) + b"\x1dV\x00"


def process_id(ident: bytes = b"0001") -> bytes:
    return b"\x1d(H\x06\x000" + b"0" + ident


class Clocked:
    """An Emulator on a hand-moved time."""

    def __init__(self, **settings: object) -> None:
        self.t = 0.0
        self.em = core.Emulator(PrintSettings(**settings), now=lambda: self.t)  # type: ignore[arg-type]
        self.session = self.em.open_session()

    def at(self, t: float) -> bytes:
        self.t = t
        self.em.run_mechanism()
        out, self.session.outbox[:] = bytes(self.session.outbox), b""
        return out


class ScannerTests(unittest.TestCase):
    def test_lines_feeds_and_images(self) -> None:
        s = commands.Scanner()
        image = b"\x1dv0\x00\x01\x00\x0a\x00" + b"\x0a" * 10  # 10 rows of one byte, all 0x0A
        pieces = s.feed(b"ab\n\x1bd\x03" + image + b"\x1dVA\x08")
        mm = [p.mm for p in pieces if isinstance(p, commands.Print)]
        self.assertAlmostEqual(sum(mm), LINE + 3 * LINE + 10 / commands.DOTS_PER_MM
                               + 8 / commands.DOTS_PER_MM)
        self.assertEqual(b"".join(p.data for p in pieces), b"ab\n\x1bd\x03" + image
                         + b"\x1dVA\x08")

    def test_requests_at_every_cut(self) -> None:
        data = b"x\n" + process_id(b"AB12") + b"\x1dr\x01" + b"\x1da\xff"
        for cut in range(len(data) + 1):
            s = commands.Scanner()
            pieces = s.feed(data[:cut]) + s.feed(data[cut:])
            requests = [(p.kind, p.arg) for p in pieces if isinstance(p, commands.Request)]
            self.assertEqual(requests, [("process_id", b"AB12"), ("gs_r", b"\x01"),
                                        ("asb", b"\xff")], cut)
            self.assertEqual(b"".join(p.data for p in pieces), data, cut)

    def test_graphics_data_cut_anywhere_is_no_text(self) -> None:
        """GS 8 L's data (here full of LF bytes) is one command wherever a read cuts it."""
        body = b"\x30\x70" + b"\x0a" * 10
        data = b"\x1d8L" + len(body).to_bytes(4, "little") + body + b"x\n"
        for cut in range(len(data) + 1):
            s = commands.Scanner()
            pieces = s.feed(data[:cut]) + s.feed(data[cut:])
            mm = sum(p.mm for p in pieces if isinstance(p, commands.Print))
            self.assertAlmostEqual(mm, LINE, msg=f"cut at {cut}")
            self.assertEqual(b"".join(p.data for p in pieces), data, cut)


class SpeedTests(unittest.TestCase):
    def test_instant_answers_in_the_reply(self) -> None:
        em = core.Emulator()
        s = em.open_session()
        out = s.receive(receipt(5) + process_id(b"0042") + b"\x1dr\x01")
        self.assertEqual(out.reply, b"\x37\x22" + b"0042" + b"\x00" + b"\x00")
        self.assertEqual(em.paper, receipt(5))

    def test_answer_after_the_paper_took_its_time(self) -> None:
        c = Clocked(speed=100.0)
        lines = 71  # 71 lines of 1/6 inch: 300 mm, 3 s at 100 mm/s
        out = c.session.receive(receipt(lines) + process_id(b"0007") + b"\x10\x04\x01")
        self.assertEqual(out.reply, b"\x12")  # DLE EOT: real-time, at once
        self.assertEqual(c.at(2.9), b"")
        self.assertEqual(c.at(lines * LINE / 100 + 0.001), b"\x37\x220007\x00")
        self.assertEqual(c.em.paper, receipt(lines))

    def test_idle_time_is_not_print_time(self) -> None:
        c = Clocked(speed=100.0)
        c.session.receive(receipt(1))
        c.at(1.0)  # printed; then the printer stands idle for a minute
        c.t = 60.0
        out = c.session.receive(receipt(71) + process_id(b"0008"))
        self.assertEqual(out.reply, b"")  # 300 mm still take 3 s from now
        self.assertEqual(c.at(62.9), b"")
        self.assertEqual(c.at(60.0 + 72 * LINE / 100 + 0.001), b"\x37\x220008\x00")

    def test_idle_time_is_not_print_time_without_a_run_between(self) -> None:
        t = [0.0]
        em = core.Emulator(PrintSettings(speed=100.0), now=lambda: t[0])
        s = em.open_session()
        s.receive(receipt(1))  # done by 0.05 s; nobody asks until the next job comes
        t[0] = 60.0
        self.assertEqual(s.receive(receipt(71) + process_id(b"0009")).reply, b"")
        t[0] = 60.0 + 72 * LINE / 100 + 0.001
        em.run_mechanism()
        self.assertEqual(bytes(s.outbox), b"\x37\x220009\x00")

    def test_gs_r_answers(self) -> None:
        c = Clocked(speed=100.0)
        c.session.receive(b"a\n\x1dr\x01\x1dr\x02")
        self.assertEqual(c.at(0.01), b"")
        self.assertEqual(c.at(0.05), b"\x00\x00")
        c.em.set_fault("paper_near_end")
        self.assertEqual(c.session.receive(b"\x1dr\x31").reply, b"\x03")  # nothing before


class PaperTests(unittest.TestCase):
    def test_paper_runs_out_and_comes_back(self) -> None:
        c = Clocked(speed=100.0, roll=180.0)  # 60 % of a 300 mm receipt
        job = receipt(71)
        c.session.receive(job + process_id())
        self.assertEqual(c.at(10.0), b"")
        self.assertEqual(c.em.state.status, "paper_out")
        self.assertEqual(c.session.receive(b"\x10\x04\x04").reply, b"\x7e")
        self.assertLess(len(c.em.paper), len(job) * 0.65)
        self.assertGreater(len(c.em.paper), len(job) * 0.55)
        self.assertEqual(c.at(20.0), b"")  # stopped: the buffer stays, nothing moves
        c.em.set_fault("ready")  # a new roll
        self.assertEqual(c.at(20.5), b"")
        self.assertEqual(c.at(22.0), b"\x37\x220001\x00")
        self.assertEqual(c.em.paper, job)  # one whole receipt, nothing twice
        self.assertEqual(c.em.mechanism.rolls, 2)

    def test_power_off_drops_the_buffer(self) -> None:
        c = Clocked(speed=100.0, roll=180.0)
        hung = []
        c.session.on_hang_up = lambda: hung.append(True)
        c.session.receive(receipt(71) + process_id())
        c.at(10.0)
        c.em.set_fault("power_off")
        self.assertEqual(hung, [True])
        self.assertEqual(c.em.mechanism.buffered, 0)
        self.assertEqual(c.em.state, core.State())
        s2 = c.em.open_session()
        self.assertEqual(s2.receive(b"\x10\x04\x04").reply, b"\x12")
        c.t = 30.0
        c.em.run_mechanism()
        self.assertEqual(s2.outbox, b"")

    def test_power_off_keeps_an_open_cover_clears_errors(self) -> None:
        c = Clocked()
        for fault, after in (("cover_open", "cover_open"), ("paper_near_end", "paper_near_end"),
                             ("offline", "ready"), ("recoverable_error", "ready")):
            c.em.set_fault(fault)
            c.em.set_fault("power_off")
            self.assertEqual(c.em.state.status, after, fault)

    def test_paper_out_status_back_comes_after_earlier_answers(self) -> None:
        c = Clocked(speed=100.0, roll=10.0)
        c.session.receive(b"\x1da\xff")
        c.at(0.0)
        c.session.receive(b"a\n\x1dr\x01" + b"b\nc\nd\n")  # the roll ends at the third line
        self.assertEqual(c.at(1.0), b"\x00" + b"\x18\x00\x0f\x00")

    def test_esc_at_resets_the_line_spacing(self) -> None:
        s = commands.Scanner()
        pieces = s.feed(b"\x1b3\x10" + b"\x1b@" + b"\x1bd\x01")
        self.assertAlmostEqual(sum(p.mm for p in pieces if isinstance(p, commands.Print)),
                               LINE)

    def test_automatic_status_back(self) -> None:
        c = Clocked(speed=100.0, roll=10.0)
        self.assertEqual(c.session.receive(b"\x1da\xff").reply, b"\x10\x00\x00\x00")
        c.session.receive(b"a\nb\nc\n")
        self.assertEqual(c.at(1.0), b"\x18\x00\x0f\x00")  # paper out: pushed at once
        c.em.set_fault("ready")
        self.assertEqual(c.at(1.0), b"\x10\x00\x00\x00")
        c.em.set_fault("cover_open")
        self.assertEqual(c.at(1.1), b"\x38\x00\x00\x00")


class TimerTests(unittest.TestCase):
    def test_no_timer_while_a_fault_stops_printing(self) -> None:
        clock = task.Clock()
        em = LiveEmulator(PrintSettings(speed=100.0), clock=clock)
        self.addCleanup(em.stop)
        em.set_fault("cover_open")
        em.open_session().receive(b"abc\n")
        self.assertEqual(clock.getDelayedCalls(), [])  # not a timer firing at once, forever
        em.set_fault("ready")
        clock.advance(1.0)
        self.assertEqual(em.paper, b"abc\n")

    def test_what_a_close_flushes_prints(self) -> None:
        clock = task.Clock()
        em = LiveEmulator(PrintSettings(speed=100.0), clock=clock)
        self.addCleanup(em.stop)
        s = em.open_session()
        s.receive(b"x\n\x1b")  # ESC held: the start of a command, or not
        clock.advance(1.0)
        s.close()
        clock.advance(1.0)
        self.assertEqual((em.paper, em.mechanism.buffered), (b"x\n\x1b", 0))


class FlowControlTests(unittest.TestCase):
    def test_full_buffer_stops_reading(self) -> None:
        clock = task.Clock()
        em = LiveEmulator(PrintSettings(speed=100.0, buffer=64), clock=clock)
        proto = tcp.PrinterProtocol(em, clock)
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(receipt(20) + process_id())
        self.assertEqual(transport.producerState, "paused")
        for _ in range(200):
            clock.advance(0.05)
        self.assertEqual(transport.producerState, "producing")
        self.assertTrue(transport.value().endswith(b"\x37\x220001\x00"))
        self.assertEqual(em.paper, receipt(20))
        proto.connectionLost()
        em.stop()

    def test_a_command_held_across_reads_waits_while_full(self) -> None:
        """Bytes of an image still incomplete count as added: the sender waits."""
        c = Clocked(speed=1.0, buffer=64)
        self.assertTrue(c.session.receive(receipt(20)).full)
        other = c.em.open_session()
        image = b"\x1dv0\x00\x64\x00\x64\x00"  # 100 x 100 bytes to come
        self.assertTrue(other.receive(image + b"\x00" * 2000).full)

    def test_a_connection_that_adds_nothing_is_read_while_full(self) -> None:
        """Only the connection that filled the buffer waits: another one's status query
        is answered at once, and so are its later ones."""
        c = Clocked(speed=1.0, buffer=64)
        self.assertTrue(c.session.receive(receipt(20)).full)
        status = c.em.open_session()
        for _ in range(2):
            out = status.receive(b"\x10\x04\x01")
            self.assertEqual((out.reply, out.full), (b"\x12", False))
        self.assertFalse(status.waiting_room)
