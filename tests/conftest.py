"""Shared helpers: write small portfolios into tmp_path and run the real CLI."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import strategies as st

from mastery_site.cache import Store
from mastery_site.cli import main
from mastery_site.markup import _fast_renderer

REPO = Path(__file__).resolve().parent.parent


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path → text, dedented, or raw bytes) under `root`."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(data).lstrip("\n"), encoding="utf-8")
    return root


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def collector_as_found():
    """What a test's dev-server engine froze (see collector.deferred) is given back to the
    collector: a build in a later test of the same process finds it as a command starts."""
    yield
    gc.unfreeze()


@pytest.fixture
def cli(capsys):
    """Run `mastery-site ARGS...` in-process; returns exit code, stdout, stderr."""
    def run(*args: str | Path) -> Run:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)
    return run


def saved(project: Path) -> None:
    """Wait until the build cache is saved: a build leaves that to a forked process (see
    cache.Store), which the next build waits for, and so does this."""
    for folder in (project / ".mastery-cache").glob("build-*"):
        with Store(folder):
            pass


def site_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


NPM_CACHE = Path(os.environ.get("MASTERY_NPM_CACHE", Path.home() / ".cache/mastery-site/npm"))
CHROMIUM = "/usr/bin/chromium"


def require(available: bool, what: str) -> None:
    """Skip when a test tool is missing on a developer machine; fail under CI=true (.ci/run installs it)."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI=true; .ci/run should have installed it")
    pytest.skip(f"{what} is not installed (run .ci/run to install the test tools)")


def build_into(source: Path, out: Path, *args: str) -> Path:
    """Build a portfolio (the demo or an example) into `out` through the CLI."""
    assert main(["build", str(source), "-o", str(out), *args]) == 0
    return out


def git(project: Path, *args: str, day: str = "2026-01-01") -> None:
    """Run git in `project` as a fixed author, committing (if it does) on `day`."""
    when = f"{day}T10:00:00Z"
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", "-C", str(project), *args], check=True, env=env)


def apply_edit(project: Path, kind: str, n: int) -> None:
    """One edit of the n-th session (modulo their number), of one of the kinds EDITS draws: see
    test_cache.test_any_edits_build_what_a_full_build_builds."""
    sessions = sorted((project / "content/sessions").rglob("*.md"))
    path = sessions[n % len(sessions)]
    text = path.read_text()
    if kind == "body":
        path.write_text(text + f"\nMore notes, take {n}.\n")
    elif kind == "private":
        path.write_text(text + f"\n```private\nPRIVATE-{n}\n```\n")
    elif kind == "image":  # an image beside the session, or a diagnostic where there is none
        path.write_text(text + "\n![a sky](graded-sky.png)\n")
    elif kind == "title":  # retitled, or back to a title it had (maybe the one in the last full build's plan)
        mark = f"\ntitle: Take {n % 3}, "
        path.write_text(text.replace(mark, "\ntitle: ", 1) if mark in text else text.replace("\ntitle: ", mark, 1))
    elif kind == "outcome":  # a setback now, or no longer one (its page shows earlier wins only then)
        outcome = "success" if "\noutcome: setback" in text else "setback"
        path.write_text(re.sub(r"\noutcome: \w+", "", text).replace("\ntitle: ", f"\noutcome: {outcome}\ntitle: ", 1))
    elif kind == "hide":  # out of the public site, or back in: its neighbours change
        mark = "\nvisibility: private  # hidden by the test"  # a session private on its own stays so
        if mark in text:
            path.write_text(text.replace(mark, "", 1))
        elif "\nvisibility: " not in text:
            path.write_text(text.replace("\ntitle: ", mark + "\ntitle: ", 1))
    elif kind == "goal":  # in every page of its sessions, and their search-index pieces
        goal = sorted((project / "content/goals").glob("*.md"))[n % 5]
        goal.write_text(goal.read_text().replace("\ntitle: ", f"\ntitle: Goal {n}, ", 1))
    elif kind == "goal-body":  # its page's description, with its record the same object
        goal = sorted((project / "content/goals").glob("*.md"))[n % 5]
        goal.write_text(goal.read_text() + f"\nGoal notes, take {n}.\n")
    elif kind == "clock":  # its first metric written as a clock ("1:05"), or no longer: shown so on any page
        match = re.search(r'\nmetrics: \{\w+: ("\d+:\d\d"|[\d.]+)', text)
        if match:
            value = "65" if match[1].startswith('"') else '"1:05"'
            path.write_text(text[:match.start(1)] + value + text[match.end(1):])
    elif kind == "figures":  # a value its goal's record or the site's figures read, changed on its line
        path.write_text(_refigured(text, n))
    elif kind == "retag":  # a tag added on its line, or taken away again (edited in place)
        mark = f"\ntags: [tag-{n % 3}, "
        path.write_text(text.replace(mark, "\ntags: [", 1) if mark in text else text.replace("\ntags: [", mark, 1))
    elif kind == "tags":  # a tag of its own (a tag page appears or goes), or one of another session's
        tag = f"tag-{n % 3}" if n % 2 else "running"
        if f"\ntags: [{tag}]\n" in text:
            path.write_text(text.replace(f"\ntags: [{tag}]\n", "\n", 1))
        else:
            path.write_text(re.sub(r"\ntags: \[.*\]", "", text).replace("\ntitle: ", f"\ntags: [{tag}]\ntitle: ", 1))
    elif kind == "feedback":  # on the feedback page, by its person
        path.write_text(re.sub(r"\nfeedback:\n(  .*\n)+", "\n", text).replace(
            "\ntitle: ", f"\nfeedback: [{{from: Person {n % 2}, role: coach, note: Note {n}}}]\ntitle: ", 1))
    elif kind == "draft":  # out of the site without --drafts, or back in
        mark = "\ndraft: true"
        path.write_text(text.replace(mark, "", 1) if mark in text else text.replace("\ntitle: ", mark + "\ntitle: ", 1))
    elif kind == "config":  # everything read again: the timeline's pages, the timezone
        config = project / "mastery.yaml"
        text = config.read_text()
        swap = [("per_page: 15", "per_page: 7"), ("timezone: Europe/Lisbon", "timezone: Asia/Tokyo")][n % 2]
        config.write_text(text.replace(*swap) if swap[0] in text else text.replace(*reversed(swap)))
    elif kind == "image-file":  # an image its unchanged session shows is gone (a diagnostic), or back
        image, aside = project / "content/sessions/2026/graded-sky.png", project / "graded-sky.png"
        os.replace(*((image, aside) if image.exists() else (aside, image)))
    elif kind == "move":  # to another goal (or to none): both goals' records, pages, neighbours
        goals = sorted(p.stem for p in (project / "content/goals").glob("*.md"))
        target = goals[n % len(goals)] if n % 7 else None
        text = re.sub(r"\ngoal: \S+", "", text)
        text = re.sub(r"\n(milestone|metrics): .*", "", text)  # its old goal's
        path.write_text(text.replace("\ntitle: ", f"\ngoal: {target}\ntitle: ", 1) if target else text)
    elif kind == "goal-hide":  # a goal out of the public site with all its sessions, or back
        goal = sorted((project / "content/goals").glob("*.md"))[n % 5]
        mark, text = "\nvisibility: private  # hidden by the test", goal.read_text()
        if mark in text:
            goal.write_text(text.replace(mark, "", 1))
        elif "\nvisibility: " not in text:
            goal.write_text(text.replace("\ntitle: ", mark + "\ntitle: ", 1))
    elif kind == "goal-front":  # its status, and a metric's target written as a clock or not
        goal = project / "content/goals/run-10k.md"
        text = goal.read_text()
        swap = [("status: active", "status: paused"), ('target: "5:00"', "target: 300")][n % 2]
        goal.write_text(text.replace(*swap) if swap[0] in text else text.replace(*reversed(swap)))
    elif kind == "touch":
        os.utime(path, ns=(10**18 + n, 10**18 + n))
    elif kind == "remove":
        path.unlink()
    else:
        (path.parent / f"2026-11-2{n % 10}-added-{n}.md").write_text(f"---\ntitle: Added {n}\n---\n\nNew.\n")


