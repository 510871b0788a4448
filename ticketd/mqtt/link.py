"""One broker connection: a paho-mqtt client driven by the Twisted reactor.

paho's external-event-loop API does the protocol; the reactor does the waiting: the socket
is a reader/writer descriptor whose ``doRead``/``doWrite`` call ``loop_read``/``loop_write``,
and a Periodic runs ``loop_misc`` (keepalive). No thread per message. paho reads and writes
through a :class:`~ticketd.mqtt.paho_socket.BatchedSocket`: the packets it queues during a
reactor turn (PUBACKs, replies) go out together at the start of the next one, in one send.

``connect()`` blocks (DNS, TCP, TLS handshake), so it runs in a thread (``run``). While it
does, the reactor never touches the client, and paho's socket callbacks are unset (paho
then writes the CONNECT itself, from that thread); once the thread returns, the reactor
takes the socket over. There is no auto-reconnect in this mode: a lost connection is
retried after an exponential, jittered delay. The will (retained "Offline") is set once per
connection; :meth:`MqttLink.stop` publishes Offline itself and disconnects cleanly.
The descriptor is :mod:`ticketd.mqtt.paho_socket`, the TLS context :mod:`ticketd.mqtt.tls`,
the PUBACKs' order and backpressure :mod:`ticketd.mqtt.acks`, a failed connect's log line
:mod:`ticketd.mqtt.connect_error`.
"""

from __future__ import annotations

import collections
import logging
import socket
import ssl
from typing import Any, Callable, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from ticketd.config import MqttConfig
from ticketd.mqtt.acks import Ack, Acks
from ticketd.mqtt.backoff import Backoff
from ticketd.mqtt.connect_error import describe_error
from ticketd.mqtt.paho_socket import BatchedSocket, PahoSocket, quickack
from ticketd.periodic import Periodic

__all__ = ["Ack", "LinkHandler", "MqttLink", "describe_error", "OUTBOX_LIMIT",
           "STOP_TIMEOUT"]

OUTBOX_LIMIT = 10_000  # messages waiting to go out before the link stops acking
STOP_TIMEOUT = 2.0
REDELIVER_DELAY = 5.0  # seconds before reconnecting to get unacked messages again


class LinkHandler(Protocol):
    """What the link tells its owner (always on the reactor thread)."""

    def connected(self, link: "MqttLink") -> None: ...

    def message(self, link: "MqttLink", msg: mqtt.MQTTMessage, ack: "Ack") -> None: ...

    def disconnected(self, link: "MqttLink") -> None: ...


