"""Loading a portfolio: find the files, read every entry, check cross-references,
then keep only what one audience may see.

Everything is read and validated regardless of audience, so `check` reports the
same problems whoever the build is for; the audience filter runs last, and what
it drops never reaches the model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import os
import pickle
import posixpath
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, Diagnostics, Where, did_you_mean
from .entries import Spots, read_goal, read_page, read_session
from .fields import SLUG
from .frontmatter import Document, decode, parse, split
from .images import Image, Placer, as_checked, is_local, resolve
from .markup import Renderer, accelerated, slugify
from .model import (
    BODY_FIELDS,
    EDITABLE,
    FIGURES,
    SESSION_ORDER,
    Config,
    Goal,
    Metric,
    Page,
    Portfolio,
    Session,
    Stored,
    stricter,
    visible,
)
from .parallel import pmap
from .sources import scan_content

BUILT_IN_PATHS = {"timeline", "goals", "sessions", "areas", "tags", "wins", "lessons", "feedback", "search",
                  "assets", "feed.xml", "sitemap.xml", "robots.txt", "404.html", "search-index.json",
                  "index.html"}
_NAME_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:-|$)")


@dataclass
class Loaded:
    """Every entry on disk, valid or not yet filtered, with where its values stand."""

    config: Config
    root: Path
    goals: dict[str, Goal] = field(default_factory=dict)
    sessions: list[tuple[Session, FileResult]] = field(default_factory=list)  # its spots read when needed
    pages: dict[str, Page] = field(default_factory=dict)


def source_files(root: Path) -> list[tuple[str, str, tuple]]:
    """(kind, path in the project, stat stamp) of every goal, session and page, in a stable order."""
    return scan_content(root)[0]


def _restamp(root: Path, rel: str, stamp: tuple) -> tuple | None:
    """A known file's stamp now; None when it is gone or no longer a file."""
    try:
        info = os.stat(root / rel)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino, stamp[3]) if stat.S_ISREG(info.st_mode) else None


@dataclass
class FileResult:
    """What one file yields: its entry (if usable), where its values stand, its own diagnostics."""

    kind: str  # "goal", "session" or "page"
    entry: Goal | Session | Page | None
    spots: Spots
    items: list[Diagnostic]
    image_checks: tuple[tuple[str, str], ...] = ()  # each local image's src and what was found (see _stale)


def _read_spots(result: FileResult, tail, offset: int, size: int) -> None:
    result.spots = pickle.loads(tail.read(offset, size))


FileResult.spots = Stored("spots", "stored_spots", _read_spots)  # a file's from the cache: see cached_result

FileCache = dict[str, tuple[tuple, FileResult]]  # path in the project → (stat stamp, result); for one config


def cached_result(places: dict[int, tuple], result: FileResult) -> tuple:
    """How the build cache saves a file's result (a copyreg reducer, given where its shard
    keeps each result's spots, by the result's id: see build._packed): its spots, which only a
    diagnostic reads, stay in the cache's file until then (a third of loading the results)."""
    fields = {k: v for k, v in vars(result).items() if k not in ("spots", "stored_spots")}
    return remade, (FileResult, {**fields, "stored_spots": places[id(result)]})


def remade(kind: type, state: dict):
    """An object the build cache saved (see cached_result, cached_entry), its attributes
    `state` itself: unpickled with a state of their own to copy, entries and results loaded
    ~20 % slower (at 10,000 sessions, ~20 ms of every edit)."""
    made = object.__new__(kind)
    made.__dict__ = state
    return made


def spots_data(result: FileResult) -> bytes:
    """A result's spots as the cache keeps them: copied, if still in the cache's file."""
    where = vars(result).get("stored_spots")
    return where[0].read(*where[1:]) if where else pickle.dumps(result.spots, pickle.HIGHEST_PROTOCOL)


