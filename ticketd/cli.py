"""``ticketd-print``: send a print document (or raw ESC/POS) to ticketd and say what
happens to it while it waits.

Built on the blocking client (``ticketd/sync_client.py``): one connection, no reactor.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from typing import Any, TextIO

from ticketd import paper
from ticketd.cli_progress import ProgressLines
from ticketd.client_url import DEFAULT_URL, default_url
from ticketd.sync_client import (CannotConnect, Connection, NoResult, PrintError,
                                 admin_token_from)

OK, FAILED, UNREACHABLE, NO_RESULT = 0, 1, 2, 3

EPILOG = f"""\
exit status:
  0  printed (--job: the job printed; --cancel: cancelled)
  1  refused or failed: an unknown printer, a document that does not read or validate,
     a printer fault past its hold limit, a refused token ...
  2  cannot reach the daemon (and usage errors in the options)
  3  no result in time: the job is still the daemon's; check later with --job ID
     (sending it again with the same --id never prints it twice)

URL: --url, else $TICKETD_URL, else {DEFAULT_URL}; http://host:port, ws://host:port and
host:port all mean ws://host:port/ws (https:// gives wss://).
Admin token (--cancel of another client's job, --reprint): --admin-token, else
$TICKETD_ADMIN_TOKEN, else the file admin-token in --state-dir.
"""


class UserError(Exception):
    """A mistake of the caller's (a file, an option): one line, exit 1, no traceback."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ticketd-print", description=__doc__.split("\n\n")[0],
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="the daemon: ws://host:port/ws, http://host:port or host:port "
                   "(default: $TICKETD_URL, else %(default)s)".replace("%(default)s", DEFAULT_URL))
    p.add_argument("--token", help="auth token, if the server requires one")
    p.add_argument("--admin-token", help="admin token for --cancel and --reprint "
                   "(default: $TICKETD_ADMIN_TOKEN, else STATE_DIR/admin-token)")
    p.add_argument("--state-dir", help="the daemon's state directory, to read its admin-token")
    p.add_argument("--printer", help="printer name or alias; an unknown one is refused "
                   "(default: the document's profile.model, else the default printer)")
    p.add_argument("--id", help="job id (default: a new one); reuse it to retry safely")
    p.add_argument("--raw", action="store_true", help="FILE holds raw ESC/POS bytes")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the result (default 60)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--status", action="store_true", help="show the queue state and exit")
    what.add_argument("--printers", action="store_true", help="list printers and exit")
    what.add_argument("--job", metavar="ID", help="show job ID's state and result")
    what.add_argument("--cancel", metavar="ID", help="cancel job ID while it waits")
    what.add_argument("--reprint", metavar="ID", help="print finished job ID again as a new "
                      "job (--id names it; default ID~reprint-N)")
    p.add_argument("--preview", metavar="OUT.png", help="do not print: draw the receipt "
                   "into OUT.png (locally, no daemon needed; - = stdout)")
    p.add_argument("--dots", type=int, default=paper.DEFAULT_DOTS,
                   help="paper width in dots for --preview "
                   "--raw (default 576: 80 mm at 203 dpi; documents use their profile)")
    p.add_argument("file", nargs="?", help="document (JSON) or, with --raw, ESC/POS; - = stdin")
    return p


def _read(path: str, raw: bool) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def load(path: str, raw: bool) -> Any:
    """The file's bytes (``raw``) or its document; UserError says what is wrong with it."""
    try:
        data = _read(path, raw)
    except OSError as e:
        raise UserError(f"{path}: {e.strerror or e}") from None
    if raw:
        if not data:
            raise UserError(f"{path}: the file is empty")
        return data
    if looks_binary(data):
        raise UserError(f"{path}: this looks like binary ESC/POS data: use --raw")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: invalid JSON: {e.msg} at line {e.lineno} column {e.colno}"
                        ) from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: the document must be a JSON object, "
                        f"not {type(document).__name__}")
    return document


