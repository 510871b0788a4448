"""An in-process printer that keeps every job's bytes as a file: for trying ticketd without
hardware, for tests of the job pipeline, and as a "print to file" archive.

Each job becomes ``<spool>/<jobid>.bin`` holding exactly the job's bytes, written to the
printer's one temp file (``.tmp-<tag>-bin.part``, its tag made once per printer: no new
name per job, and two printers sharing a spool never share it) and renamed into place, so
a crash never leaves a partial ``.bin`` that looks printed.
The rename survives a crash of the daemon (the data is in the OS); ``fsync=True`` also makes
it survive power loss, at an fsync per job.

Its status is settable in-process (:meth:`VirtualConnection.set_status`) and, overriding
that, by a ``STATUS`` file in the spool directory, so that a person or another process can
simulate a fault: ``echo paper_out > var/ticketd/spool/NAME/STATUS``; delete the file (or
write ``ready``) to clear it. Writes are accepted whatever the status: like a real printer
that buffers, it is the printer service's status check that holds jobs.

With ``preview_dots`` (the daemon sets it from the printer's paper width and dpi, unless
the printer's config says ``preview = false``, as the benchmarks do) each job
also gets a picture, ``<jobid>.png`` beside its ``.bin``, drawn by ``ticketd.receipt_image`` in
the printer's thread after the ``.bin`` is in place: the picture is a convenience, so a
failure to draw it is only logged and never fails the job.

:meth:`VirtualConnection.prune` removes the files older than the journal's retention
(``ticketd.printers.spool_pruning`` calls it periodically).
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

from twisted.logger import Logger

from ticketd import paper
from ticketd.config import VIRTUAL_STATUSES, PrinterConfig
from ticketd.printers import status
from ticketd.printers.connection import PrinterIOError, SpooledConnection
from ticketd.printers.status import PrinterStatus

STATUS_FILE = "STATUS"
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_MAX_STEM = 200  # bytes; file names are at most 255 on the usual file systems

STATUSES: dict[str, PrinterStatus] = {
    "ready": status.READY,
    "paper_near_end": PrinterStatus(paper_near_end=True),
    "paper_out": PrinterStatus(online=False, paper_out=True, paper_near_end=True),
    "cover_open": PrinterStatus(online=False, cover_open=True),
    "offline": PrinterStatus(online=False),
    "silent": status.no_response("virtual printer set to silent"),
}
assert set(STATUSES) == set(VIRTUAL_STATUSES)


def spool_name(job_id: str) -> str:
    """A file name for a job id that cannot leave the spool directory or hide itself.

    Everything but ``A-Z a-z 0-9 - _ .`` is percent-escaped (so ``/``, ``\\``, NUL and
    ``%`` cannot pass), a leading dot is escaped (no ``..``, no hidden files, no clash with
    temp files), and over-long ids are cut and suffixed with a hash so two stay distinct.
    """
    stem = quote(job_id, safe="-_.") if job_id else "%00empty"
    stem = stem.replace("~", "%7E")
    if stem.startswith("."):
        stem = "%2E" + stem[1:]
    if len(stem) > _MAX_STEM:
        digest = hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        stem = stem[:_MAX_STEM - 17] + "-" + digest
    return stem + ".bin"


def _spooled(name: str) -> bool:
    """A job's file or a write's leftover temp file: never ``STATUS`` or anything else."""
    return (name.endswith((".bin", ".png")) and not name.startswith(".")) or \
        (name.startswith(".tmp-") and name.endswith(".part"))


class VirtualConnection(SpooledConnection):
    """:class:`~ticketd.printers.connection.PrinterConnection` writing to a spool directory."""

    log = Logger()

    def __init__(self, spool: Path | str, *, status: str = "ready", fsync: bool = False,
                 preview_dots: int | None = None) -> None:
        self.spool = Path(spool)
        self._spool = str(self.spool)
        self._status_file = os.path.join(self._spool, STATUS_FILE)
        self.fsync = fsync
        self.preview_dots = preview_dots
        self._status = "ready"
        self.set_status(status)
        self._lock = threading.Lock()
        self._tmp_tag = uuid.uuid4().hex[:12]   # this printer's temp files: see _write_file

    @classmethod
    def from_config(cls, config: PrinterConfig) -> "VirtualConnection":
        spool = config.spool if config.spool is not None else Path("spool") / config.name
        return cls(spool, status=config.status,
                   preview_dots=paper.printable_dots(config.paper_width, config.dpi)
                   if config.preview else None)

    def __repr__(self) -> str:
        return f"<VirtualConnection {self.spool}>"

    def set_status(self, name: str) -> None:
        """Simulate a printer state; a STATUS file in the spool directory still wins."""
        if name not in STATUSES:
            raise ValueError(f"virtual printer status must be one of "
                             f"{', '.join(VIRTUAL_STATUSES)}, not {name!r}")
        self._status = name

    def status_name(self) -> str:
        """The effective state: the STATUS file's word if it holds a valid one."""
        try:
            with open(self._status_file, "rb") as f:
                word = f.read(64).decode("utf-8").strip().lower()
        except (OSError, UnicodeDecodeError):
            return self._status
        if word in STATUSES:
            return word
        if word:
            self.log.warn("ignoring {path}: {word!r} is not one of {choices}",
                          path=str(self.spool / STATUS_FILE), word=word,
                          choices=", ".join(VIRTUAL_STATUSES))
        return self._status

    def path_for(self, job_id: str) -> Path:
        return self.spool / spool_name(job_id)

    def preview_path_for(self, job_id: str) -> Path:
        return self.path_for(job_id).with_suffix(".png")

    # --- PrinterConnection ------------------------------------------------------------

    def open(self) -> None:
        if os.path.isdir(self._spool):  # one stat, not pathlib's mkdir, before each job
            return
        try:
            self.spool.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PrinterIOError(f"cannot create spool directory {self.spool}: "
                                 f"{e.strerror or e}") from None

    def write(self, data: bytes, job_id: str | None = None) -> None:
        if job_id is None:
            job_id = "raw-" + uuid.uuid4().hex
        target = self.path_for(job_id)
        with self._lock:
            try:
                try:
                    self._write_file(target, data, self.fsync)
                except FileNotFoundError:  # the spool directory went away: make it again
                    self.open()
                    self._write_file(target, data, self.fsync)
            except OSError as e:
                raise PrinterIOError(f"cannot write {target}: {e.strerror or e}") from None
        self.log.debug("virtual printer spooled {size} bytes to {path}",
                       size=len(data), path=str(target))
        if self.preview_dots is not None:
            self._save_preview(data, job_id)

    def _write_file(self, target: Path, data: bytes, fsync: bool) -> None:
        """Temp file + rename: a crash never leaves a partial file under the final name.
        The temp file's name is one per printer and kind of file (the callers hold the
        printer's lock; another printer on the same spool has its own tag)."""
        tmp = os.path.join(self._spool, f".tmp-{self._tmp_tag}-{target.suffix[1:]}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, 0o644)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def _save_preview(self, data: bytes, job_id: str) -> None:
        """``<jobid>.png`` beside the ``.bin``; any failure is logged, the job has printed."""
        target = self.preview_path_for(job_id)
        try:
            from ticketd.receipt_image import render_png
            png = render_png(data, dots=self.preview_dots or paper.DEFAULT_DOTS)
            with self._lock:
                self._write_file(target, png, False)
        except Exception as e:
            self.log.warn("virtual printer: no preview {path}: {error}", path=str(target),
                          error=f"{type(e).__name__}: {e}")

    def prune(self, before: float) -> int:
        """Remove the jobs' files (``.bin``, ``.png``, and temp files a crash left) last
        changed before ``before`` (unix seconds), so that the spool keeps what the journal
        remembers and no more. Blocking: run it in a thread. A file that cannot be removed
        is logged and skipped; returns how many were removed."""
        try:
            entries = list(os.scandir(self.spool))
        except FileNotFoundError:
            return 0
        except OSError as e:
            raise PrinterIOError(f"cannot list spool directory {self.spool}: "
                                 f"{e.strerror or e}") from None
        removed = 0
        for entry in entries:
            if not _spooled(entry.name):
                continue
            try:
                if entry.is_file(follow_symlinks=False) and \
                        entry.stat(follow_symlinks=False).st_mtime < before:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # gone meanwhile
            except OSError as e:
                self.log.warn("virtual printer: cannot remove {path}: {error}",
                              path=entry.path, error=e.strerror or str(e))
        return removed

    def query_status(self) -> PrinterStatus:
        if not os.path.isdir(self._spool):
            try:
                self.open()
            except PrinterIOError as e:
                return status.not_connected(str(e))
        return STATUSES[self.status_name()]
