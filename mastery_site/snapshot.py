"""The last full build's model and plan, kept beside the build cache: the everyday edit, a
session's Markdown body (or title, or figures: see build._edit_sessions), is then built
without reading, checking, aggregating and planning every entry again (at 10,000 sessions:
0.5 s of a 1.5 s edit).

Entries are saved by reference (their source path) and found again among the cache's
entries when loaded, so the snapshot is small and sees a body edited since it was made. Its
pages are pickled one by one after the rest (see Plan), and an edit unpickles those it
renders: at 10,000 sessions the file is ~9 MB, and loading it took 65 ms instead of 130 on a
slow machine. It is made by every full build that uses the cache; the cache's index names
the build it is in step with (`Caches.snapshot`).

Beside it, the memos of planning and aggregation (`Memos`), which a full build takes: after a
front-matter edit, only the pages and goal records whose inputs changed are made again (0.3 s
less at 10,000 sessions). They are a file of their own (~5 MB), with the pages kept without
their contexts, which are made again anyway: a full build read the whole snapshot for them
(80 ms at 10,000 sessions), it now reads the memos (35 ms).
"""

from __future__ import annotations

import array
import copyreg
import dataclasses
import datetime as dt
import functools
import io
import marshal
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import THIS_TAIL, load_signed, unpickled
from .diagnostics import Diagnostic
from .model import Goal, Page, Portfolio, Session
from .pages import PageSpec, describe

SNAPSHOT_FILE = "plan.bin"
MEMO_FILE = "memos.bin"
DELTA_FILE = "delta.bin"
DIGEST = 16  # bytes of a page's digest (see PageSpec.digest)
NO_DIGEST = bytes(DIGEST)
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
    specs: Sequence[PageSpec]  # as loaded, a Plan
    keys: list[bytes]  # each session's key when it was made (their descriptions are its own)
    naming: dict | None = None  # pages.naming_index(specs), made by the process that saves it (see build)
    delta: tuple | None = None  # as loaded, the delta saved beside it (see load_delta)
    digests: list[bytes | None] | None = None  # of its goals' records' fingerprints (see record_digests)


@dataclass
class Memos:
    planned: dict  # the plan's memo (see pages._session_pages), for the next full build
    records: dict  # the aggregation's memo (see aggregate._record), likewise
    digests: list[tuple[dict, bytes]]  # its records' fingerprints' digests (see build.render_reusing)


@dataclass
class Delta:
    """What the edits in place since the snapshot made of it, as the last of them left it: the
    site's figures, the pages planned again (by file), the tag pages (when sessions' tags were
    edited) and the naming index of the plan they make (what differs from the snapshot's).
    The next edit starts from it, and makes again only what it edits itself: else every edit
    made again, for every goal edited since the last full build, its figures and pages (at
    10,000 sessions, after a difficulty edit, 0.1-0.2 s of every later edit, the pages of
    those goals naming the session rendered again)."""

    stats: dict
    specs: dict[str, PageSpec]
    tags: list[PageSpec] | None
    naming: dict
    digests: list[bytes | None]  # of its goals' records' fingerprints (see record_digests)


def record_digests(records: list[dict], seen: dict) -> list[bytes | None]:
    """The digests of goals' records' fingerprints that `seen` holds (see pages.fingerprint),
    in order: an edit planning the pages of the site's figures again then sums up only the
    records it made again (at 10,000 sessions, a difficulty edit: ~10 ms less)."""
    return [seen[id(record)][1] if id(record) in seen else None for record in records]


def page_digests(specs: Sequence[PageSpec], keys: dict[str, bytes | None]) -> bytes:
    """The digests of the fingerprints of these pages (see PageSpec.digest), one after another,
    from their keys as rendered (see build.render_reusing: the page scope's digest, then the
    page's), NO_DIGEST for a page without one (of a volatile template)."""
    return b"".join((keys.get(spec.file) or NO_DIGEST * 2)[DIGEST:] for spec in specs)


def seen_records(*saved: tuple[list[dict], list[bytes | None] | None]) -> dict:
    """The `seen` of pages.fingerprint holding the digests saved of these records (see
    record_digests): records, as goals' records are, never change."""
    return {id(record): (record, digest) for records, digests in saved if digests is not None
            for record, digest in zip(records, digests, strict=True) if digest is not None}