def load(root: Path, config: Config, diags: Diagnostics, cache: FileCache | None = None, jobs: int = 1,
         changed: set[str] | None = None, found: list[tuple[str, str, tuple]] | None = None) -> Loaded:
    """Read and validate every goal, session and page under `root/content`.

    With a `cache` (the dev server's), a file whose size and mtime are unchanged is
    not read again; its entry and its diagnostics are reused. Files to read are read
    in `jobs` processes. `changed` (the watcher's): when every changed path is a file
    the cache knows, the content folder is not scanned again; nor is it when the caller
    has just listed its files (`found`, see source_files)."""
    loaded = Loaded(config, root)
    files = _known_files(root, cache, changed) if cache and changed else None
    files = files if files is not None else found if found is not None else source_files(root)
    cached = cache or {}
    stale = _stale(root, files, cached)
    todo = [(kind, rel, stamp[3]) for kind, rel, stamp in files if rel in stale]
    read = dict(zip((rel for _, rel, _ in todo), pmap(_read_task, todo, jobs, (root, config)), strict=True))
    fresh: FileCache = {}
    for kind, rel, stamp in files:
        result = read.get(rel)
        just_read = result is not None
        if not just_read:
            result = cached[rel][1]  # same stamp, so the same key; but a goal's: see _clock_metrics
        if result.entry is not None and (just_read or kind == "goal"):
            result.entry.key = version_key(rel, stamp)
        fresh[rel] = (stamp, result)
        diags.items.extend(result.items)
        _add(loaded, result, diags)
    if cache is not None:
        cache.clear()
        cache.update(fresh)
    _check_sessions(loaded, diags)
    return loaded


def version_key(rel: str, stamp: tuple) -> bytes:
    """What identifies one version of a file (its path and stat stamp), in 12 bytes: it keys
    rendered bodies and stands for the entry in page fingerprints, which are encoded on every
    build (a tag page names thousands of sessions)."""
    return hashlib.blake2b(repr((rel, stamp)).encode(), digest_size=12).digest()


def changed_files(root: Path, found: list[tuple[str, str, tuple]], cache: FileCache) -> set[str] | None:
    """Of the files `found` (see source_files), those whose cached result no longer holds (new
    ones included); None when a file of the cache is gone."""
    changed = _stale(root, found, cache)
    return changed if len(found) - len(changed - cache.keys()) == len(cache) else None


def _stale(root: Path, files: list[tuple[str, str, tuple]], cache: FileCache) -> set[str]:
    """The files whose cached result is not what reading them now would yield: not of the same
    version (stamp), or their local images not found as they were (see images.as_checked).
    A loop, not a call a file: 10,000 files, 10 ms less."""
    stale = set()
    for _, rel, stamp in files:
        known = cache.get(rel)
        checks = known[1].image_checks if known is not None else ()
        if known is None or known[0] != stamp or checks and not as_checked(root, rel, checks):
            stale.add(rel)
    return stale


def _known_files(root: Path, cache: FileCache, changed: set[str]) -> list[tuple[str, str, tuple]] | None:
    """The files of the last load, with new stamps for `changed`; None unless all are known files."""
    if not changed <= cache.keys():
        return None
    files = []
    for rel, (stamp, result) in cache.items():
        if rel in changed:
            stamp = _restamp(root, rel, stamp)
            if stamp is None:
                return None
        files.append((result.kind, rel, stamp))
    return files


def _read_task(shared: tuple[Path, Config], task: tuple[str, str, bool]) -> FileResult:
    root, config = shared
    kind, rel, linked = task
    return _read_file(root, rel, kind, config, renderer_for(config.allow_html, "private"), linked)


