"""The ``[server]`` security settings: defaults, values and refusals."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from ticketd.config import ConfigError, parse as parse_config

PRINTER = '\n[printers.p1]\nconnection = "virtual"\n'


def parse(text: str) -> Any:
    return parse_config(text + PRINTER)


class ServerSecuritySettingsTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        server = parse("").server
        self.assertEqual((server.hostnames, server.admin_token, server.metrics_token,
                          server.max_connections_per_client), ((), None, False, 64))

    def test_values(self) -> None:
        server = parse('[server]\nhostnames = ["Till.LAN"]\nadmin_token = "a"\n'
                       'metrics_token = true\nmax_connections_per_client = 8\n'
                       ).server
        self.assertEqual((server.hostnames, server.admin_token, server.metrics_token,
                          server.max_connections_per_client), (("till.lan",), "a", True, 8))

    def test_refusals(self) -> None:
        for text, message in (
                ("hostnames = \"x\"", "server.hostnames: expected a list of non-empty strings"),
                ("admin_token = \"\"", "server.admin_token: expected a non-empty string"),
                ("metrics_token = 1", "server.metrics_token: expected true or false"),
                ("max_connections_per_client = 0",
                 "server.max_connections_per_client: expected an integer 1-100000")):
            with self.assertRaises(ConfigError) as e:
                parse(f"[server]\n{text}\n")
            self.assertIn(message, str(e.exception))