class Plan(Sequence):
    """The snapshot's pages as loaded: each page's file and template at hand, the page itself
    unpickled from the snapshot file's tail (see cache.Tail) when first asked for. An edit
    renders a dozen pages of 10,000; unpickling them all was most of loading the snapshot
    (at 10,000 sessions, 100 of 140 ms on a slow day)."""

    def __init__(self, files: list[str], templates: list[str], places: bytes, tail, digests: bytes = b""):
        self.files, self.templates = files, templates  # of each page, in the plan's order
        self._digests = digests  # see page_digests
        self._places = places  # where each page's pickle starts in the tail, and where the last ends
        self._starts = memoryview(places).cast("q")
        self._tail = tail  # THIS_TAIL while saved
        self._find: Callable[[str, str], object | None] | None = None  # see opened
        self._shared: list = []  # what the pages name by number (see _shared)
        self._made: dict[int, PageSpec] = {}
        self._edited: dict[str, Goal | Session | Page] = {}
        self._saved: list[int] | None = None  # each page's place as saved, once pages were replaced by others
        # (-1: not saved; see __setitem__)

    def __reduce__(self):
        if self._saved is not None:  # its files are no longer those of the pages saved
            raise TypeError("a plan whose pages were replaced by others is saved by snapshot_file only")
        return Plan, (self.files, self.templates, self._places, self._tail, self._digests)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, n: int) -> PageSpec:
        n = range(len(self.files))[n]  # IndexError past the end, as Sequence's iteration expects
        spec = self._made.get(n)
        if spec is None:
            saved = n if self._saved is None else self._saved[n]
            start, end = self._starts[saved], self._starts[saved + 1]
            spec = self._made[n] = unpickled(self._tail.read(start, end - start), self._find, self._shared)
            self._refresh(spec)
        return spec

    def __setitem__(self, n: int | slice, spec: PageSpec | Iterable[PageSpec]) -> None:
        """A page planned again (see pages.replan), in place of the snapshot's; or, given a
        slice, a run of pages replaced by those planned again, however many (see pages.retag)."""
        if type(n) is not slice:
            self._made[range(len(self.files))[n]] = spec
            return
        first, end, _ = n.indices(len(self.files))
        specs = list(spec)
        shift = len(specs) - (end - first)
        if self._saved is None:
            self._saved = list(range(len(self.files)))
        self._saved[first:end] = [-1] * len(specs)
        self.files[first:end] = [s.file for s in specs]
        self.templates[first:end] = [s.template for s in specs]
        made = {k if k < first else k + shift: v for k, v in self._made.items() if not first <= k < end}
        made.update(enumerate(specs, first))
        self._made = made

    def saved_digest(self, n: int) -> bytes | None:
        """The digest of the fingerprint of the snapshot's page at `n`, as its build rendered it;
        None for a page without one, or not the snapshot's (see __setitem__)."""
        saved = n if self._saved is None else self._saved[n]
        digest = self._digests[saved * DIGEST:(saved + 1) * DIGEST] if saved >= 0 else b""
        return digest if len(digest) == DIGEST and digest != NO_DIGEST else None

    def opened(self, find: Callable[[str, str], object | None], shared: list) -> Plan:
        """The plan as loaded, ready to unpickle its pages: `find` resolves the entries they
        name by reference (see cache.load_cache), `shared` what they name by number."""
        self._find, self._shared = find, shared
        return self

    def delta_file(self, base: str, made_by: str, delta: Delta) -> tuple[tuple, None, bytes]:
        """A delta of this plan's snapshot (`base`: the build that made it) as cache.save_cache
        writes it, by the build `made_by`: pickled as its pages are, naming the snapshot's
        entries and records by number (a setback's page holds a goal's record), but for its
        naming index, marshalled. Records a title edit changed in place are named so too,
        as they were: the next edit changes them again (see build._edit_sessions)."""
        buffer = io.BytesIO()
        pickler = _PagePickler(buffer, {id(value): n for n, value in enumerate(self._shared)})
        pickler.dump(dataclasses.replace(delta, naming={}))
        return (base, made_by, buffer.getvalue(), marshal.dumps(delta.naming)), None, b""

    @staticmethod
    def delta_again(saved: tuple, made_by: str) -> tuple[tuple, None, bytes]:
        """A delta as loaded (see delta_file), saved again by the build `made_by`, which left
        it as it was."""
        return (*saved[:1], made_by, *saved[2:]), None, b""

    def delta(self, saved: tuple) -> Delta | None:
        """The delta in `saved` (see delta_file), unpickled; None if it is not one."""
        try:
            delta = unpickled(saved[2], self._find, self._shared)
            delta.naming = marshal.loads(saved[3])
        except Exception:  # signed, so ours: but never trusted over a build from scratch
            return None
        return delta if isinstance(delta, Delta) else None

    def refresh(self, entries: Iterable[Goal | Session | Page]) -> None:
        """As pages.refresh_own_pages: the titles and descriptions of the pages of entries
        edited in place, made so as each page is unpickled. (The pages keep no digest.)"""
        self._edited.update((entry.source, entry) for entry in entries)
        for spec in self._made.values():
            self._refresh(spec)

    def _refresh(self, spec: PageSpec) -> None:
        entry = self._edited.get(spec.source)
        if entry is not None:
            spec.title, spec.description = entry.title, describe(entry)