EDITS = st.lists(st.tuples(st.sampled_from(["body", "private", "image", "title", "outcome", "hide", "goal", "goal-body",
                                             "clock", "figures", "retag", "tags", "feedback", "draft", "config",
                                             "image-file", "move", "goal-hide", "goal-front", "touch",
                                             "add", "remove"]),
                           st.integers(0, 60)), min_size=1, max_size=3)


def _refigured(text: str, n: int) -> str:
    """The difficulty, the first metric's value or the outcome (setback only with a lesson)
    changed where it stands: a session's figures, edited in place by the dev server."""
    kind = ["difficulty", "metric", "outcome"][n % 3]
    if kind == "difficulty" and re.search(r"\ndifficulty: \d\n", text):
        return re.sub(r"\ndifficulty: (\d)\n", lambda m: f"\ndifficulty: {int(m[1]) % 5 + 1}\n", text, count=1)
    match = re.search(r"\nmetrics: \{\w+: (\d+)", text)
    if kind == "metric" and match:
        return text[:match.start(1)] + str(int(match[1]) + n + 1) + text[match.end(1):]
    outcome = re.search(r"\noutcome: (\w+)", text)
    after = {"success": "partial", "partial": "setback" if "\nlesson: " in text else "success", "setback": "success"}
    return text[:outcome.start(1)] + after[outcome[1]] + text[outcome.end(1):] if outcome else text + "\nRefigured.\n"


@contextlib.contextmanager
def markdown_it_only():
    """The accelerated path turned off, as a user can (MASTERY_SITE_MARKDOWN=markdown-it)."""
    before = os.environ.get("MASTERY_SITE_MARKDOWN")
    os.environ["MASTERY_SITE_MARKDOWN"] = "markdown-it"
    _fast_renderer.cache_clear()
    try:
        yield
    finally:
        if before is None:
            del os.environ["MASTERY_SITE_MARKDOWN"]
        else:
            os.environ["MASTERY_SITE_MARKDOWN"] = before
        _fast_renderer.cache_clear()
