"""The plan of the site: every page of SPEC §3, its path, template and context.

Nothing here renders or writes; it decides what exists. Paths are site paths
without a leading slash ("goals/piano/", "feed.xml"); a path ending in "/" is
written as its `index.html`.
"""

from __future__ import annotations

import array
import bisect
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import marshal
import operator
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .aggregate import achieved_milestones
from .markup import search_words, slugify, summarize
from .model import SESSION_ORDER, Goal, Page, Portfolio, Session
from .output import Span

FEED_ENTRIES = 50
RECENT = 8
HARD_THINGS = 8  # earlier wins shown on a setback's page


@dataclass
class PageSpec:
    path: str
    template: str
    title: str
    context: dict = field(default_factory=dict)
    listed: bool = True  # in the sitemap
    description: str = ""  # for <meta name="description"> and Open Graph
    image: str | None = None  # site path of the page's picture for link previews
    source: str | None = None  # the content file behind the page (for lastmod)
    summary: bytes | None = field(default=None, compare=False, repr=False)  # see digest()

    def fingerprint(self, seen: dict | None = None) -> tuple:
        """See `fingerprint`; `seen` is shared by the pages of one build."""
        return (self.template, self.title, self.description, self.image,
                fingerprint(self.context, seen if seen is not None else {}))

    def digest(self, seen: dict) -> bytes:
        """16 bytes standing for the fingerprint, the same in every process. Kept on the spec:
        a session's page taken again from the plan's memo has the same inputs, file versions
        included (see _session_pages), so its digest is not made again (10,000 pages: ~0.1 s)."""
        if self.summary is None:
            self.summary = hashlib.blake2b(_encoded(self.fingerprint(seen)), digest_size=16).digest()
        return self.summary

    @property
    def file(self) -> str:
        return self.path + "index.html" if self.path.endswith("/") or not self.path else self.path


def fingerprint(value, seen: dict):
    """A comparable summary of a page's inputs: entries by the file version they came from.

    Pages share big values (a goal's figures are on its page, its area's and the goals
    page): a big one is summed up by the digest of its summary, which `seen` keeps by its
    identity (and the value, so the identity stays its own), made once per build; the
    summary of a page holding it then encodes 16 bytes, not the value (at 10,000 sessions,
    encoding every goal's figures again for each of six pages took 30 ms of a title edit)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is Session or kind is Goal or kind is Page:
        return value.key
    if kind is dict or kind is list or kind is tuple:
        big = len(value) > 8
        if big:
            if id(value) in seen:
                return seen[id(value)][1]
            plain = _plain_digest(value) if kind is not dict and _looks_plain(value[0]) else None
            if plain is not None:
                seen[id(value)] = (value, plain)
                return plain
        # plain values and entries, most of them, inline (a tag page names thousands of sessions);
        # a dict as its keys and its values (a pair for each item took a third longer)
        result = tuple([v if type(v) in _PLAIN else v.key if type(v) in _ENTRIES else fingerprint(v, seen)
                        for v in (value.values() if kind is dict else value)])
        if kind is dict:
            result = (tuple(value), result)
        if big:
            result = hashlib.blake2b(_encoded(result), digest_size=16).digest()
            seen[id(value)] = (value, result)
        return result
    if kind is dt.date:  # as marshal can encode it (see _encoded): a goal page holds `today`
        return ("date", value.toordinal())
    if dataclasses.is_dataclass(value):
        return (kind.__name__, fingerprint(vars(value), seen))
    return value


_PLAIN = {str, int, float, bool, type(None)}
_ENTRIES = {Session, Goal, Page}


def _looks_plain(item) -> bool:
    """Whether a big list's first item (so, most likely, every item) is made of plain values."""
    kind = type(item)
    if kind is dict:
        return all(type(v) in _PLAIN for v in item.values())
    return kind in _PLAIN or kind is tuple and all(type(v) in _PLAIN for v in item)


def _plain_digest(value: list | tuple) -> bytes | None:
    """The digest of a big list made of plain values only (the wins, the lessons, the
    sitemap's addresses: thousands of small dicts or tuples), encoded as it is by marshal,
    in C (at 10,000 sessions, ~12 ms less than walking them); None when it holds anything
    else (marshal encodes the rest before it says so: tried on such lists only)."""
    try:
        return hashlib.blake2b(b"v" + marshal.dumps(value, 2), digest_size=16).digest()
    except ValueError:
        return None


def _encoded(fingerprint: tuple) -> bytes:
    """Bytes that stand for a fingerprint, the same in every process: marshal (format 2: no
    back-references, so identity does not show) when it can, repr otherwise."""
    try:
        return b"m" + marshal.dumps(fingerprint, 2)
    except ValueError:
        return b"r" + repr(fingerprint).encode()


def pages_copying(specs: list[PageSpec], index: dict, retitled: Iterable[str]) -> set[str]:
    """The files of the pages holding a record that copies the title of one of the sessions
    `retitled` (slugs; see update_records). `index`: naming_index(specs), made beforehand (the
    snapshot keeps it: an edit at 10,000 sessions then finds its pages in no time, instead of
    walking every context for 30 ms; see pages_reading for the pages naming the entries)."""
    return {specs[n].file for slug in retitled for n in _places(index, _copies_of(slug))}