def snapshot_file(snapshot: Snapshot, digests: bytes) -> tuple[Snapshot, dict[type, Callable], bytes]:
    """The snapshot as cache.save_cache writes it: its pages pickled one by one into the
    file's tail, its plan a Plan saying where each is, with their `digests` (see page_digests)."""
    buffer = io.BytesIO()
    pickler = _PagePickler(buffer, {id(value): n for n, value in enumerate(_shared(snapshot))})
    starts = array.array("q")
    for spec in snapshot.specs:
        starts.append(buffer.tell())
        pickler.dump(spec)
        pickler.clear_memo()
    starts.append(buffer.tell())
    specs = snapshot.specs
    plan = Plan([s.file for s in specs], [s.template for s in specs], starts.tobytes(), THIS_TAIL, digests)
    return dataclasses.replace(snapshot, specs=plan), SNAPSHOT_REDUCERS, buffer.getvalue()


class _PagePickler(pickle.Pickler):
    """Pickles a page naming what the rest of the snapshot holds (see _shared) by its number:
    the pages of one snapshot then share those objects as when they were made, and a page of
    the dashboard's or a goal's, holding goals' records, unpickles in a fraction of the time."""

    def __init__(self, file, numbers: dict[int, int]):
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = {**copyreg.dispatch_table, **PAGE_REDUCERS}
        self._numbers = numbers  # id of a shared object → its number

    def persistent_id(self, value) -> int | None:
        return self._numbers.get(id(value))


def _shared(snapshot: Snapshot) -> list:
    """What the pages name by number: the portfolio's entries and the site-wide figures'
    records (two levels deep), in an order the snapshot as loaded gives again."""
    portfolio = snapshot.portfolio
    shared = [*portfolio.goals.values(), *portfolio.sessions, *portfolio.pages.values()]
    for value in snapshot.stats.values():
        shared.append(value)
        items = value.values() if type(value) is dict else value if type(value) is list else ()
        shared += [item for item in items if type(item) is dict or type(item) is list]
    return shared


def load_snapshot(store: Path, entry: Find) -> Snapshot | None:
    """The snapshot with its entries found by `entry(source)`, and the delta saved beside it
    as read (see load_delta); None when absent, untrusted, or naming an entry not there."""
    find = _finder(entry)
    snapshot, delta = load_signed(store, [SNAPSHOT_FILE, DELTA_FILE], find)
    if not isinstance(snapshot, Snapshot) or not isinstance(snapshot.specs, Plan):
        return None
    snapshot.specs.opened(find, _shared(snapshot))
    snapshot.delta = delta
    return snapshot


def load_delta(snapshot: Snapshot, made_by: str | None) -> Delta | None:
    """The delta saved beside `snapshot` by the build `made_by` (that of the site in the
    output folder: the last one), if there is one; else None."""
    saved = snapshot.delta
    if type(saved) is not tuple or len(saved) != 4 or saved[:2] != (snapshot.made_by, made_by):
        return None
    return snapshot.specs.delta(saved)


