"""The build's head start (headstart.py): the rest imported in a forked process while this
one scans. Run in processes of their own: the forked process goes on with its caller's stack."""

import os
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from mastery_site.headstart import Handover, scan_ahead

    marker, nothing_to_do = Path(sys.argv[1]), sys.argv[2] == "done"
    if sys.argv[2] == "pipe":  # no memfd (not Linux): the values go through the pipe itself
        del os.memfd_create

    def prepare():
        marker.write_text(str(os.getpid()))

    def scan():  # sees the marker only if prepare() runs meanwhile, elsewhere
        for _ in range(2000):
            if marker.exists():
                return ("seen", os.getpid(), nothing_to_do)
            time.sleep(0.005)
        return ("not seen", os.getpid(), nothing_to_do)

    def handed(found):  # the scan, then what is made as the other process goes on
        yield found
        yield list(range(200_000))  # more than a pipe holds: never read unless asked for
        yield f"made after the scan by {os.getpid()}"

    found, code = scan_ahead(scan, lambda found: found[2], prepare, handed)
    if type(found) is Handover:
        print(found[2] == f"made after the scan by {os.getppid()}", flush=True)
        found = found[0]
    if code != -1:
        print(f"handed over; it exited with {code}")
    elif found[1] == os.getpid():
        print(f"{found[0]}; done here")
    else:
        print(f"{found[0]}; taken over by {marker.read_text() == str(os.getpid())}", flush=True)
        if sys.argv[2] == "term":  # a long build: the test stops the command meanwhile
            Path(f"{marker}.taken").write_text("")
            time.sleep(30)
        if sys.argv[2] == "linger":  # says its exit code, then takes long to be gone
            from mastery_site.headstart import exiting
            exiting(5)
            time.sleep(30)
        if sys.argv[2] == "save":  # a build's cache saved as its store is left: once the command ended
            from mastery_site.cache import Store
            from mastery_site.headstart import exiting
            with Store(marker.parent / "store") as store:
                store.later(lambda: time.sleep(1) or Path(f"{marker}.saved").write_text(str(os.getpid())))
            exiting(5)
        os._exit(7)
""")


def run(tmp_path, how: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "prepared"), how],
                          check=True, capture_output=True, text=True)
    return done.stdout.splitlines()


def test_the_scan_is_handed_to_the_process_that_prepared_meanwhile(tmp_path):
    assert run(tmp_path, "build") == ["True", "seen; taken over by True", "handed over; it exited with 7"]


def test_without_a_shared_memory_file_the_values_handed_over_go_through_the_pipe(tmp_path):
    """The one read skips one bigger than the pipe holds, which the scanning process waits to write."""
    assert run(tmp_path, "pipe") == ["True", "seen; taken over by True", "handed over; it exited with 7"]


def test_with_nothing_to_do_the_scanning_process_goes_on_alone(tmp_path):
    assert run(tmp_path, "done") == ["seen; done here"]


def test_a_sigterm_to_the_command_stops_the_process_that_took_over(tmp_path):
    command = [sys.executable, "-c", SCRIPT, str(tmp_path / "prepared"), "term"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    for _ in range(2000):  # until the forked process took the scan over
        if (tmp_path / "prepared.taken").exists():
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    assert out.splitlines() == ["True", "seen; taken over by True", "handed over; it exited with 143"]


def test_the_command_ends_with_the_code_the_process_that_took_over_says_not_once_it_is_gone(tmp_path):
    """Its output to a file: the lingering process holds it open, a pipe would not end."""
    with open(tmp_path / "out", "w") as out:
        process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "prepared"), "linger"], stdout=out)
        try:
            assert process.wait(timeout=20) == 0  # without the code said: 30 s, until the sleep ends
        finally:
            process.kill()
            os.kill(int((tmp_path / "prepared").read_text()), signal.SIGKILL)
    assert (tmp_path / "out").read_text().splitlines() == ["True", "seen; taken over by True",
                                                           "handed over; it exited with 5"]


def test_the_process_that_took_over_saves_the_cache_once_the_command_has_ended(tmp_path):
    """cache.Store.later in the process that took over: it saves after it said its exit code,
    itself (not in a process forked for it), holding the store meanwhile."""
    from mastery_site.cache import Store

    with open(tmp_path / "out", "w") as out:
        assert subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "prepared"), "save"], stdout=out,
                              timeout=20).returncode == 0
    assert (tmp_path / "out").read_text().splitlines()[-1] == "handed over; it exited with 5"
    assert not (tmp_path / "prepared.saved").exists()  # the save takes a second
    with Store(tmp_path / "store"):  # waits for it
        assert (tmp_path / "prepared.saved").read_text() == (tmp_path / "prepared").read_text()


def test_the_console_script_builds_and_rebuilds_after_an_edit(tmp_path):
    """The real command (cli.run), scanning ahead: built, up to date, an edit built."""
    command = [sys.executable, "-m", "mastery_site"]
    subprocess.run([*command, "init", str(tmp_path)], check=True, capture_output=True)
    outputs = []
    for edit in (None, None, "A first step, edited."):
        if edit:
            session = next((tmp_path / "content/sessions").rglob("*.md"))
            session.write_text(session.read_text() + f"\n{edit}\n")
        done = subprocess.run([*command, "build", str(tmp_path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split(" ")[0])
    assert outputs == ["Built", "Up", "Built"]
    assert any("A first step, edited." in page.read_text() for page in (tmp_path / "_site/sessions").rglob("*.html"))


def test_with_one_process_allowed_the_command_scans_and_builds_alone(tmp_path):
    """`-j 1` is one process: no head start (the console script with scan_ahead made to fail)."""
    subprocess.run([sys.executable, "-m", "mastery_site", "init", str(tmp_path)], check=True, capture_output=True)
    script = ("import sys\nimport mastery_site.cli as cli\n"
              "cli.headstart.scan_ahead = lambda *a: sys.exit('scanned ahead')\n"
              "sys.argv = ['mastery-site', *sys.argv[1:]]\ncli.run()\n")
    runs = {jobs: subprocess.run([sys.executable, "-c", script, "build", str(tmp_path), "-j", jobs],
                                 capture_output=True, text=True) for jobs in ("1", "2")}
    assert runs["1"].returncode == 0 and runs["1"].stdout.startswith("Built")
    assert runs["2"].returncode == 1 and runs["2"].stderr.strip() == "scanned ahead"
