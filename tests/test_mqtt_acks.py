"""PUBACKs in order, only for what was recorded, and held back while the outbox is full
(``ticketd/mqtt/acks.py``: no reactor, no broker)."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from ticketd.mqtt.acks import Acks


class AckTests(TestCase):
    def setUp(self) -> None:
        self.sent: list[int] = []
        self.acks = Acks(limit=4)
        self.acks.connected(lambda mid, qos: self.sent.append(mid))

    def test_in_order_and_only_when_done(self) -> None:
        a, b = self.acks.received(1, 1), self.acks.received(2, 1)
        b.done()
        self.assertEqual(self.sent, [])  # 1 is not recorded yet: 2 waits behind it
        a.done()
        self.assertEqual(self.sent, [1, 2])

    def test_a_message_never_done_is_never_acked(self) -> None:
        self.acks.received(1, 1)  # its handling raised: the broker sends it again
        self.acks.received(2, 1).done()
        self.assertEqual(self.sent, [])
        self.acks.connected(lambda mid, qos: self.sent.append(mid))  # the reconnect
        self.acks.received(1, 1).done()  # redelivered (a new packet id on a new session)
        self.assertEqual(self.sent, [1])

    def test_not_on_a_later_connection(self) -> None:
        a = self.acks.received(1, 1)
        self.acks.disconnected()
        self.acks.connected(lambda mid, qos: self.sent.append(mid))
        a.done()
        self.assertEqual(self.sent, [])

    def test_backpressure_holds_acks_until_the_outbox_drains(self) -> None:
        self.assertEqual(self.acks.outgoing(4), "hold")
        self.acks.received(1, 1).done()
        self.assertEqual(self.sent, [])  # the broker's window fills: it stops sending
        self.assertIsNone(self.acks.outgoing(3))  # below the limit, not below half
        self.assertEqual(self.sent, [])
        self.assertEqual(self.acks.outgoing(1), "release")
        self.assertEqual(self.sent, [1])

    def test_qos0_needs_no_ack(self) -> None:
        self.acks.received(1, 0).done()
        self.acks.received(2, 1).done()
        self.assertEqual(self.sent, [2])
