"""The build, read top to bottom: load → validate → select → aggregate → plan → render → write.

`load_site()` does everything up to the model (and is all `check` and `stats`
need); `build()` renders the planned pages and swaps the finished site in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import jinja2

from . import __version__, collector
from .aggregate import aggregate, refigure, retitle, today_of
from .cache import SHARDS, THIS_TAIL, Store, cache_store, load_store, save_store, shard_file, shard_of
from .charts import Pictures
from .config import load_config
from .content import (
    FileCache,
    FileResult,
    Leeway,
    Loaded,
    body_key,
    cached_entry,
    cached_result,
    changed_files,
    in_place_edits,
    load,
    select,
    spots_data,
    stored_body,
)
from .diagnostics import BuildError, Diagnostic, Diagnostics, Where
from .images import without_location
from .model import Config, Goal, Page, Portfolio, Session
from .output import Listing, Span, Staging, check_output, list_spare, static_files
from .pages import (
    PageSpec,
    SearchLayout,
    copied_titles,
    images_of,
    named_also,
    naming_index,
    pages_copying,
    pages_reading,
    plan,
    put_tag_pages,
    replan,
    retag,
    search_index,
    search_index_edited,
    search_index_reusing,
    tag_page_files,
    update_records,
)
from .parallel import MIN_ITEMS, pmap
from .progress import Progress
from .publish import git_lastmod, source_date, write_zip
from .snapshot import (
    DELTA_FILE,
    DIGEST,
    MEMO_FILE,
    MEMO_REDUCERS,
    SNAPSHOT_FILE,
    Delta,
    Memos,
    Plan,
    Snapshot,
    load_delta,
    load_memos,
    load_snapshot,
    page_digests,
    record_digests,
    seen_records,
    snapshot_file,
)
from .sources import Handed, Scanned, identity, recorded_inputs, scan_inputs, settings_of
from .stamps import saved_stamps
from .theme import CompiledTemplates, TemplateReads, environment, root_from, template_reads, theme_chain


@dataclass
class Options:
    audience: str = "public"
    drafts: bool = False
    base_url: str | None = None
    today: dt.date | None = None
    jobs: int = 1  # processes for reading, Markdown and templates
    progress: Progress = field(default_factory=lambda: Progress(enabled=False), repr=False, compare=False)


@dataclass
class Site:
    """A loaded portfolio for one audience, with its aggregate model."""

    root: Path
    portfolio: Portfolio
    stats: dict
    today: dt.date | None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    loaded: Loaded | None = None  # every entry as read, before the audience filter


@dataclass
class Caches:
    """What survives between builds: in the dev server's memory, or in `.mastery-cache/`."""

    config: str = ""
    files: FileCache = field(default_factory=dict)
    bodies: dict = field(default_factory=dict)  # body key → rendered body; a cached entry holds its own
    # (see content.stored_body), which a full build gathers here (see _take_bodies)
    search: dict = field(default_factory=dict)  # the dev server's search-index parts (see pages.search_index)
    layout: SearchLayout | None = None  # the build cache's instead (see pages.search_index_reusing)
    pages: dict[str, bytes | None] = field(default_factory=dict)  # page file in `output` → its key (see render_reusing)
    images: dict[str, tuple] = field(default_factory=dict)  # image file in `output` → its source (see _copy_images)
    output: str | None = None  # inputs digest of the site in the output folder, which the `pages` are in
    templates: TemplateReads | None = None  # what the templates read besides their pages' contexts
    compiled: dict = field(default_factory=dict)  # Jinja bytecode (see CompiledTemplates)
    lastmod: dict = field(default_factory=dict)  # the git commit checked out and its dates (see git_lastmod)
    stored: dict = field(default_factory=dict)  # shard number → the Shard as read (see _same_shard)
    records: dict = field(default_factory=dict)  # goal → its record, while the same (see aggregate)
    planned: dict = field(default_factory=dict)  # session → its page, while the same (see pages._session_pages)
    digests: dict = field(default_factory=dict)  # id of a record kept → (record, its fingerprint's digest)
    snapshot: str | None = None  # inputs digest of the build whose Snapshot is in step with this cache
    refigured: set[str | None] = field(default_factory=set)  # goals whose sessions' figures were edited in
    # place since that build (see _edit_sessions)
    retitled: set[str | None] = field(default_factory=set)  # … whose sessions were retitled so
    retagged: bool = False  # whether sessions' tags were edited in place so
    edited: set[str] = field(default_factory=set)  # the files of the sessions edited in place so
    unlinked: tuple[str | None, set[str]] | None = None  # the site the live one was built beside, and the
    # pages of the live one that are not hard links of its (see _assume_linked)
    stamps: tuple[bytes, bytes] | tuple = ()  # the tokens of the stamps saved beside it (see stamps.saved_stamps)

    def __getstate__(self) -> dict:
        """The index on disk: files and bodies go to shards."""
        return {**self.__dict__, "files": {}, "bodies": {}, "search": {}, "stored": {}, "records": {}, "planned": {},
                "digests": {}}


@dataclass
class Shard:
    """The cached files whose paths hash to one shard, with their rendered bodies (joining
    them: 0.1 s less per build at 10,000 sessions). Saved, the bodies are in the file's tail
    alone, where each entry says (see _packed): a shard as loaded has none of its own."""

    config: str
    files: FileCache
    bodies: dict  # body key → body (see content.give_body), to save


def _packed(shard: Shard) -> tuple[Shard, dict[type, Callable], bytes]:
    """A shard as saved (see cache.save_cache): its rendered bodies, three quarters of it, go
    to the file's tail, of which an edit reads a few (cache.Tail), and so do its files' spots;
    its pickle, its entries (content.cached_entry) and results (content.cached_result) say
    where each is."""
    tail = bytearray()

    def put(data: bytes) -> int:
        tail.extend(data)
        return len(tail) - len(data)

    places = {}
    for key, (html, text, _, _) in shard.bodies.items():
        if type(html) is tuple:  # still in the file it was read from: copied, not decoded
            data, sizes = html[0].read(html[1], html[2] + html[3]), html[2:]
        else:
            encoded = html.encode(), text.encode()
            data, sizes = b"".join(encoded), tuple(map(len, encoded))
        places[key] = (THIS_TAIL, put(data), *sizes)
    spots = {}
    for _, result in shard.files.values():
        data = spots_data(result)
        spots[id(result)] = (THIS_TAIL, put(data), len(data))
    reducers = {**dict.fromkeys((Goal, Session, Page), functools.partial(cached_entry, places)),
                FileResult: functools.partial(cached_result, spots)}
    return Shard(shard.config, shard.files, {}), reducers, bytes(tail)


