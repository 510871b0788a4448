"""Print documents v1: intake of every dialect, validation, rendering to ESC/POS,
plain-text lines.

Sans-IO and cheap to import: python-escpos and Pillow are imported only when
a document is rendered (note: python-escpos calls ``logging.basicConfig()``
on import). ``render`` may run in several worker threads at once.
"""
from __future__ import annotations

from typing import Any

from .errors import DocumentError
from .images import ImageCache
from .profile import Profile, profile_for
from .results import Rendered
from .validate import Checked, check, validate

__all__ = ["DocumentError", "validate", "check", "Checked", "render", "render_checked",
           "render_kept", "Rendered", "text_lines",
           "ImageCache", "profile_for", "Profile"]


def render(doc: Any, *, image_cache: ImageCache | None = None,
           strict: bool = False) -> Rendered:
    """Read ``doc`` (intake), validate it and render it to ESC/POS bytes (see
    renderer.render); ``strict``: what intake had to interpret is an error."""
    from .escpos_import import import_renderer

    return import_renderer().render(doc, image_cache=image_cache, strict=strict)


def render_checked(checked: Checked, *, image_cache: ImageCache | None = None) -> Rendered:
    """Render a document :func:`check` found good, without reading it again."""
    from .escpos_import import import_renderer

    return import_renderer().render_checked(checked, image_cache=image_cache)


def render_kept(payload: bytes, *, checked: bool, strict: bool = False,
                image_cache: ImageCache | None = None) -> Rendered:
    """Render a job's document as the job keeps it (UTF-8 JSON): ``checked``, read and
    validated when it was submitted, so only rendered; else (recovered after a restart, a
    reprint, a test page) read it all. Raises what :func:`render` raises, and ValueError
    for a payload that is not JSON."""
    from ticketd import jsoncodec

    document = jsoncodec.loads(payload)
    if checked:
        return render_checked(Checked(document, (), ()), image_cache=image_cache)
    return render(document, image_cache=image_cache, strict=strict)


def text_lines(doc: Any) -> list[str]:
    """The plain-text lines the receipt shows (see plain_text.text_lines)."""
    from .plain_text import text_lines as _preview

    return _preview(doc)

