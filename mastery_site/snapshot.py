"""The last full build's model and plan, kept beside the build cache: the everyday edit, a
session's Markdown body, is then built without reading, checking, aggregating and planning
every entry again (at 10,000 sessions: 0.5 s of a 1.5 s edit).

Entries are saved by reference (their source path) and found again among the cache's
entries when loaded, so the snapshot is small (~8 MB at 10,000 sessions with the memos, ~70 ms to load)
and sees a body edited since it was made. It is made by every full build that uses the
cache; the cache's index names the build it is in step with (`Caches.snapshot`). A full
build takes its memos of planning and aggregation: after a front-matter edit, only the
pages and goal records whose inputs changed are made again (0.3 s less at 10,000 sessions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .cache import load_signed
from .diagnostics import Diagnostic
from .model import Goal, Page, Portfolio, Session
from .pages import PageSpec

SNAPSHOT_FILE = "plan.bin"


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
    planned: dict  # the plan's memo (see pages._session_pages), for the next full build
    records: dict  # the aggregation's memo (see aggregate._record), likewise
    naming: dict | None = None  # pages.naming_index(specs), made by the process that saves it (see build)


def load_snapshot(store: Path, entries: dict[str, Goal | Session | Page]) -> Snapshot | None:
    """The snapshot with its entries taken from `entries` (source → entry); None when absent,
    untrusted, or naming an entry not there."""
    def find(module: str, name: str):
        return entries.__getitem__ if (module, name) == (__name__, _entry.__name__) else None

    snapshot, = load_signed(store, [SNAPSHOT_FILE], find)
    return snapshot if isinstance(snapshot, Snapshot) else None


def _by_source(entry: Goal | Session | Page) -> tuple:
    return _entry, (entry.source,)


BY_REFERENCE = {Session: _by_source, Goal: _by_source, Page: _by_source}  # how a Snapshot is saved


def _entry(source: str) -> Goal | Session | Page:
    """What a saved reference names; `load_snapshot` resolves it among the cache's entries."""
    raise LookupError(f"{source}: entries are found by load_snapshot only")
