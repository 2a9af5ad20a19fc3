"""What a site is built from, found and fingerprinted with the standard library alone: the
source folders, the walk of content/, the git commit, the digest of the inputs, and the
digest the site in an output folder records. `build` tells with these alone that a site is
up to date (see cli.cmd_build), before it imports the rest of the package (Jinja, YAML, the
model: at 10,000 sessions, 80 ms of imports, more than a no-op build's work).
"""

from __future__ import annotations

import hashlib
import operator
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from . import __version__

CONFIG_FILE = "mastery.yaml"
SOURCE_FOLDERS = ("content", "static", "templates", "themes")  # with CONFIG_FILE, what a site is built from
AUDIENCES = ("public", "mentor", "private")  # the editions, each seeing its own level and those before it
PACKAGE_DIR = Path(__file__).parent
# In a wheel the theme is inside the package; in a source checkout it sits beside it.
_IN_WHEEL = PACKAGE_DIR / "themes"
BUILT_IN_THEMES = _IN_WHEEL if _IN_WHEEL.is_dir() else PACKAGE_DIR.parent / "themes"
MARKER = ".mastery-site"  # in a site we built: what it was built from
MARKER_TEXT = "built by mastery-site; this directory is replaced on each build\ninputs: {}\n"


def settings_of(audience: str, drafts: bool, base_url: str | None, today) -> tuple:
    """The options a site is built with, as the inputs digest and the build cache take them."""
    return __version__, audience, drafts, base_url, today


class Scanned(NamedTuple):
    """What a build starts from (see scan_inputs)."""

    head: str  # the git commit ("" outside git)
    found: list[tuple[str, str, tuple]]  # the goals, sessions and pages (see scan_content)
    every: list[tuple[str, tuple]]  # every file under content/
    inputs: str  # the digest of every input (see inputs_digest)
    up_to_date: bool  # the site in the output folder was built from these very inputs


class Handed:
    """A scan as another process hands it over (see headstart.py, cli.cmd_build): the files
    found read from there when asked for, and the files changed since the build cache was
    saved, as that process found them meanwhile (see stamps.compare)."""

    def __init__(self, head: str, inputs: str, found: Callable[[], list], compared: Callable[[], tuple | None]):
        self.head, self.inputs, self.up_to_date = head, inputs, False
        self._found, self.compared = found, compared

    @property
    def found(self) -> list[tuple[str, str, tuple]]:
        return self._found()


def scan_inputs(root: Path, out: Path, settings: tuple) -> Scanned:
    """Walk the content, read the git commit and digest the inputs, and tell whether the site
    in `out` is up to date: done before anything else is imported (see cli.cmd_build)."""
    head = git_head(root)  # once: the inputs digest, the sitemap's dates and the last plan depend on it
    found, every = scan_content(root)
    inputs = inputs_digest(root, settings, [BUILT_IN_THEMES], head, every)
    return Scanned(head, found, every, inputs, recorded_inputs(out) == inputs)


KINDS = {"goals": "goal", "sessions": "session", "pages": "page"}  # content folder → what its files are


def scan_content(root: Path) -> tuple[list[tuple[str, str, tuple]], list[tuple[str, tuple]]]:
    """The goals, sessions and pages (see content.source_files), and every file under content/
    with its stamp, for the inputs digest (see inputs_digest): one walk, one stat per file
    (two walks cost an edit at 10,000 sessions 30 ms more)."""
    found: dict[str, list[tuple[str, tuple]]] = {kind: [] for kind in KINDS.values()}
    every: list[tuple[str, tuple]] = []
    _scan(root, "content", None, False, found, every)
    return [(kind, rel, stamp) for kind, files in found.items() for rel, stamp in files], every


def _wanted(name: str) -> bool:
    """Skip hidden files and editors' temporary files."""
    return name.endswith(".md") and not name.startswith((".", "#", "~"))