Rendered = dict[str, tuple[bytes | None, bytes | str]]  # page file → (key: see render_reusing, bytes or file)


@dataclass
class BuildResult:
    out: Path
    pages: int
    site: Site | None  # None when the site was up to date and nothing was built
    held: list = field(default_factory=list, repr=False)  # the rest of what the build loaded and made
    # (at 10,000 sessions, about a million objects: the files found, the cache, the snapshot, ...):
    # freed with the result, not when the build returns, so that the command can exit without
    # freeing it (see cli.run; 40-80 ms of an edit, 3-5 ms of a no-op)


def load_site(root: Path, options: Options, diags: Diagnostics | None = None, caches: Caches | None = None,
              changed: set[str] | None = None, found: list | None = None,
              prepare: Callable[[Portfolio], None] | None = None) -> Site:
    """Read and validate everything; raise BuildError if any error was found.

    `caches` (the dev server's or the build cache) lets unchanged files skip reading and
    Markdown rendering; `changed` (project paths, the dev server's) may spare a scan, and
    `found` (the files, just listed by the caller: see source_files) does. The figures are
    aggregated, and `prepare(portfolio)` done, while other processes render the bodies."""
    diags = diags if diags is not None else Diagnostics()
    config = _config_of(root, options, diags)
    if caches is not None and caches.config != repr(config):  # everything read depends on the config
        caches.files.clear()
        caches.bodies.clear()
        caches.planned.clear()  # its pages are kept by file versions, whose text may render otherwise now
        caches.search.clear()  # so are its pieces: a session's date is a day in the portfolio's timezone
        if caches.layout is not None:
            caches.layout.places.clear()
        caches.config = repr(config)
    options.progress.phase("reading and checking the content")
    loaded = load(root, config, diags, caches.files if caches else None, options.jobs, changed, found)
    if diags.errors:
        raise BuildError(diags)
    options.progress.phase("rendering Markdown")
    figures = []

    def meanwhile(portfolio: Portfolio) -> None:  # neither needs the bodies
        today = today_of(portfolio, options.today)
        figures.append((today, aggregate(portfolio, today, caches.records if caches is not None else None)))
        if prepare is not None:
            prepare(portfolio)

    portfolio = select(loaded, options.audience, options.drafts, caches.bodies if caches else None, options.jobs,
                       meanwhile)
    [(today, stats)] = figures
    return Site(root, portfolio, stats, today, diags, loaded)


def _config_of(root: Path, options: Options, diags: Diagnostics):
    config = load_config(root, diags)
    if options.base_url:
        config.base_url = options.base_url if options.base_url.endswith("/") else options.base_url + "/"
    return config


def build(root: Path, out: Path | None = None, options: Options | None = None, force: bool = False,
          zip_to: Path | None = None, fresh: bool = False, scanned: Scanned | None = None) -> BuildResult:
    """Build the site into `out` (default `root/_site`), replacing it atomically; or, with
    `zip_to`, into a zip file only (the site in `out` is left alone).

    When nothing the site is built from changed since the build in `out`, nothing is
    done (a "no-op rebuild"); `fresh` builds anyway. `scanned`: what sources.scan_inputs
    found for this very build, if the caller has looked already (see cli.cmd_build)."""
    options = options or Options()
    if zip_to is not None:
        with tempfile.TemporaryDirectory() as tmp:
            result = build(root, Path(tmp) / "site", options)
            write_zip(result.out, zip_to)
        return BuildResult(zip_to, result.pages, result.site)
    out = out if out is not None else root / "_site"
    check_output(out, root, force)
    settings = settings_of(options.audience, options.drafts, options.base_url, options.today)
    # A build makes objects that live to its end (the files found, the cache, the model, the plan:
    # about a million at 10,000 sessions) and little garbage: no cyclic collection in this process
    # (after a front-matter edit, ~0.2 s of them), and none of those objects for the workers'
    # collectors to walk or copy (see parallel.pmap).
    with collector.paused(), collector.frozen():
        scanned = scanned if scanned is not None else scan_inputs(root, out, settings)
        head, inputs = scanned.head, scanned.inputs
        if not fresh and scanned.up_to_date:
            return BuildResult(out, 0, None, [scanned])
        with contextlib.nullcontext() if fresh else Store(cache_store(root, settings)) as store, \
                (None if fresh else list_spare(out)) or contextlib.nullcontext() as listing:
            caches = None if fresh else _cache_for(store, out)
            collector.hold()
            changed = _changed(root, scanned, caches) if caches is not None else None
            result = None if caches is None else _edit_sessions(root, out, inputs, head, options, caches, store,
                                                                changed, listing)
            if result is not None:
                options.progress.done()
                result.held += (caches, scanned)
                return result
            config_as_read = None
            if caches is not None:
                _take_memos(store, caches)
                _take_bodies(caches)
                config_as_read = caches.config
            compiled: list = []
            every_page = caches is None or not caches.pages
            site = load_site(root, options, caches=caches, found=scanned.found,
                             prepare=functools.partial(_compiled_templates, root, caches, compiled) if every_page
                             else None)
            collector.hold()
            # with the same configuration, edited sessions change only their own shards of the cache
            same_config = caches is not None and caches.config == config_as_read
            edited = changed if same_config and _sessions_only(changed) else None
            result = _write_output(site, out, inputs, head, options, caches, store, edited, *compiled,
                                   listing=listing)
    options.progress.done()
    result.held += (caches, scanned)
    return result


def _changed(root: Path, scanned: Scanned | Handed, caches: Caches) -> set[str] | None:
    """The files changed since the cache was saved (see content.changed_files): as the process
    that scanned them found them meanwhile (see stamps.compare), if it compared them with the
    stamps saved with this very cache, every shard of which was read."""
    compared = scanned.compared() if type(scanned) is Handed else None
    if compared is not None and compared[0] == caches.stamps and len(caches.stored) == SHARDS:
        return set(compared[1]) if compared[1] is not None else None
    return changed_files(root, scanned.found, caches.files)


