"""Shared helpers: write small portfolios into tmp_path and run the real CLI."""

from __future__ import annotations

import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from mastery_site.cache import Store
from mastery_site.cli import main

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
