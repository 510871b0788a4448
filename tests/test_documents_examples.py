"""Every real example document validates, renders and shows its text."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from ticketd.documents import ImageCache, text_lines, render, validate

from .documents_support import examples

GS_V = b"\x1dV"


class ExamplesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.docs = examples()

    def test_six_examples(self) -> None:
        self.assertEqual(len(self.docs), 6, sorted(self.docs))

    def test_all_validate_and_render(self) -> None:
        cache = ImageCache()
        for name, doc in self.docs.items():
            self.assertEqual(validate(doc), [], name)
            r = render(doc, image_cache=cache)
            self.assertTrue(r.data.startswith(b"\x1b@\x1bt"), name)
            self.assertTrue(GS_V in r.data, name)
            self.assertEqual(r.warnings, (), name)

    def test_con_impuestos(self) -> None:
        doc = self.docs["con_impuestos_err.json"]
        lines = text_lines(doc)
        self.assertIn("Nombre Comercial: LA RAZON", lines)
        self.assertIn("                  P A G A D O", lines)
        self.assertIn("            ¡GRACIAS POR SU COMPRA!", lines)
        self.assertIn("        IMP. TASA     BASE     IMPORTE", lines)
        self.assertEqual(lines[0], "[image 67x67]")
        self.assertEqual(lines[-1], "--- cut ---")
        data = render(doc).data
        self.assertTrue(data.startswith(b"\x1b@\x1bt\x02"))          # PC850
        self.assertTrue(b"\xadGRACIAS" in data, b"\xadGRACIAS")                          # ¡ in PC850
        self.assertTrue(b"\x1d(k" in data, b"\x1d(k")                               # native QR
        self.assertTrue(data.endswith(b"\x1dV\x01"))                 # partial, no feed
        self.assertTrue(b"\x1dv0" in data, b"\x1dv0")                               # logo raster

    def test_sin_impuestos_cambioqr_no_native_qr(self) -> None:
        doc = self.docs["sin_impuestos_cambioqr_err.json"]
        data = render(doc).data
        self.assertNotIn(b"\x1d(k", data)
        self.assertEqual(data.count(b"\x1dv0"), 2)                   # logo + QR image
        lines = text_lines(doc)
        self.assertIn("Domicilio: Ejemplo 31 82050", lines)
        self.assertTrue(any(line.startswith("[QR: https://invoices") for line in lines))

    def test_showcase(self) -> None:
        doc = self.docs["showcase.json"]
        data = render(doc).data
        self.assertTrue(data.startswith(b"\x1b@\x1bt\x10\x1b@\x1bt\x10"))  # raw reset
        self.assertTrue(b"\x1bp\x00\x19\x32" in data, b"\x1bp\x00\x19\x32")                    # pulse pin 0
        self.assertTrue(b"\x1bB\x01\x01" in data, b"\x1bB\x01\x01")                        # beep
        self.assertTrue(b"\x1dkI\x0a{B20250109" in data, b"\x1dkI\x0a{B20250109")                 # code128
        self.assertTrue(b"\x1dh\x32" in data, b"\x1dh\x32")                            # height 50
        self.assertTrue(b"\x1d(k" in data, b"\x1d(k")
        lines = text_lines(doc)
        self.assertIn("   K E M P E R   U R G A T E", lines)
        self.assertIn("1.0      MALETIN       $1,060.00", lines)
        self.assertIn("[BARCODE code128: 20250109]", lines)

    def test_table_showcase(self) -> None:
        doc = self.docs["table_showcase.json"]
        lines = text_lines(doc)
        self.assertIn("ORD    ITEM               PRECIO", lines)
        self.assertIn("         |__ Extra        $30.00", lines)
        self.assertIn(">>> TOTAL:               $713.40", lines)
        data = render(doc).data
        self.assertTrue(data.endswith(b"\x1bd\x03\x1dV\x01"))        # feed 3, partial

    def test_ticket_service_test(self) -> None:
        doc = self.docs["ticket_service_test.json"]
        data = render(doc).data
        self.assertTrue(b"\x1bp\x00" in data, b"\x1bp\x00")
        self.assertTrue(b"\x1dkI\x08{B123456" in data)
        self.assertFalse(b"\x1d(k" in data)                        # no has_qr
        self.assertEqual(data.count(b"\x1dv0"), 2)                  # image + QR image
        self.assertTrue(b"\x1b@\x1bt\x10\x1bd\x02\x1bd\x02\x1dV\x01" in data)      # raw reset re-selects
        lines = text_lines(doc)
        self.assertEqual(lines[0], "           TEST 58mm")
        self.assertIn("[image 128x144]", lines)
        self.assertIn("[QR: https://github.com/adcondev/ticket-daemon]", lines)