def _scan(root: Path, rel: str, kind: str | None, linked: bool, found: dict, every: list) -> None:
    """Every file under `rel` into `every`; the Markdown files of `kind` into `found`. Goals
    and pages are the files right in their folder; sessions are searched in subfolders too,
    where a folder with an index.md is one session (a bundle). `linked`: the folder was
    reached through a symlink (its files are checked for escaping); symlinked folders are
    followed only to find sessions (os.scandir: no path objects, one stat per file, of a name
    in the open folder, not a path: the walk of 10,000 sessions ~10% faster). Each folder's entries are
    taken in name order, so the files come in the order of their path's parts, and no list
    of 100,000 paths has to be sorted."""
    try:
        folder = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return
    try:
        with os.scandir(folder) as listing:
            _scan_entries(root, rel, kind, linked, found, every, sorted(listing, key=_name))
    finally:
        os.close(folder)


def _scan_entries(root: Path, rel: str, kind: str | None, linked: bool, found: dict, every: list,
                  entries: list[os.DirEntry]) -> None:
    """`_scan`'s work on a folder's entries, while the folder is open (each `stat` needs it)."""
    bundle = kind == "session" and any(e.name == "index.md" and e.is_file() for e in entries)
    for e in entries:
        path = f"{rel}/{e.name}"
        if e.is_dir():
            inner = _kind_inside(rel, e.name, kind, bundle)
            if inner is not None or not e.is_symlink():  # content/sessions and the like may be links
                _scan(root, path, inner, linked or (e.is_symlink() and rel != "content"), found, every)
            continue
        try:
            stamp = _stamp(e, linked)
        except OSError:  # a broken symlink: nothing to read
            continue
        every.append((path, stamp))
        if kind is not None and _wanted(e.name) and (not bundle or e.name == "index.md"):
            found[kind].append((path, stamp))


def _kind_inside(rel: str, name: str, kind: str | None, bundle: bool) -> str | None:
    """What the Markdown files of the folder `rel`/`name` are: goals, sessions or pages right
    in content/; more sessions in a sessions folder that is no bundle (hidden folders aside);
    else nothing to read (goals and pages are the files right in their folder)."""
    if rel == "content":
        return KINDS.get(name)
    return kind if kind == "session" and not bundle and not name.startswith(".") else None


_name = operator.attrgetter("name")


def _stamp(entry: os.DirEntry, linked: bool) -> tuple:
    """What tells a changed file (mtime, size, inode), and whether a symlink leads to it."""
    info = entry.stat()
    return (info.st_mtime_ns, info.st_size, info.st_ino, linked or entry.is_symlink())


def inputs_digest(root: Path, settings: tuple, extra: list[Path], head: str, content: list[tuple[str, tuple]]) -> str:
    """A digest of everything a build reads: every source file's path, size and mtime (those
    under content/ as listed by scan_content), the settings (version, options,
    SOURCE_DATE_EPOCH) and the git commit `head` (for lastmod)."""
    lines = [repr((settings, os.environ.get("SOURCE_DATE_EPOCH"), head)), *(f"{rel}\0{stamp[0]}\0{stamp[1]}"
                                                                          for rel, stamp in content)]
    for folder in [*(root / name for name in SOURCE_FOLDERS if name != "content"), *extra]:
        for top, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(top, name)
                try:
                    info = os.stat(path)
                except OSError:  # a broken symlink: nothing to read
                    continue
                lines.append(f"{path}\0{info.st_mtime_ns}\0{info.st_size}")
    config = root / CONFIG_FILE
    if config.is_file():
        lines.append(f"{config.stat().st_mtime_ns}\0{config.read_bytes()!r}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def git_head(root: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """What tells one write of a file from any other: a write or a replacement changes the
    ctime (set by the kernel alone) and usually the rest."""
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def recorded_inputs(out: Path) -> str | None:
    """The inputs digest the site in `out` was built from (see `Staging`), if any."""
    try:
        text = (out / MARKER).read_text()
    except OSError:
        return None
    return next((line[8:] for line in text.splitlines() if line.startswith("inputs: ")), None)