def pages_reading(specs: Sequence[PageSpec], entries: list[Goal | Session | Page], index: dict,
                  reads: Callable[[Goal | Session | Page], Mapping[str, frozenset[str] | None]]) -> set[str]:
    """Of the pages naming `entries`, edited in place, the files of their own pages (whose
    title and description are theirs) and of those whose template may read what was edited in
    one of them (`reads(entry)`: see theme.TemplateReads.of): after a body edit, the feeds,
    not the lists of sessions, which show their titles (at 10,000 sessions, a body edit
    rendered 13 pages in 110 ms, half of it its goal's page; now 3); after a tags edit, not its
    goal's page either (25-45 ms); after a difficulty edit, not the feeds nor the feedback
    page (~20 ms). What changed with them in the pages' contexts (the figures, the pages
    planned again) is not theirs to tell. `index`: naming_index."""
    found = set()
    tags = _tag_pages_at(specs, entries)
    for entry in entries:
        read = reads(entry)
        for n in _naming(index, entry, tags):
            spec = specs[n]
            names = read.get(spec.template)
            if spec.source == entry.source or names is None or any(spec.context.get(name) is entry for name in names):
                found.add(spec.file)
    return found


def copied_titles(index: dict, retitled: Iterable[str]) -> bool:
    """Whether a page holds a record that copies the title of one of the sessions `retitled`
    (slugs): then the site-wide figures (`stats`) changed with them. `index`: naming_index."""
    return any(index.get(_copies_of(slug)) for slug in retitled)


def _copies_of(slug: str) -> tuple[str, str]:
    """The naming index's key of the records that copy a session's title."""
    return ("session", slug)


def _copies_title(record: dict) -> bool:
    """Whether a record naming a session copies its title: a hard success, a lesson (those
    aggregate.retitle makes again), not a milestone reached, whose title is its rung's (a
    session's title edit rendered the wins page and the site-wide figures' pages again)."""
    return "title" in record and (record.get("kind") == "hard_success" or "lesson" in record)


def _places(index: dict, key) -> memoryview:
    """The pages' places in the plan under `key` in a naming_index."""
    return memoryview(index.get(key, b"")).cast("i")


def _tag_pages_at(specs: Sequence[PageSpec], entries: list[Goal | Session | Page]) -> tuple[int, dict[str, int]]:
    """Where the index of tags is in `specs`, and each tag's page, by file: found once for
    these `entries`, if one of them has tags (see _naming)."""
    if not any(type(entry) is not Page and entry.tags for entry in entries):
        return -1, {}
    files = _files_of(specs)
    first, end = tag_range(files)
    return first, {files[n]: n for n in range(first + 1, end)}


def _naming(index: dict, entry: Goal | Session | Page, tags: tuple[int, dict[str, int]]) -> list[int]:
    """The places of the pages naming `entry`: those of `index` (a naming_index) and, for a
    goal or a session with tags, the index of tags and its tags' pages (`tags`: see
    _tag_pages_at), which the naming index leaves out."""
    places = list(_places(index, entry.source))
    if type(entry) is not Page and entry.tags:
        first, at = tags
        places += [first, *(at[file] for file in tag_page_files(entry.tags) if file in at)]
    return places


def naming_index(specs: list[PageSpec]) -> dict[str | tuple[str, str], bytes]:
    return _index(enumerate(specs))


def _index(pages: Iterable[tuple[int, PageSpec]], plain: Iterable = ()) -> dict[str | tuple[str, str], bytes]:
    """Each entry's source → the pages (their places in `specs`) whose context holds the entry;
    and _copies_of(slug) → those holding a record that copies a session's title (a win, a
    lesson: see update_records). Big shared values are looked into once (as in `fingerprint`).
    The places are packed (see _places): as lists, 150,000 numbers at 10,000 sessions, the
    index took 5.4 ms to load instead of 1.6. The tag pages are left out: they name the
    goals and sessions having their tags, found so (see _naming), and are the last pages but
    the sitemap and robots.txt, which name none (see plan), so that a tags edit, which makes
    tag pages appear or go, moves no page the index holds. `plain`: big values known to name
    nothing, not looked into."""
    seen: dict[int, tuple] = {id(value): (value, set()) for value in plain}

    def collect(value, found: set) -> None:
        kind = type(value)
        if kind is Session or kind is Goal or kind is Page:
            found.add(value.source)
        elif kind is dict or kind is list or kind is tuple:
            if kind is dict and type(value.get("session")) is str and _copies_title(value):
                found.add(_copies_of(value["session"]))
            items = value.values() if kind is dict else value
            if len(value) <= 8:
                for item in items:
                    if type(item) not in _PLAIN:
                        collect(item, found)
                return
            if id(value) not in seen:
                inner: set = set()
                for item in items:
                    if type(item) not in _PLAIN:
                        collect(item, inner)
                seen[id(value)] = (value, inner)
            found |= seen[id(value)][1]
        elif kind not in _PLAIN and dataclasses.is_dataclass(value):
            collect(vars(value), found)

    index: dict = defaultdict(list)
    for n, spec in pages:
        if spec.path.startswith("tags/"):
            continue
        found: set = set()
        collect(spec.context, found)
        for source in found:
            index[source].append(n)
    return {key: array.array("i", places).tobytes() for key, places in index.items()}