def _read_file(root: Path, rel: str, kind: str, config: Config, checker: Renderer, linked: bool) -> FileResult:
    """`rel`: the file's path in the project, with forward slashes. Paths are strings here,
    not Path objects: 10 % of reading a file went to making and taking apart Paths."""
    diags = Diagnostics()
    result = FileResult(kind, None, {}, diags.items)
    doc = _document(root, rel, diags, linked)
    if doc is None:
        return result
    folder, name = posixpath.split(rel)
    stem = name[:-3] if name.endswith(".md") else posixpath.splitext(name)[0]
    if kind == "goal":
        result.entry = read_goal(doc, _file_slug(stem, doc, diags, "goal"), config, diags)
    elif kind == "session":
        name = posixpath.basename(folder) if name == "index.md" else stem
        result.entry, result.spots = read_session(doc, slugify(name), _name_date(name, doc, diags), config, diags)
    else:
        result.entry = read_page(doc, _file_slug(stem, doc, diags, "page"), config, diags)
    result.image_checks = _check_images(root, doc, checker, diags)
    if result.entry is not None:
        result.entry.rendered_from = body_digest(rel, result.entry.body)
    return result


def _add(loaded: Loaded, result: FileResult, diags: Diagnostics) -> None:
    entry = result.entry
    if entry is None:
        return
    if result.kind == "goal":
        loaded.goals[entry.slug] = entry
    elif result.kind == "session":
        loaded.sessions.append((entry, result))
    elif entry.slug in BUILT_IN_PATHS:
        diags.error(Where(entry.source), f'the page "{entry.slug}" collides with the built-in path '
                                         f'/{entry.slug}/; rename the file')
    else:
        loaded.pages[entry.slug] = entry


def _document(root: Path, rel: str, diags: Diagnostics, linked: bool) -> Document | None:
    if linked and not (root / rel).resolve().is_relative_to((root / "content").resolve()):
        diags.error(Where(rel), "a symlink out of the content folder; not read")
        return None
    with open(os.path.join(root, rel), "rb") as file:
        raw = file.read()
    text = decode(raw, rel, diags)
    return None if text is None else parse(text, rel, diags)


def _check_images(root: Path, doc: Document, checker: Renderer, diags: Diagnostics) -> tuple[tuple[str, str], ...]:
    """Every local image an entry shows must exist inside content/ (any audience may need it).
    Returns each one's src and what was found, for images.as_checked."""
    if "![" not in doc.body:  # no image syntax: skip the Markdown parse
        return ()
    checks = []
    for src, line, col in checker.image_refs(doc.body):
        if is_local(src):
            found, why = resolve(root, doc.path, src)
            if found is None:
                diags.error(Where(doc.path, doc.body_line + line, col), why)
            checks.append((src, str(found) if found is not None else why))
    return tuple(checks)


def _file_slug(stem: str, doc: Document, diags: Diagnostics, kind: str) -> str:
    if not SLUG.match(stem):
        diags.error(doc.where(), f'the file name of a {kind} is its slug: rename it to "{slugify(stem)}.md" '
                                 '(only a-z, 0-9 and "-")')
    return stem


def _name_date(name: str, doc: Document, diags: Diagnostics) -> dt.date | None:
    match = _NAME_DATE.match(name)
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        diags.error(doc.where(), f'the date "{name[:10]}" in the file name does not exist')
        return None


def _check_sessions(loaded: Loaded, diags: Diagnostics) -> None:
    """Cross-file rules: unique slugs and references to goals, milestones, metrics."""
    first: dict[str, str] = {}
    # each goal's metrics by name (unique: see entries._read_metrics), made once, not per session
    metrics = {slug: {m.name: m for m in goal.metrics} for slug, goal in loaded.goals.items()}
    for session, result in loaded.sessions:
        if session.slug in first:
            diags.error(_at(session, result, "slug"),
                        f'duplicate session slug "{session.slug}" (also used by {first[session.slug]})')
        else:
            first[session.slug] = session.source
        _check_references(loaded.goals, metrics, session, result, diags)
        if session.outcome == "setback" and not session.lesson:
            diags.warning(_at(session, result, "outcome"), 'a setback without a "lesson": what did it teach you?')
    _clock_metrics(loaded.sessions, metrics, loaded.goals.values())


