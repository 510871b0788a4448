"""Config: every error names the file, the key path and the bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import ConfigError, load, parse

REPO = Path(__file__).resolve().parent.parent

MINIMAL = """
[printers.kitchen]
connection = "network"
host = "127.0.0.1"
"""


class ParseTests(SynchronousTestCase):
    def error(self, text: str) -> str:
        with self.assertRaises(ConfigError) as cm:
            parse(text, "etc/ticketd.toml")
        return str(cm.exception)

    def test_defaults(self) -> None:
        c = parse(MINIMAL, "etc/ticketd.toml")
        self.assertEqual((c.server.listen, c.server.port), ("127.0.0.1", 8766))
        p = c.printer("kitchen")
        self.assertEqual((p.port, p.queue_capacity, p.status_interval), (9100, 100, 5.0))
        self.assertEqual((p.hold_timeout, p.reprint_interrupted), (600.0, False))
        self.assertTrue(p.status_query)
        self.assertIsNone(c.mqtt)

    def test_render_processes(self) -> None:
        """Absent: the daemon decides by the machine's cores (tap.render_processes)."""
        from ticketd import tap

        self.assertIsNone(parse(MINIMAL, "etc/ticketd.toml").server.render_processes)
        for n in (0, 2):
            c = parse(f"[server]\nrender_processes = {n}\n" + MINIMAL, "etc/ticketd.toml")
            self.assertEqual(c.server.render_processes, n)
            self.assertEqual(tap.render_processes(c) is None, n == 0)
            self.assertIsNone(tap.render_processes(c, platform="win32"))
        self.assertEqual(self.error('[server]\nrender_processes = "two"\n' + MINIMAL),
                         'etc/ticketd.toml: server.render_processes: expected an integer '
                         '0-16, got "two"')

    def test_bad_port_names_file_key_value(self) -> None:
        msg = self.error(MINIMAL + 'port = "abc"\n')
        self.assertEqual(msg, 'etc/ticketd.toml: printers.kitchen.port: expected an integer '
                              '1-65535, got "abc"')

    def test_port_out_of_range(self) -> None:
        self.assertIn("printers.kitchen.port: expected an integer 1-65535, got 70000",
                      self.error(MINIMAL + "port = 70000\n"))

    def test_unknown_key_is_an_error(self) -> None:
        self.assertEqual(self.error(MINIMAL + "queue_capactiy = 5\n"),
                         "etc/ticketd.toml: printers.kitchen.queue_capactiy: unknown setting; "
                         'did you mean "queue_capacity"?')

    def test_unknown_top_level_and_section_keys(self) -> None:
        self.assertIn("etc/ticketd.toml: sever: unknown setting",
                      self.error("[sever]\nport = 1\n" + MINIMAL))
        self.assertIn("server.prot: unknown setting", self.error("[server]\nprot = 1\n" + MINIMAL))

    def test_setting_of_another_connection_type(self) -> None:
        self.assertIn("printers.kitchen.baudrate: is not a setting of a network printer",
                      self.error(MINIMAL + "baudrate = 9600\n"))

    def test_missing_required_connection_setting(self) -> None:
        self.assertEqual(self.error('[printers.bar]\nconnection = "serial"\n'),
                         "etc/ticketd.toml: printers.bar.device: is required")

    def test_bad_connection_type(self) -> None:
        msg = self.error('[printers.bar]\nconnection = "bluetooth"\n')
        self.assertIn('printers.bar.connection: expected one of "network"', msg)
        self.assertIn('got "bluetooth"', msg)

    def test_no_printers(self) -> None:
        self.assertIn("at least one [printers.NAME]", self.error("[server]\nport = 8766\n"))

    def test_invalid_toml(self) -> None:
        self.assertIn("etc/ticketd.toml: not valid TOML", self.error("[printers\n"))

    def test_wrong_types(self) -> None:
        self.assertIn("printers.kitchen.default: expected true or false, got \"yes\"",
                      self.error(MINIMAL + 'default = "yes"\n'))
        self.assertIn("printers.kitchen.aliases: expected a list of non-empty strings",
                      self.error(MINIMAL + "aliases = [1]\n"))
        self.assertIn("printers.kitchen.status_interval: expected a number",
                      self.error(MINIMAL + "status_interval = true\n"))
        self.assertIn("printers.kitchen.paper_width: expected one of 58, 72, 80",
                      self.error(MINIMAL + "paper_width = 76\n"))

    def test_duplicate_alias(self) -> None:
        text = MINIMAL + 'aliases = ["bar"]\n[printers.bar]\nconnection = "virtual"\n'
        self.assertIn("name or alias 'bar' is already used by printers.kitchen",
                      self.error(text))

    def test_two_defaults(self) -> None:
        text = (MINIMAL + "default = true\n[printers.bar]\nconnection = \"virtual\"\n"
                "default = true\n")
        self.assertIn("printers.bar.default: only one printer may be the default",
                      self.error(text))

    def test_usb_ids_hex_strings(self) -> None:
        c = parse('[printers.u]\nconnection = "usb"\nvendor_id = "0x04b8"\nproduct_id = 3605\n')
        self.assertEqual((c.printers[0].vendor_id, c.printers[0].product_id), (0x04B8, 3605))
        self.assertIn('printers.u.vendor_id: expected an integer 0-65535 or a hex string',
                      self.error('[printers.u]\nconnection = "usb"\nvendor_id = "zz"\n'
                                 'product_id = 1\n'))

    def test_relative_paths_follow_the_config_file(self) -> None:
        c = parse('[state]\ndirectory = "../var"\n[printers.v]\nconnection = "virtual"\n',
                  "/srv/shop/etc/ticketd.toml")
        self.assertEqual(c.state.directory.resolve(), Path("/srv/shop/var"))
        self.assertEqual(c.printers[0].spool.resolve(), Path("/srv/shop/var/spool/v"))

    def test_mqtt_status_check_interval_is_the_default_poll(self) -> None:
        c = parse(MINIMAL + '[printers.b]\nconnection = "virtual"\nstatus_interval = 2\n'
                  '[mqtt]\nstatus_check_interval = 1.5\n')
        self.assertEqual([p.status_interval for p in c.printers], [1.5, 2.0])

    def test_mqtt_section(self) -> None:
        c = parse(MINIMAL + '[mqtt]\nhostname = "broker"\nport = 1883\ntls = false\n')
        assert c.mqtt is not None
        self.assertEqual((c.mqtt.hostname, c.mqtt.port, c.mqtt.tls), ("broker", 1883, False))
        self.assertIn("mqtt.tls_insecur: unknown setting",
                      self.error(MINIMAL + "[mqtt]\ntls_insecur = true\n"))

    def test_log_section_defaults(self) -> None:
        log = parse(MINIMAL, "/srv/shop/etc/ticketd.toml").log
        self.assertEqual((log.level, log.format, log.file, log.max_bytes, log.keep),
                         ("info", "text", None, 5 * 1024 * 1024, 5))
        self.assertEqual(dict(log.levels), {"autobahn": "warn", "txaio": "warn", "paho": "warn"})

    def test_log_levels_table_merges_over_the_defaults(self) -> None:
        log = parse('[log]\nfile = "../log/ticketd.log"\n[log.levels]\nautobahn = "debug"\n'
                    '"ticketd.jobs" = "debug"\n' + MINIMAL, "/srv/shop/etc/ticketd.toml").log
        self.assertEqual(dict(log.levels), {"autobahn": "debug", "txaio": "warn",
                                            "paho": "warn", "ticketd.jobs": "debug"})
        self.assertEqual(log.file, "/srv/shop/log/ticketd.log")  # relative to the config

    def test_log_levels_errors_name_key_and_value(self) -> None:
        self.assertEqual(self.error('[log.levels]\n"ticketd.jobs" = "verbose"\n' + MINIMAL),
                         'etc/ticketd.toml: log.levels."ticketd.jobs": expected one of "debug", '
                         '"info", "warn", "error", "critical", got "verbose"')
        self.assertIn('log.levels."ticketd..jobs": expected a logger namespace',
                      self.error('[log.levels]\n"ticketd..jobs" = "info"\n' + MINIMAL))
        self.assertIn("log.levels.paho: expected one of", self.error(
            "[log.levels]\npaho = 3\n" + MINIMAL))
        self.assertIn("log.levels: expected a table, got", self.error(
            '[log]\nlevels = "debug"\n' + MINIMAL))
        self.assertIn("log.levle: unknown setting", self.error('[log]\nlevle = "info"\n' + MINIMAL))
        self.assertIn("log.keep: expected an integer 1-1000, got 0",
                      self.error("[log]\nkeep = 0\n" + MINIMAL))

    def test_missing_file(self) -> None:
        with self.assertRaises(ConfigError) as cm:
            load("/nonexistent/ticketd.toml")
        self.assertIn("/nonexistent/ticketd.toml: cannot read the config file", str(cm.exception))

    def test_example_config_loads(self) -> None:
        c = load(REPO / "etc" / "ticketd.toml")
        self.assertEqual([p.name for p in c.printers], ["receipt", "kitchen"])


class TwistdExitTests(SynchronousTestCase):
    """twistd prints the message and exits 1 for a bad config."""

    def test_twistd_exits_1_with_the_message(self) -> None:
        bad = Path(self.mktemp()).resolve()
        bad.parent.mkdir(parents=True, exist_ok=True)
        bad.write_text(MINIMAL + 'port = "abc"\n')
        proc = subprocess.run(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "-n", "ticketd", "--config", str(bad)],
            capture_output=True, text=True, timeout=60, cwd=REPO,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn(f'{bad}: printers.kitchen.port: expected an integer 1-65535, got "abc"',
                      proc.stdout + proc.stderr)
