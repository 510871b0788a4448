"""The original MQTT print server's flat config file, as it is: parsed, refused when mixed
with ticketd's tables, and run end to end (``twistd -n ticketd --config <that file>``)
against a test broker with TLS and a password, the printer an emulator behind a pty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from twisted.internet import reactor, task, threads
from twisted.trial.unittest import TestCase

from ticketd.config import ConfigError, parse
from ticketd.emulator.pty import open_pty
from tests.broker import MosquittoBroker, quicktill_print, read_status
from tests.daemon import ROOT, free_port

REFERENCE = ROOT / "docs" / "reference" / "original-mqtt-server.toml"


def twistd(config: Path, cwd: Path, env: dict[str, str] | None = None, *extra: str,
           log: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """``twistd -n ticketd --config``; ``log``: where its output goes (a long-running
    daemon needs a file: nobody reads a pipe while it runs)."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(cwd))
    return subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
         "--pidfile=", "--logfile=-", "ticketd", "--config", str(config), *extra],
        cwd=str(cwd), env=environ, stdout=log, stderr=log)


class ParseTests(TestCase):
    def test_the_reference_file(self) -> None:
        cfg = parse(REFERENCE.read_text(), str(REFERENCE))
        [p] = cfg.printers
        self.assertEqual((p.connection, p.device, p.prefix, p.status_interval, p.mqtt_hold),
                         ("file", "/dev/epson-tm-u220", "barbarella", 5.0, 0.0))
        m = cfg.mqtt
        assert m is not None
        self.assertEqual((m.hostname, m.port, m.client_id, m.username, m.password),
                         ("mqtt.example.org", 8883, "barbarella", "barbarella", "change-me"))
        self.assertEqual((m.tls, m.ca_file, m.tls_insecure, m.client_id_as_given, m.protocol),
                         (True, None, False, True, "3.1.1"))
        self.assertEqual(cfg.state.directory, REFERENCE.parent.resolve() / "var" / "ticketd")

    def test_no_prefix_means_bare_topics(self) -> None:
        cfg = parse('hostname = "h"\nclient_id = "c"\nprinter = "/dev/lp0"\n')
        self.assertEqual(cfg.printers[0].prefix, "")
        from ticketd.mqtt.bridge import PrinterBridge
        b = PrinterBridge(printer="printer", prefix="", service=None, clock=None)  # type: ignore[arg-type]
        self.assertEqual((b.status_topic, b.print_topic, b.printed_topic),
                         ("status", "print", "printed"))

    def test_mixed_file_is_one_clear_line(self) -> None:
        text = REFERENCE.read_text() + '[printers.bar]\nconnection = "virtual"\n'
        with self.assertRaises(ConfigError) as e:
            parse(text, "mixed.toml")
        self.assertEqual(str(e.exception),
                         "mixed.toml: hostname and [printers]: the original MQTT server's flat "
                         "keys and ticketd's tables cannot be mixed; write either the flat "
                         "file alone or ticketd's format ([mqtt] and [printers.NAME])")

    def test_unknown_flat_key(self) -> None:
        with self.assertRaises(ConfigError) as e:
            parse('hostname = "h"\nclient_id = "c"\nprinter = "/dev/lp0"\nprefx = "a"\n', "f")
        self.assertIn('f: prefx: unknown setting; did you mean "prefix"?', str(e.exception))

    def test_client_id_as_given_in_ticketd_format(self) -> None:
        from ticketd.mqtt.service import MqttService
        one = ('[printers.bar]\nconnection = "virtual"\n[mqtt]\nclient_id = "barbarella"\n'
               "tls = false\nclient_id_as_given = true\n")
        cfg = parse(one)
        svc = MqttService(cfg, object(), reactor, run=lambda *a: None)  # type: ignore[arg-type]
        self.assertEqual(svc.links["bar"].client_id, "barbarella")
        cfg = parse(one.replace("client_id_as_given = true\n", ""))
        svc = MqttService(cfg, object(), reactor, run=lambda *a: None)  # type: ignore[arg-type]
        self.assertEqual(svc.links["bar"].client_id, "barbarella-bar")
        with self.assertRaises(ConfigError) as e:
            parse(one + '[printers.two]\nconnection = "virtual"\n', "t")
        self.assertIn("t: mqtt.client_id_as_given: needs exactly one printer", str(e.exception))

    def test_mqtt_hold(self) -> None:
        cfg = parse('[printers.bar]\nconnection = "virtual"\nmqtt_hold = 30\n')
        self.assertEqual(cfg.printers[0].mqtt_hold, 30.0)
        with self.assertRaises(ConfigError):
            parse('[printers.bar]\nconnection = "virtual"\nmqtt_hold = -1\n')