def _write_output(site: Site, out: Path, inputs: str, head: str, options: Options, caches: Caches | None,
                  store: Store, edited: set[str] | None = None,
                  compiled: tuple[list[Path], jinja2.Environment] | None = None,
                  listing: Listing | None = None) -> BuildResult:
    """Render the site into a staging folder, swap it in, and save the build cache (with a
    snapshot of the model and plan, for `_edit_sessions`); see _save_caches for `edited`,
    _compiled_templates for `compiled`, output.list_spare for `listing`."""
    chain, env = compiled if compiled is not None else (themes_of(site.root, site.portfolio.config), None)
    env = _environment(site, chain, caches, env)
    specs = plan_site(site, caches, head)
    checked = list(site.diagnostics.items)  # writing may add its own
    options.progress.phase("rendering pages")
    final = out.resolve()
    live = os.path.join(final, "")  # + a page's path: where it is in the live site (as joined, but faster)
    reuse = None if caches is None else {file: (key, live + file) for file, key in caches.pages.items()}
    with Staging(out, inputs, keep_spare=caches is not None, listing=listing) as staging:
        if caches is not None:
            _assume_linked(staging, caches)
        pages = write_site(site, chain, env, staging, specs, reuse, caches, options.jobs, final)
        _write_gone(staging, env, site, specs)
        staging.keep(pages)  # some written by forked processes
        options.progress.phase("swapping the new site in")
        staging.commit(len(pages))
    if caches is not None:  # `fresh` (--no-cache) neither reads nor writes it, nor fingerprints pages
        caches.pages = {file: key for file, (key, _) in reuse.items()}  # no paths: 0.06 s to load at 10,000
        caches.unlinked = (caches.output, set(pages) - staging.linked)
        caches.output = caches.snapshot = inputs
        caches.refigured, caches.retitled, caches.retagged, caches.edited = set(), set(), False, set()
        caches.templates = getattr(env, "_mastery_reads", None)
        _save_caches(store, caches, Snapshot(inputs, page_scope(site, chain), head,
                                             site.portfolio, site.stats, site.today, checked, specs,
                                             [s.key for s in site.portfolio.sessions],
                                             digests=record_digests(site.stats["goals"], caches.digests)),
                     Memos(caches.planned, caches.records, list(caches.digests.values())), edited)
    return BuildResult(out, len(pages), site, [specs, env, pages])


def _environment(site: Site, chain: list[Path], caches: Caches | None,
                 env: jinja2.Environment | None = None) -> jinja2.Environment:
    """A build's environment, or `env` made by _compiled_templates, with the site's globals."""
    return environment_of(site, chain, env if env is not None else _bare_environment(site.root, chain, caches))


def _bare_environment(root: Path, chain: list[Path], caches: Caches | None) -> jinja2.Environment:
    """A build's environment without the site's globals (compiling needs none)."""
    env = environment(root, chain, reload=False)
    if caches is not None:
        env.bytecode_cache = CompiledTemplates(caches.compiled)
        if caches.templates is not None:  # spares parsing every template (see template_reads)
            env._mastery_reads = caches.templates
    return env


def _compiled_templates(root: Path, caches: Caches | None, made: list, portfolio: Portfolio) -> None:
    """For a build that renders every page, so uses every template: the theme and its templates
    compiled while other processes render the bodies (see load_site), appended to `made` as
    (chain, env). Compiled later, between the Markdown and the pages (~80 ms at 10,000
    sessions, without the build cache's bytecode), they kept one core alone."""
    chain = themes_of(root, portfolio.config)
    env = _bare_environment(root, chain, caches)
    _compile_templates(env)
    made.append((chain, env))


