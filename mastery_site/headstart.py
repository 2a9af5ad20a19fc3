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
build's memory took 10-15 ms more.

Only for the console script, a process of its own (see cli.run), and only with more than one
process allowed (`-j`): the forked process goes on with the caller's stack, which a caller in
the same process (a test) must not see twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import marshal
import os
import signal
import sys
from collections.abc import Callable

_status: int | None = None  # in the forked process that took over: the pipe its exit code goes to


def scan_ahead(scan: Callable[[], tuple], done: Callable[[tuple], bool],
               prepare: Callable[[], None]) -> tuple[tuple, int]:
    """What `scan()` found, as a tuple, and -1, in the process that goes on with it: a forked
    one, which did `prepare()` meanwhile, unless `done(found)` (nothing left to do: the forked
    process is stopped), then this one. When the forked process went on, this one waits for it
    and gets the scan it handed over (for the caller to keep: freeing it took 4-13 ms of the
    command's end at 10,000 sessions) and its exit code. Without fork, the scan is this
    process's, and so is what follows it (the caller imports what it needs then)."""
    if not hasattr(os, "fork"):
        return scan(), -1
    for stream in (sys.stdout, sys.stderr):  # nothing written before is written twice
        stream.flush()
    read, write = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # Linux: room for the scan (10,000 sessions: 0.9 MB),
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1 << 20)  # written at once, read at once (not 64 KB at a time)
    status, said = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no more processes: one after the other, here
        for fd in (read, write, status, said):
            os.close(fd)
        return scan(), -1
    if pid == 0:
        global _status
        os.close(write)
        os.close(status)
        _status = said
        return _take_over(read, prepare), -1
    os.close(read)
    os.close(said)
    try:
        found = scan()
        if done(found):
            return found, -1
        with open(write, "wb", closefd=False) as pipe:
            pipe.write(marshal.dumps(tuple(found)))
        os.close(write)
        write = -1
        return found, _exit_code(pid, status)
    finally:
        os.close(status)
        if write != -1:  # not handed over: the forked process is not needed
            os.close(write)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def exiting(code: int) -> None:
    """In the forked process that took over, about to exit with `code` (its output flushed):
    say so, and the command ends with it (see _exit_code). Elsewhere, nothing."""
    if _status is not None:
        os.write(_status, bytes([code & 0xFF]))


def _take_over(read: int, prepare: Callable[[], None]) -> tuple:
    """In the forked process: prepare, then the scan handed over (the parent stops this
    process instead when there is nothing to build). Without cyclic garbage collection
    meanwhile, and what was made then left out of later ones (gc.freeze): modules and a scan
    live to the end, and collections walking them took 10-15 ms at 10,000 sessions."""
    gc.disable()
    try:
        prepare()
        with open(read, "rb") as pipe:
            data = pipe.read()
        if not data:  # the parent failed or was stopped before it handed the scan over
            os._exit(1)
        return marshal.loads(data)
    finally:
        gc.freeze()
        gc.enable()


def _exit_code(pid: int, status: int) -> int:
    """The exit code the forked process says on `status` (see exiting), or, if it ends without
    saying (stopped by a signal, say), the one it ended with. Ctrl-C included: it gets it too,
    and says so; a SIGTERM sent to this process (by `timeout`, say) is passed on to it."""
    handlers = (signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM)))
    try:
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
