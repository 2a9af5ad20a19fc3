"""The dev server's engine: the same load and render as `build`, kept warm between edits.

Watchdog only marks the project dirty; one loop waits until a burst of changes has
been quiet for a moment, then rebuilds once. A rebuild re-reads only changed files
(by size and mtime), re-renders Markdown only for them, aggregates and plans the
site, and publishes it at once: pages are rendered when the browser asks for them,
so an edit is served as soon as the model is rebuilt (at 10,000 sessions, rendering
every page would take seconds); an edit of sessions' bodies, titles, figures or tags alone
updates the model in place, and plans again only the pages reading what changed.
Then the loop completes the site in the background: pages whose fingerprint is
unchanged are taken from the last complete site, the others rendered, so template
errors surface and the next rebuild starts warm; a newer edit interrupts it. A
failed rebuild keeps the last good site and publishes its diagnostics instead.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from . import collector
from .aggregate import refigure, retitle
from .build import (
    SEARCH_FILES,
    Caches,
    Interrupted,
    Options,
    Rendered,
    Site,
    environment_of,
    load_site,
    plan_site,
    render_page,
    render_reusing,
    search_files,
    template_files,
    themes_of,
    write_assets,
)
from .content import Leeway, in_place_edits
from .diagnostics import BuildError, Diagnostic
from .model import Session
from .pages import PageSpec, naming_index, refresh_own_pages, replan, retag, update_records
from .sources import BUILT_IN_THEMES, CONFIG_FILE, SOURCE_FOLDERS

QUIET = 0.05  # seconds without events that end a burst
QUIET_AFTER_SAVE = 0.01  # … when the last event closed a file written in place: that save is done


class MemorySink:
    """Site files in memory: bytes, or the path of a file to send as it is."""

    def __init__(self) -> None:
        self.files: dict[str, bytes | Path] = {}

    def write(self, rel: str, data: bytes | list[bytes]) -> None:
        self.files[rel] = b"".join(data) if type(data) is list else data

    def copy_file(self, source: Path, rel: str) -> None:
        self.files[rel] = source


class SiteFiles(Mapping):
    """A site in memory whose pages are rendered when first asked for (then kept).

    A page that fails to render is served from `fallback`, the last complete site,
    while the background pass finds the same error and publishes it. The search index
    is made on first use too (see `made`), not before an edit is served."""

    def __init__(self, assets: dict[str, bytes | Path], specs: list[PageSpec],
                 render: Callable[[PageSpec], bytes], fallback: Mapping | None = None,
                 search: Callable[[], dict[str, list[bytes]]] | None = None):
        self.assets = assets
        self.specs = {spec.file: spec for spec in specs}
        self.pages: dict[str, bytes] = {}
        self._render = render
        self.fallback = fallback or {}
        self._search = search

    def __getitem__(self, key: str) -> bytes | Path:
        if key in SEARCH_FILES:
            self.made()
        if key in self.assets:
            return self.assets[key]
        data = self.pages.get(key)
        if data is None:
            spec = self.specs[key]
            try:
                data = self.pages[key] = self._render(spec)
            except BuildError:
                if key not in self.fallback:
                    raise
                return self.fallback[key]
        return data

    def __contains__(self, key: object) -> bool:
        return key in self.assets or key in self.specs or (key in SEARCH_FILES and self._search is not None)

    def __iter__(self) -> Iterator[str]:
        self.made()
        yield from self.assets
        yield from self.specs

    def __len__(self) -> int:
        self.made()
        return len(self.assets) + len(self.specs)

    def made(self) -> None:
        """Make what is made on first use (the background pass calls this too)."""
        if self._search is not None and SEARCH_FILES[0] not in self.assets:
            self.assets.update((rel, b"".join(parts)) for rel, parts in self._search().items())

    # the Sink interface, for the background pass
    def write(self, rel: str, data: bytes) -> None:
        self.pages[rel] = data

    def reuse(self, rel: str, data: bytes | str) -> bool:
        self.pages.setdefault(rel, data)
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


@dataclass
class Pending:
    """A published site whose pages are not all rendered yet."""

    site: Site
    chain: list[Path]
    specs: list[PageSpec]
    files: SiteFiles
    naming: dict | None = None  # pages.naming_index(specs), made by the first title edit in place


class Engine:
    def __init__(self, root: Path, options: Options):
        self.root, self.options = root, options
        self.caches = Caches()
        self.rendered: Rendered = {}  # page file → (fingerprint, bytes) of the last complete site
        self.complete_files: Mapping = {}  # the last site whose pages all rendered
        self.pending: Pending | None = None  # published, pages not all rendered yet
        self.last: Pending | None = None  # the last good rebuild
        self.env: jinja2.Environment | None = None
        self.chain: list[Path] = []
        self.templates: set[str] = set()
        self.state = State()
        self.changed = threading.Condition()
        self.closing = False

    def rebuild(self, changed: set[Path] | None = None) -> Outcome:
        """Load, aggregate and plan; publish the site with its pages still to render.

        `changed`: the files changed since the last rebuild, when known (the watcher's);
        when they are only edited Markdown bodies, or sessions' titles, figures or tags, the
        model is updated in place instead (see _edit_in_place)."""
        with collector.deferred():  # a rebuild makes a new model and plan: their collection is left to settle()
            return self._rebuild(changed)

    def _rebuild(self, changed: set[Path] | None) -> Outcome:
        started = time.perf_counter()
        rels = {p.relative_to(self.root).as_posix() for p in changed} \
            if changed and all(p.is_relative_to(self.root) for p in changed) else None
        try:
            outcome = self._edit_in_place(rels, started) if rels and self.last is not None else None
            if outcome is not None:
                return outcome
            site = load_site(self.root, self.options, caches=self.caches, changed=rels)
            loaded = time.perf_counter()
            chain = themes_of(site.root, site.portfolio.config)
            templates = {path for path, _ in template_files(site, chain)}
            if chain != self.chain or templates != self.templates:  # Jinja would keep a shadowed template
                self.env, self.chain, self.templates = None, chain, templates
            self.env = environment_of(site, chain, self.env)
            specs = plan_site(site, self.caches)
            assets = MemorySink()
            write_assets(site, chain, assets, self.caches, search=False)
        except BuildError as exc:
            self._publish(None, exc.diagnostics.sorted())
            return Outcome(False, timings={"total": time.perf_counter() - started})
        except Exception as exc:  # a bug of ours must not stop the server: show it like content errors
            where = Diagnostic("mastery-site", 1, 1, "error", f"internal error, please report it: {exc!r}")
            self._publish(None, [where])
            return Outcome(False, timings={"total": time.perf_counter() - started})
        return self._publish_lazy(site, chain, specs, assets.files, started, loaded)

    def _edit_in_place(self, rels: set[str], started: float) -> Outcome | None:
        """Only Markdown bodies and sessions' titles, figures or tags changed: same model, new
        html, text, titles, descriptions, search index, and the wins and lessons that copy a
        title (see build._edit_sessions); with figures, the site's figures and the pages that
        read them (see pages.replan); with tags, the tag pages (see pages.retag). None when the
        change is anything else."""
        last = self.last
        site = last.site
        leeway = Leeway(figures=True, tags=True)
        entries = in_place_edits(self.root, site.portfolio.config, self.caches.files, rels,
                                 self.options.audience, self.caches.bodies, leeway)
        if entries is None:
            return None
        if leeway.refigured:
            goals = leeway.refigured | {e.goal for e in entries if type(e) is Session and e.slug in leeway.retitled}
            before = site.stats
            site = dataclasses.replace(site, stats=refigure(site.portfolio, site.stats, goals))
            self.env = environment_of(site, last.chain, self.env)
            replan(last.specs, {spec.file: n for n, spec in enumerate(last.specs)}, site.portfolio, site.stats,
                   site.today, self.caches.planned, goals, {e.source for e in entries},
                   leeway.edited("feedback"), before)
            last.naming = None  # the pages planned again hold other records
        elif leeway.retitled:  # (refigure made the records that copy a title again)
            if last.naming is None:  # once per plan: ~40 ms at 10,000 sessions
                last.naming = naming_index(last.specs)
            changes = retitle(site.stats, [e for e in entries if type(e) is Session and e.slug in leeway.retitled])
            if changes is None:
                return None
            update_records(last.specs, last.naming, changes, site.stats)
        if leeway.retagged:  # (the naming index holds no tag page: see naming_index)
            retag(last.specs, site.portfolio)
        loaded = time.perf_counter()
        refresh_own_pages(last.specs, entries)
        assets = {k: v for k, v in last.files.assets.items() if k not in SEARCH_FILES}
        return self._publish_lazy(site, last.chain, last.specs, assets, started, loaded, last.naming)

    def _publish_lazy(self, site: Site, chain: list[Path], specs: list[PageSpec], assets: dict,
                      started: float, loaded: float, naming: dict | None = None) -> Outcome:
        """Publish a site whose pages render on request; the search index is made on first use.
        `naming`: the index of these very `specs`, if made."""
        env = self.env
        files = SiteFiles(assets, specs, lambda spec: render_page(env, site, spec), self.complete_files,
                          lambda: search_files(site, self.caches))
        self.pending = self.last = Pending(site, chain, specs, files, naming)
        self._publish(files, site.diagnostics.sorted())
        done = time.perf_counter()
        return Outcome(True, len(specs), 0, {"load": loaded - started, "plan": done - loaded, "total": done - started})

    def complete(self, stop: Callable[[], bool] | None = None) -> Outcome | None:
        """Render every page of the published site not rendered yet, reusing the last complete
        site's pages whose fingerprint is unchanged. None when there was nothing to do or `stop`
        interrupted it; a failed Outcome (and the last complete site published again with the
        errors) when a template fails."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        started = time.perf_counter()
        reuse = dict(self.rendered)
        try:
            render_reusing(pending.site, pending.chain, self.env, pending.specs, pending.files, reuse, 1, None, stop)
            pending.files.made()
        except Interrupted:
            return None
        except BuildError as exc:
            self._revert(exc.diagnostics.sorted())
            return Outcome(False, timings={"total": time.perf_counter() - started})
        old = self.rendered
        rendered = sum(1 for path, (key, _) in reuse.items() if key is None or old.get(path, (None,))[0] != key)
        pending.files.fallback = {}  # every page rendered: older sites need not be kept
        self.rendered, self.complete_files = reuse, pending.files
        return Outcome(True, len(pending.specs), rendered, {"render": time.perf_counter() - started})

    def _publish(self, files: Mapping | None, diagnostics: list[Diagnostic]) -> None:
        """A new site (`files`), or None: a failed rebuild, the last good site stays."""
        old = self.state
        if files is None:  # the next rebuild starts from scratch
            self.last = None
        self._show(State(old.generation + 1, old.site + (files is not None),
                         files if files is not None else old.files, diagnostics))

    def _revert(self, diagnostics: list[Diagnostic]) -> None:
        """A template fails on the new site: show the last complete one, if any, with the errors."""
        self.last = None
        old = self.state
        self._show(State(old.generation + 1, old.site + 1 if self.complete_files else 0, self.complete_files,
                         diagnostics))

    def _show(self, state: State) -> None:
        with self.changed:
            self.state = state
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
        folders = [self.root / name for name in SOURCE_FOLDERS]
        folders += [theme for theme in self.chain if theme.is_relative_to(BUILT_IN_THEMES)]
        return [f for f in folders if f.is_dir()]


class Watcher(FileSystemEventHandler):
    """Marks the engine dirty on relevant changes; a loop thread rebuilds once per burst."""

    def __init__(self, engine: Engine, report):
        self.engine, self.report = engine, report
        self.dirty = threading.Event()
        self.last_event = 0.0
        self.saved = False  # the last event closed a written file
        self.observer = Observer()
        self.stopping = False
        self.rebuilds = 0
        self.lock = threading.Lock()
        self.changed: set[Path] | None = set()  # files changed since the last rebuild; None: unknown

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
        with self.lock:
            if event.is_directory:  # a file event comes too, except for a folder moved or deleted
                if event.event_type != "modified":
                    self.changed = None
            elif self.changed is not None:
                paths = (Path(str(p)) for p in (event.src_path, getattr(event, "dest_path", "")) if p)
                self.changed.update(p for p in paths if _relevant_path(self.engine.root, p))
        if not event.is_directory:  # a folder's "modified" follows its file's events
            self.saved = event.event_type == "closed"
        self.last_event = time.monotonic()
        self.dirty.set()

    def quiet(self) -> float:
        """How long without events ends the burst: a save is done once its file, written in
        place, is closed (watchdog's "closed"); after any other event more may follow."""
        return QUIET_AFTER_SAVE if self.saved else QUIET

    def _relevant(self, event: FileSystemEvent) -> bool:
        paths = [event.src_path, getattr(event, "dest_path", "")]
        return any(p and _relevant_path(self.engine.root, Path(str(p))) for p in paths)

    def _loop(self) -> None:
        while not self.stopping:
            self.dirty.wait()
            while time.monotonic() - self.last_event < self.quiet():  # let the burst finish
                time.sleep(QUIET_AFTER_SAVE / 2)
            self.dirty.clear()
            if self.stopping:
                return
            with self.lock:
                changed, self.changed = self.changed, set()
            outcome = self.engine.rebuild(changed)
            self.rebuilds += 1
            self._watch_folders()
            self.report(outcome, self.engine.state)
            completed = self.engine.complete(stop=self.dirty.is_set)
            if completed is not None and not completed.ok:
                self.report(completed, self.engine.state)
            collector.settle()


def _relevant_path(root: Path, path: Path) -> bool:
    """A change that can alter the site: not editor droppings, not hidden files, not outside sources."""
    name = path.name
    if name.startswith((".", "#", "~")) or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913":
        return False
    try:
        rel = path.relative_to(root)
    except ValueError:
        return True  # inside a watched built-in theme
    return bool(rel.parts) and (rel.parts[0] in SOURCE_FOLDERS or rel.as_posix() == CONFIG_FILE)