def _edit_sessions(root: Path, out: Path, inputs: str, head: str, options: Options, caches: Caches,
                   store: Store, changed: set[str] | None, listing: Listing | None) -> BuildResult | None:
    """The everyday edit, fast: when only the Markdown bodies, titles and figures of sessions
    changed since the last build, the model and plan of the last full build (its snapshot)
    still hold, but for those bodies and titles, the wins and lessons that copy a title, and
    the figures of the sessions' goals and of the site, with the pages that read them (see
    pages.replan). Render those bodies and the pages naming their sessions, holding those
    records or planned again with other contents (and, when the site's figures changed, the
    pages of templates reading them); link every other page from the site in `out`. None
    when anything else may have changed: then everything is built. `changed`: the files
    changed since the cache was saved (see content.changed_files); `listing`: see
    output.list_spare."""
    if not (caches.pages and caches.snapshot and changed and _sessions_only(changed)):
        return None
    diags = Diagnostics()
    config = _config_of(root, options, diags)
    if diags.items or repr(config) != caches.config:
        return None
    leeway = Leeway(figures=True, tags=True)
    edited = in_place_edits(root, config, caches.files, changed, options.audience, caches.bodies, leeway)
    if edited is None:  # the cache is left as it was read; from here on, in step with the edited files
        return None
    found = _snapshot_in_step(root, head, caches, store)
    if found is None:
        return None
    site, chain, snapshot = found
    planned = snapshot.specs
    caches.edited |= changed
    since = _edited_since(site.portfolio.sessions, snapshot.keys, caches)
    delta = load_delta(snapshot, caches.output)
    if delta is not None:
        site = dataclasses.replace(site, stats=delta.stats)
    places = _apply_delta(planned, delta)
    naming = snapshot.naming if delta is None else {**snapshot.naming, **delta.naming}
    planned.refresh(since)
    files = planned.files
    caches.refigured |= leeway.refigured
    retitled = {entry.goal for entry in edited if type(entry) is Session and entry.slug in leeway.retitled}
    caches.retitled |= retitled
    caches.retagged |= bool(leeway.retagged)
    if delta is None:  # what every edit since the snapshot did, done again
        goals = caches.refigured | caches.retitled if caches.refigured else set()
        replanned, retagging = since, caches.retagged
    else:  # what this edit does, the delta holding what those before it did
        goals = leeway.refigured | retitled if leeway.refigured else set()
        replanned, retagging = [s for s in since if s.source in changed], bool(leeway.retagged)
    if not goals or delta is not None:
        # the records copying titles of sessions retitled since the snapshot (theirs as loaded)
        changes = retitle(site.stats, [s for s in since if s.goal in caches.retitled and s.goal not in goals])
        if changes is None:
            return None
        update_records(planned, naming, changes, site.stats)
    fresh: list[PageSpec] = []
    seen = seen_records((snapshot.stats["goals"], snapshot.digests),
                        (delta.stats["goals"], delta.digests) if delta is not None else ([], None))
    if goals:
        restated = bool(leeway.refigured or leeway.retitled)  # the site-wide figures changed now
        feedback = delta is None or leeway.edited("feedback")
        site, render, keys, fresh = _refigured(site, caches, planned, places, goals, replanned, feedback,
                                               snapshot.scope, restated, seen)
    else:
        # the pages holding the records of sessions retitled before this build show them as they
        # are in the site in `out`: only those of the sessions retitled now are rendered
        keys = {}
        render = pages_copying(planned, naming, leeway.retitled)
        restated = copied_titles(naming, leeway.retitled)
    env = _environment(site, chain, caches)
    reads = template_reads(env, snapshot.scope)
    render |= pages_reading(planned, edited, naming, lambda entry: reads.of(leeway.fields[entry.source]))
    tags = None if delta is None else delta.tags
    if retagging:  # its tag pages are planned again, the pages found move
        retagged, tags = _retagged(site, caches, planned, edited, leeway.retagged, delta is not None)
        render |= retagged
        places = dict(zip(files, range(len(files)), strict=True))
        render &= places.keys()  # a tag's page may be gone
    if restated:
        render.update(file for file, template in zip(files, planned.templates, strict=True)
                      if template in reads.volatile)
    options.progress.phase("rendering pages")
    live = os.path.join(out.resolve(), "")  # see _write_output
    keyed = [(leeway.keys[entry.source], entry) for entry in edited]
    with Staging(out, inputs, keep_spare=True, listing=listing) as staging:
        with _meanwhile(functools.partial(_write_search_reusing, site, staging, caches.layout, live, keyed)):
            _assume_linked(staging, caches)
            for file in render | staging.take_linked(places.keys() - render):
                if file in render or not staging.reuse(file, live + file):
                    staging.write(file, render_page(env, site, planned[places[file]]))
                    # its fingerprint, when known (else the next full build renders it, and so does every edit
                    # in place that plans it again: a difficulty edit rendered 13, then 14, 15 pages)
                    caches.pages[file] = keys.get(file) if planned.templates[places[file]] not in reads.volatile \
                        else None
            _write_gone(staging, env, site, planned)
            write_assets(site, chain, staging, caches, search=False, live=live, edited=keyed)
        staging.commit(len(planned))
    caches.unlinked = (caches.output, caches.pages.keys() - staging.linked)
    carried = _carried(planned, places, delta, fresh, keys)
    made = None
    if delta is not None and not fresh and not retagging:  # as it was (but for records retitled in
        made = functools.partial(planned.delta_again, snapshot.delta, inputs)  # place: made again, see above)
    elif fresh or tags is not None:  # (the figures planned again, even if no page changed)
        made = functools.partial(_delta_file, planned, places, snapshot.made_by, inputs,
                                 Delta(site.stats, carried, tags, naming, record_digests(site.stats["goals"], seen)),
                                 snapshot.naming, fresh, edited)
    caches.output = inputs
    _save_caches(store, caches, edited=changed, delta=made)
    return BuildResult(out, len(planned), site, [planned, env, snapshot])


