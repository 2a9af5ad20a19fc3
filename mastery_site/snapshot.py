"""The last full build's model and plan, kept beside the build cache: the everyday edit, a
session's Markdown body, is then built without reading, checking, aggregating and planning
every entry again (at 10,000 sessions: 0.5 s of a 1.5 s edit).

Entries are saved by reference (their source path) and found again among the cache's
entries when loaded, so the snapshot is small (~7 MB at 10,000 sessions, ~50 ms to load)
and sees a body edited since it was made. It is made by every full build that uses the
cache; the cache's index names the build it is in step with (`Caches.snapshot`).

Beside it, the memos of planning and aggregation (`Memos`), which a full build takes: after a
front-matter edit, only the pages and goal records whose inputs changed are made again (0.3 s
less at 10,000 sessions). They are a file of their own (~5 MB), with the pages kept without
their contexts, which are made again anyway: a full build read the whole snapshot for them
(80 ms at 10,000 sessions), it now reads the memos (35 ms).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cache import load_signed
from .diagnostics import Diagnostic
from .model import Goal, Page, Portfolio, Session
from .pages import PageSpec

SNAPSHOT_FILE = "plan.bin"
MEMO_FILE = "memos.bin"
Find = Callable[[str], Goal | Session | Page]  # an entry by its source (KeyError if none)


@dataclass
class Snapshot:
    made_by: str  # the inputs digest of the build that made it
    scope: tuple  # the page scope (see build.page_scope): templates, goals and free pages
    head: str  # the git commit the sitemap's dates were read at ("" outside git)
    portfolio: Portfolio
    stats: dict
    today: dt.date | None
    diagnostics: list[Diagnostic]  # those of reading and checking, not of writing
    specs: list[PageSpec]
    keys: list[bytes]  # each session's key when it was made (their descriptions are its own)
    naming: dict | None = None  # pages.naming_index(specs), made by the process that saves it (see build)


@dataclass
class Memos:
    planned: dict  # the plan's memo (see pages._session_pages), for the next full build
    records: dict  # the aggregation's memo (see aggregate._record), likewise
    digests: list[tuple[dict, bytes]]  # its records' fingerprints' digests (see build.render_reusing)


def load_snapshot(store: Path, entry: Find) -> Snapshot | None:
    """The snapshot with its entries found by `entry(source)`; None when absent,
    untrusted, or naming an entry not there."""
    snapshot = _load(store, SNAPSHOT_FILE, entry)
    return snapshot if isinstance(snapshot, Snapshot) else None


def load_memos(store: Path, entry: Find) -> Memos | None:
    """The memos saved with the last snapshot, found as `load_snapshot` finds it."""
    memos = _load(store, MEMO_FILE, entry)
    return memos if isinstance(memos, Memos) else None


def _load(store: Path, name: str, entry: Find):
    def find(module: str, name: str):
        return entry if (module, name) == (__name__, _entry.__name__) else None

    value, = load_signed(store, [name], find)
    return value


def _by_source(entry: Goal | Session | Page) -> tuple:
    return _entry, (entry.source,)


_SPEC_FIELDS = [f.name for f in dataclasses.fields(PageSpec)]


def _as_arguments(spec: PageSpec, context: bool = True) -> tuple:
    """A page as PageSpec's arguments, in order: 10,000 pages load 7-10 ms faster than with
    their attributes by name. The memos keep it without its `context`, made again anyway."""
    return PageSpec, tuple(getattr(spec, name) if context or name != "context" else {} for name in _SPEC_FIELDS)


BY_REFERENCE = {Session: _by_source, Goal: _by_source, Page: _by_source}
SNAPSHOT_REDUCERS = {**BY_REFERENCE, PageSpec: _as_arguments}  # how a Snapshot is saved
MEMO_REDUCERS = {**BY_REFERENCE, PageSpec: functools.partial(_as_arguments, context=False)}  # and its Memos


def _entry(source: str) -> Goal | Session | Page:
    """What a saved reference names; `load_snapshot` resolves it among the cache's entries."""
    raise LookupError(f"{source}: entries are found by load_snapshot only")
