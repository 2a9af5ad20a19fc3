"""A one-line progress display for long builds, on terminals only.

Nothing is shown during the first second (short builds stay quiet); after that the
line names the phase and the time so far, and it is erased when the build ends.
"""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, stream=None, delay: float = 1.0, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.perf_counter()
        self.delay = delay
        self.shown = False

    def phase(self, name: str) -> None:
        elapsed = time.perf_counter() - self.started
        if self.enabled and elapsed >= self.delay:
            self.stream.write(f"\r\033[K{name} … {elapsed:.1f} s")
            self.stream.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
