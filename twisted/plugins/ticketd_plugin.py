"""The twistd plugin: names ``ticketd.tap`` and imports nothing heavy (``twistd --help``
stays fast)."""

from twisted.application.service import ServiceMaker

ticketd = ServiceMaker(
    "ticketd",
    "ticketd.tap",
    "Print daemon for ESC/POS receipt printers (WebSocket and MQTT).",
    "ticketd",
)
