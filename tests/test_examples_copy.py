"""The example documents shipped in the package are the field's documents, unchanged."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.test_documents_helpers import EXAMPLES, SHARED_EXAMPLES


class ExamplesCopyTests(SynchronousTestCase):
    def test_same_as_shared_examples(self) -> None:
        """Tests read the packaged copy; beside the shared folder it must be identical."""
        if not SHARED_EXAMPLES.is_dir():
            raise self.skipTest(f"{SHARED_EXAMPLES} is not beside this checkout")
        shared = {p.name: p.read_bytes() for p in SHARED_EXAMPLES.glob("*.json")}
        packaged = {p.name: p.read_bytes() for p in EXAMPLES.glob("*.json")}
        self.assertTrue(shared)
        self.assertEqual(sorted(packaged), sorted(shared))
        for name, data in shared.items():
            self.assertEqual(packaged[name], data, name)
