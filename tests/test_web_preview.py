"""Receipt pictures: ``POST /preview``, ``POST /validate``, ``GET /jobs/<id>/preview.png``
and the dashboard's static resources over real loopback HTTP (a JobManager rig with fake
printers, the work in real threads); the virtual printer's PNG; ``ticketd-print --preview``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from twisted.web.server import Site

from ticketd import cli
from ticketd.config import parse
from ticketd.documents import render
from ticketd.jobs.model import JobKind
from ticketd.printers.virtual import VirtualConnection
from ticketd.web import dashboard
from ticketd.jobs.service import PrintService
from ticketd.tap import in_reactor_threads
from ticketd.web.site import Root
from tests.fakes import Rig, config
from tests.test_ws_messages import DOC

BAD = {"version": "1.0", "profile": {"model": "p1"},
       "commands": [{"type": "text", "data": {"content": {"text": "x",
                                                          "content_style": {"size": "9x1"}}}}]}
PRINTERS = ('[server]\nmax_message_size = 4096\n{token}\n'
            '[printers.p1]\nconnection = "virtual"\ndefault = true\n'
            'aliases = ["58mm PT-210"]\n')


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG", image.format
    return image.size


class HttpBase(TestCase):
    token = ""

    def setUp(self) -> None:
        from twisted.internet import reactor
        self.reactor = reactor
        self.rig = Rig(config(self.mktemp(), PRINTERS.format(token=self.token)))
        self.rig.start()
        self.addCleanup(self.rig.stop)
        root = Root()
        service = PrintService(self.rig.manager, run=in_reactor_threads(reactor), scanners=())
        root.index = dashboard.mount(root, service, self.rig.config.server)
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.base = f"http://127.0.0.1:{port.getHost().port}"
        self.agent = Agent(reactor)

    async def request(self, method: str, path: str, body: bytes | None = None
                      ) -> tuple[int, Any, bytes]:
        from twisted.web.client import FileBodyProducer
        producer = FileBodyProducer(io.BytesIO(body)) if body is not None else None
        d = self.agent.request(method.encode(), (self.base + path).encode(),
                               Headers({b"content-type": [b"application/json"]}), producer)
        response = await d.addTimeout(20, self.reactor)
        data = await readBody(response)
        return response.code, response.headers, data

    def submit(self, job_id: str, kind: JobKind, payload: Any) -> None:
        self.rig.manager.submit(job_id=job_id, printer="p1", source="test", kind=kind,
                                payload=payload)


def run(coro: Any) -> Any:
    return ensureDeferred(coro)


class PreviewPostTests(HttpBase):
    def test_document_to_png_as_wide_as_the_paper(self) -> Any:
        async def go() -> None:
            code, headers, body = await self.request("POST", "/preview",
                                                     json.dumps(DOC).encode())
            self.assertEqual(code, 200, body[:300])
            self.assertEqual(headers.getRawHeaders(b"content-type"), [b"image/png"])
            width, height = png_size(body)
            self.assertEqual(width, 384)  # 58 mm paper at 203 dpi
            self.assertGreater(height, 20)
        return run(go())

    def test_text_format(self) -> Any:
        async def go() -> None:
            code, headers, body = await self.request("POST", "/preview?format=text",
                                                     json.dumps(DOC).encode())
            self.assertEqual(code, 200)
            self.assertIn("Añejo café 1,50 €", body.decode("utf-8"))
        return run(go())

    def test_invalid_document_gets_400_with_categorized_errors(self) -> Any:
        async def go() -> None:
            code, headers, body = await self.request("POST", "/preview",
                                                     json.dumps(BAD).encode())
            self.assertEqual(code, 400)
            self.assertEqual(headers.getRawHeaders(b"content-type"), [b"application/json"])
            errors = json.loads(body)["errors"]
            self.assertEqual(errors, ["VALIDATION: commands[0].data.content.content_style."
                                      "size: '9x1' is not WxH with 1-8"])
            code, _, body = await self.request("POST", "/preview", b"{nope")
            self.assertEqual(code, 400)
            self.assertTrue(json.loads(body)["errors"][0].startswith("JSON: document: "))
        return run(go())

    def test_body_over_the_limit_gets_413(self) -> Any:
        async def go() -> None:
            big = dict(DOC, commands=[{"type": "text", "data": {"content": {"text": "x" * 5000}}}])
            code, _, body = await self.request("POST", "/preview", json.dumps(big).encode())
            self.assertEqual(code, 413)
            self.assertIn("4096 bytes limit", json.loads(body)["errors"][0])
        return run(go())

    def test_validate(self) -> Any:
        async def go() -> None:
            code, _, body = await self.request("POST", "/validate", json.dumps(DOC).encode())
            self.assertEqual((code, json.loads(body)), (200, {"valid": True, "errors": []}))
            code, _, body = await self.request("POST", "/validate", json.dumps(BAD).encode())
            self.assertFalse(json.loads(body)["valid"])
            self.assertTrue(json.loads(body)["errors"][0].startswith("VALIDATION: "))
        return run(go())


class JobPreviewTests(HttpBase):
    def test_document_job_and_raw_job(self) -> Any:
        async def go() -> None:
            self.submit("doc/1", JobKind.DOCUMENT, DOC)  # a "/" in the id: URL-quoted
            self.submit("raw-1", JobKind.RAW, b"\x1b@raw job\n")
            await self.rig.manager.flushed()
            code, headers, body = await self.request(
                "GET", f"/jobs/{quote('doc/1', safe='')}/preview.png")
            self.assertEqual(code, 200, body[:200])
            self.assertEqual(headers.getRawHeaders(b"content-type"), [b"image/png"])
            self.assertEqual(png_size(body)[0], 384)
            code, _, body = await self.request("GET", "/jobs/raw-1/preview.png")
            self.assertEqual((code, png_size(body)[0]), (200, 576))  # p1: 80 mm, 203 dpi
        return run(go())

    def test_unknown_job_and_paths(self) -> Any:
        async def go() -> None:
            code, _, body = await self.request("GET", "/jobs/nope/preview.png")
            self.assertEqual((code, json.loads(body)), (404, {"errors": [
                "Unknown job id: nope"]}))
            for path in ("/jobs/nope", "/jobs/nope/other.png", "/jobs/a/b/preview.png"):
                self.assertEqual((await self.request("GET", path))[0], 404, path)
        return run(go())


class JobPreviewAuthTests(HttpBase):
    token = 'auth_token = "s3cret"'

    def test_token_in_query_or_header(self) -> Any:
        async def go() -> None:
            self.submit("j", JobKind.RAW, b"hello\n")
            await self.rig.manager.flushed()
            self.assertEqual((await self.request("GET", "/jobs/j/preview.png"))[0], 401)
            self.assertEqual((await self.request("GET", "/jobs/j/preview.png?token=no"))[0],
                             401)
            self.assertEqual((await self.request("GET", "/jobs/j/preview.png?token=s3cret"))[0],
                             200)
            code, _, page = await self.request("GET", "/")
            self.assertEqual(code, 200)
            self.assertNotIn(b"s3cret", page)  # never embedded in the page
        return run(go())


class DashboardResourcesTests(HttpBase):
    def test_page_assets_and_examples(self) -> Any:
        async def go() -> None:
            code, headers, page = await self.request("GET", "/")
            self.assertEqual(code, 200)
            self.assertIn(b'<script src="/static/app.js"', page)
            csp = headers.getRawHeaders(b"content-security-policy")[0]
            self.assertIn(b"default-src 'self'", csp)
            for asset in ("/static/app.js", "/static/style.css"):
                self.assertEqual((await self.request("GET", asset))[0], 200, asset)
            code, _, body = await self.request("GET", "/examples")
            names = [e["name"] for e in json.loads(body)["examples"]]
            self.assertIn("showcase", names)
            self.assertEqual(len(names), 6)
            code, _, body = await self.request("GET", "/static/examples/showcase.json")
            self.assertEqual(json.loads(body)["profile"]["model"], "58mm PT-210")
            self.assertEqual((await self.request("GET", "/static/examples/"))[0], 404)
        return run(go())


class VirtualPreviewTests(TestCase):
    def test_png_beside_each_job(self) -> None:
        spool = Path(self.mktemp())
        conn = VirtualConnection(spool, preview_dots=384)
        conn.write(render(DOC).data, "j1")
        self.assertTrue((spool / "j1.bin").is_file())
        self.assertEqual(png_size((spool / "j1.png").read_bytes())[0], 384)
        self.assertEqual(sorted(p.name for p in spool.iterdir()), ["j1.bin", "j1.png"])

    def test_from_config_uses_the_printers_width(self) -> None:
        tmp = self.mktemp()
        cfg = parse(f'[state]\ndirectory = "{tmp}"\n[printers.v]\nconnection = "virtual"\n'
                    'paper_width = 58\n', str(Path(tmp) / "t.toml"))
        conn = VirtualConnection.from_config(cfg.printers[0])
        self.assertEqual(conn.preview_dots, 384)
        conn.write(b"\x1b@hi\n", "r")
        self.assertEqual(png_size(conn.preview_path_for("r").read_bytes())[0], 384)

    def test_a_failed_picture_is_only_logged(self) -> None:
        spool = Path(self.mktemp())
        conn = VirtualConnection(spool, preview_dots=576)
        conn.open()
        (spool / "j2.png").mkdir()  # cannot be replaced by a file
        conn.write(b"data\n", "j2")
        self.assertEqual((spool / "j2.bin").read_bytes(), b"data\n")
        self.assertEqual([p.name for p in spool.glob(".tmp-*")], [])

    def test_without_preview_dots_no_picture(self) -> None:
        spool = Path(self.mktemp())
        VirtualConnection(spool).write(b"x", "j3")
        self.assertEqual([p.name for p in spool.iterdir()], ["j3.bin"])


class CliPreviewTests(TestCase):
    def cli(self, *argv: str) -> tuple[int, str]:
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit) as stop:
            cli.main(list(argv))
        return int(stop.exception.code or 0), err.getvalue()

    def test_document_preview(self) -> None:
        doc = Path(self.mktemp())
        doc.write_text(json.dumps(DOC), encoding="utf-8")
        out = Path(self.mktemp() + ".png")
        code, err = self.cli("--preview", str(out), str(doc))
        self.assertEqual(code, 0, err)
        self.assertEqual(png_size(out.read_bytes())[0], 384)

    def test_invalid_document(self) -> None:
        doc = Path(self.mktemp())
        doc.write_text(json.dumps(BAD), encoding="utf-8")
        out = Path(self.mktemp() + ".png")
        code, err = self.cli("--preview", str(out), str(doc))
        self.assertEqual(code, 1)
        self.assertIn("VALIDATION: commands[0].data.content.content_style.size", err)
        self.assertFalse(out.exists())

    def test_raw_preview_with_dots(self) -> None:
        raw = Path(self.mktemp())
        raw.write_bytes(b"\x1b@hello raw\n")
        out = Path(self.mktemp() + ".png")
        code, err = self.cli("--raw", "--dots", "512", "--preview", str(out), str(raw))
        self.assertEqual(code, 0, err)
        self.assertEqual(png_size(out.read_bytes())[0], 512)
