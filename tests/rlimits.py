"""Room for descriptors above 1024 (where select() stops working) in tests that need one."""
from __future__ import annotations

import resource

from twisted.trial.unittest import SynchronousTestCase


def allow_descriptor(test: SynchronousTestCase, fd: int) -> None:
    """Raise the soft RLIMIT_NOFILE above ``fd`` for this test (Debian's default soft limit
    is 1024), restored afterwards; fail clearly if the hard limit does not allow it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft > fd:
        return
    wanted = fd + 64
    if hard != resource.RLIM_INFINITY and hard < wanted:
        test.fail(f"RLIMIT_NOFILE hard limit {hard} leaves no descriptor {fd}: raise it "
                  "(ulimit -Hn) to run this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    test.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
