"""The dev server's engine: the same load and render as `build`, kept warm between edits.

Watchdog only marks the project dirty; one loop waits until a burst of changes has
been quiet for a moment, then rebuilds once. A rebuild re-reads only changed files
(by size and mtime), re-renders Markdown only for them, and re-renders only the
pages whose fingerprint changed. The result goes to memory; a failed rebuild keeps
the last good site and publishes its diagnostics instead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .build import Caches, Options, Rendered, environment_of, load_site, themes_of, write_site
from .diagnostics import BuildError, Diagnostic
from .theme import BUILT_IN_THEMES

WATCHED = ("content", "templates", "static", "themes")  # besides mastery.yaml
QUIET = 0.05  # seconds without events that end a burst


class MemorySink:
    """Site files in memory: bytes, or the path of a file to send as it is."""

    def __init__(self) -> None:
        self.files: dict[str, bytes | Path] = {}

    def write(self, rel: str, data: bytes) -> None:
        self.files[rel] = data

    def copy_file(self, source: Path, rel: str) -> None:
        self.files[rel] = source

    def reuse(self, rel: str, data: bytes | Path) -> bool:
        self.files[rel] = data
        return True


@dataclass
class State:
    """What the server shows: the last good site, and the newest diagnostics."""

    generation: int = 0  # counts rebuilds, good or bad
    site: int = 0  # counts good rebuilds: the version of `files`
    files: dict[str, bytes | Path] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


@dataclass
class Outcome:
    ok: bool
    pages: int = 0
    rendered: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class Engine:
    def __init__(self, root: Path, options: Options):
        self.root, self.options = root, options
        self.caches = Caches()
        self.rendered: Rendered = {}
        self.env: jinja2.Environment | None = None
        self.chain: list[Path] = []
        self.state = State()
        self.changed = threading.Condition()
        self.closing = False

    def rebuild(self) -> Outcome:
        started = time.perf_counter()
        try:
            site = load_site(self.root, self.options, caches=self.caches)
            loaded = time.perf_counter()
            chain = themes_of(site)
            if chain != self.chain:
                self.env, self.chain = None, chain
            self.env = environment_of(site, chain, self.env)
            sink = MemorySink()
            before = {path: entry[0] for path, entry in self.rendered.items()}
            pages = write_site(site, chain, self.env, sink, self.rendered, self.caches)
        except BuildError as exc:
            self._publish(None, exc.diagnostics.sorted())
            return Outcome(False, timings={"total": time.perf_counter() - started})
        except Exception as exc:  # a bug of ours must not stop the server: show it like content errors
            where = Diagnostic("mastery-site", 1, 1, "error", f"internal error, please report it: {exc!r}")
            self._publish(None, [where])
            return Outcome(False, timings={"total": time.perf_counter() - started})
        done = time.perf_counter()
        rendered = sum(1 for path, entry in self.rendered.items() if entry[0] is None or before.get(path) != entry[0])
        self._publish(sink.files, site.diagnostics.sorted())
        return Outcome(True, pages, rendered, {"load": loaded - started, "render": done - loaded,
                                               "total": done - started})

    def _publish(self, files: dict | None, diagnostics: list[Diagnostic]) -> None:
        old = self.state
        with self.changed:
            self.state = State(old.generation + 1, old.site + (files is not None),
                               files if files is not None else old.files, diagnostics)
            self.changed.notify_all()

    def wait_for_change(self, generation: int, timeout: float) -> None:
        """Block until a rebuild newer than `generation` is published (or the server closes)."""
        with self.changed:
            self.changed.wait_for(lambda: self.state.generation != generation or self.closing, timeout=timeout)

    def close(self) -> None:
        """Wake every waiting event stream so the server can stop."""
        with self.changed:
            self.closing = True
            self.changed.notify_all()

    def watched_folders(self) -> list[Path]:
        folders = [self.root / name for name in WATCHED]
        folders += [theme for theme in self.chain if theme.is_relative_to(BUILT_IN_THEMES)]
        return [f for f in folders if f.is_dir()]


class Watcher(FileSystemEventHandler):
    """Marks the engine dirty on relevant changes; a loop thread rebuilds once per burst."""

    def __init__(self, engine: Engine, report):
        self.engine, self.report = engine, report
        self.dirty = threading.Event()
        self.last_event = 0.0
        self.observer = Observer()
        self.stopping = False
        self.rebuilds = 0

    def start(self) -> None:
        self.observer.schedule(self, str(self.engine.root), recursive=False)  # mastery.yaml, new folders
        self._watched = set()
        self._watch_folders()
        self.observer.start()
        threading.Thread(target=self._loop, name="rebuild", daemon=True).start()

    def _watch_folders(self) -> None:
        for folder in self.engine.watched_folders():
            if folder not in self._watched:
                self.observer.schedule(self, str(folder), recursive=True)
                self._watched.add(folder)

    def stop(self) -> None:
        self.stopping = True
        self.dirty.set()
        self.observer.stop()
        self.observer.join(timeout=5)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or not self._relevant(event):
            return
        self.last_event = time.monotonic()
        self.dirty.set()

    def _relevant(self, event: FileSystemEvent) -> bool:
        paths = [event.src_path, getattr(event, "dest_path", "")]
        return any(p and _relevant_path(self.engine.root, Path(str(p))) for p in paths)

    def _loop(self) -> None:
        while not self.stopping:
            self.dirty.wait()
            while time.monotonic() - self.last_event < QUIET:  # let the burst finish
                time.sleep(QUIET / 2)
            self.dirty.clear()
            if self.stopping:
                return
            outcome = self.engine.rebuild()
            self.rebuilds += 1
            self._watch_folders()
            self.report(outcome, self.engine.state)


def _relevant_path(root: Path, path: Path) -> bool:
    """A change that can alter the site: not editor droppings, not hidden files, not outside sources."""
    name = path.name
    if name.startswith((".", "#", "~")) or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913":
        return False
    try:
        rel = path.relative_to(root)
    except ValueError:
        return True  # inside a watched built-in theme
    return bool(rel.parts) and (rel.parts[0] in WATCHED or rel.as_posix() == "mastery.yaml")
