"""A build's head start: the rest of the package imported while the inputs are scanned.

A build with the cache first walks content/ (a `stat` a file: at 10,000 sessions, 60 ms)
to tell whether the site is up to date, and only then imports Jinja, YAML and the model
(100 ms), so that a no-op build never pays for them. Both are one core's work, one after
the other, on a machine that has two. So the command forks before it scans: the forked
process imports what a build needs, then waits for what the scan found; this one scans,
and either says the site is up to date (the other is stopped, its imports unused) or hands
the scan over and waits for the build to end, with its exit code. An edit at 10,000
sessions ends ~45 ms sooner (the median of 21 pairs' ratios, 0.92); a no-op build pays for
the fork and for stopping the other (~5 ms). The forked process says its exit code before it
exits (see exiting), and the command ends then, not once the other is gone: freeing a
build's memory took 10-15 ms more; it saves the build cache after that too, unwaited for
(see cache.Store.later). Once it has handed the scan over, the scanning process
goes on working for the other while it waits (see scan_ahead's `handed`): it tells which
files changed since the build cache was saved (see stamps.py).

Only for the console script, a process of its own (see cli.run), and only with more than one
process allowed (`-j`): the forked process goes on with the caller's stack, which a caller in
the same process (a test) must not see twice.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import signal
import sys
from collections.abc import Callable, Iterable

_status: int | None = None  # in the forked process that took over: the pipe its exit code goes to
_after: list[Callable[[], None]] = []  # what it does once the command has ended (see after_exit)


LENGTH = 8  # bytes of a message's length, before it (see Handover)


def scan_ahead(scan: Callable[[], tuple], done: Callable[[tuple], bool], prepare: Callable[[], None],
               handed: Callable[[tuple], Iterable]) -> tuple[object, int]:
    """What `scan()` found, and -1, in the process that goes on with it: a forked one, which
    did `prepare()` meanwhile, unless `done(found)` (nothing left to do: the forked process is
    stopped), then this one. The forked process is handed, not what was found, but what
    `handed(found)` yields, as a Handover: each value made and sent as this process goes on,
    the first at once, the others while the forked process prepares and builds, which reads
    each when it needs it (see Handover). When the forked process went on, this one waits for
    it and gets the scan (for the caller to keep: freeing it took 4-13 ms of the command's end
    at 10,000 sessions) and its exit code. Without fork, the scan is this process's, and so
    is what follows it (the caller imports what it needs then)."""
    if not hasattr(os, "fork"):
        return scan(), -1
    for stream in (sys.stdout, sys.stderr):  # nothing written before is written twice
        stream.flush()
    read, write = os.pipe()
    status, said = os.pipe()
    data = os.memfd_create("mastery-scan", os.MFD_CLOEXEC) if hasattr(os, "memfd_create") else None
    try:
        pid = os.fork()
    except OSError:  # no more processes: one after the other, here
        for fd in (read, write, status, said, data):
            if fd is not None:
                os.close(fd)
        return scan(), -1
    if pid == 0:
        global _status
        os.close(write)
        os.close(status)
        _status = said
        return _take_over(Handover(read, data), prepare), -1
    os.close(read)
    os.close(said)
    handing = False
    try:
        found = scan()
        handing = not done(found)
    finally:
        if not handing:  # nothing to build, or the scan failed: the forked process is not needed
            for fd in (status, write, data):
                if fd is not None:
                    os.close(fd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if not handing:
        return found, -1
    try:
        return found, _exit_code(pid, status, lambda: _hand_over(handed(found), write, data))
    finally:
        os.close(status)


def _hand_over(values: Iterable, write: int, data: int | None) -> None:
    """Send each value to the forked process (see Handover): marshalled into the shared file
    `data`, its length through the pipe `write`, so that no write waits for the reader, nor
    fills the pipe with what it may never read (without such a file, through the pipe)."""
    try:
        for value in values:
            payload = marshal.dumps(value)
            size = len(payload).to_bytes(LENGTH, "little")
            if data is not None:
                _write_all(data, payload)
                _write_all(write, size)
            else:
                _write_all(write, size + payload)
    except BrokenPipeError:  # the forked process is done: what it did not read, it did not need
        pass
    finally:
        os.close(write)
        if data is not None:
            os.close(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Handover:
    """The values the scanning process hands over (see scan_ahead), in the order sent: each read
    when first asked for, waiting for it if it is not made yet, those before it skipped
    unless asked for (their lengths read, not the values: the files found, 10,000 sessions,
    take 8 ms to unmarshal, and an edit needs them only when it builds everything)."""

    def __init__(self, pipe: int, data: int | None):
        self.pipe, self.data = pipe, data
        self.places: list[tuple[int, int]] = []  # of each value sent so far: its offset in `data` and length
        self.values: dict[int, object] = {}  # those read, by number

    def __getitem__(self, n: int):
        while len(self.places) <= n:
            length = int.from_bytes(self._read(LENGTH), "little")
            if self.data is None:  # the value follows its length in the pipe
                self.values[len(self.places)] = marshal.loads(self._read(length))
            offset = self.places[-1][0] + self.places[-1][1] if self.places else 0
            self.places.append((offset, length))
        if n not in self.values:
            offset, length = self.places[n]
            self.values[n] = marshal.loads(_pread_all(self.data, length, offset))
        return self.values[n]

    def _read(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = os.read(self.pipe, size)
            if not chunk:  # the scanning process failed or was stopped: no one waits for this one
                os._exit(1)
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks = []
    while size:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            raise OSError("the values handed over were cut short")
        chunks.append(chunk)
        size, offset = size - len(chunk), offset + len(chunk)
    return b"".join(chunks)


def exiting(code: int) -> None:
    """In the forked process that took over, about to exit with `code` (its output flushed):
    say so, and the command ends with it (see _exit_code); then do what was left for after
    (see after_exit), Ctrl-C ignored. Elsewhere, nothing."""
    if _status is None:
        return
    os.write(_status, bytes([code & 0xFF]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while _after:
        _after.pop(0)()


def detached() -> bool:
    """Whether this is the forked process that took over a command: once it has said its exit
    code, no one waits for it (see exiting)."""
    return _status is not None


def after_exit(work: Callable[[], None]) -> None:
    """Do `work` in this process once the command has ended (see exiting): only where
    `detached()`."""
    _after.append(work)


def _take_over(handover: Handover, prepare: Callable[[], None]) -> Handover:
    """In the forked process: prepare, then the first value handed over (the parent stops this
    process instead when there is nothing to build). Without cyclic garbage collection
    meanwhile, and what was made then left out of later ones (gc.freeze): modules and a scan
    live to the end, and collections walking them took 10-15 ms at 10,000 sessions."""
    gc.disable()
    try:
        prepare()
        handover[0]
        return handover
    finally:
        gc.freeze()
        gc.enable()


def _exit_code(pid: int, status: int, hand_over: Callable[[], None]) -> int:
    """The exit code the forked process says on `status` (see exiting), or, if it ends without
    saying (stopped by a signal, say), the one it ended with, once `hand_over()` is done.
    Ctrl-C included: it gets it too, and says so; a SIGTERM sent to this process (by
    `timeout`, say) is passed on to it."""
    handlers = (signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM)))
    try:
        hand_over()
        said = os.read(status, 1)
        if said:  # it is exiting: whoever adopts it reaps it, unless it is gone already
            os.waitpid(pid, os.WNOHANG)
            return said[0]
        _, ended = os.waitpid(pid, 0)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    code = os.waitstatus_to_exitcode(ended)
    return code if code >= 0 else 128 - code
