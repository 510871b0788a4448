"""``ticketd-print``: send a print document (or raw ESC/POS) to ticketd over WebSocket.

Exit status: 0 printed; 1 the job failed, was refused, or its result did not come in time
(re-running with the same ``--id`` is safe: ticketd never prints an id twice); 2 usage or
connection errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any, TextIO

from twisted.internet import task
from twisted.internet.defer import ensureDeferred

from ticketd import paper
from ticketd.client import ClientError, TicketClient, connect

OK, FAILED, USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ticketd-print", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="ws://127.0.0.1:8766/ws", help="ticketd's WebSocket URL")
    p.add_argument("--token", help="auth token, if the server requires one")
    p.add_argument("--printer", help="printer name or alias (default: the document's "
                   "profile.model, else the default printer)")
    p.add_argument("--id", help="job id (default: a new UUID); reuse it to retry safely")
    p.add_argument("--raw", action="store_true", help="FILE holds raw ESC/POS bytes")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the result (default 60)")
    p.add_argument("--status", action="store_true", help="show the queue state and exit")
    p.add_argument("--printers", action="store_true", help="list printers and exit")
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


async def run(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    payload: Any = None
    if not (args.status or args.printers):
        try:
            data = _read(args.file, args.raw)
            if not args.raw:
                payload = json.loads(data)
                if not isinstance(payload, dict):
                    raise ValueError("the document must be a JSON object")
                if args.printer:
                    payload.setdefault("profile", {})["model"] = args.printer
            else:
                payload = data
        except (OSError, ValueError) as e:
            print(f"ticketd-print: {args.file}: {e}", file=err)
            return USAGE
    try:
        client = await connect(reactor, args.url, auth_token=args.token,
                               timeout=min(args.timeout, 10.0))
    except ClientError as e:
        print(f"ticketd-print: {args.url}: {e}", file=err)
        return USAGE
    try:
        if args.status:
            reply = await client.status(args.printer)
            print(reply.get("mensaje", json.dumps(reply)), file=out)
            return OK if reply.get("tipo") == "status" else FAILED
        if args.printers:
            return _show_printers(await client.printers(), out)
        return await _print(reactor, client, args, payload, out, err)
    except ClientError as e:
        print(f"ticketd-print: {e}", file=err)
        return USAGE
    finally:
        if client.close_info is None:
            client.close()


async def _print(reactor: Any, client: TicketClient, args: argparse.Namespace, payload: Any,
                 out: TextIO, err: TextIO) -> int:
    job_id = args.id or uuid.uuid4().hex
    result = client.result(job_id)  # listen before sending: a fast printer beats the ack
    if args.raw:
        ack = await client.raw(payload, args.printer, job_id)
    else:
        ack = await client.ticket(payload, job_id)
    if ack.get("tipo") == "error":
        result.cancel()
        result.addErrback(lambda _: None)
        print(f"refused: {ack.get('mensaje')}", file=err)
        return FAILED
    where = f" at position {ack['position']}" if "position" in ack else ""
    status = "duplicate" if ack.get("duplicate") else ack.get("status")
    state = f" (already {ack.get('state')})" if ack.get("duplicate") else ""
    print(f"job {job_id} {status}{state} on {ack.get('printer', '?')}{where}, "
          f"queue {ack.get('current')}/{ack.get('capacity')}", file=err)
    timer = reactor.callLater(args.timeout, result.cancel)
    try:
        final = await result
    except Exception:
        print(f"no result within {args.timeout:g} s; check later with the same --id "
              f"({job_id}): it will not print twice", file=err)
        return FAILED
    finally:
        if timer.active():
            timer.cancel()
    for warning in final.get("warnings", []):
        print(f"warning: {warning}", file=err)
    if final.get("status") == "success":
        print(final.get("mensaje", "Printed"), file=out)
        return OK
    print(final.get("mensaje", "failed"), file=err)
    return FAILED


def preview(args: argparse.Namespace, out: Any, err: TextIO) -> int:
    """``--preview OUT.png``: render and draw locally; the errors are the daemon's."""
    from ticketd.documents import DocumentError, render
    from ticketd.receipt_image import render_png

    try:
        data = _read(args.file, args.raw)
    except OSError as e:
        print(f"ticketd-print: {args.file}: {e}", file=err)
        return USAGE
    if args.raw:
        if not 8 <= args.dots <= 4096:
            print("ticketd-print: --dots must be 8-4096", file=err)
            return USAGE
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
        return USAGE
    print(f"preview written to {args.preview}", file=err)
    return OK


def _show_printers(reply: dict[str, Any], out: TextIO) -> int:
    if reply.get("tipo") != "printers":
        print(reply.get("mensaje", json.dumps(reply)), file=out)
        return FAILED
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
    if not (args.status or args.printers) and not args.file:
        parser().error("FILE is required (or --status / --printers)")
    if args.preview:
        sys.exit(preview(args, sys.stdout.buffer, sys.stderr))
    codes: list[int] = []

    def go(reactor: Any) -> Any:
        d = ensureDeferred(run(reactor, args, sys.stdout, sys.stderr))
        return d.addCallback(codes.append)

    try:
        task.react(go)
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    sys.exit(codes[0] if codes else USAGE)


if __name__ == "__main__":
    main()
