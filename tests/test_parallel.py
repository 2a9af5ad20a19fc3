"""pmap: this process and forked ones take shares of the items; results come back in order,
and a failure anywhere is raised here, with no process left behind."""

import contextlib
import os
import time

import pytest

from mastery_site.parallel import MIN_ITEMS, pmap


def test_results_come_back_in_the_items_order_from_every_process():
    items = list(range(3 * MIN_ITEMS))

    def slowly(base, item):
        time.sleep(0.0005)  # long enough for the forked processes to start and take shares
        return base + item, os.getpid()

    results = pmap(slowly, items, jobs=3, shared=1000)
    assert [value for value, _ in results] == [1000 + item for item in items]
    assert len({pid for _, pid in results}) > 1  # not all made here
    assert os.getpid() in {pid for _, pid in results}  # this process took shares too


def fail_at(_, item):
    if item == 2 * MIN_ITEMS - 1:  # a share near the end: a forked process may take it, or this one
        raise KeyError(f"item {item}")
    return item


@pytest.mark.parametrize("jobs", [2, 3])
def test_an_exception_in_any_process_is_raised_here(jobs):
    with contextlib.suppress(ChildProcessError):  # processes of earlier tests (builds save their caches in one)
        while True:
            os.waitpid(-1, 0)
    with pytest.raises(KeyError, match="item"):
        pmap(fail_at, list(range(2 * MIN_ITEMS)), jobs=jobs)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every forked process was waited for


def no_space_left(*_):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("fails", ["dies", "cannot write"])
def test_the_shares_of_a_forked_process_that_fails_are_done_here(fails, monkeypatch):
    """Killed (out of memory) or unable to write its results (no space left for its
    temporary file): what it took is done by this process, not lost, not waited for."""
    parent = os.getpid()

    def fail_in_a_child(_, item):
        if os.getpid() != parent:
            if fails == "dies":
                os._exit(3)
            monkeypatch.setattr(os, "write", no_space_left)  # in the forked process only
        time.sleep(0.0005)
        return item * 2

    assert pmap(fail_in_a_child, list(range(MIN_ITEMS)), jobs=2) == [item * 2 for item in range(MIN_ITEMS)]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_when_no_process_can_be_forked_this_one_takes_every_share(monkeypatch):
    def no_fork():
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert pmap(lambda _, item: item * 2, list(range(MIN_ITEMS)), jobs=4) == [item * 2 for item in range(MIN_ITEMS)]


def test_forked_processes_stop_soon_when_this_one_is_killed(tmp_path):
    """A build killed outright (SIGKILL, OOM) leaves no process rendering for no one."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import os, signal, time
        from mastery_site.parallel import pmap
        parent = os.getpid()
        def item(_, n):
            if os.getpid() != parent:  # written whole, then renamed: read while the next item writes
                with open({str(tmp_path / "child.new")!r}, "w") as file:
                    file.write(str(os.getpid()))
                os.replace({str(tmp_path / "child.new")!r}, {str(tmp_path / "child")!r})
            elif n > 300:
                time.sleep(0.2)  # the forked process has taken shares by now
                os.kill(parent, signal.SIGKILL)
            time.sleep(0.002)
            return n
        pmap(item, list(range(4000)), jobs=2)
    """)
    subprocess.run([sys.executable, "-c", script], timeout=60)
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