def _clock_metrics(sessions: list[tuple[Session, FileResult]], metrics: dict[str, dict[str, Metric]],
                   goals: Iterable[Goal]) -> None:
    """A metric is shown as a clock ("1:30") when its target or any session's value of it was
    written so: made again on every load (a goal from the cache holds the last load's answer).
    Any page may show it (templates reach every goal's metrics: see build.page_scope), so it is
    part of its goal's version: the goal's key, its file's version key (set by `load`), then
    stands for both, and every page is rendered again when a session starts or stops writing a
    metric so."""
    for goal in goals:
        for metric in goal.metrics:
            metric.clock = metric.clock_target
    for session, _ in sessions:
        if session.clock_metrics and session.goal in metrics:  # an unknown one: see _check_references
            declared = metrics[session.goal]
            for name in session.clock_metrics & declared.keys():
                declared[name].clock = True
    for goal in goals:
        clocks = [m.name for m in goal.metrics if m.clock and not m.clock_target]
        if clocks:
            goal.key = hashlib.blake2b(goal.key + "\0".join(clocks).encode(), digest_size=12).digest()


def _milestone_problem(goal: Goal | None, session: Session) -> str | None:
    if goal is None:
        return "a milestone needs the session's goal"
    if session.outcome != "success":
        return f'a milestone can only be reached by a success, but this session\'s outcome is "{session.outcome}"'
    titles = [m.title for m in goal.milestones]
    if session.milestone.lower() not in (t.lower() for t in titles):
        return f'unknown milestone "{session.milestone}" of goal "{goal.slug}"{did_you_mean(session.milestone, titles)}'
    return None


def _at(session: Session, result: FileResult, key: str) -> Where:
    """Where a session's value was written (the top of its file if not written)."""
    line, col = result.spots.get(key, (1, 1))
    return Where(session.source, line, col)


def _check_references(goals: dict[str, Goal], metrics: dict[str, dict[str, Metric]], session: Session,
                      result: FileResult, diags: Diagnostics) -> None:
    goal = goals.get(session.goal) if session.goal else None
    if session.goal and goal is None:
        diags.error(_at(session, result, "goal"), f'unknown goal "{session.goal}"{did_you_mean(session.goal, goals)}')
        return
    if session.milestone:
        problem = _milestone_problem(goal, session)
        if problem:
            diags.error(_at(session, result, "milestone"), problem)
    declared = metrics[goal.slug] if goal else {}
    for name in session.metrics:
        metric = declared.get(name)
        if metric is None:
            of = f'goal "{goal.slug}"' if goal else "a session without a goal"
            diags.error(_at(session, result, f"metrics.{name}"),
                        f'unknown metric "{name}" of {of}{did_you_mean(name, list(declared))}')


def effective_visibility(loaded: Loaded, entry) -> str:
    """A session is never more visible than its goal."""
    goal = loaded.goals.get(entry.goal) if isinstance(entry, Session) and entry.goal else None
    return stricter(entry.visibility, goal.visibility) if goal else entry.visibility