def load_memos(store: Path, entry: Find) -> Memos | None:
    """The memos saved with the last snapshot, found as `load_snapshot` finds it."""
    memos = _load(store, MEMO_FILE, _finder(entry))
    return memos if isinstance(memos, Memos) else None


def _finder(entry: Find) -> Callable[[str, str], object | None]:
    """The cache's `find` (see cache.load_cache) for a pickle naming entries by reference."""
    found = {_entry.__name__: entry, _portfolio.__name__: functools.partial(_portfolio_of, entry)}

    def find(module: str, name: str):
        return found.get(name) if module == __name__ else None

    return find


def _load(store: Path, name: str, find: Callable[[str, str], object | None]):
    value, = load_signed(store, [name], find)
    return value


def _by_source(entry: Goal | Session | Page) -> tuple:
    return _entry, (entry.source,)


def _portfolio_by_reference(portfolio: Portfolio) -> tuple:
    """A portfolio as the snapshot saves it: its entries by their sources, found again all at
    once when loaded (see _portfolio_of), not each by a call of its own: an edit at 10,000
    sessions loads it in ~13 ms instead of ~18 (finding 9,500 entries is most of that: scattered in
    memory, ~1.3 µs each); with its sessions' places by goal, its index of sessions by goal
    made again from them (asking each session its goal took 5-8 ms of an edit)."""
    by_goal: dict[str | None, list[int]] = {}
    for n, session in enumerate(portfolio.sessions):
        by_goal.setdefault(session.goal, []).append(n)
    return _portfolio, (portfolio.config, portfolio.audience, [(slug, g.source) for slug, g in portfolio.goals.items()],
                        [s.source for s in portfolio.sessions],
                        [(slug, p.source) for slug, p in portfolio.pages.items()],
                        {goal: array.array("i", places).tobytes() for goal, places in by_goal.items()})


def _portfolio_of(entry: Find, config, audience: str, goals: list[tuple[str, str]], sessions: list[str],
                  pages: list[tuple[str, str]], by_goal: dict[str | None, bytes]) -> Portfolio:
    listed = [entry(source) for source in sessions]
    return Portfolio(config, audience, {slug: entry(source) for slug, source in goals}, listed,
                     {slug: entry(source) for slug, source in pages},
                     {goal: [listed[n] for n in memoryview(places).cast("i")] for goal, places in by_goal.items()})


_SPEC_FIELDS = [f.name for f in dataclasses.fields(PageSpec)]


def _as_arguments(spec: PageSpec, without: tuple[str, ...] = ()) -> tuple:
    """A page as PageSpec's arguments, in order: 10,000 pages load 7-10 ms faster than with
    their attributes by name. The memos keep it without its `context`, made again anyway;
    the snapshot's pages without their digest (`summary`), which an edit never reads."""
    return PageSpec, tuple(getattr(spec, name) if name not in without else _EMPTY[name]() for name in _SPEC_FIELDS)


_EMPTY = {"context": dict, "summary": lambda: None}
BY_REFERENCE = {Session: _by_source, Goal: _by_source, Page: _by_source}
SNAPSHOT_REDUCERS = {**BY_REFERENCE, Portfolio: _portfolio_by_reference}  # how a Snapshot is saved, its pages
# apart (see snapshot_file)
PAGE_REDUCERS = {**BY_REFERENCE, PageSpec: functools.partial(_as_arguments, without=("summary",))}  # and its pages
MEMO_REDUCERS = {**BY_REFERENCE, PageSpec: functools.partial(_as_arguments, without=("context",))}  # and its Memos


def _entry(source: str) -> Goal | Session | Page:
    """What a saved reference names; `load_snapshot` resolves it among the cache's entries."""
    raise LookupError(f"{source}: entries are found by load_snapshot only")


def _portfolio(*saved) -> Portfolio:
    """What a saved portfolio is made by (see _portfolio_of), found by `load_snapshot` only."""
    raise LookupError("a portfolio's entries are found by load_snapshot only")
