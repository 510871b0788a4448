"""The renderer (and python-escpos) imported where another process may be writing
python-escpos' cache at that moment.

python-escpos keeps its printer database as a pickle in ``ESCPOS_CAPABILITIES_PICKLE_DIR``
(a new temporary directory per process when that is not set) and writes it in place on
its first import: a process importing it meanwhile, such as a second render process
started with the first, reads a file still being written (``EOFError``); a writer killed
half-way leaves a file that never reads. The import is tried again for a while, and a
cache that still does not read is removed halfway through (python-escpos writes it anew).
"""

from __future__ import annotations

import os
import pickle
import platform
import time
from types import ModuleType
from typing import Callable

ATTEMPTS = 20
PAUSE = 0.1  # seconds between two attempts


def import_renderer(pause: Callable[[float], None] = time.sleep) -> ModuleType:
    """``ticketd.documents.renderer``; the last attempt's error if none succeeds."""
    for attempt in range(ATTEMPTS - 1):
        try:
            from . import renderer
            return renderer
        except (EOFError, pickle.UnpicklingError, FileNotFoundError):  # removed meanwhile
            if attempt == ATTEMPTS // 2:
                _remove_cache()
            pause(PAUSE)
    from . import renderer
    return renderer


def _remove_cache() -> None:
    directory = os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR")
    if directory:
        try:
            os.unlink(os.path.join(directory,
                                   f"{platform.python_version()}.capabilities.pickle"))
        except OSError:
            pass