def select(loaded: Loaded, audience: str, drafts: bool, memo: dict | None = None, jobs: int = 1,
           meanwhile: Callable[[Portfolio], None] | None = None) -> Portfolio:
    """The portfolio one audience sees; excluded entries are simply not there.

    `memo` (the dev server's) keeps rendered bodies of unchanged files between rebuilds;
    bodies to render are rendered in `jobs` processes. `meanwhile(portfolio)`, work that
    needs no body, is done by this process while the others render them (see pmap)."""
    def shown(entry) -> bool:
        return visible(entry.visibility, audience) and (drafts or not entry.draft)

    goals = {slug: g for slug, g in sorted(loaded.goals.items()) if shown(g)}
    # a session of a goal shown is as visible as its own setting says (see effective_visibility)
    sessions = sorted((s for s, _ in loaded.sessions if shown(s) and (s.goal is None or s.goal in goals)),
                      key=SESSION_ORDER)
    pages = {slug: p for slug, p in sorted(loaded.pages.items()) if shown(p)}
    keyed = [(body_key(entry), entry) for entry in (*goals.values(), *sessions, *pages.values())]
    memo = memo if memo is not None else {}
    todo = [(key, entry) for key, entry in keyed if key not in memo and "stored" not in vars(entry)]
    tasks = [(entry.source, source_of(loaded.root, entry), key[1]) for key, entry in todo]
    shared = (loaded.root, loaded.config.allow_html, audience)
    if todo and not accelerated():  # made here, the parser is the forked processes' too; with pyromark,
        renderer_for(loaded.config.allow_html, audience).md  # noqa: B018 - markdown-it is imported if needed
    portfolio = Portfolio(loaded.config, audience, goals, sessions, pages)
    work = functools.partial(meanwhile, portfolio) if meanwhile is not None else None
    rendered = dict(zip((key for key, _ in todo), pmap(_render_task, tasks, jobs, shared, meanwhile=work),
                        strict=True))
    current = {}
    for key, entry in keyed:
        body = current[key] = memo[key] if key in memo else rendered.get(key) or stored_body(entry)
        if vars(entry).get("stored", entry) is not body[0] or entry.images is not body[3]:
            give_body(entry, body)  # not one from the cache that has it (9,500 calls: 10 ms)
    memo.clear()  # bodies of earlier versions go: a long dev-server session does not accumulate them
    memo.update(current)
    return portfolio


def body_key(entry: Goal | Session | Page) -> tuple[bytes, str]:
    """An entry's rendered body is kept under what it is rendered from and its page's folder
    (where its images go): `select`'s memo, the build cache's bodies. Not under the file's
    version: an edit of the front matter alone renders no body."""
    return entry.rendered_from, folder_of(entry)


def body_digest(rel: str, body: str) -> bytes:
    """What a body renders from: its Markdown, and its file's place (its images' paths are
    relative to it); the rest (configuration, audience) is the same for a whole cache."""
    return hashlib.blake2b(f"{rel}\0{body}".encode(), digest_size=12).digest()


def folder_of(entry: Goal | Session | Page) -> str:
    """The folder of an entry's page, where its images are placed."""
    if isinstance(entry, Goal):
        return f"goals/{entry.slug}"
    return f"sessions/{entry.slug}" if isinstance(entry, Session) else entry.slug


UNCACHED = ("body", "words", "html", "text", "stored")  # what the build cache does not keep with an entry


def cached_entry(stored: dict[tuple, tuple], entry: Goal | Session | Page) -> tuple:
    """How the build cache saves an entry (a copyreg reducer, given where its shard keeps the
    rendered bodies: body key → place, see build._packed): without its Markdown source and its
    search words, a third of the cache at 10,000 sessions (31 of 92 MB), which every edit
    would read, and with the place of its html and text, read when used (model.Stored).
    The source is read again when needed (source_of), the words made again from the text
    (pages.search_index), and a cached entry is only used while its file is the version it
    was read from."""
    defaults = _DEFAULTS[type(entry)]
    fields = {k: v for k, v in vars(entry).items()
              if k not in UNCACHED and not (k in defaults and _is_default(v, defaults[k]))}
    place = stored.get(body_key(entry))
    body = {"stored": place} if place is not None else {"html": entry.html, "text": entry.text}
    return remade, (type(entry), {**fields, **body, "body": None, "words": None})


def _class_defaults(kind: type) -> dict:
    """The defaults of a dataclass's fields that its class holds as they are (not those made
    by a factory, nor those a descriptor stands for: see model.Stored)."""
    held = {name: value for cls in reversed(kind.__mro__) for name, value in vars(cls).items()}
    return {f.name: f.default for f in dataclasses.fields(kind)
            if f.default is not dataclasses.MISSING and held.get(f.name) is f.default}


_DEFAULTS = {kind: _class_defaults(kind) for kind in (Goal, Session, Page)}


def _is_default(value, default) -> bool:
    return value is default or type(value) is type(default) and value == default


