"""ticketd: a print daemon between point-of-sale software and ESC/POS receipt printers.

Importing this package is cheap on purpose: it imports neither the reactor nor
python-escpos, so the twistd plugin and the command-line tools start fast.
"""

__version__ = "0.1.0"
