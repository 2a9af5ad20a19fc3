"""Writing the site without ever losing the user's files.

The site is written into a sibling staging directory and swapped in only when
complete, so a failed build leaves the previous site as it was. A directory
is only ever replaced if it is empty or carries our marker file, and never if
it is the project itself or one of its ancestors.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MARKER = ".mastery-site"


class OutputError(Exception):
    """The output directory cannot be used; the message says why and what to do."""


def check_output(out: Path, project: Path, force: bool = False) -> None:
    out, project = out.resolve(), project.resolve()
    if out == project or out in project.parents:
        raise OutputError(f"{out}: refusing to build into the project directory or one of its ancestors")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.is_dir() and not force and not (out / MARKER).exists() and any(out.iterdir()):
        raise OutputError(f"{out}: not empty and not made by mastery-site; refusing to replace it "
                          "(choose another -o, empty it, or pass --force)")


class Staging:
    """A directory next to `out` that becomes `out` on `commit()`."""

    def __init__(self, out: Path):
        self.out = out.resolve()
        self.dir = self.out.parent / f".{self.out.name}.staging-{os.getpid()}"

    def __enter__(self) -> Staging:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        (self.dir / MARKER).write_text("built by mastery-site; this directory is replaced on each build\n")
        return self

    def write(self, rel: str, data: bytes) -> None:
        target = self.dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def copy_file(self, source: Path, rel: str) -> None:
        target = self.dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def copy_tree(self, source: Path, rel: str = "") -> None:
        if source.is_dir():
            shutil.copytree(source, self.dir / rel, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".*"), symlinks=False)

    def commit(self) -> None:
        old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
        if self.out.exists():
            self.out.rename(old)
        self.dir.rename(self.out)
        if old.exists():
            shutil.rmtree(old)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.dir.exists():  # not committed: the build failed
            shutil.rmtree(self.dir, ignore_errors=True)