class MqttLink:
    """A paho client with its own broker connection, last will and reconnect loop."""

    log = Logger()

    def __init__(self, *, config: MqttConfig, client_id: str, will_topic: str,
                 will_payload: bytes, handler: LinkHandler, reactor: Any,
                 run: Callable[..., Deferred], random: Callable[[], float] | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 backoff: Backoff | None = None) -> None:
        self.config = config
        self.client_id = client_id
        self.will_topic, self.will_payload = will_topic, will_payload
        self.handler = handler
        self.reactor = reactor
        self.run = run
        self.backoff = backoff or Backoff(random=random)
        self.state = "idle"  # idle connecting handshake connected waiting stopped
        self.generation = 0
        self.connects = 0
        self.last_error: str | None = None
        self._stopping = False
        self._desc: PahoSocket | None = None
        self._write_call: Any = None  # the flush of this turn's packets, once scheduled
        self._retry: Any = None
        self._connecting: Deferred | None = None
        # Never cut: past OUTBOX_LIMIT the acks wait (backpressure, acks.py).
        self._outbox: collections.deque[tuple[str, bytes, int, bool]] = collections.deque()
        self._unconfirmed = 0
        self.acks = Acks(OUTBOX_LIMIT)
        self._redeliver: Any = None
        self._on_published: dict[int, Deferred] = {}
        self._on_disconnect: list[Deferred] = []
        self._misc = Periodic(reactor, 1.0, self._loop_misc, log=self.log,
                              name=f"mqtt keepalive {client_id}")
        self.client = self._make_client(ssl_context)

    def _make_client(self, ctx: ssl.SSLContext | None) -> mqtt.Client:
        cfg = self.config
        v5 = cfg.protocol == "5"
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=self.client_id, clean_session=None if v5 else False,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=True,
                             reconnect_on_failure=False)
        client.enable_logger(logging.getLogger(f"paho.{self.client_id}"))  # [log.levels] "paho"
        client.max_inflight_messages_set(1000)
        client.will_set(self.will_topic, self.will_payload, qos=1, retain=True)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            if ctx is None:
                raise ValueError("mqtt: tls is on but no TLS context was given")
            client.tls_set_context(ctx)
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        client.on_publish = self._published
        return client

    # --- connecting (blocking part in a thread) ---------------------------------------------

    def start(self) -> None:
        self._connect()

    def _connect(self) -> None:
        self._retry = None
        if self._stopping:
            return
        self.state = "connecting"
        self._socket_callbacks(False)
        cfg = self.config
        if cfg.tls and cfg.tls_insecure:
            self.log.warn("mqtt {client}: TLS certificate verification is OFF (tls_insecure = "
                          "true): anyone on the path to {host}:{port} can read and forge "
                          "print jobs", client=self.client_id, host=cfg.hostname, port=cfg.port)
        d = self._connecting = self.run(self._connect_blocking)
        d.addCallbacks(self._socket_ready, self._connect_failed)

    def _connect_blocking(self) -> Any:
        """In a thread: DNS, TCP, TLS handshake, and the CONNECT packet."""
        cfg = self.config
        if cfg.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = cfg.session_expiry
            self.client.connect(cfg.hostname, cfg.port, cfg.keepalive, clean_start=False,
                                properties=props)
        else:
            self.client.connect(cfg.hostname, cfg.port, cfg.keepalive)
        return self.client.socket()

    def _socket_ready(self, sock: Any) -> None:
        self._connecting = None
        self.state = "handshake"
        self.last_error = None
        self._socket_callbacks(True)
        try:  # small packets (PUBACK, progress) must not wait for Nagle + delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        batched = BatchedSocket(sock)
        self.client._sock = batched  # paho has no public way to give it a socket object
        self._desc = PahoSocket(batched, self.reactor, on_read=self._read,
                                on_write=self._write, name=f"mqtt:{self.client_id}")
        self.reactor.addReader(self._desc)
        if self.client.want_write():
            self._schedule_write()
        self._misc.start(now=False)
        if self._stopping:
            self._force_close()

    def _connect_failed(self, failure: Any) -> None:
        self._connecting = None
        self.last_error = describe_error(failure.value, self.config)
        self._lost(self.last_error)

    def _socket_callbacks(self, on: bool) -> None:
        c = self.client
        c.on_socket_close = self._socket_closed if on else None
        c.on_socket_register_write = self._register_write if on else None
        c.on_socket_unregister_write = None  # the link's flush decides when it writes

    # --- the reactor side of paho's socket --------------------------------------------------

    def _socket_closed(self, client: Any, userdata: Any, sock: Any) -> None:
        desc, self._desc = self._desc, None
        if self._write_call is not None and self._write_call.active():
            self._write_call.cancel()
        self._write_call = None
        if desc is not None:
            self.reactor.removeReader(desc)
            self.reactor.removeWriter(desc)

    def _register_write(self, client: Any, userdata: Any, sock: Any) -> None:
        self._schedule_write()

    def _schedule_write(self) -> None:
        """paho queued a packet: it goes out with the others of this turn, at the start of
        the next one (not a wake-up and a send for each)."""
        if self._write_call is None and self._desc is not None:
            self._write_call = self.reactor.callLater(0, self._write_turn)

    def _write_turn(self) -> None:
        self._write_call = None
        if self._desc is not None:
            self._write(self._desc)

    def _read(self, desc: PahoSocket) -> None:
        try:
            self.client.loop_read()
            quickack(desc.sock)
            # one recv may hold more packets than paho reads per call, and TLS bytes
            # decrypted inside the SSL object never wake the reactor; until paho takes none
            while self._desc is desc and desc.sock.pending():
                taken = desc.sock.taken
                self.client.loop_read()
                if desc.sock.taken == taken:
                    break
        except Exception:
            self.log.failure("mqtt {client}: error while reading", client=self.client_id)

    def _write(self, desc: PahoSocket) -> None:
        try:
            self.client.loop_write()  # paho's queued packets into the batch
            if self._desc is desc and not desc.flush():  # not closed by paho's DISCONNECT
                self.client.loop_read()  # paho meets the send's error, drops the connection
        except Exception:
            self.log.failure("mqtt {client}: error while writing", client=self.client_id)

    def _loop_misc(self) -> None:
        if self.state in ("handshake", "connected"):
            self.client.loop_misc()  # a failure is logged by the Periodic, which goes on

    # --- paho callbacks (reactor thread, from loop_read/loop_write/loop_misc) ---------------

    def _connected(self, client: Any, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        if reason.is_failure:
            self.last_error = f"the broker refused the connection: {reason}"
            self.log.error("mqtt {client}: {host}:{port}: {error}", client=self.client_id,
                           host=self.config.hostname, port=self.config.port,
                           error=self.last_error)
            return  # paho closes the socket next and calls _disconnected
        self.backoff.reset()
        self.state = "connected"
        self.generation += 1
        self.connects += 1
        self.last_error = None
        self.acks.connected(self.client.ack)
        self._unconfirmed = 0  # paho sends its own unconfirmed ones again
        self.log.info("mqtt {client}: connected to {host}:{port} (MQTT {protocol}, session "
                      "{session})", client=self.client_id, host=self.config.hostname,
                      port=self.config.port, protocol=self.config.protocol,
                      session="resumed" if flags.session_present else "new")
        try:
            self.handler.connected(self)
        except Exception:
            self.log.failure("mqtt {client}: on connect", client=self.client_id)
        while self._outbox and self.state == "connected":
            self.publish(*self._outbox.popleft())

    def _disconnected(self, client: Any, userdata: Any, flags: Any, reason: Any,
                      properties: Any) -> None:
        was = self.state
        self.acks.disconnected()
        if was == "connected":
            try:
                self.handler.disconnected(self)
            except Exception:
                self.log.failure("mqtt {client}: on disconnect", client=self.client_id)
        waiters, self._on_disconnect = self._on_disconnect, []
        for d in waiters:  # not from inside paho's callback: its locks are not reentrant
            self.reactor.callLater(0, lambda d=d: d.called or d.callback(None))
        error = self.last_error if was == "handshake" and self.last_error else \
            f"connection lost: {reason}"
        self._lost(error)

    def _lost(self, error: str) -> None:
        self._misc.stop()
        if self._stopping:
            self.state = "stopped"
            return
        self.state = "waiting"
        delay = self.backoff.next()
        self.log.warn("mqtt {client}: {host}:{port}: {error}; retrying in {delay:.1f} s",
                      client=self.client_id, host=self.config.hostname,
                      port=self.config.port, error=error, delay=delay)
        self._retry = self.reactor.callLater(delay, self._reconnect)

    def _reconnect(self) -> None:
        """An attempt that raises is retried after the next delay: the loop never ends."""
        try:
            self._connect()
        except Exception as e:
            self._connecting = None
            self.log.failure("mqtt {client}: reconnect attempt failed", client=self.client_id,
                             periodic_task=f"mqtt reconnect {self.client_id}")
            self._lost(f"reconnect attempt failed: {e}")

    def _message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        ack = self.acks.received(msg.mid, msg.qos)
        try:
            self.handler.message(self, msg, ack)
        except Exception:  # not acked: the broker sends it again (to the next session)
            self.log.failure("mqtt {client}: message on {topic} not handled: not acked",
                             client=self.client_id, topic=msg.topic)
            self.redeliver("a message could not be handled")

    def redeliver(self, why: str) -> None:
        """Reconnect after REDELIVER_DELAY (once): the broker resends what was not acked."""
        if self._redeliver is not None or self._stopping:
            return
        self.log.warn("mqtt {client}: {why}; reconnecting in {delay:g} s to get what was "
                      "not acked again", client=self.client_id, why=why, delay=REDELIVER_DELAY)
        self._redeliver = self.reactor.callLater(REDELIVER_DELAY, self._drop_for_redelivery)

    def _drop_for_redelivery(self) -> None:
        self._redeliver = None
        if self.state == "connected" and not self._stopping:
            self.client.disconnect()  # _disconnected then connects again, with backoff

    def _published(self, client: Any, userdata: Any, mid: int, reason: Any,
                   properties: Any) -> None:
        self._unconfirmed = max(self._unconfirmed - 1, 0)
        self._outgoing()
        d = self._on_published.pop(mid, None)
        if d is not None:
            self.reactor.callLater(0, lambda: d.called or d.callback(None))

    # --- acks and publishing ----------------------------------------------------------------

    def _outgoing(self) -> None:
        n = len(self._outbox) + self._unconfirmed
        change = self.acks.outgoing(n)
        if change == "hold":
            self.log.warn("mqtt {client}: {n} messages wait to go out: holding back acks so "
                          "that the broker stops sending until they are out",
                          client=self.client_id, n=n)
        elif change == "release":
            self.log.info("mqtt {client}: outbox down to {n}: acking again", client=self.client_id, n=n)

    def subscribe(self, topic: str, qos: int = 1) -> None:
        if self.state == "connected":
            self.client.subscribe(topic, qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                keep: bool = True) -> Any:
        """Publish now if connected; else keep it (``keep``) for the next connection."""
        if self.state == "connected":
            if qos > 0:
                self._unconfirmed += 1
                self._outgoing()
            return self.client.publish(topic, payload, qos=qos, retain=retain)
        if keep:
            self._outbox.append((topic, payload, qos, retain))
            self._outgoing()
        return None

    # --- stopping ---------------------------------------------------------------------------

    def stop(self) -> Deferred[None]:
        """Publish Offline (retained), disconnect cleanly (no will), stop retrying."""
        self._stopping = True
        if self._redeliver is not None and self._redeliver.active():
            self._redeliver.cancel()
        self._redeliver = None
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._connecting is not None:
            d = self._connecting  # _socket_ready force-closes once the thread is back
            return d.addBoth(lambda _: self._finish())
        if self.state == "connected":
            info = self.client.publish(self.will_topic, self.will_payload, qos=1, retain=True)
            published: Deferred[None] = Deferred()
            self._on_published[info.mid] = published
            self._timeout(published, STOP_TIMEOUT)
            return published.addBoth(lambda _: self._disconnect())
        if self.state == "handshake":
            return self._disconnect()
        return self._finish()

    def _disconnect(self) -> Deferred[None]:
        if self.client.socket() is None:
            return self._finish()
        d: Deferred[None] = Deferred()
        self._on_disconnect.append(d)
        self._timeout(d, STOP_TIMEOUT)
        self.client.disconnect()
        return d.addBoth(lambda _: self._finish())

    def _timeout(self, d: Deferred, seconds: float) -> None:
        call = self.reactor.callLater(seconds, lambda: d.called or d.callback(None))
        d.addBoth(lambda r: (call.active() and call.cancel(), r)[1])

    def _force_close(self) -> None:
        try:
            self.client._sock_close()  # paho has no public "drop the socket now"
        except Exception:
            pass

    def _finish(self) -> Deferred[None]:
        self._force_close()
        self._misc.stop()
        self.state = "stopped"
        return succeed(None)
