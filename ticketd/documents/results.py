"""Result types of rendering (attrs only, cheap to import)."""
from __future__ import annotations

import attrs

from .profile import Profile


@attrs.frozen
class Rendered:
    """Result of rendering: the job bytes, replacement warnings, geometry."""

    data: bytes
    warnings: tuple[str, ...]
    profile: Profile


@attrs.frozen
class Raster:
    """A converted image: its ESC/POS bytes and printed size (cache value)."""

    data: bytes
    width: int
    height: int
