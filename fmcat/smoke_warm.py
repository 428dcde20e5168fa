"""Preloaded by the smoke tests' fork server, after torch and transformers: warms it
for the architectures named in ``FMCAT_SMOKE_WARM`` (see ``smoke_runner.warm``), so
each model's child starts from what they share. Imported nowhere else.

It also makes the server's own exit immediate: the server ends when fmcat does, and
tearing down an interpreter that holds torch and transformers takes most of a second,
during which it still holds fmcat's stdout and stderr open (a caller reading them
would wait). The server has nothing to clean up: it writes nothing and its children
are their own processes (they leave through ``os._exit`` and never run this hook)."""

import atexit
import os
import sys

from .smoke_runner import warm


def _leave_at_once() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(0)


warm([a for a in os.environ.get("FMCAT_SMOKE_WARM", "").split(",") if a])
atexit.register(_leave_at_once)  # registered last, so it runs first