class ConfigErrorLineTests(TestCase):
    timeout = 60

    def check(self, text: str, expected: str) -> None:
        d = Path(self.mktemp()).resolve()
        d.mkdir(parents=True)
        (d / "bad.toml").write_text(text)
        p = twistd(d / "bad.toml", d)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1, err)
        self.assertEqual(err.decode().splitlines(), [expected.format(path=d / "bad.toml")])
        self.assertNotIn(b"Usage:", out + err)

    def test_mixed_file(self) -> None:
        self.check(REFERENCE.read_text() + "[server]\nport = 1\n",
                   "{path}: hostname and [server]: the original MQTT server's flat keys and "
                   "ticketd's tables cannot be mixed; write either the flat file alone or "
                   "ticketd's format ([mqtt] and [printers.NAME])")

    def test_bad_value(self) -> None:
        self.check('[printers.bar]\nconnection = "virtual"\nqueue_capacity = "lots"\n',
                   '{path}: printers.bar.queue_capacity: expected an integer 1-100000, got '
                   '"lots"')


class FlatFileDaemonTests(TestCase):
    """The reference file, host, port, password and device pointed at the test's own."""

    timeout = 90

    async def test_runs_as_the_original_server(self) -> None:
        d = Path(self.mktemp()).resolve()
        user = ("barbarella", "s3cret")
        broker = MosquittoBroker(d / "broker", tls=True, users=dict([user])).start()
        self.addCleanup(broker.stop)
        pty = open_pty(reactor)
        self.addCleanup(pty.stop)
        text = (REFERENCE.read_text()
                .replace('"mqtt.example.org"', '"localhost"')
                .replace("port = 8883", f"port = {broker.port}")
                .replace('"change-me"', f'"{user[1]}"')
                .replace('"/dev/epson-tm-u220"', f'"{pty.path}"'))
        (d / "mqtt-receipt-print.toml").write_text(text)
        assert broker.ca_file is not None
        with open(d / "daemon.log", "wb") as log:
            proc = twistd(d / "mqtt-receipt-print.toml", d,
                          {"SSL_CERT_FILE": str(broker.ca_file)}, "--http-port",
                          str(free_port()), log=log)
        self.addCleanup(self.stop, proc)

        def daemon_log() -> str:
            return (d / "daemon.log").read_text(errors="replace")[-2000:]

        async def status() -> Any:
            return await threads.deferToThread(read_status, broker, "barbarella", 1.0, user)
        t0 = time.monotonic()
        while ((await status()) or {}).get("status") != "Ready":
            if proc.poll() is not None or time.monotonic() - t0 > 30:
                self.fail(f"no Ready status: {daemon_log()}\n{broker.log()[-2000:]}")
        seen = await threads.deferToThread(quicktill_print, broker, "barbarella",
                                           b"\x1b@Flat file\n", "flat-1", 10.0, user)
        self.assertEqual(seen[-1], {"jobid": "flat-1", "status": "Printed", "finished": True,
                                    "success": True})
        await pty.emulator.when_received(lambda r: b"\x1b@Flat file\n" in r).addTimeout(
            5, reactor)
        log = broker.log()
        self.assertIn(" as barbarella (", log)  # exactly the configured client id
        self.assertNotIn("as barbarella-", log)
        self.assertIn("u'barbarella'", log)

    async def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 15:
            await task.deferLater(reactor, 0.05, lambda: None)
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
