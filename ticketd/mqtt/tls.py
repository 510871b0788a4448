"""The TLS context for a broker connection, built from ``[mqtt]``.

Built once by the service at start, so that unreadable or bad certificate files stop the
daemon with a clear error rather than failing every reconnect.
"""

from __future__ import annotations

import ssl

from ticketd.config import MqttConfig


def tls_context(config: MqttConfig) -> ssl.SSLContext:
    """Verification and hostname check on unless ``tls_insecure`` says otherwise."""
    ctx = ssl.create_default_context(
        cafile=str(config.ca_file) if config.ca_file else None)
    if config.cert_file:
        ctx.load_cert_chain(str(config.cert_file),
                            str(config.key_file) if config.key_file else None)
    if config.tls_insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
