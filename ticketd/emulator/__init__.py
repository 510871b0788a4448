"""An emulated ESC/POS receipt printer for tests and for trying ticketd without hardware."""