def named_also(index: dict, pages: Iterable[tuple[int, PageSpec]], stats: dict, entries: Iterable[Session] = (),
               same: Iterable[int] = (), snapshot: dict | None = None) -> dict:
    """`index` (a naming_index) with what these pages (each with its place) name added: pages
    planned again may name entries or copies that the pages they replaced did not. What those
    no longer name stays (an index naming too many pages only has more of them rendered), but
    for what names `entries` (the sessions edited now): their keys list the pages naming them
    now, these, those not planned again, and those planned again as the snapshot's were (at
    places `same`, named in `snapshot`, the snapshot's naming_index). So a session that is no
    longer a hard success leaves the wins page, which its next title edit does not render again
    (at 10,000 sessions, ~25 ms; until the next full build, every one did).
    The goals' records in `stats` are not looked into: they name no entry and copy no title
    (see aggregate.goal_stats; after a difficulty edit at 10,000 sessions, ~20 ms of 40)."""
    pages = list(pages)
    more = _index(pages, stats["goals"])
    merged = dict(index)
    for key in more:
        have = _places(index, key)
        new = [n for n in _places(more, key) if n not in have]  # most often none: the same pages
        if new:
            merged[key] = array.array("i", sorted([*have, *new])).tobytes()
    same = set(same)
    again = {n for n, _ in pages} | same
    for key in {key for entry in entries for key in (entry.source, _copies_of(entry.slug))}:
        now = {n for n in _places(index, key) if n not in again}
        now.update(_places(more, key))
        now.update(n for n in _places(snapshot or {}, key) if n in same)
        merged[key] = array.array("i", sorted(now)).tobytes()  # maybe none: over the snapshot's
    return merged


def update_records(specs: list[PageSpec], index: dict, changes: list[tuple[dict, dict]], stats: dict) -> None:
    """After sessions were retitled in place, the records that changed with them (see
    aggregate.retitle: each as it was and as it is now, changed in place in the site's
    figures, `stats`) changed in the pages holding them too: a page may hold a copy (a
    setback's earlier wins, kept by the plan's memo). What a page holds of `stats` itself is
    not looked into: its lists of wins and lessons, and the goals' records, which copy no
    title (see aggregate.goal_stats; the dashboard's, at 10,000 sessions: ~10 ms).
    `index`: naming_index(specs)."""
    places = {n for before, _ in changes for n in _places(index, _copies_of(before["session"]))}
    skipped = {id(stats["wins"]), id(stats["lessons"]), *map(id, stats["goals"])}
    for n in places:
        _update(specs[n].context, changes, skipped)


def _update(value, changes: list[tuple[dict, dict]], skipped: set[int]) -> None:
    """Every dict in `value` equal to a record as it was, changed to the record as it is;
    but for the values `skipped` (by id), and what they hold."""
    if id(value) in skipped:
        return
    kind = type(value)
    if kind is dict:
        for before, after in changes:
            if value == before:
                value.update(after)
                return
    if kind is dict or kind is list or kind is tuple:
        for item in value.values() if kind is dict else value:
            if type(item) not in _PLAIN:
                _update(item, changes, skipped)
    elif kind not in _PLAIN and kind not in _ENTRIES and dataclasses.is_dataclass(value):
        _update(vars(value), changes, skipped)


@dataclass
class Tag:
    slug: str
    name: str
    goals: list[Goal] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)


def plan(portfolio: Portfolio, stats: dict, lastmod: dict, today: dt.date | None,
         memo: dict | None = None) -> list[PageSpec]:
    """Every page of one build, in a stable order; `lastmod` maps content files to dates (git);
    `today` is the build's (see aggregate.today_of). `memo` (the dev server's, the build
    cache's): a page's source → the page and what it was planned from (see _session_pages,
    _goal_page), filled again with this plan's."""
    kept = dict(memo or {})
    memo = memo if memo is not None else {}
    memo.clear()
    goal_stats = {g["slug"]: g for g in stats["goals"]}
    newest = list(reversed(portfolio.sessions))
    specs = [_dashboard(portfolio, stats, goal_stats, newest)]
    specs += _timeline(newest, portfolio.config.per_page)
    specs.append(_goals_page(portfolio, goal_stats))
    for goal in portfolio.goals.values():
        specs.append(_goal_page(portfolio, goal, goal_stats[goal.slug], today, kept, memo))
        specs.append(PageSpec(f"goals/{goal.slug}/feed.xml", "feed.xml", goal.title,
                              {"entries": portfolio.sessions_of(goal.slug)[::-1][:FEED_ENTRIES],
                               "feed_goal": goal}, listed=False))
    specs += _session_pages(portfolio, stats, kept, memo)
    specs += _area_pages(portfolio, stats, goal_stats)
    specs += _figure_pages(portfolio, stats)
    specs += [
        PageSpec("search/", "search.html", "Search"),
        PageSpec("feed.xml", "feed.xml", portfolio.config.title,
                 {"entries": newest[:FEED_ENTRIES], "feed_goal": None}, listed=False),
        PageSpec("404.html", "404.html", "Page not found", {"absolute_links": True}, listed=False),
    ]
    specs += [PageSpec(f"{p.slug}/", "page.html", p.title, {"entry": p}, description=describe(p),
                       image=p.images[0].path if p.images else None, source=p.source)
              for p in portfolio.pages.values()]
    specs += _tag_specs(collect_tags(portfolio))  # after every page the naming index holds (see naming_index)
    dates = {f"content/{path.removeprefix('content/')}": day for path, day in lastmod.items()}
    specs += [
        _sitemap([(s.path, dates.get(s.source)) for s in specs if s.listed]),
        PageSpec("robots.txt", "robots.txt", "robots.txt", listed=False),
    ]
    return specs