def stored_body(entry: Goal | Session | Page) -> tuple | None:
    """The body of an entry from the build cache, which holds where it is (see cached_entry):
    the build cache keeps no other (see build._packed); None for any other entry."""
    place = vars(entry).get("stored")
    return None if place is None else (place, None, None, entry.images)


def give_body(entry: Goal | Session | Page, body: tuple) -> None:
    """Give an entry its rendered body: (html, text, words, images), or, from the build cache,
    (where html and text are, None, None, images): they are read when used (model.Stored)."""
    html, text, entry.words, entry.images = body
    if type(html) is tuple:
        vars(entry).pop("html", None)
        vars(entry).pop("text", None)
        entry.stored = html
    else:
        vars(entry).pop("stored", None)
        entry.html, entry.text = html, text


def source_of(root: Path, entry: Goal | Session | Page) -> str:
    """An entry's Markdown source: as read, or read again for an entry from the build cache."""
    if entry.body is None:
        text = decode((root / entry.source).read_bytes(), entry.source, Diagnostics())
        entry.body = split(text)[1] if text is not None else ""
    return entry.body


@dataclass
class Leeway:
    """What an edit in place may change besides bodies (see in_place_edits), and what it did."""

    figures: bool = False  # a session's FIGURES too
    tags: bool = False  # … and its tags (the tag pages are planned again: see pages.retag)
    retitled: set[str] = field(default_factory=set)  # the slugs of the sessions retitled
    refigured: set[str | None] = field(default_factory=set)  # the goals of the sessions whose FIGURES changed
    retagged: set[str] = field(default_factory=set)  # the tags of the sessions retagged, before and after
    fields: dict[str, set[str]] = field(default_factory=dict)  # source → what was edited in an entry
    # (its body fields, its title, its tags, each of its FIGURES): see theme.TemplateReads
    keys: dict[str, bytes] = field(default_factory=dict)  # the version key each entry edited had, by source

    def edited(self, name: str) -> bool:
        """Whether the field `name` was edited in any entry (see `fields`)."""
        return any(name in fields for fields in self.fields.values())


def in_place_edits(root: Path, config: Config, cache: FileCache, rels: set[str], audience: str,
                   memo: dict, leeway: Leeway | None = None) -> list[Goal | Session | Page] | None:
    """The everyday edit, fast: when only the Markdown bodies of known entries changed, and,
    given a `leeway`, the titles of sessions and maybe their FIGURES and tags (no diagnostics
    before or after, no images, the lines of the front matter where they were), update those
    entries in place — body, title, figures, tags, key, rendered html and text — and return
    them; `leeway` says which sessions were retitled, which goals' sessions refigured, and
    which tags they were given or lost. None when anything else may have changed: the caller then loads
    everything again. A caller that allows titles finds the records that copy them (see
    aggregate.retitle); one that allows figures makes the figures of the site again."""
    edits = []
    for rel in rels:
        if rel not in cache:
            return None
        old_stamp, old = cache[rel]
        stamp = _restamp(root, rel, old_stamp)
        if stamp is None or old.entry is None or old.items or old.entry.images:
            return None
        new = _read_file(root, rel, old.kind, config, renderer_for(config.allow_html, "private"), old_stamp[3])
        if new.entry is None or new.items or new.spots != old.spots or "![" in new.entry.body \
                or _fixed_part(new.entry, leeway) != _fixed_part(old.entry, leeway) \
                or not _figures_hold(old.entry, new, leeway, cache):
            return None
        edits.append((rel, stamp, old, new.entry))
    renderer = renderer_for(config.allow_html, audience)
    for rel, stamp, old, new in edits:
        entry = old.entry
        # each only with a `leeway` (see _fixed_part)
        changed = {name for name in EDITABLE if getattr(new, name, None) != getattr(entry, name, None)}
        retitled = "title" in changed
        refigured = type(entry) is Session and not changed.isdisjoint(FIGURES)
        retagged = type(entry) is Session and "tags" in changed
        if retitled:
            leeway.retitled.add(entry.slug)
        if refigured:
            leeway.refigured.add(entry.goal)
            for name in FIGURES:
                setattr(entry, name, getattr(new, name))
        if retagged:
            leeway.retagged.update(new.tags, entry.tags)  # all: a tag's name is the first one found
            entry.tags = new.tags
        was = body_key(entry)
        rendered_from = body_digest(rel, new.body)
        if leeway is not None:
            leeway.keys[entry.source] = entry.key
            leeway.fields[entry.source] = changed | (BODY_FIELDS if rendered_from != entry.rendered_from else {"key"})
        entry.body, entry.title = new.body, new.title
        entry.key, entry.rendered_from = version_key(rel, stamp), rendered_from
        key = body_key(entry)
        if key not in memo:  # with a title alone edited, its body as the cache holds it (not importing
            # markdown-it: 20 ms)
            same = stored_body(entry) if key == was else None
            memo[key] = same or render_body(renderer, root, entry.source, new.body, key[1])
        give_body(entry, memo[key])
        cache[rel] = (stamp, old)
    return [old.entry for _, _, old, _ in edits]


