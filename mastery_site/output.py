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
SOURCES = ("content", "static", "templates", "themes", ".git", "mastery.yaml")  # never an output


class OutputError(Exception):
    """The output directory cannot be used; the message says why and what to do."""


def check_output(out: Path, project: Path, force: bool = False) -> None:
    """Refuse outputs that would replace the user's files; `--force` only lifts the marker rule."""
    out, project = out.resolve(), project.resolve()
    if out == project or out in project.parents:
        raise OutputError(f"{out}: refusing to build into the project directory or one of its ancestors")
    for name in SOURCES:
        if out == project / name or out.is_relative_to(project / name):
            raise OutputError(f"{out}: refusing to build into the project's {name} (it holds your sources)")
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

    def _target(self, rel: str) -> Path:
        """Where `rel` goes; never outside the staging directory, whatever a path from content says."""
        target = Path(os.path.normpath(self.dir / rel))
        if not target.is_relative_to(self.dir) or target == self.dir:
            raise OutputError(f"refusing to write {rel!r}: it is outside the output directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, rel: str, data: bytes) -> None:
        self._target(rel).write_bytes(data)

    def copy_file(self, source: Path, rel: str) -> None:
        shutil.copyfile(source, self._target(rel))

    def copy_tree(self, source: Path, rel: str = "", inside: Path | None = None) -> list[str]:
        """Copy a folder's visible files; a symlink is followed only if it stays `inside`.

        Returns the skipped links, so the caller can say why a file is missing."""
        skipped = []
        if not source.is_dir():
            return skipped
        inside = (inside or source).resolve()
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if any(part.startswith(".") for part in relative.parts) or path.is_dir():
                continue
            if not path.resolve().is_relative_to(inside):
                skipped.append(relative.as_posix())
                continue
            self.copy_file(path, f"{rel}/{relative.as_posix()}" if rel else relative.as_posix())
        return skipped

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