def _sitemap(listed: list[tuple[str, dt.date | None]]) -> PageSpec:
    return PageSpec("sitemap.xml", "sitemap.xml", "Sitemap", {"urls": listed}, listed=False)


def retag(specs: Replaceable, portfolio: Portfolio, edited: list[Session] | None = None,
          names: Iterable[str] = ()) -> list[PageSpec]:
    """After sessions' tags were edited in place (see content.in_place_edits), the tag pages
    planned again in `specs` (a tag's page may appear or go), and the sitemap listing them
    when the tags are others (a tag page has no date); returned: the tag pages. The naming
    index of `specs` stays as it is: see naming_index. `specs`: a list, or a snapshot's
    Plan, whose pages are found by their files (not unpickled). Given the sessions `edited`
    since `specs` was planned, and the `names` of the tags they had or have, only those tags
    are made again, from the pages of `specs` (at 10,000 sessions, collecting every session's
    tags took ~20 ms)."""
    fresh = _tag_specs(collect_tags(portfolio) if edited is None else _tags_moved(specs, edited, names))
    put_tag_pages(specs, fresh)
    return fresh


def _tags_moved(specs: Replaceable, edited: list[Session], names: Iterable[str]) -> dict[str, Tag]:
    """The tags of the tag pages of `specs`, those `names` say made again with the sessions
    `edited` in their places (as collect_tags finds them: newest first, once for each of their
    tags of that slug) and named as the first entry having them names them (its goals first)."""
    files = _files_of(specs)
    first, end = tag_range(files)
    tags = {tag.slug: tag for tag in (specs[n].context["tag"] for n in range(first + 1, end))}
    moved = {id(session) for session in edited}
    for slug in {slugify(name) for name in names} - {""}:
        tag = tags.get(slug)
        sessions = [s for s in tag.sessions if id(s) not in moved] if tag is not None else []
        for session in edited:
            found = [name for name in session.tags if slugify(name) == slug]
            if found:
                order = SESSION_ORDER(session)  # newest first: before the first not newer than it
                at = bisect.bisect_left(sessions, True, key=lambda other, order=order: SESSION_ORDER(other) <= order)
                sessions[at:at] = [session] * len(found)
        goals = tag.goals if tag is not None else []
        if goals or sessions:
            named = next(name for name in (goals or sessions)[0].tags if slugify(name) == slug)
            tags[slug] = Tag(slug, named, goals, sessions)
        else:
            tags.pop(slug, None)
    return dict(sorted(tags.items()))


def put_tag_pages(specs: Replaceable, fresh: list[PageSpec]) -> None:
    """The tag pages `fresh` (see retag) put in `specs` in place of theirs."""
    files = _files_of(specs)
    first, end = tag_range(files)
    sitemap = len(files) - 1 - files[::-1].index("sitemap.xml")  # after the tag pages
    old = files[first:end]
    specs[first:end] = fresh
    if [spec.file for spec in fresh] != old:
        at = sitemap + len(fresh) - len(old)
        urls = specs[at].context["urls"]
        start = next(n for n, (path, _) in enumerate(urls) if path == "tags/") + 1
        stop = next((n for n in range(start, len(urls)) if not urls[n][0].startswith("tags/")), len(urls))
        specs[at] = _sitemap(urls[:start] + [(spec.path, None) for spec in fresh[1:]] + urls[stop:])


def tag_range(files: list[str]) -> tuple[int, int]:
    """Where the tag pages are in a plan's files: the index of tags, then a page per tag."""
    first = files.index("tags/index.html")
    end = first + 1
    while end < len(files) and files[end].startswith("tags/"):
        end += 1
    return first, end


def _files_of(specs: Replaceable) -> list[str]:
    """The pages' files, in order: a Plan has them at hand."""
    files = getattr(specs, "files", None)
    return files if files is not None else [spec.file for spec in specs]


class Replaceable(Protocol):
    """A plan whose pages can be replaced: a list, or a snapshot's Plan."""

    def __len__(self) -> int: ...
    def __getitem__(self, n: int) -> PageSpec: ...
    def __setitem__(self, n: int | slice, spec: PageSpec | Iterable[PageSpec]) -> None: ...


def replan(specs: Replaceable, places: Mapping[str, int], portfolio: Portfolio, stats: dict,
           today: dt.date | None, memo: dict, goals: set[str | None], edited: set[str],
           feedback: bool = True, before: dict | None = None) -> list[PageSpec]:
    """After sessions of `goals` (slugs; None: no goal) had their figures edited in place (see
    content.in_place_edits: their places in time and goals the same; tags: see retag), the pages that
    read those goals' records or the site's figures (`stats`, made again), planned again in
    `specs` (`places`: each page's place there, by file) and returned. Every other page's
    context holds the same values as before, the edited entries being the same objects: the
    pages of the goals' other sessions too, but for setbacks and the sessions `edited` (their
    sources), which may have become one or no longer be. `memo`: plan's (what did not change
    is kept). The feedback page only if sessions' `feedback` may have been edited: it reads no
    other figure (a difficulty edit at 10,000 sessions: ~10 ms less). Given the figures
    `before` the edit, not the pages showing what did not change: wins, lessons (see
    _figure_pages), setbacks (see _session_pages)."""
    goal_stats = {g["slug"]: g for g in stats["goals"]}
    fresh = [_dashboard(portfolio, stats, goal_stats, list(reversed(portfolio.sessions[-RECENT:]))),
             _goals_page(portfolio, goal_stats), *_area_pages(portfolio, stats, goal_stats),
             *_figure_pages(portfolio, stats, feedback, before)]
    fresh += [_goal_page(portfolio, portfolio.goals[slug], goal_stats[slug], today, memo, memo)
              for slug in goals if slug in portfolio.goals]  # not None, nor a goal not shown
    fresh += _session_pages(portfolio, stats, memo, memo, goals, edited, before)
    for spec in fresh:
        specs[places[spec.file]] = spec
    return fresh