def _fixed_part(entry: Goal | Session | Page, leeway: Leeway | None) -> tuple:
    """What an edit in place keeps: all but the body and, with a `leeway`, a session's title
    (a goal's or a free page's is on every page, in the page scope) and maybe its FIGURES and tags."""
    kept = BODY_FIELDS
    if leeway is not None and type(entry) is Session:
        kept = kept | {"title"} | (set(FIGURES) if leeway.figures else set()) | ({"tags"} if leeway.tags else set())
    return type(entry), {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name not in kept}


def _figures_of(entry: Goal | Session | Page) -> tuple:
    return tuple(getattr(entry, name) for name in FIGURES) if type(entry) is Session else ()


def _figures_hold(old: Goal | Session | Page, new: FileResult, leeway: Leeway | None, cache: FileCache) -> bool:
    """Whether a session's figures, if they changed, keep to the rules that span files (see
    _check_sessions) as they did: no diagnostic then, none now. Checked against its goal as
    read, shown or not (as `load` does: its goal is one of the cache's)."""
    if leeway is None or not leeway.figures or _figures_of(new.entry) == _figures_of(old):
        return True
    session = new.entry
    goals = {result.entry.slug: result.entry for _, result in cache.values()
             if result.kind == "goal" and result.entry is not None} if session.goal else {}
    goal = goals.get(session.goal)
    problems = Diagnostics()
    metrics = {goal.slug: {m.name: m for m in goal.metrics}} if goal is not None else {}
    _check_references(goals, metrics, session, new, problems)
    return not problems.items and all(s.outcome != "setback" or s.lesson for s in (old, session))


def _render_task(shared: tuple[Path, bool, str], task: tuple[str, str, str]) -> tuple[str, str, str, list[Image]]:
    root, allow_html, audience = shared
    source, body, folder = task
    return render_body(renderer_for(allow_html, audience), root, source, body, folder)


@functools.lru_cache(maxsize=4)
def renderer_for(allow_html: bool, audience: str) -> Renderer:
    """One parser per process and options: building markdown-it costs more than a short page."""
    return Renderer(allow_html, audience)


def render_body(renderer: Renderer, root: Path, source: str, body: str,
                folder: str) -> tuple[str, str, str, list[Image]]:
    """(html, text, words, images) of one entry's body: local images are placed beside its page."""
    placer = Placer(folder)
    images: list[Image] = []

    def rewrite(src: str, alt: str) -> str:
        if not is_local(src):
            return src
        found, _ = resolve(root, source, src)
        if found is None:  # reported by `load`; never reached in a build without errors
            return src
        image = Image(found, placer.place(found), alt)
        if image not in images:
            images.append(image)
        return posixpath.basename(image.path)

    rendered = renderer.render(body, rewrite)
    return rendered.html, rendered.text, rendered.words, images
