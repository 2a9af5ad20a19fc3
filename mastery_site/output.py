"""Writing the site without ever losing the user's files.

The site is written into a sibling staging directory and swapped in only when
complete, so a failed build leaves the previous site as it was. A directory
is only ever replaced if it is empty or carries our marker file, and never if
it is the project itself or one of its ancestors.

Incremental builds keep the replaced site as a spare (`.<name>.spare` beside the
output) and build the next site in it: its page folders already exist, so an
unchanged page costs a link check, not a new folder and a new link. Nothing in the
spare is written in place (its files may be links to the live site's): a file is
removed before it is written, and whatever the new site does not have is removed
before the swap. The spare's files are listed by `find`, in another process while the
new site is being written (walking 10,000 page folders here took 70 ms of a 1 s edit).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from .sources import CONFIG_FILE, MARKER, MARKER_TEXT, SOURCE_FOLDERS, identity, recorded_inputs

SOURCES = (*SOURCE_FOLDERS, ".git", CONFIG_FILE)  # never an output


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


LARGE = 2000  # pages: an old site this big is removed in the background after the swap
PARTS_BUFFER = 1 << 20  # bytes written in parts: the 20,000 parts of a 9 MB search index in 9 writes, not
# 1,100 (on ext4: 4 ms, not 8)
NORMAL = re.compile(r"[^/.][^/]*(?:/[^/.][^/]*)*")  # a relative path os.path.normpath leaves as it is


class Span(NamedTuple):
    """Bytes of the file open as `fd`, from `offset`: copied by the kernel, never read in
    (see Staging.write)."""

    fd: int
    offset: int
    length: int


class Staging:
    """A directory next to `out` that becomes `out` on `commit()`.

    Its marker file records the digest of the inputs it was built from, so an
    unchanged project can be recognised without building."""

    def __init__(self, out: Path, inputs: str = "", keep_spare: bool = False, listing: Listing | None = None):
        self.out = out.resolve()
        self.dir = self.out.parent / f".{self.out.name}.staging-{os.getpid()}"
        self.spare = spare_of(self.out)
        self.inputs = inputs
        self.keep_spare = keep_spare
        self.recycled = False  # built in the spare: files the new site lacks must go
        self.listing = listing  # the spare's files, when recycled (maybe listed since before: see list_spare)
        self.kept: set[str] = set()  # paths in the new site (normalized)
        self.spare_of: str | None = None  # the inputs digest of the site recycled, when recycled
        self.linked_before: set[str] = set()  # see assume_linked
        self.assumed: set[str] = set()  # files reused as linked before, unchecked (see confirm_links)
        self.linked: set[str] = set()  # files reused from the live site: its own, hard-linked

    def __enter__(self) -> Staging:
        for stale in self.out.parent.glob(f".{self.out.name}.*-[0-9]*"):  # left by an interrupted build
            if stale.name.rsplit("-", 1)[0].endswith((".staging", ".old")):
                shutil.rmtree(stale, ignore_errors=True)
        if self.keep_spare and _recyclable(self.spare):
            self.spare.rename(self.dir)
            self.recycled = True
            self.spare_of = recorded_inputs(self.dir)
            self.listing = self.listing or Listing(self.dir)
        else:
            if self.listing is not None:
                self.listing.close()
                self.listing = None
            self.dir.mkdir(parents=True)
        self.write(MARKER, MARKER_TEXT.format(self.inputs).encode())
        return self

    def _inside(self, rel: str) -> str:
        """Where `rel` goes, kept in the new site; never outside the staging directory,
        whatever a path from content says. A page's path, already normal, is taken as it is
        (joining and normalizing 10,000 took 12 ms of an edit)."""
        root = str(self.dir)
        if NORMAL.fullmatch(rel):
            self.kept.add(rel)
            return root + os.sep + rel
        target = os.path.normpath(os.path.join(root, rel))
        if not target.startswith(root + os.sep):
            raise OutputError(f"refusing to write {rel!r}: it is outside the output directory")
        self.kept.add(target[len(root) + 1:])
        return target

    def _target(self, rel: str) -> str:
        """Where `rel` goes, its folder made and the place free."""
        target = self._inside(rel)
        if not self.recycled:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            return target
        _make_folder(os.path.dirname(target), str(self.dir))
        try:
            os.unlink(target)  # maybe a link to the live site's file: never write through it
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            shutil.rmtree(target)
        return target

    def write(self, rel: str, data: bytes | list[bytes | Span]) -> tuple[int, int, int, int] | None:
        """Write a file: bytes, or parts one after another, bytes or spans of another file.
        Returns the file's identity (see sources.identity) when written in parts."""
        if type(data) is not list:
            with open(self._target(rel), "wb") as handle:
                handle.write(data)
            return None
        with self._written_over(rel) as handle:
            start = 0
            for n, part in enumerate(data):
                if type(part) is Span:
                    handle.writelines(data[start:n])
                    handle.flush()
                    _copy_span(part, handle.fileno())
                    handle.seek(os.lseek(handle.fileno(), 0, os.SEEK_CUR))  # where the copy left the file
                    start = n + 1
            handle.writelines(data[start:] if start else data)
            handle.truncate()  # the rest of a file written over
            handle.flush()
            return identity(os.fstat(handle.fileno()))

    def _written_over(self, rel: str):
        """A large file of the new site, open to write: in a recycled spare, its file there
        written over if it is its own (one link: not the live site's), so that its memory
        pages are reused, not freed and allocated again (the search index at 10,000 sessions:
        2 x 9.5 MB; on a RAM disk, 5 ms against 3.4, and up to 60 ms when the memory freed is
        slow to get back); else a new file."""
        if self.recycled:
            try:
                fd = os.open(self._inside(rel), os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:  # none, a folder or a symlink there
                fd = None
            if fd is not None:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                    return open(fd, "wb", buffering=PARTS_BUFFER)  # from its start, not truncated
                os.close(fd)
        return open(self._target(rel), "wb", buffering=PARTS_BUFFER)

    def copy_file(self, source: Path, rel: str) -> None:
        shutil.copyfile(source, self._target(rel))

    def reuse(self, rel: str, data: bytes | str) -> bool:
        """Put a page rendered earlier in place: hard-link its file from the current site (no
        copy, no rewrite), or write its bytes. False when the earlier file is gone."""
        if isinstance(data, bytes):
            self.write(rel, data)
            return True
        if self.recycled:
            if rel in self.linked_before:
                self._inside(rel)
                self.assumed.add(rel)
                self.linked.add(rel)
                return True
            if _same_file(self._inside(rel), data):  # linked two builds ago
                self.linked.add(rel)
                return True
        target = self._target(rel)
        try:
            os.link(data, target)
        except FileNotFoundError:
            return False
        except OSError:  # another file system, or links not allowed: copy
            shutil.copyfile(data, target)
            return True
        self.linked.add(rel)
        return True

    def take_linked(self, rels: set[str]) -> set[str]:
        """`reuse` of many pages at once, each from its file in the live site: those assumed
        linked (see assume_linked) are taken by a few set operations, their paths checked at
        once (as _inside checks each: see _normal), not a call each; the others are returned,
        for `reuse`."""
        taken = _normal(rels & self.linked_before) if self.recycled else set()
        self.kept |= taken
        self.assumed |= taken
        self.linked |= taken
        return rels - taken

    def assume_linked(self, rels: set[str]) -> None:
        """Files of the recycled spare known to be the live site's (hard links), since the last
        build linked them from the spare's site into the live one: reused without a look (two
        `stat`s each: 50 ms of an edit at 10,000 sessions). `confirm_links` finds any gone since."""
        self.linked_before = rels if self.recycled else set()

    def confirm_links(self) -> set[str]:
        """Link again the files assumed linked (see assume_linked) that the spare lacks, from the
        live site; the files lacking in both are returned, for the caller to write."""
        listed = self.listing.files() if self.listing is not None else None
        gone = set()
        self.linked_before = set()
        for rel in self.assumed - listed if listed is not None else self.assumed:
            target = os.path.join(self.dir, rel)
            if listed is not None or not os.path.lexists(target):
                self.linked.discard(rel)
                if not self.reuse(rel, os.path.join(self.out, rel)):
                    gone.add(rel)
        self.assumed.clear()
        return gone

    def keep(self, rels: list[str]) -> None:
        """Files written elsewhere (by worker processes, which checked where) that belong to the new site."""
        given = set(rels)
        normal = _normal(given)
        self.kept |= normal
        self.kept.update(os.path.normpath(rel) for rel in given - normal)

    def commit(self, pages: int = 0) -> None:
        """Swap the finished site in. The old site becomes the spare (incremental builds) or is
        deleted, a large one by a detached `rm`, off the build's critical path (an interrupted
        removal is finished by the next build)."""
        if self.recycled:
            listed = self.listing.files() if self.listing is not None else None
            if listed is None:
                _remove_all_but(str(self.dir), self.kept)
            else:
                _remove_files(str(self.dir), listed - self.kept)
        old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
        if self.out.exists():
            self.out.rename(old)
        self.dir.rename(self.out)
        if not old.exists():
            return
        if self.keep_spare and (old / MARKER).is_file():  # only a site we built is built in again
            if self.spare.is_symlink() or self.spare.exists():  # not ours to recycle: never followed
                self.spare.unlink() if self.spare.is_symlink() else shutil.rmtree(self.spare)
            old.rename(self.spare)
        elif pages > LARGE and shutil.which("rm"):
            subprocess.Popen(["rm", "-rf", "--", str(old)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            shutil.rmtree(old)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.listing is not None:
            self.listing.close()
        if self.dir.exists():  # not committed: the build failed
            shutil.rmtree(self.dir, ignore_errors=True)


def _normal(rels: set[str]) -> set[str]:
    """The paths NORMAL matches: all of them, most often, found so at once. Joined by "/", between
    two more, they are one path whose parts are theirs, none empty ("//") nor starting with a
    dot ("/."), as NORMAL wants of each (10,000 pages: 1.5 ms, not 9 for a match each)."""
    joined = f"/{'/'.join(rels)}/"
    if "//" not in joined and "/." not in joined:
        return rels
    return {rel for rel in rels if NORMAL.fullmatch(rel)}


def spare_of(out: Path) -> Path:
    """The last site but one, kept beside the output folder to build the next site in (see Staging)."""
    return out.parent / f".{out.name}.spare"


def _recyclable(spare: Path) -> bool:
    return not spare.is_symlink() and (spare / MARKER).is_file()


def list_spare(out: Path) -> Listing | None:
    """The files of the spare of `out`, listed from now on, for a Staging that will recycle it:
    `find` takes a while (at 10,000 pages, 10,000 folders: 0.1-0.2 s), which an edit's build
    waited for when it was started with the Staging. None when there is no spare to recycle."""
    spare = spare_of(out.resolve())
    return Listing(spare) if _recyclable(spare) else None


def _copy_span(span: Span, fd: int) -> None:
    """Append a span of another file to the file open as `fd`: in the kernel where it can
    (copy_file_range), else read and written."""
    offset, left = span.offset, span.length
    while left:
        try:
            done = os.copy_file_range(span.fd, fd, left, offset)
        except (AttributeError, OSError):  # not on this system, or not between these files
            done = 0
        if not done:
            data = os.pread(span.fd, min(left, PARTS_BUFFER), offset)
            if not data:
                raise OSError("a file copied from was cut short")
            done = os.write(fd, data)
        offset += done
        left -= done


class Listing:
    """Every file under a folder (symlinks included, folders not), as normalized paths in it,
    listed by `find` in another process meanwhile. The folder's files from before are all
    listed whatever is written into it since; files added since may be listed too."""

    def __init__(self, folder: Path):
        self.found: set[str] | None = None
        import tempfile  # here: not a no-op build's (see cli.cmd_build)

        self.output = tempfile.TemporaryFile()  # not a pipe: `find` never waits for us
        try:
            self.process: subprocess.Popen | None = subprocess.Popen(
                ["find", ".", "-mindepth", "1", "!", "-type", "d", "-print0"], cwd=folder,
                stdout=self.output, stderr=subprocess.DEVNULL)
        except OSError:  # no `find` here
            self.process = None

    def files(self) -> set[str] | None:
        """The paths found; None when `find` is missing or failed (the caller walks the folder)."""
        if self.found is None and self.process is not None and self.process.wait() == 0:
            self.output.seek(0)
            # `find .` prints each path normalized, after "./" (normpath took 10 ms at 10,000 pages),
            # decoded at once, as os.fsdecode would each (5 ms more)
            text = self.output.read().decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
            self.found = {path[2:] for path in text.split("\0") if path}
        return self.found

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.output.close()

    def __enter__(self) -> Listing:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _make_folder(folder: str, root: str) -> None:
    """Like os.makedirs, but a file in the way (left in the spare) is removed."""
    try:
        os.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        parts = os.path.relpath(folder, root).split(os.sep)
        for i in range(1, len(parts) + 1):
            path = os.path.join(root, *parts[:i])
            if os.path.isfile(path) or os.path.islink(path):
                os.unlink(path)
        os.makedirs(folder, exist_ok=True)


def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.lstat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev)


def _remove_files(root: str, stale: set[str]) -> None:
    """Remove these files (paths in `root`), then the folders that left empty. A file listed
    may have made way for the new site's since: removed with a folder in the way of a new
    file, or replaced by a new folder."""
    folders = set()
    for rel in stale:
        path = os.path.join(root, rel)
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            if os.path.isdir(path) and not os.path.islink(path):
                continue
            raise
        folders.add(os.path.dirname(rel))
    for folder in sorted(folders, key=len, reverse=True):  # the deepest first
        while folder:
            try:
                os.rmdir(os.path.join(root, folder))
            except OSError:  # not empty
                break
            folder = os.path.dirname(folder)


def _remove_all_but(root: str, kept: set[str], inside: str = "") -> bool:
    """Remove every file under `root` whose path in it is not in `kept`, then the folders that
    left empty; True when `root` itself was emptied. (os.scandir tells folders from files and
    links without a stat each: 10,000 page folders.)"""
    with os.scandir(root) as listing:
        entries = list(listing)
    left = len(entries)
    for entry in entries:
        rel = inside + entry.name
        if entry.is_dir(follow_symlinks=False):
            if _remove_all_but(entry.path, kept, rel + os.sep):
                os.rmdir(entry.path)
                left -= 1
        elif rel not in kept:
            os.unlink(entry.path)
            left -= 1
    return left < len(entries) and not left


def static_files(source: Path, inside: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """The visible files under `source` as (relative path, file), and the symlinks that lead
    out of `inside` (skipped: content never makes us read outside the project)."""
    files: list[tuple[str, Path]] = []
    skipped: list[str] = []
    if not source.is_dir():
        return files, skipped
    inside = inside.resolve()
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue
        (files.append((rel.as_posix(), path)) if path.resolve().is_relative_to(inside)
         else skipped.append(rel.as_posix()))
    return files, skipped