def _dashboard(portfolio: Portfolio, stats: dict, goal_stats: dict, newest: list[Session]) -> PageSpec:
    return PageSpec("", "index.html", "Dashboard", {
        "cards": [(g, goal_stats[g.slug]) for g in portfolio.goals.values() if g.status == "active"],
        "recent": newest[:RECENT], "wins": stats["wins"][:RECENT]})


def _goals_page(portfolio: Portfolio, goal_stats: dict) -> PageSpec:
    return PageSpec("goals/", "goals.html", "Goals",
                    {"cards": [(g, goal_stats[g.slug]) for g in portfolio.goals.values()]})


def _figure_pages(portfolio: Portfolio, stats: dict, feedback: bool = True,
                  before: dict | None = None) -> list[PageSpec]:
    """The pages of the site's wins, lessons and (with `feedback`) feedback; given the figures
    `before` an edit in place, those of the wins and lessons only if they changed (a difficulty
    edit at 10,000 sessions changes no lesson: fingerprinting the page took ~4 ms)."""
    return [*([PageSpec("wins/", "wins.html", "Wins", {"wins": stats["wins"]})]
              if before is None or before["wins"] != stats["wins"] else []),
            *([PageSpec("lessons/", "lessons.html", "Lessons", {"lessons": stats["lessons"]})]
              if before is None or before["lessons"] != stats["lessons"] else []),
            *([PageSpec("feedback/", "feedback.html", "Feedback", {"by_person": _feedback_by_person(portfolio)})]
              if feedback else [])]


def _timeline(newest: list[Session], per_page: int) -> list[PageSpec]:
    chunks = [newest[i:i + per_page] for i in range(0, len(newest), per_page)] or [[]]

    def path(n: int) -> str:
        return "timeline/" if n == 1 else f"timeline/page/{n}/"

    return [
        PageSpec(path(n), "timeline.html", "Timeline" if n == 1 else f"Timeline, page {n}", {
            "sessions": chunk, "pager": {
                "number": n, "total": len(chunks),
                "previous": path(n - 1) if n > 1 else None,
                "next": path(n + 1) if n < len(chunks) else None}})
        for n, chunk in enumerate(chunks, start=1)
    ]


def _goal_page(portfolio: Portfolio, goal: Goal, record: dict, today, kept: dict, memo: dict) -> PageSpec:
    """`today` is in the context because the goal's heatmap ends there (it keys page reuse).
    The fingerprint of the last plan's page is kept while the goal's record is the same object
    (so are the goal and its sessions: see aggregate._record), the goal and its sessions the
    same versions (a body is edited in place) and `today` the same: that is all its context
    comes from (20 goal pages of 500 sessions: ~9 ms to fingerprint)."""
    sessions = portfolio.sessions_of(goal.slug)
    versions = hashlib.blake2b(b"".join([goal.key, *(s.key for s in sessions)]), digest_size=16).digest()
    spec = _goal_spec(goal, record, today, sessions)
    last = kept.get(goal.source)
    if last is not None and last[0] is record and last[1] == (today, versions):
        spec.summary = last[2].summary
    memo[goal.source] = (record, (today, versions), spec)
    return spec


def _goal_spec(goal: Goal, record: dict, today, sessions: list[Session]) -> PageSpec:
    reached = {m["title"]: m for m in achieved_milestones(goal, sessions)}
    photos = [(s, image) for s in sessions for image in s.images]
    by_slug = {s.slug: s for s in sessions}
    return PageSpec(f"goals/{goal.slug}/", "goal.html", goal.title, description=describe(goal),
                    image=_goal_picture(goal, photos), source=goal.source, context={
        "photos": photos, "today": today,
        "goal": goal, "record": record, "sessions": sessions[::-1],
        "ladder": [(m, reached.get(m.title)) for m in sorted(goal.milestones, key=lambda m: m.level)],
        "setbacks": [s for s in sessions[::-1] if s.outcome == "setback"],
        "comebacks": {c["setback"]: {**c, "success": by_slug[c["success"]]} for c in record["comebacks"]},
        "feedback": [(s, f) for s in sessions[::-1] for f in s.feedback],
    })


def _goal_picture(goal: Goal, photos: list) -> str | None:
    """The goal's own first image, else its latest progress photo."""
    if goal.images:
        return goal.images[0].path
    return photos[-1][1].path if photos else None


