"""Errors of the document layer.

Every message is "CATEGORY: json.path: message" so that WebSocket clients can
``split(":")`` (docs/protocol.rst, "Error categories").
"""
from __future__ import annotations

from typing import Iterable

#: The categories of docs/protocol.rst, "Error categories".
CATEGORIES = (
    "VALIDATION", "JSON", "PRINTER", "QR", "BARCODE", "TABLE", "RAW",
    "IMAGE", "COMMAND", "EXECUTION", "ERROR",
)

#: At most this many errors are reported for one document.
MAX_ERRORS = 50


def fmt(category: str, path: str, message: str) -> str:
    """Format one error line: ``CATEGORY: path: message``."""
    return f"{category}: {path}: {message}"


def category_of(error: str) -> str:
    """Return the category prefix of a formatted error line."""
    head = error.split(":", 1)[0]
    return head if head in CATEGORIES else "ERROR"


class DocumentError(Exception):
    """A document cannot be printed; ``errors`` are formatted lines.

    ``category`` is the category of the first error, which is what a client
    sees first in the ``mensaje`` of a result.
    """

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: list[str] = list(errors)[:MAX_ERRORS] or [
            fmt("ERROR", "document", "unknown error")]
        self.category: str = category_of(self.errors[0])
        super().__init__("; ".join(self.errors))

    @classmethod
    def single(cls, category: str, path: str, message: str) -> "DocumentError":
        """Build an error holding a single formatted line."""
        return cls([fmt(category, path, message)])