def looks_binary(data: bytes) -> bool:
    """JSON text never holds raw control bytes such as ESC, GS or NUL (strings escape them)."""
    if any(b in data for b in (b"\x00", b"\x1b", b"\x1d", b"\x10")):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def admin_token(args: argparse.Namespace) -> str | None:
    if args.admin_token:
        return str(args.admin_token)
    try:
        return admin_token_from(args.state_dir)
    except OSError as e:
        raise UserError(f"{args.state_dir}: cannot read the admin token: "
                        f"{e.strerror or e}") from None


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The command; every expected failure is a line on ``err`` and an exit status."""
    try:
        return _run(args, out, err)
    except UserError as e:
        print(f"ticketd-print: {e}", file=err)
        return FAILED
    except CannotConnect as e:
        print(f"ticketd-print: {e.message}", file=err)
        return UNREACHABLE
    except NoResult as e:
        print(f"ticketd-print: {e.message}", file=err)
        return NO_RESULT
    except PrintError as e:
        print(f"{e.state or 'refused'}: {e.message}", file=err)
        return FAILED


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    sends_job = not (args.status or args.printers or args.job or args.cancel or args.reprint)
    payload = load(args.file, args.raw) if sends_job else None
    token = admin_token(args) if (args.cancel or args.reprint) else None
    url = args.url or default_url()
    with Connection(url, auth_token=args.token, admin_token=token,
                    timeout=min(args.timeout, 10.0)) as c:
        if args.status:
            reply = c.status(args.printer)
            print(reply.get("mensaje", json.dumps(reply)), file=out)
            return OK if reply.get("tipo") == "status" else FAILED
        if args.printers:
            return _show_printers(c.printers(), out)
        if args.job:
            return _show_job(c, args.job, out)
        if args.cancel:
            result = c.cancel(args.cancel)
            print(f"job {result.id} cancelled: {result.message}", file=out)
            return OK
        if args.reprint:
            message: dict[str, Any] = {"tipo": "reprint", "datos": {"job": args.reprint}}
        elif args.raw:
            datos: dict[str, Any] = {"data": base64.b64encode(payload).decode("ascii")}
            if args.printer:
                datos["printer"] = c.printer_name(args.printer)
            message = {"tipo": "raw", "datos": datos}
        else:
            if args.printer:
                payload = dict(payload, profile=dict(payload.get("profile") or {},
                                                     model=c.printer_name(args.printer)))
            message = {"tipo": "ticket", "datos": payload}
        if args.id:
            message["id"] = args.id
        return _print(c, message, args, out, err)


def _print(c: Connection, message: dict[str, Any], args: argparse.Namespace, out: TextIO,
           err: TextIO) -> int:
    lines = ProgressLines(err)
    started = time.monotonic()
    ack = c.submit(message, admin=message["tipo"] == "reprint")
    job_id = str(ack.get("id"))
    lines.acked(ack)
    try:
        result = c.wait(job_id, max(args.timeout - (time.monotonic() - started), 0.1),
                        lines.step, lines.tick)
    except NoResult:
        lines.done()
        print(f"no result within {args.timeout:g} s: check later with --job {job_id}",
              file=err)
        return NO_RESULT
    except PrintError as e:
        lines.done()
        for warning in e.warnings:
            print(f"warning: {warning}", file=err)
        raise
    lines.done()
    for warning in result.warnings:
        print(f"warning: {warning}", file=err)
    print(f"printed in {time.monotonic() - started:.1f} s", file=out)
    return OK


def _show_job(c: Connection, job_id: str, out: TextIO) -> int:
    job = c.job_status(job_id)
    if job is None:
        raise PrintError(f"Unknown job id: {job_id}", id=job_id)
    where = f" on {job.printer}" if job.printer else ""
    extra = f" (reprint of {job.reprint_of})" if job.reprint_of else ""
    at = f", position {job.position}" if job.position is not None else ""
    print(f"job {job.id}: {job.state}{where}{extra}{at}: {job.message}", file=out)
    for warning in job.warnings:
        print(f"warning: {warning}", file=out)
    if job.result is None:
        return NO_RESULT
    return OK if job.state == "printed" else FAILED


def preview(args: argparse.Namespace, out: Any, err: TextIO) -> int:
    """``--preview OUT.png``: render and draw locally; the errors are the daemon's."""
    from ticketd.documents import DocumentError, render
    from ticketd.receipt_image import render_png

    try:
        data = _read(args.file, args.raw)
    except OSError as e:
        print(f"ticketd-print: {args.file}: {e}", file=err)
        return FAILED
    if args.raw:
        if not 8 <= args.dots <= 4096:
            print("ticketd-print: --dots must be 8-4096", file=err)
            return FAILED
        png = render_png(data, dots=args.dots)
    else:
        try:
            rendered = render(data)
        except DocumentError as e:
            for line in e.errors:
                print(line, file=err)
            return FAILED
        for warning in rendered.warnings:
            print(f"warning: {warning}", file=err)
        png = render_png(rendered.data, dots=rendered.profile.dots)
    if args.preview == "-":
        out.write(png)
        out.flush()
        return OK
    try:
        with open(args.preview, "wb") as f:
            f.write(png)
    except OSError as e:
        print(f"ticketd-print: {args.preview}: {e}", file=err)
        return FAILED
    print(f"preview written to {args.preview}", file=err)
    return OK


def _show_printers(reply: dict[str, Any], out: TextIO) -> int:
    for p in reply.get("printers", []):
        mark = "*" if p.get("is_default") else " "
        conf = "configured" if p.get("configured") else "detected"
        kind = "virtual" if p.get("is_virtual") else p.get("printer_type")
        print(f"{mark} {p.get('name')}\t{p.get('status')}\t{kind}\t{conf}\t"
              f"{p.get('port')}", file=out)
    s = reply.get("summary", {})
    print(f"summary: {s.get('status')}, {s.get('detected_count')} printers, "
          f"{s.get('thermal_count')} thermal, default {s.get('default_name')!r}", file=out)
    return OK


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.preview or not (args.status or args.printers or args.job or args.cancel
                            or args.reprint):
        if not args.file:
            parser().error("FILE is required (or --status, --printers, --job, --cancel, "
                           "--reprint)")
    if args.preview:
        sys.exit(preview(args, sys.stdout.buffer, sys.stderr))
    try:
        sys.exit(run(args, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        print("\nticketd-print: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