def _session_pages(portfolio: Portfolio, stats: dict, kept: dict, memo: dict, goals: set[str | None] | None = None,
                   edited: set[str] = frozenset(), before: dict | None = None) -> list[PageSpec]:
    """A page per session; given `goals`, the pages of those goals' setbacks and of their
    sessions `edited` (sources) only (see replan), and given the figures `before` the edit, of
    those setbacks only whose earlier wins or comebacks may differ (see _unchanged_before: at
    10,000 sessions, a difficulty edit of a goal's last session planned ~110 setbacks' pages
    again, ~10 ms, every one the same). The last plan's memo (`kept`) keeps the page of a
    session while it, its goal and its neighbours are the same file versions (`load_site`
    forgets it when the configuration changes) and, for a setback, its goal's record is the
    same object (which it is only while the goal and all its sessions are: see
    aggregate._record); that is all its context comes from. The kept page has its fingerprint
    and description (a front-matter edit at 10,000 sessions plans ~0.2 s faster); its context
    is made again, the build cache keeping none (see snapshot.Memos) but a setback's earlier
    wins and comebacks, which take longer to find than to load."""
    by_goal: dict[str | None, list[Session]] = defaultdict(list)
    if goals is None:
        for s in portfolio.sessions:
            by_goal[s.goal].append(s)
    else:
        by_goal.update((slug, portfolio.sessions_of(slug)) for slug in goals)
    by_slug = {s.slug: s for group in by_goal.values() for s in group}  # a comeback is on its setback's goal
    wins_by_goal: dict[str, list[dict]] = defaultdict(list)
    for win in stats["wins"]:
        if goals is None or win["goal"] in goals:
            wins_by_goal[win["goal"]].append(win)
    win_dates = {goal: [w["date"] for w in reversed(wins)] for goal, wins in wins_by_goal.items()}
    records = {g["slug"]: g for g in stats["goals"]}
    unchanged = _unchanged_before(stats, before, goals) if goals is not None and before is not None else {}
    comebacks: dict = {}  # goal → its comebacks and their successes' sort keys, when needed
    specs = []
    for slug, group in by_goal.items():
        goal = portfolio.goals.get(slug) if slug else None
        goal_key = goal.key if goal is not None else None
        versions = [s.key for s in group]
        last_i = len(group) - 1
        until = unchanged.get(slug)
        for i, s in enumerate(group):
            if goals is not None and s.source not in edited \
                    and (s.outcome != "setback" or until is not None and s.day.isoformat() < until):
                continue
            previous, following = (group[i - 1] if i > 0 else None), (group[i + 1] if i < last_i else None)
            setback = s.outcome == "setback" and s.goal
            record = records[s.goal] if setback else None
            keys = (versions[i], goal_key, versions[i - 1] if i > 0 else None, versions[i + 1] if i < last_i else None)
            last = kept.get(s.source)
            same = last is not None and last[0] == keys and last[1] is record
            if same and _holds(last[2].context, s, goal, previous, following):
                specs.append(last[2])  # the dev server's: its context made from these very entries
                memo[s.source] = last
                continue
            context = {"entry": s, "goal": goal, "previous": previous, "next": following,
                       "earlier_wins": [], "comebacks": [], "comeback_count": 0}
            if same:
                spec, hard = last[2], last[3]
                spec.context = context
            else:
                spec, hard = PageSpec(f"sessions/{s.slug}/", "session.html", s.title, context, description=describe(s),
                                      source=s.source, image=s.images[0].path if s.images else None), None
                if setback:
                    if s.goal not in comebacks:
                        found = record["comebacks"]
                        comebacks[s.goal] = (found, [by_slug[c["success"]].sort_key for c in found])
                    hard = _hard_things_before(s, wins_by_goal[s.goal], win_dates.get(s.goal, []),
                                               *comebacks[s.goal], by_slug)
            if hard is not None:
                context.update(hard)
            specs.append(spec)
            memo[s.source] = (keys, record, spec, hard)
    return sorted(specs, key=operator.attrgetter("path"))


def _holds(context: dict, entry: Session, goal: Goal | None, previous: Session | None,
           following: Session | None) -> bool:
    """Whether a kept session page's context was made from these very entries: the dev server's
    memo keeps contexts (the build cache does not), and making 10,000 again cost a rebuild 15 ms."""
    return (context.get("entry") is entry and context["goal"] is goal and context["previous"] is previous
            and context["next"] is following)


def _unchanged_before(stats: dict, before: dict, goals: set[str | None]) -> dict[str | None, str]:
    """Of `goals`, each one whose setbacks' pages show the same before a day, that day (ISO):
    its comebacks are as `before` (the figures then), and so are its wins before the first one
    that differs, on that day (none differing: a day after them all). Those pages show the
    wins up to their day and the comebacks before it (see _hard_things_before)."""
    def wins_of(figures: dict) -> dict[str | None, list[dict]]:
        found: dict[str | None, list[dict]] = defaultdict(list)
        for win in reversed(figures["wins"]):  # oldest first
            if win["goal"] in goals:
                found[win["goal"]].append(win)
        return found

    old, new = wins_of(before), wins_of(stats)
    was = {g["slug"]: g["comebacks"] for g in before["goals"] if g["slug"] in goals}
    days = {}
    for g in stats["goals"]:
        slug = g["slug"]
        if slug not in goals or was.get(slug) != g["comebacks"]:
            continue
        a, b = old[slug], new[slug]
        n = next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        differing = [wins[n]["date"] for wins in (a, b) if n < len(wins)]
        days[slug] = min(differing) if differing else "9999-12-31"
    return days