@contextlib.contextmanager
def _meanwhile(work: Callable[[], None]):
    """`work` done in a thread while the block runs, waited for as it ends (what it raised raised
    then, unless the block raised): for work that is mostly the kernel's, copying files, which
    then goes on while the block runs Python (an edit's search index at 10,000 sessions: 2 x 9 MB
    copied, 10-20 ms, while the pages render)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # raised again in the thread that waits
            failed.append(exc)

    thread = threading.Thread(target=run, name="mastery-site meanwhile", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _edited_since(sessions: list[Session], keys: list[bytes], caches: Caches) -> list[Session]:
    """The sessions shown that were edited in place since the snapshot (`keys`: each one's key
    then), in order: looked for among the files `caches.edited` names, not by comparing every
    session's key (at 10,000 sessions, 8-10 ms of every edit: they are scattered in memory,
    while their places by identity need only the list)."""
    place = {id(s): n for n, s in enumerate(sessions)}
    found = []
    for source in caches.edited:
        known = caches.files.get(source)
        n = place.get(id(known[1].entry)) if known is not None else None
        if n is not None and sessions[n].key != keys[n]:
            found.append(n)
    return [sessions[n] for n in sorted(found)]


def _refigured(site: Site, caches: Caches, planned: Plan, places: dict[str, int], goals: set[str | None],
               since: list[Session], feedback: bool, scope: tuple, changed: bool,
               seen: dict) -> tuple[Site, set[str], dict[str, bytes], list[PageSpec]]:
    """The site with the figures of `goals` made again, sessions of theirs (`since`) having had
    theirs edited in place, the files of the pages to render for that: if they `changed` the
    figures (or the titles they copy), those planned again (see pages.replan) whose
    fingerprint is not the one of the page in `out` (else the site in `out` has the figures
    as they are: ~30 ms less at 10,000 sessions), those fingerprints, by file, and the pages
    planned again (the feedback page only if sessions' `feedback` may have changed). The goals
    of sessions retitled are made again and planned again too: their wins and lessons copy
    the titles (no need for aggregate.retitle). `seen`: see pages.fingerprint, filled."""
    before = site.stats
    site = dataclasses.replace(site, stats=refigure(site.portfolio, site.stats, goals))
    fresh = replan(planned, places, site.portfolio, site.stats, site.today, {}, goals, {s.source for s in since},
                   feedback, before)
    scope_digest = hashlib.blake2b(repr(scope).encode(), digest_size=16).digest()  # see render_reusing
    keys = {spec.file: scope_digest + spec.digest(seen) for spec in fresh} if changed else {}
    return site, {file for file, key in keys.items() if caches.pages.get(file) != key}, keys, fresh


def _retagged(site: Site, caches: Caches, planned: Plan, edited: list, retagged: set[str],
              moved: bool) -> tuple[set[str], list[PageSpec]]:
    """The plan with its tag pages as they are now, sessions' tags having been edited in place
    (see pages.retag: `moved`, only those of this edit, the plan's tag pages being those before
    it), and the files to render: the index of tags, the pages of the tags the sessions
    `edited` have, or had before this edit (`retagged`: see Leeway), and the sitemap when the
    site in `out` has other tag pages (forgotten by the cache: gone); and the tag pages."""
    shown = {id(session) for session in site.portfolio.sessions}  # not a private one in a public site
    sessions = [entry for entry in edited if type(entry) is Session and id(entry) in shown]
    fresh = retag(planned, site.portfolio, sessions, retagged) if moved else retag(planned, site.portfolio)
    tags = {spec.file for spec in fresh[1:]}  # after the index of tags
    live = {file for file in caches.pages if file.startswith("tags/") and file != "tags/index.html"}
    for gone in live - tags:
        del caches.pages[gone]
    names = retagged.union(*(session.tags for session in sessions))
    render = tag_page_files(names) & tags | {"tags/index.html"}
    return render | {"sitemap.xml"} if live != tags else render, fresh


def _apply_delta(planned: Plan, delta: Delta | None) -> dict[str, int]:
    """The snapshot's plan as the edits in place since it left it (see snapshot.Delta), if
    any; returned: each page's place in it, by file."""
    if delta is not None and delta.tags is not None:
        put_tag_pages(planned, delta.tags)
    places = dict(zip(planned.files, range(len(planned.files)), strict=True))
    for file, spec in delta.specs.items() if delta is not None else ():
        planned[places[file]] = spec
    return places


def _delta_file(planned: Plan, places: dict[str, int], base: str, made_by: str, delta: Delta,
                snapshot_naming: dict, fresh: list[PageSpec], edited: list) -> tuple:
    """The delta this edit leaves (see snapshot.Delta), as the process saving the cache writes
    it: its naming index made there, from the one this edit used (`delta.naming`) with what
    the pages planned again now (`fresh`) and kept by the delta name (at their `places` in the
    plan; the others are the snapshot's again), the `edited` sessions' exactly, kept as what
    differs from the snapshot's (at 10,000 sessions, a key or two of 14,000)."""
    kept = [spec for spec in fresh if delta.specs.get(spec.file) is spec]
    same = [places[spec.file] for spec in fresh if delta.specs.get(spec.file) is not spec]
    naming = named_also(delta.naming, [(places[spec.file], spec) for spec in kept], delta.stats,
                        [entry for entry in edited if type(entry) is Session], same, snapshot_naming)
    delta.naming = {key: value for key, value in naming.items() if snapshot_naming.get(key, b"") != value}
    return planned.delta_file(base, made_by, delta)


def _carried(planned: Plan, places: dict[str, int], delta: Delta | None, fresh: list[PageSpec],
             keys: dict[str, bytes]) -> dict[str, PageSpec]:
    """The pages planned again since the snapshot, by file, as the delta keeps them: those of
    the last delta, and those planned again now (`fresh`), but for those whose fingerprint
    (`keys`: see _refigured) is the snapshot's page's: the same page (a difficulty edit at
    10,000 sessions plans again 122 pages, of which 7 changed, and the next edit loads
    those alone)."""
    carried = dict(delta.specs) if delta is not None else {}
    for spec in fresh:
        key = keys.get(spec.file)
        if key is not None and key[DIGEST:] == planned.saved_digest(places[spec.file]):
            carried.pop(spec.file, None)
        else:
            carried[spec.file] = spec
    return carried


def _assume_linked(staging: Staging, caches: Caches) -> None:
    """When the recycled spare is the site the live one was built beside (its pages linked from
    there), the live pages the last build did not write are the spare's own files."""
    if caches.unlinked is not None and caches.unlinked[0] is not None and caches.unlinked[0] == staging.spare_of:
        staging.assume_linked(caches.pages.keys() - caches.unlinked[1])


def _write_gone(staging: Staging, env: jinja2.Environment, site: Site, specs: list[PageSpec] | Plan) -> None:
    """Pages assumed linked (see _assume_linked) that are gone from the spare and from the live
    site: written now, as rendered."""
    gone = staging.confirm_links()
    if not gone:
        return
    files = specs.files if type(specs) is Plan else [spec.file for spec in specs]
    for n, file in enumerate(files):
        if file in gone:
            staging.write(file, render_page(env, site, specs[n]))


def _sessions_only(changed: set[str] | None) -> bool:
    return changed is not None and all(rel.startswith("content/sessions/") for rel in changed)


def _snapshot_in_step(root: Path, head: str, caches: Caches, store: Store) -> tuple[Site, list[Path], Snapshot] | None:
    """The last full build's site and snapshot, if the snapshot is the one the cache is in
    step with and still holds: same commit (sitemap dates), same templates, goals and free
    pages. Its entries are the cache's: those edited in place since it was made (see
    content.in_place_edits) are as they are now, but for the titles and descriptions of their
    pages (see Plan.refresh)."""
    snapshot = load_snapshot(store.folder, _entry_of(caches))
    if snapshot is None or snapshot.made_by != caches.snapshot or snapshot.head != head or snapshot.naming is None:
        return None
    site = Site(root, snapshot.portfolio, snapshot.stats, snapshot.today, Diagnostics(snapshot.diagnostics))
    chain = themes_of(site.root, site.portfolio.config)
    if page_scope(site, chain) != snapshot.scope:
        return None
    return site, chain, snapshot


def _take_memos(store: Store, caches: Caches) -> None:
    """The memos of planning and aggregation saved with the last full build's snapshot. Their
    entries are found among the cache's as read, so an entry read again since is no longer
    the memos' (which compare records and entries by identity): load before `load_site`."""
    memos = load_memos(store.folder, _entry_of(caches)) if caches.snapshot else None
    if memos is not None:
        caches.planned, caches.records = memos.planned, memos.records
        caches.digests = {id(record): (record, digest) for record, digest in memos.digests}


def _take_bodies(caches: Caches) -> None:
    """The rendered bodies of the cache's entries (see content.stored_body), by body key: for a
    full build, whose files read again may render the same (a front-matter edit renders none)."""
    for _, result in caches.files.values():
        body = stored_body(result.entry) if result.entry is not None else None
        if body is not None:
            caches.bodies[body_key(result.entry)] = body


def _entry_of(caches: Caches) -> Callable[[str], Goal | Session | Page]:
    """The cache's entry of a source, the path of its file in the project (the cache's key):
    looked up as the snapshot or the memos name it (see snapshot.load_snapshot), not gathered
    into a dict first (an edit at 10,000 sessions: ~10 ms less)."""
    files = caches.files

    def entry(source: str) -> Goal | Session | Page:
        found = files[source][1].entry
        if found is None:
            raise KeyError(source)
        return found

    return entry


def _cache_for(store: Store, out: Path) -> Caches:
    """The build cache, or an empty one; its page list only if it describes the site in `out`,
    its shards only if read with the same configuration."""
    index, shards = load_store(store.folder)
    caches = index if isinstance(index, Caches) else Caches(layout=SearchLayout())
    for n, shard in enumerate(shards):
        if isinstance(shard, Shard) and shard.config == caches.config:
            caches.files.update(shard.files)  # their entries hold their bodies (see content.select)
            caches.stored[n] = shard
    if caches.output != recorded_inputs(out):
        caches.pages.clear()
        caches.images.clear()
    return caches


def _save_caches(store: Store, caches: Caches, snapshot: Snapshot | None = None, memos: Memos | None = None,
                 edited: set[str] | None = None, delta: Callable[[], tuple] | None = None) -> None:
    """Write the index, the shards whose content changed since they were read, and a new
    snapshot with its memos: in a forked process, once the new site is in place (see Store.later). `edited`:
    session files changed since the cache was read, with the configuration the same; their
    shards alone can differ (their goals' are the same, and so are the goal titles in other
    sessions' entries), and the others are not compared (~70 ms)."""
    def save() -> None:
        if snapshot is not None:
            snapshot.naming = naming_index(snapshot.specs)
        caches.stamps, name, stamps = saved_stamps(caches.files, None if snapshot is not None else caches.edited,
                                                   caches.stamps)
        files = {name: (stamps, None, b"")}  # written first: see stamps.py
        shards = _shards_of(caches, edited)
        files.update((shard_file(n), _packed(shard)) for n, shard in shards.items()
                     if not _same_shard(shard, caches.stored.get(n)))
        if snapshot is not None:
            files[SNAPSHOT_FILE] = snapshot_file(snapshot, page_digests(snapshot.specs, caches.pages))
        if memos is not None:
            files[MEMO_FILE] = (memos, MEMO_REDUCERS, b"")
        if delta is not None:
            files[DELTA_FILE] = delta()
        save_store(store.folder, caches, files)

    store.later(save)


def _shards_of(caches: Caches, edited: set[str] | None = None) -> dict[int, Shard]:
    """The cache's files, with their bodies, by shard: of every shard, or only of those of the
    files `edited` since the cache was read (see _save_caches), which hold the files they held
    then and those (an edit: not asking 10,000 paths their shard, ~10 ms of the saving process)."""
    numbers = range(SHARDS) if edited is None else {shard_of(rel) for rel in edited}
    shards = {n: Shard(caches.config, {}, {}) for n in numbers}
    rels = caches.files.keys()
    if edited is not None and all(n in caches.stored for n in numbers):
        rels = [rel for n in numbers for rel in caches.stored[n].files.keys() - edited] + list(edited)
    for rel in rels:
        known = caches.files.get(rel)
        shard = shards.get(shard_of(rel)) if known is not None else None
        if shard is None:
            continue
        shard.files[rel] = known
        result = known[1]
        if result.entry is not None:
            key = body_key(result.entry)
            body = caches.bodies.get(key) or stored_body(result.entry)
            if body is not None:
                shard.bodies[key] = body
    return shards


def _same_shard(new: Shard, old: Shard | None) -> bool:
    """Whether a shard holds what it held when read. Compared by identity: an unchanged file
    keeps its entry and body from one build to the next; anything made again
    counts as changed (10,000 files compare in ~5 ms)."""
    return (old is not None and new.config == old.config and new.files.keys() == old.files.keys()
            and all(new.files[rel][1] is result and new.files[rel][0] == stamp
                    for rel, (stamp, result) in old.files.items()))


class Sink(Protocol):
    """Where a site goes: a staging directory on disk, or the dev server's memory. What is
    written is bytes, or a list of bytes written one after another (see search_files): on
    disk, spans of another file too (see output.Staging.write)."""

    def write(self, rel: str, data: bytes | list[bytes]) -> object: ...
    def copy_file(self, source: Path, rel: str) -> None: ...
    def reuse(self, rel: str, data: bytes | str) -> bool: ...


def write_site(site: Site, chain: list[Path], env: jinja2.Environment, sink: Sink, specs: list[PageSpec],
               reuse: Rendered | None = None, caches: Caches | None = None, jobs: int = 1,
               final: Path | None = None) -> list[str]:
    """Render every page planned (`specs`) and copy every asset into `sink`; returns the page files.

    With `reuse` (pages of the previous build or rebuild), a page whose inputs have the
    same fingerprint is taken from there instead of rendered; `reuse` is updated in place,
    with the bytes (the dev server) or, given `final` (the output folder after the swap),
    the file that will hold each page. Pages to render are rendered in `jobs` processes.
    `caches` (the build cache, the dev server's) keeps what the search index and the images
    need from one build to the next (see write_assets)."""
    def assets() -> None:  # written by this process while others render pages
        write_assets(site, chain, sink, caches, live=final)

    if reuse is None:
        _render_pages(site, env, specs, sink, jobs, assets)
    else:
        seen = dict(caches.digests) if caches is not None else {}
        render_reusing(site, chain, env, specs, sink, reuse, jobs, final, meanwhile=assets, seen=seen)
        if caches is not None:  # the goals' records that the next build may take again (see aggregate._record)
            records = [kept[2] for kept in caches.records.values()]
            caches.digests = {id(r): seen[id(r)] for r in records if id(r) in seen}
    return [spec.file for spec in specs]


def plan_site(site: Site, caches: Caches | None = None, head: str | None = None) -> list[PageSpec]:
    lastmod = git_lastmod(site.root, caches.lastmod if caches is not None else None, head)
    return plan(site.portfolio, site.stats, lastmod, site.today, caches.planned if caches is not None else None)


def _render_pages(site: Site, env: jinja2.Environment, specs: list[PageSpec], sink: Sink, jobs: int,
                  meanwhile: Callable[[], None] | None = None) -> None:
    """In several processes, interleaved shares (neighbouring pages cost alike), one task per
    share; in this one alone, one task per page (so that pmap sees how many pages there are).
    `meanwhile()`: see pmap."""
    if jobs > 1 and len(specs) >= MIN_ITEMS:
        shares = jobs * 32
        chunks = [range(start, len(specs), shares) for start in range(shares)]
        _compile_templates(env)
    else:
        jobs, chunks = 1, [range(i, i + 1) for i in range(len(specs))]
    found = pmap(_render_chunk, chunks, jobs, (site, env, specs, sink), min_items=1, meanwhile=meanwhile)
    errors = [d for items in found for d in items]
    if errors:
        diags = Diagnostics()
        diags.items.extend(errors)
        raise BuildError(diags)


def _compile_templates(env: jinja2.Environment) -> None:
    """Load every template now, so that forked processes inherit them compiled: each would
    compile them again (the default theme: ~90 ms, without the build cache's bytecode)."""
    for name in env.list_templates():
        with contextlib.suppress(Exception):  # reported with its place when a page uses it (render_page)
            env.get_template(name)


def _render_chunk(shared: tuple, indices: range) -> list[Diagnostic]:
    """Render and write some pages (maybe in a forked process); errors come back as diagnostics."""
    site, env, specs, sink = shared
    try:
        for i in indices:
            sink.write(specs[i].file, render_page(env, site, specs[i]))
    except BuildError as exc:
        return exc.diagnostics.items
    return []


class Interrupted(Exception):
    """A newer edit arrived: this rendering pass is no longer worth finishing."""


def render_reusing(site: Site, chain: list[Path], env: jinja2.Environment, specs: list[PageSpec], sink: Sink,
                   reuse: Rendered, jobs: int, final: Path | None, stop=None,
                   meanwhile: Callable[[], None] | None = None, seen: dict | None = None) -> None:
    """Render the pages whose key changed; take the others from `reuse`. A page's key is the
    digest of the page scope and its own (PageSpec.digest); pages of volatile templates have
    none. `reuse` is updated only when all pages are done; `stop()` true now and then raises
    Interrupted. `meanwhile()` is called once, while pages are rendered (see pmap) or after.
    `seen`: the digests of big values (see pages.fingerprint), maybe some of the last build's
    (a goal's record, while the same object, is summed up once: 20 records, 11 ms)."""
    scope = page_scope(site, chain)
    volatile = template_reads(env, scope).volatile
    scope = hashlib.blake2b(repr(scope).encode(), digest_size=16).digest()
    fresh: Rendered = {}
    todo: list[PageSpec] = []
    seen = seen if seen is not None else {}
    for n, spec in enumerate(specs):
        if stop is not None and n % 128 == 0 and stop():
            raise Interrupted
        key = scope + spec.digest(seen) if spec.template not in volatile else None
        file = spec.file
        old = reuse.get(file)
        if key is not None and old is not None and old[0] == key and sink.reuse(file, old[1]):
            fresh[file] = old
            continue
        if final is None:
            if stop is not None and stop():  # a page may take 50 ms: ask before each
                raise Interrupted
            data = render_page(env, site, spec)
            sink.write(file, data)
            fresh[file] = (key, data)
        else:
            todo.append(spec)
            fresh[file] = (key, os.path.join(final, file))
    if todo:
        _render_pages(site, env, todo, sink, jobs, meanwhile)
    elif meanwhile is not None:
        meanwhile()
    reuse.clear()
    reuse.update(fresh)


def write_assets(site: Site, chain: list[Path], sink: Sink, caches: Caches | None, search: bool = True,
                 live: Path | str | None = None, edited: list[tuple[bytes, Goal | Session | Page]] | None = None,
                 ) -> None:
    """Everything but the pages: search index (unless not `search`), images, theme and
    project static files. `live`: the site in the output folder, before the swap, whose search
    index the build cache's is copied from in part (see _write_search_reusing, for `edited` too)."""
    if search and caches is not None and caches.layout is not None:
        _write_search_reusing(site, sink, caches.layout, live, edited)
    elif search:
        for rel, data in search_files(site, caches).items():
            sink.write(rel, data)
    sink.write(".nojekyll", b"")  # GitHub Pages: serve the site as it is
    _copy_images(sink, site, caches.images if caches is not None and live is not None else None, live,
                 same=edited is not None)
    for theme in reversed(chain):  # a child theme's assets override its parent's
        for rel, path in static_files(theme / "static", theme)[0]:
            sink.copy_file(path, f"assets/{rel}")
    files, skipped = static_files(site.root / "static", site.root)
    for rel, path in files:
        sink.copy_file(path, rel)
    for rel in skipped:
        site.diagnostics.warning(Where(f"static/{rel}"), "a symlink out of the project; not copied")


SEARCH_FILES = ("search-index.json", "search-index.js")
_NOTE = b"// The index starts a page into this file: it is copied page by page.\n"
_ASSIGN = b"window.MASTERY_SEARCH_INDEX = "
SCRIPT_HEAD = _NOTE + b" " * (4096 - len(_NOTE) - len(_ASSIGN)) + _ASSIGN  # the search index's, as a script: its
# head fills a page (4096 bytes), so the index after it lies where it lies in the JSON file, a page boundary at a
# page boundary, and the kernel copies the parts an edit keeps page by page (at 10,000 sessions, 9 MB: 9 ms, not
# 15 at 30 bytes in)


def search_files(site: Site, caches: Caches | None) -> dict[str, list[bytes]]:
    """The search index, as JSON for the search page and as a script for file:// browsing,
    each in parts (see pages.search_index)."""
    return _as_search_files(search_index(site.portfolio, caches.search if caches else None))


def _as_search_files(index: list) -> dict[str, list]:
    return dict(zip(SEARCH_FILES, (index, [SCRIPT_HEAD, *index, b";\n"]), strict=True))


def _write_search_reusing(site: Site, sink: Sink, layout: SearchLayout, live: Path | str | None,
                          edited: list[tuple[bytes, Goal | Session | Page]] | None = None) -> None:
    """The search index of a build with the build cache: the parts of entries unchanged since
    the last build copied from its index in `live`, if that is the file the last build wrote
    (see pages.search_index_reusing; or, after an edit in place, pages.search_index_edited,
    given the entries `edited` with their keys before); `layout` then describes the index written.
    An index the same as that one (after a difficulty edit, say) is linked from `live` with its
    script, as unchanged pages are (at 10,000 sessions, 2 x 9 MB: 10-25 ms less)."""
    handle = _last_index(layout, live)
    try:
        fd = handle.fileno() if handle is not None else None
        if fd is not None and edited is not None:
            index = search_index_edited(site.portfolio, layout, fd, edited)
        else:
            index = search_index_reusing(site.portfolio, layout, fd)
        if fd is not None and index == [Span(fd, 0, os.fstat(fd).st_size)] and \
                all(sink.reuse(rel, os.path.join(live, rel)) for rel in SEARCH_FILES):
            layout.file = identity(os.stat(os.path.join(live, SEARCH_FILES[0])))  # linked (its ctime changed)
            return
        written = {rel: sink.write(rel, data) for rel, data in _as_search_files(index).items()}
    finally:
        if handle is not None:
            handle.close()
    layout.file = written[SEARCH_FILES[0]]


def _last_index(layout: SearchLayout, live: Path | str | None):
    """The search index in `live`, open, if it is the file `layout` describes, as written."""
    if live is None or layout.file is None:
        return None
    try:
        handle = open(os.path.join(live, SEARCH_FILES[0]), "rb")
    except OSError:
        return None
    if identity(os.fstat(handle.fileno())) == layout.file:
        return handle
    handle.close()  # changed since, or another site's
    return None


def page_scope(site: Site, chain: list[Path]) -> tuple:
    """What every page may read besides its own context: config, templates, goals and free pages."""
    portfolio = site.portfolio
    return (repr(portfolio.config), portfolio.audience, template_files(site, chain), source_date(),
            tuple(g.key for g in portfolio.goals.values()), tuple(p.key for p in portfolio.pages.values()))


def template_files(site: Site, chain: list[Path]) -> tuple[tuple[str, int], ...]:
    """(path, mtime) of every template file the site may use, project overrides first."""
    folders = [site.root / "templates", *(theme / "templates" for theme in chain)]
    return tuple((p.as_posix(), p.stat().st_mtime_ns) for folder in folders if folder.is_dir()
                 for p in sorted(folder.rglob("*")) if p.is_file())


def _copy_images(sink: Sink, site: Site, kept: dict[str, tuple] | None = None,
                 live: Path | str | None = None, same: bool = False) -> None:
    """Copy every shown image; outside private builds, location data is stripped first. With
    `kept` (the build cache's: each image file of the site in `live` and the source it was
    made from, as it was then), an image whose source is unchanged is taken from there, like
    an unchanged page (a portfolio's photos were read, stripped and written by every edit);
    `kept` then describes the new site's. `same`: the site shows the images of the site in
    `live` (an edit in place adds and removes none), found in `kept`, not among the entries
    (at 10,000 sessions, 5 ms)."""
    if same and kept is not None and None not in kept.values():
        images = [(path, Path(source[0])) for path, source in kept.items()]
    else:
        images = [(image.path, image.source) for image in images_of(site.portfolio)]
    made = {}
    for path, image in images:
        if path in made:  # shown twice (a body naming it twice): copied once
            continue
        try:
            source = (str(image), *identity(os.stat(image)))
        except OSError:
            source = None  # gone since it was checked: copying it says so
        if source is not None and kept is not None and kept.get(path) == source \
                and sink.reuse(path, os.path.join(live, path)):
            made[path] = source
            continue
        stripped = without_location(image) if site.portfolio.audience != "private" else None
        if stripped is None:
            sink.copy_file(image, path)
        else:
            sink.write(path, stripped)
        made[path] = source
    if kept is not None:
        kept.clear()
        kept.update(made)


def themes_of(root: Path, config: Config) -> list[Path]:
    diags = Diagnostics()
    chain = theme_chain(root, config.theme, diags)
    if diags.errors:
        raise BuildError(diags)
    return chain


def environment_of(site: Site, chain: list[Path], env: jinja2.Environment | None = None,
                   reload: bool = True) -> jinja2.Environment:
    """The Jinja environment with this site's globals; an `env` given is reused (its compiled
    templates too: with `reload`, Jinja notices edited template files by their mtime)."""
    env = env if env is not None else environment(site.root, chain, reload)
    config = site.portfolio.config
    env.globals.update(
        site=config,
        audience=site.portfolio.audience,
        noindex=site.portfolio.audience != "public",
        stats=site.stats,
        today=site.today,
        goals=site.portfolio.goals,
        free_pages=list(site.portfolio.pages.values()),
        pictures=Pictures(site.portfolio, site.stats, site.today),
        generator=f"mastery-site {__version__}",
        build_date=source_date(),
    )
    return env


@dataclass(frozen=True, slots=True)
class PageInfo:
    """`page` in templates. Attributes, not a dict: Jinja's `page.path` tries an attribute
    first, and a dict's missing attribute costs an exception on every use."""

    path: str
    root: str  # the site root from this page: "../../", or base_url where links are absolute
    title: str
    description: str | None
    image: str | None

    def __getitem__(self, key: str):  # `page["path"]` still works in custom templates
        return getattr(self, key)


def render_page(env: jinja2.Environment, site: Site, spec: PageSpec) -> bytes:
    try:
        template = env.get_template(spec.template)
        page = PageInfo(spec.path, _root_of(site, spec), spec.title, spec.description, spec.image)
        html = template.render(page=page, **spec.context)
    except Exception as exc:  # a theme or override template bug: report it, never a traceback
        diags = Diagnostics()
        diags.error(_template_where(site.root, exc, spec.template),
                    f"template error while rendering /{spec.path}: {type(exc).__name__}: {exc}")
        raise BuildError(diags) from None
    return html.encode("utf-8")


def _root_of(site: Site, spec: PageSpec) -> str:
    """`page.root`: what links from this page start with (base_url on pages with absolute links)."""
    return site.portfolio.config.base_url if spec.context.get("absolute_links") else root_from(spec.path)


def _template_where(root: Path, exc: Exception, template: str) -> Where:
    """The innermost template line in the traceback (Jinja maps frames back to template files)."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.endswith(".py") and Path(name).is_file():
            filename, line = name, tb.tb_lineno
        tb = tb.tb_next
    path = Path(filename or template)
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return Where(shown, line or 1)
