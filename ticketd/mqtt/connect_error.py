"""A failed broker connect in one clear line (the log line operators will search for)."""

from __future__ import annotations

import ssl

from ticketd.config import MqttConfig


def describe_error(e: BaseException, config: MqttConfig) -> str:
    """One clear line for a failed connect (the log line operators will search for)."""
    where = f"{config.hostname}:{config.port}"
    if isinstance(e, ssl.SSLCertVerificationError):
        return (f"TLS: the broker's certificate was refused (certificate verify failed: "
                f"{e.verify_message}; ca_file = {config.ca_file or 'system CAs'})")
    if isinstance(e, ssl.SSLError):
        return f"TLS: handshake with {where} failed: {e.reason or e}"
    if isinstance(e, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(e, TimeoutError):
        return f"cannot connect to {where}: timed out"
    if isinstance(e, OSError):
        return f"cannot connect to {where}: {e.strerror or e}"
    return f"cannot connect to {where}: {type(e).__name__}: {e}"