def _hard_things_before(setback: Session, wins: list[dict], dates: list[str], comebacks: list[dict],
                        success_keys: list, by_slug: dict[str, Session]) -> dict:
    """Earlier wins and comebacks on the setback's goal: "you have done hard things before".

    Only what the page shows (the latest few) goes into its context, which keeps it small.
    `wins` are newest first and `dates` their dates oldest first, so the wins up to the
    setback's day are found by bisection (a goal may have thousands); so are the comebacks
    before it: they are in setback order, so their successes come in time order too."""
    day = setback.day.isoformat()
    earlier = []
    for n in range(len(wins) - bisect.bisect_right(dates, day), len(wins)):
        if wins[n]["session"] != setback.slug:
            earlier.append(wins[n])
            if len(earlier) == HARD_THINGS:
                break
    before = bisect.bisect_left(success_keys, setback.sort_key)
    return {
        "earlier_wins": earlier,
        "comebacks": [{"setback": by_slug[c["setback"]], "success": by_slug[c["success"]], "days": c["days"]}
                      for c in comebacks[max(0, before - HARD_THINGS // 2):before]],
        "comeback_count": before,
    }


def _area_pages(portfolio: Portfolio, stats: dict, goal_stats: dict) -> list[PageSpec]:
    specs = [PageSpec("areas/", "areas.html", "Areas", {"areas": stats["areas"]})]
    for slug, area in portfolio.config.areas.items():
        goals = [g for g in portfolio.goals.values() if g.area == slug]
        in_area = {g.slug for g in goals}
        recent = itertools.islice((s for s in reversed(portfolio.sessions) if s.goal in in_area), RECENT * 3)
        specs.append(PageSpec(f"areas/{slug}/", "area.html", area.title, {
            "area": area, "record": stats["areas"][slug], "cards": [(g, goal_stats[g.slug]) for g in goals],
            "sessions": list(recent)}))
    return specs


def collect_tags(portfolio: Portfolio) -> dict[str, Tag]:
    """Each tag by slug, named as first found, goals first, then the newest sessions."""
    tags: dict[str, Tag] = {}
    by_name: dict[str, Tag | None] = {}  # a name's tag, found once (10,000 sessions name a few dozen)

    def tag_of(name: str) -> Tag | None:
        slug = slugify(name)
        by_name[name] = tag = (tags.get(slug) or tags.setdefault(slug, Tag(slug, name))) if slug else None
        return tag

    for entries, of_goals in ((portfolio.goals.values(), True), (reversed(portfolio.sessions), False)):
        for entry in entries:
            for name in entry.tags:
                tag = by_name[name] if name in by_name else tag_of(name)  # no call a tag: 2 ms at 10,000 sessions
                if tag is not None:
                    (tag.goals if of_goals else tag.sessions).append(entry)
    return dict(sorted(tags.items()))


def tag_page_files(names: Iterable[str]) -> set[str]:
    """The files of the pages of the tags so named (a name with no slug has none)."""
    return {f"tags/{slug}/index.html" for slug in map(slugify, names) if slug}


def _tag_specs(tags: dict[str, Tag]) -> list[PageSpec]:
    specs = [PageSpec("tags/", "tags.html", "Tags", {"tags": list(tags.values())})]
    specs += [PageSpec(f"tags/{t.slug}/", "tag.html", f"Tagged “{t.name}”", {"tag": t}) for t in tags.values()]
    return specs


def describe(entry: Goal | Session | Page) -> str:
    """The meta description of an entry's own page: the start of its body."""
    return summarize(entry.text, 160)


def refresh_own_pages(specs: list[PageSpec], entries: list[Goal | Session | Page]) -> None:
    """After entries were edited in place (see content.in_place_edits): the titles and
    descriptions of their own pages. Every digest is forgotten: the edited entries' file
    versions are in other pages' fingerprints too."""
    by_source = {entry.source: entry for entry in entries}
    for spec in specs:
        spec.summary = None
        entry = by_source.get(spec.source)
        if entry is not None:
            spec.title, spec.description = entry.title, describe(entry)


def _feedback_by_person(portfolio: Portfolio) -> list[tuple[str, str, list[tuple[Session, object]]]]:
    people: dict[tuple[str, str], list] = defaultdict(list)
    for s in reversed(portfolio.sessions):
        for note in s.feedback:
            people[(note.person, note.role)].append((s, note))
    return [(person, role, notes) for (person, role), notes in sorted(people.items())]


def search_index(portfolio: Portfolio, memo: dict | None = None) -> list[bytes]:
    """Titles, tags, goal and body text of every included session, goal and page: the JSON
    of the index, in parts to be written one after another.

    `memo` (the dev server's) keeps each entry's JSON, encoded, between builds; those parts
    are never joined (at 10,000 sessions, joining the 9 MB index and copying it into the
    script of the index took 15 ms, most of it to fault in memory never touched). Without
    it the index is encoded in one call, which is faster. (The build cache keeps where
    each part is instead: see search_index_reusing.)"""
    if memo is None:
        docs = [_search_doc(entry, goal) for entry, goal, _ in _searched(portfolio)]
        return [json.dumps(docs, ensure_ascii=False, separators=(",", ":")).encode("utf-8")]
    fresh = {}
    parts = [b"["]
    for entry, goal, key in _searched(portfolio):
        part = memo.get(key) if key else None
        if part is None:
            part = _search_part(entry, goal)
        if key:
            fresh[key] = part
        parts += (b",", part) if len(parts) > 1 else (part,)
    memo.clear()
    memo.update(fresh)
    parts.append(b"]")
    return parts


@dataclass
class SearchLayout:
    """Where each entry's part is in the search index a build wrote, and that file's identity
    as written (see sources.identity): the build cache's memo of the index. Kept instead of the
    parts (9 MB at 10,000 sessions, which every edit read from the cache and wrote out
    again), it lets the next build copy the parts it keeps from that file (see Span)."""

    file: tuple | None = None
    places: dict = field(default_factory=dict)  # (entry key, goal title) → (offset, length)


def search_index_reusing(portfolio: Portfolio, layout: SearchLayout, fd: int | None) -> list[bytes | Span]:
    """The index as `search_index` encodes it, with the parts of entries unchanged since the
    last build as spans of that build's index, open as `fd` (None: not there as written,
    every part is encoded), a run of them one span. `layout` then says where each part is in
    the index returned (its `file` is for the caller to set, once written)."""
    last = layout.places if fd is not None else {}
    places = {}
    parts: list[bytes | Span] = [b"["]
    at = 1  # where the next part goes in the new index
    start = length = run = 0  # the run of parts copied so far: where it starts in the last index, its length
    for n, (entry, goal, key) in enumerate(_searched(portfolio)):
        place = last.get(key) if key else None
        if place is not None and run and start + run + 1 == place[0]:  # the next part there, too
            length = place[1]
            run += 1 + length
        else:
            if run:
                parts.append(Span(fd, start, run))
                run = 0
            if n:
                parts.append(b",")
            if place is None:
                part = _search_part(entry, goal)
                parts.append(part)
                length = len(part)
            else:
                start, length = place
                run = length
        at += 1 if n else 0
        if key:
            places[key] = (at, length)
        at += length
    if run:
        parts.append(Span(fd, start, run))
    parts.append(b"]")
    layout.file, layout.places = None, places
    return parts


def search_index_edited(portfolio: Portfolio, layout: SearchLayout, fd: int,
                        edited: Iterable[tuple[bytes, Goal | Session | Page]]) -> list[bytes | Span]:
    """The index of an edit in place (see content.in_place_edits), from the last build's index,
    open as `fd`, the file `layout` describes: the parts of the entries `edited` (each with
    its key before the edit) made again, the runs between them copied, the places after them
    moved; a part made again the same (a difficulty edit's) is kept where it is. Without the
    walk of every entry `search_index_reusing` takes (an edit at 10,000 sessions: ~20 ms
    more): an edit in place adds, removes and moves no entry, nor shows or hides one, so an
    entry edited that is not in that index (not shown, or its goal not shown) is not in this
    one either."""
    titles = {slug: goal.title for slug, goal in portfolio.goals.items()}
    changes, kept = [], []
    for was, entry in edited:
        goal = titles.get(entry.goal) if type(entry) is Session and entry.goal else ""
        place = layout.places.get((was, goal)) if goal is not None else None
        if place is None:
            continue
        part = _search_part(entry, goal)
        if len(part) == place[1] and os.pread(fd, place[1], place[0]) == part:  # its difficulty edited, say
            kept.append(((was, goal), (entry.key, goal)))
        else:
            changes.append((place, (was, goal), (entry.key, goal), part))
    changes.sort()
    parts: list[bytes | Span] = []
    starts, shifts = [-1], [0]  # after where each replaced part starts, how far the next parts move
    at = 0
    for (offset, length), _, _, part in changes:
        parts += (Span(fd, at, offset - at), part)
        at = offset + length
        starts.append(offset)
        shifts.append(shifts[-1] + len(part) - length)
    parts.append(Span(fd, at, layout.file[1] - at))  # the rest, to the file's end: its size as written
    places = {key: (offset + shifts[bisect.bisect(starts, offset) - 1], length)
              for key, (offset, length) in layout.places.items()} if changes else dict(layout.places)
    for n, ((offset, _), was, key, part) in enumerate(changes):
        del places[was]
        places[key] = (offset + shifts[n], len(part))
    for was, key in kept:
        places[key] = places.pop(was)
    layout.file, layout.places = None, places
    return parts


def _searched(portfolio: Portfolio) -> Iterator[tuple[Goal | Session | Page, str, tuple[bytes, str] | None]]:
    """Each entry of the search index, in its order, with the title of its goal (which a
    session's part shows) and the key its part is kept under (None: not kept)."""
    titles = {slug: goal.title for slug, goal in portfolio.goals.items()}
    for entry in itertools.chain(portfolio.goals.values(), reversed(portfolio.sessions), portfolio.pages.values()):
        goal = titles[entry.goal] if type(entry) is Session and entry.goal else ""
        yield entry, goal, (entry.key, goal) if entry.key else None


def _search_part(entry: Goal | Session | Page, goal: str) -> bytes:
    return json.dumps(_search_doc(entry, goal), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _search_doc(entry: Goal | Session | Page, goal: str) -> dict:
    # the body's words, each once; made again from its text for an entry from the build cache
    text = entry.words if entry.words is not None else search_words(entry.text.split())
    if isinstance(entry, Goal):
        return {"url": f"goals/{entry.slug}/", "title": entry.title, "kind": "goal", "goal": entry.title,
                "tags": entry.tags, "date": entry.started.isoformat(), "text": text}
    if isinstance(entry, Session):
        return {"url": f"sessions/{entry.slug}/", "title": entry.title, "kind": "session", "goal": goal,
                "tags": entry.tags, "date": entry.day.isoformat(), "text": text}
    return {"url": f"{entry.slug}/", "title": entry.title, "kind": "page", "goal": "", "tags": [], "date": "",
            "text": text}


def images_of(portfolio: Portfolio) -> list:
    """Every image an included entry shows, to be copied beside its page."""
    entries = [*portfolio.goals.values(), *portfolio.sessions, *portfolio.pages.values()]
    return [image for entry in entries for image in entry.images]
