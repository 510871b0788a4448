"""``python -m ticketd``: twistd itself (same options, e.g. ``-n ticketd --config FILE``).

The systemd unit starts the daemon through the venv's own interpreter rather than the venv's
``twistd`` script: the interpreter finds its venv wherever the venv lies (a staging root
too) and needs no script whose first line names a path.
"""

from twisted.scripts.twistd import run

if __name__ == "__main__":
    run()
