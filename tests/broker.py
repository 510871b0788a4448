"""Test helpers: a real ``mosquitto`` on a free loopback port (plain, TLS, password auth),
and blocking MQTT clients written the way till software (quicktill's driver) talks to a
print server.

The broker is the test's own process, stopped by its PID; the system broker on 1883 is
never used. A missing ``mosquitto`` is a test failure with a clear message, never a skip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from tests.daemon import free_port

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str:
    path = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_CANDIDATES if os.access(p, os.X_OK)), None)
    if path is None:
        raise AssertionError("mosquitto is not installed (apt-get install mosquitto "
                             "mosquitto-clients): the MQTT tests need a real broker")
    return path




def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    """A self-signed CA: (cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN=ticketd test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return directory / f"{name}.crt", directory / f"{name}.key"


def make_cert(directory: Path, ca: tuple[Path, Path], name: str = "server",
              cn: str = "localhost") -> tuple[Path, Path]:
    """A certificate for localhost/127.0.0.1 signed by ``ca``: (cert, key)."""
    (directory / f"{name}.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
             cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile",
             f"{name}.ext", cwd=directory)
    return directory / f"{name}.crt", directory / f"{name}.key"


class MosquittoBroker:
    """``mosquitto -c <conf>`` in ``directory`` on a free 127.0.0.1 port."""

    def __init__(self, directory: str | Path, *, tls: bool = False,
                 users: dict[str, str] | None = None, persistent: bool = False,
                 port: int | None = None, nodelay: bool = False) -> None:
        self.nodelay = nodelay
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.binary = find_mosquitto()
        self.port = port or free_port()
        self.tls = tls
        self.users = users
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.directory / "mosquitto.log"
        self.ca_file: Path | None = None
        if tls:
            ca = make_ca(self.directory / "pki")
            self.ca_file = ca[0]
            self.cert_file, self.key_file = make_cert(self.directory / "pki", ca)
        if users:
            pw = self.directory / "passwd"
            pw.unlink(missing_ok=True)
            for i, (user, password) in enumerate(users.items()):
                args = ["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else [])
                subprocess.run(args + [str(pw), user, password], check=True,
                               capture_output=True, timeout=30)
            os.chmod(pw, 0o644)
        self.conf = self.directory / "mosquitto.conf"
        self.conf.write_text(self._config())

    def _config(self) -> str:
        lines = ["per_listener_settings false",
                 f"listener {self.port} 127.0.0.1",
                 f"allow_anonymous {'false' if self.users else 'true'}",
                 f"log_dest file {self.log_path}",
                 "log_type error", "log_type warning", "log_type notice",
                 "log_type information",
                 "max_queued_messages 100000", "max_inflight_messages 1000",
                 "persistent_client_expiration 1d"]
        if self.nodelay:
            lines.append("set_tcp_nodelay true")
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to "mosquitto" and cannot read our files
        if self.users:
            lines.append(f"password_file {self.directory / 'passwd'}")
        if self.tls:
            lines += [f"cafile {self.ca_file}", f"certfile {self.cert_file}",
                      f"keyfile {self.key_file}"]
        if self.persistent:
            (self.directory / "db").mkdir(exist_ok=True)
            lines += ["persistence true", f"persistence_location {self.directory / 'db'}/",
                      "autosave_interval 0"]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> "MosquittoBroker":
        self.process = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if \
                    self.process.stderr else ""
                raise AssertionError(f"mosquitto exited with {self.process.returncode}: "
                                     f"{err}{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        p, self.process = self.process, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        if p.stderr:
            p.stderr.close()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def client_settings(self) -> dict[str, Any]:
        return {"host": "127.0.0.1" if not self.tls else "localhost", "port": self.port,
                "ca_file": self.ca_file}

    def mqtt_toml(self, **extra: Any) -> str:
        """The daemon's ``[mqtt]`` table for this broker."""
        kv: dict[str, Any] = {"hostname": "localhost" if self.tls else "127.0.0.1",
                              "port": self.port, "tls": self.tls}
        if self.ca_file:
            kv["ca_file"] = str(self.ca_file)
        kv.update(extra)
        return "[mqtt]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in kv.items())


# --- clients the way tills use the protocol -------------------------------------------------

def _client(broker: MosquittoBroker, user: tuple[str, str] | None = None,
            client_id: str = "") -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or
                       f"till-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311)


def _setup(c: mqtt.Client, broker: MosquittoBroker, user: tuple[str, str] | None) -> None:
    if broker.tls:
        c.tls_set(ca_certs=str(broker.ca_file))
    if user:
        c.username_pw_set(*user)


def read_status(broker: MosquittoBroker, prefix: str, wait: float = 2.0,
                user: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """The retained ``P/status`` read with a fresh connection (quicktill waits 2 s)."""
    got: list[dict[str, Any]] = []
    event = threading.Event()
    c = _client(broker, user)
    _setup(c, broker, user)

    def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        c.subscribe(f"{prefix}/status", 0)

    def on_message(c: Any, u: Any, msg: Any) -> None:
        got.append(json.loads(msg.payload))
        event.set()
    c.on_connect, c.on_message = on_connect, on_message
    host = "localhost" if broker.tls else "127.0.0.1"
    c.connect(host, broker.port, 30)
    c.loop_start()
    try:
        event.wait(wait)
    finally:
        c.disconnect()
        c.loop_stop()
    return got[0] if got else None


def quicktill_print(broker: MosquittoBroker, prefix: str, data: bytes, jobid: str | None = None,
                    wait: float = 10.0, user: tuple[str, str] | None = None
                    ) -> list[dict[str, Any]]:
    """Print like quicktill: MQTT 3.1.1, QoS 0, a fresh connection for this one job;
    subscribe ``P/printed``, publish the job once the SUBACK is in, wait for ``finished``.
    Returns every ``printed`` message seen for the job (the last one is finished, unless
    the wait ran out)."""
    return [m for _, _, m in quicktill_exchange(broker, prefix, data, jobid or
                                                str(uuid.uuid4()), wait, user)]


def quicktill_exchange(broker: MosquittoBroker, prefix: str, data: bytes, jobid: str,
                       wait: float = 10.0, user: tuple[str, str] | None = None,
                       qos: int = 0, **extra: Any) -> list[tuple[float, str, dict[str, Any]]]:
    """:func:`quicktill_print` with ``extra`` payload fields, each message heard for the
    job as (seconds after publishing, topic, payload). quicktill publishes with QoS 0;
    ``qos`` 1 is a till whose job the broker keeps until the daemon acks it."""
    heard: list[tuple[float, str, dict[str, Any]]] = []
    finished = threading.Event()
    sent = [0.0]
    c = _client(broker, user)
    _setup(c, broker, user)
    job = json.dumps({"jobid": jobid, "data": base64.b64encode(data).decode(), **extra})

    def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        c.subscribe(f"{prefix}/printed", 0)

    def on_subscribe(c: Any, u: Any, mid: Any, rcs: Any, p: Any) -> None:
        sent[0] = time.monotonic()
        c.publish(f"{prefix}/print", job, qos=qos)

    def on_message(c: Any, u: Any, msg: Any) -> None:
        m = json.loads(msg.payload)
        if m.get("jobid") == jobid:
            heard.append((time.monotonic() - sent[0], msg.topic, m))
            if m.get("finished"):
                finished.set()
    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
    host = "localhost" if broker.tls else "127.0.0.1"
    c.connect(host, broker.port, 30)
    c.loop_start()
    try:
        finished.wait(wait)
    finally:
        c.disconnect()
        c.loop_stop()
    return heard


class Watcher:
    """A background subscriber collecting ``printed`` and ``status`` messages (QoS 1)."""

    def __init__(self, broker: MosquittoBroker, topics: list[str],
                 user: tuple[str, str] | None = None, persistent: bool = False) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        if persistent:  # the broker keeps its messages while it is away
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                      client_id=f"watcher-{uuid.uuid4().hex[:8]}",
                                      protocol=mqtt.MQTTv311, clean_session=False)
            self.client.reconnect_delay_set(0.1, 0.5)
        else:
            self.client = _client(broker, user)
        if user:
            self.client.username_pw_set(*user)
        if broker.tls:
            self.client.tls_set(ca_certs=str(broker.ca_file))
        self.topics = topics

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe([(t, 1) for t in topics])

        def on_subscribe(c: Any, u: Any, mid: Any, rcs: Any, p: Any) -> None:
            self.subscribed.set()

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self.lock:
                self.messages.append((msg.topic, json.loads(msg.payload)))
        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        host = "localhost" if broker.tls else "127.0.0.1"
        self.client.connect(host, broker.port, 30)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise AssertionError("watcher could not subscribe")

    def finished(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {m["jobid"]: m for t, m in self.messages
                    if t.endswith("/printed") and m.get("finished")}

    def of(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for t, m in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def daemon_toml(broker: MosquittoBroker, state: Path, prefixes: dict[str, str],
                server_port: int = 0, printer_extra: str = "status_interval = 0.5\n",
                **mqtt_settings: Any) -> str:
    """A whole daemon config: one virtual printer per ``{name: prefix}`` on ``broker``."""
    text = f'[server]\nport = {server_port}\n[state]\ndirectory = "{state}"\n'
    for name, prefix in prefixes.items():
        text += (f'[printers.{name}]\nconnection = "virtual"\nprefix = "{prefix}"\n'
                 + printer_extra)
    return text + broker.mqtt_toml(**mqtt_settings)


def publisher(broker: MosquittoBroker, client_id: str,
              user: tuple[str, str] | None = None) -> mqtt.Client:
    """A QoS 1 publisher with a persistent session that reconnects quickly on its own."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv311, clean_session=False)
    c.max_inflight_messages_set(1000)
    c.reconnect_delay_set(0.1, 0.5)
    if broker.tls:
        c.tls_set(ca_certs=str(broker.ca_file))
    if user:
        c.username_pw_set(*user)
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect("localhost" if broker.tls else "127.0.0.1", broker.port, 30)
    c.loop_start()
    if not connected.wait(10):
        raise AssertionError("publisher could not connect")
    return c


def job_payload(jobid: str, data: bytes) -> bytes:
    return json.dumps({"jobid": jobid, "data": base64.b64encode(data).decode()}).encode()
