"""The persistent build cache: one edited session re-renders its pages and links the rest;
a corrupt or foreign cache is ignored, and the output never depends on the cache."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mastery_site.build
import mastery_site.cache
import mastery_site.content
import mastery_site.markup
import mastery_site.output
import mastery_site.pages
import mastery_site.snapshot
from conftest import EDITS, REPO, apply_edit, git, saved, site_files, write_tree
from mastery_site.cache import shard_file, shard_of

SESSION = "content/sessions/2026/2026-11-21-framed.md"
PREVIOUS = "content/sessions/2026/2026-10-04-plein-air.md"  # the session before SESSION on its goal
SETBACK = "content/sessions/2026/2026-10-02-cfp-rejected.md"
HARD_WIN = "content/sessions/2026/2026-07-15-demo-take-two.md"  # an earlier win on SETBACK's page
LANDSCAPE = "content/sessions/2026/2026-09-13-small-landscape.md"  # a hard success with feedback
# more than a title and figures (its visibility, written): everything is loaded and planned again (see
# build._edit_sessions)
FRONT_MATTER = ('title: "Framed it"\ngoal: watercolour\ndifficulty: 2',
                'title: "Framed at last"\ngoal: watercolour\ndifficulty: 3\nvisibility: public')


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # this test's own signing key
    root = tmp_path / "p"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copy(REPO / "mastery.yaml", root / "mastery.yaml")
    return root


def inode(path):
    return os.stat(path).st_ino


def edit(project, rel=SESSION, old="Simple oak frame", new="A simple oak frame"):
    path = project / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_edit_reuses_unchanged_pages_and_matches_a_full_build(project, cli, tmp_path):
    assert cli("build", project).code == 0
    saved(project)
    stores = list((project / ".mastery-cache").glob("build-*"))
    assert len(stores) == 1 and (project / ".mastery-cache/.gitignore").read_text() == "*\n"
    written = {path.name: path.stat().st_mtime_ns for path in stores[0].iterdir()}
    site = project / "_site"
    untouched = site / "sessions/2026-06-03-first-run-in-years/index.html"
    before = inode(untouched)
    edit(project)
    assert cli("build", project).code == 0
    assert inode(untouched) == before  # hard-linked from the previous site, not rewritten
    saved(project)
    rewritten = [path.name for path in stores[0].iterdir() if path.stat().st_mtime_ns != written.get(path.name)]
    # the index, the one shard of the edited file, the stamps of the files edited in place (see stamps.py),
    # and the manifest that vouches for the files just checked
    assert sorted(rewritten) == ["index.bin", "manifest.bin", shard_file(shard_of(SESSION)), "stamps-edited.bin"]
    assert "A simple oak frame" in (site / "sessions/2026-11-21-framed/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(site) == site_files(tmp_path / "full")


def build_in_steps(project, cli, tmp_path, monkeypatch, steps) -> None:
    """Each step an edit (file, old text, new text, whether it is built in place, from the
    last plan), then a build with the cache that must equal a --no-cache build."""
    for rel, old, new, in_place in steps:
        edit(project, rel, old, new)
        with monkeypatch.context() as patched:
            if in_place:
                patched.setattr(mastery_site.build, "load_site", lambda *a, **k: pytest.fail("all was loaded again"))
                patched.setattr(mastery_site.build, "search_index_reusing",
                                lambda *a, **k: pytest.fail("every entry was walked for the search index"))
            assert cli("build", project).code == 0
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        assert site_files(project / "_site") == site_files(tmp_path / "full"), (rel, old)


def build_rendering(project, cli, monkeypatch) -> list[str]:
    """Build with the cache; the pages rendered (not linked from the last site)."""
    rendered = []
    render = mastery_site.build.render_page
    with monkeypatch.context() as patched:
        patched.setattr(mastery_site.build, "render_page",
                        lambda env, site, spec: rendered.append(spec.file) or render(env, site, spec))
        assert cli("build", project).code == 0
    return rendered


def test_body_edits_are_built_from_the_last_plan_and_equal_a_full_build(project, cli, tmp_path, monkeypatch):
    """Sessions' bodies alone edited: the last full build's model and plan are reused (nothing
    is loaded, checked, aggregated or planned again). The site equals a full build after each
    of several such edits in a row (a page rendered again because its neighbour was edited
    keeps the description of its own current body) and after a front-matter edit between
    them, which builds everything."""
    assert cli("build", project).code == 0
    steps = [(SESSION, "Simple oak frame", "Plain oak frame", True),
             (PREVIOUS, "The light changed", "Light changed", True),  # SESSION's page names it
             (SETBACK, "PyCon proposal declined.", "The PyCon proposal was declined.", True),
             (SETBACK, "difficulty: 3", "difficulty: 2", False),
             (SESSION, "Plain oak frame", "Oak frame", True)]
    build_in_steps(project, cli, tmp_path, monkeypatch, steps)
    assert "Light changed" in (project / "_site/sessions/2026-10-04-plein-air/index.html").read_text()


def test_edits_in_place_to_several_sessions_at_once_equal_a_full_build(project, cli, tmp_path, monkeypatch):
    """Several sessions edited in one build, one part of the search index longer, one shorter,
    one the same length: the parts after each move by what came before them, in this build
    and the next."""
    assert cli("build", project).code == 0
    edit(project, SESSION, "Simple oak frame", "A simple oak frame, sanded twice and oiled")
    edit(project, PREVIOUS, "The light changed every ten minutes.", "Light.")
    edit(project, SETBACK, 'title: "Conference proposal rejected"', 'title: "Conference proposal refused"')
    build_in_steps(project, cli, tmp_path, monkeypatch, [(SESSION, "sanded twice", "sanded thrice", True),
                                                         (PREVIOUS, "Light.", "Light, then rain.", True)])
    index = (project / "_site/search-index.json").read_text()
    assert "sanded thrice" in index and "rain" in index and "Conference proposal refused" in index


def test_an_edit_in_place_of_a_session_not_shown_keeps_the_search_index(project, cli, tmp_path, monkeypatch):
    """A session whose goal the public edition does not show is edited in place: it is not in
    the search index before, nor after (found by test_any_edits_build_what_a_full_build_builds)."""
    assert cli("build", project).code == 0
    hidden = "content/sessions/2026/2026-10-06-the-conversation.md"  # its goal is the mentor's
    build_in_steps(project, cli, tmp_path, monkeypatch, [(hidden, "\n---\n", "\n---\nEdited first. ", True),
                                                         (SESSION, "Simple oak frame", "Plain oak frame", True)])


def test_a_body_edit_looks_up_the_pages_naming_it_in_the_snapshot(project, cli, tmp_path, monkeypatch):
    """The snapshot keeps which pages name each entry (pages.naming_index, made by the process
    that saves it): a body edit walks no page's context to find the pages to render again."""
    assert cli("build", project).code == 0
    edit(project)
    with monkeypatch.context() as patched:
        patched.setattr(mastery_site.pages, "naming_index", lambda specs: pytest.fail("every context walked"))
        patched.setattr(mastery_site.build, "load_site", lambda *a, **k: pytest.fail("all was loaded again"))
        assert cli("build", project).code == 0
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_a_body_edit_renders_the_pages_reading_the_body_and_unpickles_those_naming_it(project, cli, tmp_path,
                                                                                      monkeypatch):
    """The snapshot's pages are pickled one by one (see snapshot.Plan): a body edit unpickles
    those naming the session, not every page of the plan, and they hold the snapshot's own
    entries and goals' records, not copies. Of those, it renders the ones whose template reads
    the session's body: its own page and the feeds, not the dashboard, its goal's page or its
    tags' pages, which list its title."""
    assert cli("build", project).code == 0
    edit(project)
    unpickled, rendered, sites = [], [], []
    unpickle, render = mastery_site.snapshot.unpickled, mastery_site.build.render_page

    def rendering(env, site, spec):
        rendered.append(spec.file)
        sites.append(site)
        return render(env, site, spec)

    with monkeypatch.context() as patched:
        patched.setattr(mastery_site.snapshot, "unpickled", lambda *a: unpickled.append(unpickle(*a)) or unpickled[-1])
        patched.setattr(mastery_site.build, "render_page", rendering)
        assert cli("build", project).code == 0
    assert sorted(rendered) == ["feed.xml", "goals/watercolour/feed.xml", "sessions/2026-11-21-framed/index.html"]
    files = {spec.file for spec in unpickled}
    assert set(rendered) < files and {"index.html", "goals/watercolour/index.html", "tags/painting/index.html"} < files
    assert len(unpickled) < len(list((project / "_site").rglob("*.html"))) / 4
    dashboard, = (spec for spec in unpickled if spec.file == "index.html")
    records, sessions = sites[0].stats["goals"], sites[0].portfolio.sessions
    shared = [any(r is record for r in records) for _, record in dashboard.context["cards"]]
    shared += [any(s is session for s in sessions) for session in dashboard.context["recent"]]
    assert shared and all(shared)
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_a_body_edit_renders_the_pages_of_a_template_reading_bodies_in_a_list(project, cli, tmp_path):
    """A custom timeline showing each session's summary reads every listed session's body:
    its pages are rendered again after a body edit (the default one lists titles); so are a
    tag's pages including, by a name made as they render, a template that does; and a
    session's own page, whose description is its body's start, whatever its template reads."""
    (project / "templates").mkdir()
    (project / "templates/timeline.html").write_text(
        "{% for s in sessions %}{{ s.title }}: {{ s.text | summary }}\n{% endfor %}")
    (project / "templates/tag.html").write_text('{% set part = "summaries" %}{% include part ~ ".html" %}')
    (project / "templates/summaries.html").write_text("{% for s in tag.sessions %}{{ s.text | summary }}\n{% endfor %}")
    (project / "templates/session.html").write_text("{{ page.title }}: {{ page.description }}\n")
    assert cli("build", project).code == 0
    edit(project, old="Simple oak frame", new="Plain oak frame")
    assert cli("build", project).code == 0
    assert "Plain oak frame" in (project / "_site/timeline/index.html").read_text()
    assert "Plain oak frame" in (project / "_site/tags/painting/index.html").read_text()
    assert "Plain oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_shards_keep_the_rendered_bodies_in_their_tails_alone(project, cli, tmp_path):
    """A shard's pickle holds no rendered body, nor an index of them: each entry says where
    its body is in the file's tail (see build._packed), also once a build read that body (to
    render its page) and saved the shard again; a build takes the bodies from there."""
    assert cli("build", project).code == 0
    edit(project)
    assert cli("build", project).code == 0
    edit(project, SESSION, *FRONT_MATTER)  # a full build, rendering pages in this process
    assert cli("build", project, "-j", "1").code == 0
    saved(project)
    index, shards = mastery_site.cache.load_store(next((project / ".mastery-cache").glob("build-*")))
    shown = [result.entry for shard in shards for _, result in shard.files.values() if result.entry is not None
             and (project / "_site" / mastery_site.content.folder_of(result.entry) / "index.html").is_file()]
    assert shown and all(shard.bodies == {} for shard in shards)
    assert [entry.source for entry in shown if "stored" not in vars(entry) or "html" in vars(entry)] == []
    edit(project, SESSION, *FRONT_MATTER[::-1])
    assert cli("build", project).code == 0
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_title_edits_are_built_from_the_last_plan_and_equal_a_full_build(project, cli, tmp_path, monkeypatch):
    """Sessions' titles (and bodies) alone edited: the last full build's model and plan are
    reused, with the wins and lessons that copy the titles made again, and the copies the
    plan's pages hold changed too (a setback's page shows its goal's earlier wins). The site
    equals a full build after each edit, and after the full builds that follow them, which
    take the last full build's memos: a goal's record and its setbacks' earlier wins are made
    again once one of its sessions is another version, even though the same object."""
    assert cli("build", project).code == 0
    steps = [(SESSION, *FRONT_MATTER, False),  # SETBACK's page and its earlier wins from the memos: copies
             (HARD_WIN, "Team demo, take two", "Second team demo", True),
             (HARD_WIN, "Second team demo", "Team demo, take two", True),  # the title in the last plan again
             (HARD_WIN, "Team demo, take two", "Second team demo", True),
             (SESSION, *FRONT_MATTER[::-1], False),  # HARD_WIN's goal's record and SETBACK's wins made again
             (SETBACK, "Conference proposal rejected", "Proposal turned down", True),  # a lesson
             (SESSION, "Simple oak frame", "Oak frame", True),  # a body, the title above still edited
             (HARD_WIN, "Second team demo", "The team demo again", True)]
    build_in_steps(project, cli, tmp_path, monkeypatch, steps)
    setback = (project / "_site/sessions/2026-10-02-cfp-rejected/index.html").read_text()
    assert "The team demo again" in setback and "Proposal turned down" in setback
    assert "Proposal turned down" in (project / "_site/lessons/index.html").read_text()
    assert "The team demo again" in (project / "_site/wins/index.html").read_text()


def test_a_title_edit_renders_the_wins_page_only_while_the_session_is_a_win(project, cli, tmp_path, monkeypatch):
    """A hard success rated easier in place is no longer on the wins page, planned again then:
    its next title edit does not render that page, which the snapshot's naming index still
    holds it on (see pages.named_also). Titled and rated as before, the wins page is the
    snapshot's again, and shows the session's next title."""
    dry_run = "content/sessions/2026/2026-11-18-full-dry-run.md"  # a hard success, no milestone
    assert cli("build", project).code == 0
    build_in_steps(project, cli, tmp_path, monkeypatch, [(dry_run, "difficulty: 4", "difficulty: 2", True)])
    assert "Full 20-minute dry run" not in (project / "_site/wins/index.html").read_text()
    edit(project, dry_run, "Full 20-minute dry run", "Dry run")
    rendered = build_rendering(project, cli, monkeypatch)
    assert "goals/public-speaking/index.html" in rendered and "wins/index.html" not in rendered
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")
    steps = [(dry_run, "Dry run", "Full 20-minute dry run", True), (dry_run, "difficulty: 2", "difficulty: 4", True),
             (dry_run, "Full 20-minute dry run", "The whole dry run", True)]
    build_in_steps(project, cli, tmp_path, monkeypatch, steps)
    assert "The whole dry run" in (project / "_site/wins/index.html").read_text()


def test_a_title_edit_of_a_milestone_session_leaves_the_wins_page(project, cli, tmp_path, monkeypatch):
    """A milestone reached is a win titled by its rung, not its session: retitling the session
    that reached it (not a hard success) renders neither the wins page nor the pages of the
    site-wide figures again, which are unchanged."""
    assert cli("build", project).code == 0
    wins = (project / "_site/wins/index.html").read_text()
    assert "sessions/2026-11-21-framed/" in wins and "Framed it" not in wins
    edit(project, SESSION, 'title: "Framed it"', 'title: "Framed, finally"')
    rendered = build_rendering(project, cli, monkeypatch)
    assert "sessions/2026-11-21-framed/index.html" in rendered and "wins/index.html" not in rendered
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_a_difficulty_edit_plans_again_the_pages_of_the_setbacks_after_it_only(project, cli, tmp_path, monkeypatch):
    """A setback's page shows its goal's wins up to its day and the comebacks before it: a hard
    success rated anew after it leaves it as it was, not planned again (see
    pages._unchanged_before); one before it, no longer a hard success, is no longer on it. The
    lessons, which no difficulty changes, are not planned again either; the wins are."""
    dry_run = "content/sessions/2026/2026-11-18-full-dry-run.md"  # a hard success after SETBACK
    assert cli("build", project).code == 0
    shown = "Hard session done: <strong>Team demo, take two</strong>"  # HARD_WIN, before SETBACK
    assert shown in (project / "_site/sessions/2026-10-02-cfp-rejected/index.html").read_text()
    planned: list[str] = []
    hard_things, digest = mastery_site.pages._hard_things_before, mastery_site.pages.PageSpec.digest
    for rel, old, new, again in [(dry_run, "difficulty: 4", "difficulty: 5", False),
                                 (HARD_WIN, "difficulty: 4", "difficulty: 2", True)]:
        edit(project, rel, old, new)
        planned.clear()
        with monkeypatch.context() as patched:
            patched.setattr(mastery_site.pages, "_hard_things_before",
                            lambda setback, *rest: planned.append(setback.slug) or hard_things(setback, *rest))
            patched.setattr(mastery_site.pages.PageSpec, "digest",
                            lambda spec, seen: planned.append(spec.file) or digest(spec, seen))
            assert cli("build", project).code == 0
        assert ("2026-10-02-cfp-rejected" in planned) == again, rel
        assert "wins/index.html" in planned and "lessons/index.html" not in planned
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        assert site_files(project / "_site") == site_files(tmp_path / "full")
    assert shown not in (project / "_site/sessions/2026-10-02-cfp-rejected/index.html").read_text()


def test_a_page_an_edit_planned_again_and_rendered_is_kept_by_the_next(project, cli, tmp_path, monkeypatch):
    """A goal's page, planned again and rendered after a difficulty edit of one of its sessions,
    keeps its fingerprint in the cache: a difficulty edit in another goal, which plans it again
    too (its goal's figures were edited since the last full build), links it unchanged."""
    assert cli("build", project).code == 0
    build_in_steps(project, cli, tmp_path, monkeypatch, [(SETBACK, "difficulty: 3", "difficulty: 4", True)])
    goal_page = project / "_site/goals/public-speaking/index.html"
    before = inode(goal_page)
    build_in_steps(project, cli, tmp_path, monkeypatch, [(SESSION, "difficulty: 2", "difficulty: 3", True)])
    assert inode(goal_page) == before


def test_figure_edits_are_built_from_the_last_plan_and_equal_a_full_build(project, cli, tmp_path, monkeypatch):
    """Sessions' figures (difficulty, metrics, outcome...) edited on their lines: the last full
    build's model and plan are reused, with the figures of their goals and of the site made
    again and the pages reading them planned again (a setback's page shows its goal's earlier
    wins: a hard success is one); so are bodies and titles edited after them, the figures
    still as edited. The site equals a full build after each edit, a template reading the
    site's figures (not its page's context) too."""
    (project / "templates").mkdir()
    (project / "templates/robots.txt").write_text("{% for win in stats.wins %}{{ win.get('title') }}\n{% endfor %}"
                                                  "{{ stats.minutes }} minutes\n")
    assert cli("build", project).code == 0
    steps = [(HARD_WIN, "difficulty: 4", "difficulty: 2", True),  # no longer a hard success
             (HARD_WIN, "duration: 20", "duration: 200", True),  # its goal's, its area's and the site's minutes
             (SESSION, "Simple oak frame", "Plain oak frame", True),  # a body: the figures as edited
             (HARD_WIN, "filler_words: 7", "filler_words: 1", True),  # a personal best now
             (SESSION, "difficulty: 2", "difficulty: 5", True),  # a hard success on another goal
             (HARD_WIN, "Team demo, take two", "Second team demo", True),  # a title: its wins copy it
             (SETBACK, "outcome: setback", "outcome: partial", True),  # no lesson, no comeback any more
             (SETBACK, "outcome: partial", "outcome: setback", True),
             (HARD_WIN, "difficulty: 2", "difficulty: 4", True)]
    build_in_steps(project, cli, tmp_path, monkeypatch, steps)
    wins = (project / "_site/wins/index.html").read_text()
    assert "Second team demo" in wins and "Framed it" in wins
    assert "Second team demo" in (project / "_site/sessions/2026-10-02-cfp-rejected/index.html").read_text()
    assert "Second team demo" in (project / "_site/robots.txt").read_text()


def test_an_edit_after_figure_and_tag_edits_makes_again_only_what_it_edits(project, cli, tmp_path, monkeypatch):
    """The figures, pages and tag pages that edits in place made since the last full build are
    kept with the cache (a delta beside its snapshot): a later edit starts from them and makes
    again only its own, a body edit neither figures nor pages nor tag pages, a difficulty edit
    its own goal's figures alone. The site equals a full build after each edit."""
    assert cli("build", project).code == 0
    build_in_steps(project, cli, tmp_path, monkeypatch,
                   [(HARD_WIN, "difficulty: 4", "difficulty: 2", True),  # no longer a hard success
                    (SETBACK, "tags: [speaking, conference]\n", "tags: [conference]\n", True)])
    made = []

    def watched(name, real):
        return lambda *a: made.append((name, a[2] if name == "refigure" else None)) or real(*a)

    for name in ("refigure", "replan", "retag"):
        monkeypatch.setattr(mastery_site.build, name, watched(name, getattr(mastery_site.build, name)))
    build_in_steps(project, cli, tmp_path, monkeypatch, [(SESSION, "Simple oak frame", "Plain oak frame", True)])
    assert made == []
    build_in_steps(project, cli, tmp_path, monkeypatch, [(SESSION, "difficulty: 2", "difficulty: 5", True)])
    assert made == [("refigure", {"watercolour"}), ("replan", None)]
    wins = (project / "_site/wins/index.html").read_text()
    assert "Framed it" in wins and "Team demo, take two" not in wins


def test_a_delta_keeps_only_the_pages_an_edit_changed(project, cli, tmp_path, monkeypatch):
    """A figures edit plans again every page reading its goal's or the site's figures, most of
    them the snapshot's very pages: the delta keeps only those whose fingerprint changed, and
    the next edit takes those alone. The site equals a full build after each edit."""
    assert cli("build", project).code == 0
    replanned, applied = [], []
    replan, apply_delta = mastery_site.build.replan, mastery_site.build._apply_delta

    def replanning(*args):
        fresh = replan(*args)
        replanned.extend(spec.file for spec in fresh)
        return fresh

    def applying(planned, delta):
        applied.extend(delta.specs if delta is not None else ())
        return apply_delta(planned, delta)

    monkeypatch.setattr(mastery_site.build, "replan", replanning)
    monkeypatch.setattr(mastery_site.build, "_apply_delta", applying)
    build_in_steps(project, cli, tmp_path, monkeypatch, [(HARD_WIN, "difficulty: 4", "difficulty: 2", True),
                                                         (SESSION, "Simple oak frame", "Plain oak frame", True)])
    assert "goals/public-speaking/index.html" in applied and "wins/index.html" in applied
    assert set(applied) < set(replanned), (applied, replanned)


def test_a_figures_edit_sums_up_only_the_goal_records_it_makes_again(project, cli, tmp_path, monkeypatch):
    """The fingerprints of the goals' records, which the pages of the site's figures hold (the
    dashboard, the goals page, the areas), are kept with the snapshot and the delta: an edit
    of a session's figures sums up its own goal's record alone, after a full build as after
    another edit."""
    assert cli("build", project).code == 0
    summed, fingerprint = [], mastery_site.pages.fingerprint

    def watched(value, seen):
        if type(value) is dict and "comebacks" in value and "slug" in value and id(value) not in seen:
            summed.append(value["slug"])
        return fingerprint(value, seen)

    monkeypatch.setattr(mastery_site.pages, "fingerprint", watched)
    build_in_steps(project, cli, tmp_path, monkeypatch, [(HARD_WIN, "difficulty: 4", "difficulty: 2", True)])
    assert summed[:1] == ["public-speaking"] and set(summed) == {"public-speaking"}
    summed.clear()
    build_in_steps(project, cli, tmp_path, monkeypatch, [(SESSION, "difficulty: 2", "difficulty: 5", True)])
    assert summed[:1] == ["watercolour"] and set(summed) == {"watercolour"}


def test_tag_edits_are_built_from_the_last_plan_and_equal_a_full_build(project, cli, tmp_path, monkeypatch):
    """Sessions' tags edited on their line: the last full build's plan is reused with its tag
    pages planned again (a tag's page appears, and goes, and the sitemap with it); a session
    retitled after it was given a tag is retitled on that tag's page too, which the last full
    build's plan did not have. The site equals a full build after each edit."""
    assert cli("build", project).code == 0
    steps = [(SESSION, "tags: [painting, milestone]", "tags: [painting, milestone, framing]", True),  # a new tag
             (SESSION, 'title: "Framed it"', 'title: "Framed and hung"', True),
             (HARD_WIN, "tags: [speaking, demo]", "tags: [speaking]", True),  # another session keeps "demo"
             (SETBACK, "tags: [speaking, conference]\n", "tags: [conference]\n", True),
             (SESSION, "tags: [painting, milestone, framing]", "tags: [painting, milestone]", True),  # gone again
             (SETBACK, "difficulty: 3", "difficulty: 4", True)]
    build_in_steps(project, cli, tmp_path, monkeypatch, steps[:2])
    assert "Framed and hung" in (project / "_site/tags/framing/index.html").read_text()
    assert "tags/framing/" in (project / "_site/sitemap.xml").read_text()
    build_in_steps(project, cli, tmp_path, monkeypatch, steps[2:])
    assert not (project / "_site/tags/framing").exists()


def test_a_tags_edit_renders_the_pages_reading_the_tags(project, cli, tmp_path, monkeypatch):
    """A session's tags edited alone: its own page, the feeds (which list tags), the index of
    tags and its tags' pages are rendered again, with the sitemap for a new tag, not its
    goal's page or the dashboard, which list its title; a custom goal page listing its
    sessions' tags is rendered again too."""
    assert cli("build", project).code == 0
    edit(project, SESSION, "tags: [painting, milestone]", "tags: [painting, milestone, framing]")
    rendered, render = [], mastery_site.build.render_page
    monkeypatch.setattr(mastery_site.build, "render_page",
                        lambda env, site, spec: rendered.append(spec.file) or render(env, site, spec))
    assert cli("build", project).code == 0
    assert sorted(rendered) == ["feed.xml", "goals/watercolour/feed.xml", "sessions/2026-11-21-framed/index.html",
                                "sitemap.xml", "tags/framing/index.html", "tags/index.html",
                                "tags/milestone/index.html", "tags/painting/index.html"]
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")
    (project / "templates").mkdir()
    (project / "templates/goal.html").write_text("{% for s in sessions %}{{ s.title }}: {{ s.tags | join(', ') }}\n"
                                                 "{% endfor %}")
    assert cli("build", project).code == 0
    edit(project, SESSION, "tags: [painting, milestone, framing]", "tags: [painting, milestone, oak]")
    assert cli("build", project).code == 0
    assert "Framed it: painting, milestone, oak" in (project / "_site/goals/watercolour/index.html").read_text()


def test_a_difficulty_edit_renders_the_pages_showing_it_and_a_feedback_edit_the_feedback_page(project, cli,
                                                                                               tmp_path, monkeypatch):
    """A session's difficulty edited alone: the pages showing it are rendered again (its own,
    its goal's, its tags', the wins), not the feeds nor the feedback page, which name the
    session but show no difficulty (the feedback page is not even planned again, the figures
    edited since the last full build being kept: see snapshot.Delta). Its feedback edited:
    the feedback page is planned again and rendered. The site equals a full build after each."""
    assert cli("build", project).code == 0
    build_in_steps(project, cli, tmp_path, monkeypatch, [(HARD_WIN, "difficulty: 4", "difficulty: 3", True)])
    feeds = ["feed.xml", "goals/watercolour/feed.xml", "feedback/index.html"]
    assert all("A small landscape, finished" in (project / "_site" / file).read_text() for file in feeds)
    rendered, render = [], mastery_site.build.render_page
    monkeypatch.setattr(mastery_site.build, "render_page",
                        lambda env, site, spec: rendered.append(spec.file) or render(env, site, spec))
    edit(project, LANDSCAPE, "difficulty: 4", "difficulty: 5")
    assert cli("build", project).code == 0
    assert {"sessions/2026-09-13-small-landscape/index.html", "goals/watercolour/index.html", "wins/index.html",
            "tags/landscape/index.html", "timeline/index.html"} <= set(rendered)
    assert not set(feeds) & set(rendered)
    assert "(difficulty 5)" in (project / "_site/wins/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")
    rendered.clear()
    edit(project, LANDSCAPE, "Leave more white paper.", "Leave more of the paper white.")
    assert cli("build", project).code == 0
    assert "feedback/index.html" in rendered and "feed.xml" not in rendered
    assert "Leave more of the paper white." in (project / "_site/feedback/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_tags_edits_move_their_sessions_in_the_tag_pages_as_a_full_build_collects_them(project, cli, tmp_path,
                                                                                          monkeypatch):
    """Tags edited in place after a tags edit (the tag pages kept with the cache): only the
    tags named before or after are made again (pages.retag), each session where a full build
    finds it, a tag named as its newest session names it, a tag page made or gone, and a
    private session's tags in none of them. The site equals a full build after each."""
    assert cli("build", project).code == 0
    private = "content/sessions/2026/2026-10-19-low-week.md"
    collected = []
    collect = mastery_site.pages.collect_tags
    monkeypatch.setattr(mastery_site.pages, "collect_tags", lambda *a: collected.append(a) or collect(*a))
    build_in_steps(project, cli, tmp_path, monkeypatch, [
        (SESSION, "tags: [painting, milestone]", "tags: [painting, milestone, framing]", True),  # collects
        (private, "tags: [review]", "tags: [review, framing, secret]", True),
        (PREVIOUS, "tags: [painting, plein-air]", "tags: [Framing, painting, plein-air]", True),
        (SESSION, "tags: [painting, milestone, framing]", "tags: [painting, milestone]", True),  # named "Framing"
        (PREVIOUS, "tags: [Framing, painting, plein-air]", "tags: [painting, plein-air]", True)])  # gone
    full_builds = 5  # one --no-cache build a step, which collects them too
    assert len(collected) == full_builds + 1
    assert not (project / "_site/tags/framing").exists() and not (project / "_site/tags/secret").exists()


def test_a_title_edit_renders_again_the_pages_reading_the_site_wide_figures(project, cli, tmp_path, monkeypatch):
    """A template may read the lessons from `stats` (a site-wide figure) rather than from its
    page's context: its pages are rendered again when a retitled session's lesson changes."""
    (project / "templates").mkdir()
    (project / "templates/robots.txt").write_text("{% for lesson in stats.lessons %}{{ lesson.title }}\n{% endfor %}")
    assert cli("build", project).code == 0
    edit(project, SETBACK, "Conference proposal rejected", "Proposal turned down")
    monkeypatch.setattr(mastery_site.build, "load_site", lambda *a, **k: pytest.fail("all was loaded again"))
    assert cli("build", project).code == 0
    assert "Proposal turned down" in (project / "_site/robots.txt").read_text()


def test_a_front_matter_edit_plans_again_the_setback_pages_showing_it(project, cli, tmp_path):
    """A full build keeps the last plan's page of a session whose inputs are the same objects
    (see pages._session_pages); a setback's page also shows its goal's earlier wins, so the
    new title of one of them is on it."""
    assert cli("build", project).code == 0
    edit(project, "content/sessions/2026/2026-07-15-demo-take-two.md", "Team demo, take two", "Second team demo")
    assert cli("build", project).code == 0
    assert "Second team demo" in (project / "_site/sessions/2026-10-02-cfp-rejected/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_a_front_matter_edit_takes_the_plan_memo_alone(project, cli, tmp_path, monkeypatch):
    """A full build after a front-matter edit keeps the sessions' pages of the last plan, from the
    memos saved beside the snapshot (which is not read), but for the edited one, its neighbour
    and its goal's setback (its goal's record is new)."""
    assert cli("build", project).code == 0
    saved(project)
    edit(project, SESSION, *FRONT_MATTER)
    described = []
    describe = mastery_site.pages.describe
    with monkeypatch.context() as patched:
        patched.setattr(mastery_site.build, "load_snapshot", lambda *a: pytest.fail("the snapshot read"))
        patched.setattr(mastery_site.pages, "describe", lambda entry: described.append(entry.source) or describe(entry))
        assert cli("build", project).code == 0
    sessions = {rel for rel in described if rel.startswith("content/sessions/")}
    assert SESSION in sessions and len(sessions) == 3
    assert "Framed at last" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_a_front_matter_edit_sums_up_again_only_its_goals_record_and_page(project, cli, tmp_path, monkeypatch):
    """The digests of the goals' records kept by the aggregation's memo are kept with it: a
    full build fingerprints only the records made again (see build.render_reusing), and only
    the goal pages whose records were made again (see pages._goal_page)."""
    assert cli("build", project).code == 0
    saved(project)
    edit(project, SESSION, *FRONT_MATTER)
    summed = []
    fingerprint = mastery_site.pages.fingerprint

    def counting(value, seen):
        if type(value) is dict and "personal_bests" in value and id(value) not in seen:
            summed.append(value["slug"])
        if type(value) is dict and "ladder" in value:
            pages.append(value["goal"].slug)
        return fingerprint(value, seen)

    pages = []
    monkeypatch.setattr(mastery_site.pages, "fingerprint", counting)
    assert cli("build", project).code == 0
    assert summed == ["watercolour"] and pages == ["watercolour"]
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


@pytest.mark.parametrize("change", [FRONT_MATTER, ('title: "Framed it"', 'title: "Framed at last"')])
def test_a_front_matter_edit_renders_no_markdown(project, cli, tmp_path, monkeypatch, change):
    """Bodies are kept by what they render from, not by their file's version: a front-matter
    edit renders none, whether it is built in place (a title) or everything is built."""
    assert cli("build", project).code == 0
    edit(project, SESSION, *change)
    with monkeypatch.context() as patched:
        patched.setattr(mastery_site.markup.Renderer, "render", lambda *a: pytest.fail("a body rendered"))
        assert cli("build", project).code == 0
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_an_edit_leaves_nothing_young_for_a_caller_that_froze_before(project):
    """The command freezes what its imports made (cli.run), then builds: what an edit in place
    made is frozen as it ends, not left young for the next collection to walk (at 10,000
    sessions, 11 ms, in a process sharing its memory with the one saving the cache: ~900
    pages copied first)."""
    import gc
    options = mastery_site.build.Options(jobs=1)
    mastery_site.build.build(project, options=options)
    saved(project)
    edit(project, SESSION, "Simple oak frame", "Oak")
    gc.collect()
    gc.freeze()
    result = mastery_site.build.build(project, options=options)
    assert result.site is not None and gc.get_count()[0] < 100


@pytest.mark.parametrize("change", [FRONT_MATTER, ("Simple oak frame", "Oak")])
def test_a_build_runs_no_cyclic_collection(project, change):
    """What a build makes lives to its end: the collector stays off, and what the build made
    is handed back to it as old objects, so no young collection walks it all as the build
    ends (see collector.frozen). Here a front-matter and a body edit, one process."""
    import gc
    options = mastery_site.build.Options(jobs=1)
    mastery_site.build.build(project, options=options)
    saved(project)
    edit(project, SESSION, *change)
    collections = []

    def seen(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        result = mastery_site.build.build(project, options=options)
    finally:
        gc.callbacks.remove(seen)
    assert result.site is not None and collections == []


@pytest.mark.parametrize("how", ["build", "serve"])
def test_a_metric_no_longer_written_as_a_clock_is_shown_as_a_number_again(project, cli, tmp_path, how):
    """Whether a metric is shown as a clock ("0:01") depends on all its goal's sessions: a goal
    from the cache (or the dev server's) does not keep the last build's answer, and every page
    showing the metric follows, those of sessions left as they were included."""
    from mastery_site.build import Options
    from mastery_site.rebuild import Engine
    rel = "content/sessions/2026/2026-09-13-small-landscape.md"
    other = "sessions/2026-08-09-graded-sky/index.html"  # not a neighbour; its paintings stay 1
    engine = Engine(project, Options()) if how == "serve" else None

    def built() -> str:
        if engine is None:
            assert cli("build", project).code == 0
            saved(project)
            return (project / "_site" / other).read_text()
        assert engine.rebuild().ok and engine.complete() is not None
        return engine.state.files[other].decode()

    edit(project, rel, "metrics: {paintings: 2}", 'metrics: {paintings: "0:02"}')
    assert "<dd>0:01 finished</dd>" in built()  # the goal is cached (or kept) with it so
    edit(project, rel, 'metrics: {paintings: "0:02"}', "metrics: {paintings: 2}")
    assert "<dd>1 finished</dd>" in built()
    edit(project, rel, "metrics: {paintings: 2}", 'metrics: {paintings: "0:02"}')
    assert "<dd>0:01 finished</dd>" in built()
    if engine is None:
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_an_image_removed_beside_an_unchanged_session_is_reported(project, cli):
    """Its session's file is read again (no traceback copying an image no longer there), also
    when another session's body edit would take the last build's model (see _edit_sessions);
    the image back, the site builds again."""
    image, aside = project / "content/sessions/2026/graded-sky.png", project / "graded-sky.png"
    assert cli("build", project).code == 0
    saved(project)
    os.replace(image, aside)
    edit(project)  # the body of another session
    result = cli("build", project)
    assert result.code == 1 and "Traceback" not in result.err
    assert 'content/sessions/2026/2026-08-09-graded-sky.md:15:66: error: image "graded-sky.png" not found' in result.err
    os.replace(aside, image)
    assert cli("build", project).code == 0
    assert (project / "_site/sessions/2026-08-09-graded-sky/graded-sky.png").is_file()


def test_a_configuration_edit_makes_the_search_index_again(cli, tmp_path):
    """Each entry's piece of the search index is kept by its file's version, and the
    configuration changes what a file says: here a session's day, in the portfolio's timezone."""
    project = write_tree(tmp_path / "p", {
        "mastery.yaml": "title: T\ntimezone: UTC\n",
        "content/sessions/2026-01-02-late.md": "---\ntitle: Late\ndate: 2026-01-02T23:30:00+00:00\n---\nRan.\n"})
    assert cli("build", project).code == 0
    saved(project)
    assert '"date":"2026-01-02"' in (project / "_site/search-index.json").read_text()
    write_tree(project, {"mastery.yaml": "title: T\ntimezone: Asia/Tokyo\n"})
    assert cli("build", project).code == 0
    assert '"date":"2026-01-03"' in (project / "_site/search-index.json").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


@pytest.mark.parametrize("how", ["copied", "moved"])
def test_a_project_copied_or_moved_with_its_cache_places_its_own_images(project, cli, tmp_path, how):
    """What is cached holds the paths of the project's files (an image's, to copy it): a copy
    of a project, or the project moved, its cache with it, starts a store of its own, and the
    site's images are the new place's, the old one being gone."""
    assert cli("build", project).code == 0
    saved(project)
    there = tmp_path / "there"
    if how == "copied":
        shutil.copytree(project, there, symlinks=True, copy_function=shutil.copy)  # new mtimes: not a no-op
        shutil.rmtree(project)
    else:
        shutil.move(project, there)  # the same files: cached entries would be taken as they are
        edit(there)
    assert cli("build", there).code == 0
    assert (there / "_site/sessions/2026-08-09-graded-sky/graded-sky.png").is_file()
    assert len(list((there / ".mastery-cache").glob("build-*"))) == 2
    assert cli("build", there, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(there / "_site") == site_files(tmp_path / "full")


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=EDITS, audience=st.sampled_from(["public", "mentor"]))
def test_any_edits_build_what_a_full_build_builds(edits, audience, cli, tmp_path_factory, monkeypatch):
    """Whatever path a build with the cache takes (bodies only, everything, a failed build),
    its site equals a --no-cache build of the same files, edit after edit; for the public or
    the mentor edition, neither of which shows a private block."""
    tmp = tmp_path_factory.mktemp("edits")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "user-cache"))
    project = tmp / "p"
    shutil.copytree(REPO / "content", project / "content")
    shutil.copy(REPO / "mastery.yaml", project / "mastery.yaml")
    assert cli("build", project, "--audience", audience).code == 0
    for kind, n in edits:
        apply_edit(project, kind, n)
        cached = cli("build", project, "--audience", audience)
        full = cli("build", project, "--audience", audience, "-o", tmp / "full", "--no-cache")
        assert cached.code == full.code and cached.err == full.err, (kind, n)
        if full.code == 0:
            assert site_files(project / "_site") == site_files(tmp / "full"), (kind, n)
            assert b"PRIVATE-" not in b"".join(site_files(project / "_site").values())


def test_a_body_edit_with_a_template_edit_builds_everything(project, cli):
    """The last plan is only good for the templates it was made with."""
    assert cli("build", project).code == 0
    override = project / "templates/robots.txt"
    override.parent.mkdir()
    override.write_text("# robots, overridden\n")
    edit(project)
    assert cli("build", project).code == 0
    assert (project / "_site/robots.txt").read_text() == "# robots, overridden\n"


def test_a_body_edit_in_a_new_commit_builds_everything_for_its_sitemap_date(project, cli):
    """The last plan holds the sitemap's dates from git: a new commit makes it stale."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "journal"]):
        git(project, *args, day="2026-11-23")
    assert cli("build", project).code == 0
    edit(project)
    git(project, "commit", "-qam", "edited", day="2026-11-24")
    assert cli("build", project).code == 0
    assert ("sessions/2026-11-21-framed/</loc><lastmod>2026-11-24</lastmod>"
            in (project / "_site/sitemap.xml").read_text())


def test_an_edited_template_is_compiled_again_not_taken_from_the_cache(project, cli):
    """Compiled templates are kept in the cache; an edited one must never render as it was."""
    override = project / "templates/robots.txt"
    override.parent.mkdir()
    for n, text in enumerate(["# first version\n", "# the second version\n", "# version three, last\n"]):
        override.write_text(text)
        os.utime(override, ns=(n * 10**9, n * 10**9))  # distinct times, however fast the builds
        assert cli("build", project, "-j", "1").code == 0
        assert (project / "_site/robots.txt").read_text() == text


def test_a_renamed_goal_shows_in_its_sessions_search_entries(project, cli, tmp_path):
    """Search-index pieces are kept per entry and goal title: renaming the goal must not leave
    its sessions' pieces (unchanged files) with the old title."""
    assert cli("build", project).code == 0
    goal = project / "content/goals/run-10k.md"
    goal.write_text(goal.read_text().replace("Run 10 km in under 50 minutes", "Run 10 km, renamed"))
    assert cli("build", project).code == 0
    index = json.loads((project / "_site/search-index.json").read_text())
    assert [d["goal"] for d in index if d["url"] == "sessions/2026-06-03-first-run-in-years/"] == ["Run 10 km, renamed"]
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_sessions_shown_again_are_rendered_from_their_files_read_again(project, cli, tmp_path):
    """The build cache keeps entries without their Markdown source (content.cached_entry):
    sessions hidden with their goal, then shown with it again, unchanged all along, are
    rendered from their files, read again."""
    goal = project / "content/goals/watercolour.md"
    text = goal.read_text()
    goal.write_text(text.replace("\ntitle: ", "\nvisibility: private\ntitle: ", 1))
    assert cli("build", project).code == 0
    assert not (project / "_site/sessions/2026-11-21-framed").exists()
    goal.write_text(text)
    assert cli("build", project).code == 0
    assert "Simple oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


@pytest.mark.parametrize("told", ["as saved", "by another cache"])
def test_an_edit_takes_the_changed_files_the_scanning_process_told_if_told_of_this_cache(project, monkeypatch, told):
    """The command's scanning process compares the files it found with the stamps the cache
    saved, while the other imports (stamps.py): the build takes its answer, without the files
    found or a comparison of its own, if it was made with the stamps of the cache it read;
    else it compares them itself (a wrong answer, of another cache, is never taken)."""
    from mastery_site.cache import cache_store
    from mastery_site.sources import Handed, scan_inputs, settings_of
    from mastery_site.stamps import compare
    options = mastery_site.build.Options(jobs=1)
    mastery_site.build.build(project, options=options)
    saved(project)
    edit(project)
    settings = settings_of("public", False, None, None)
    scanned = scan_inputs(project, project / "_site", settings)
    token, changed = compare(project, cache_store(project, settings), scanned.found)
    assert changed == [SESSION]
    if told == "as saved":
        monkeypatch.setattr(mastery_site.build, "changed_files", lambda *a: pytest.fail("compared again"))
        found = lambda: pytest.fail("the files found were read")  # noqa: E731
    else:
        token, changed, found = bytes(16), [], lambda: scanned.found  # nothing changed, says another cache
    handed = Handed(scanned.head, scanned.inputs, found, lambda: (token, changed))
    mastery_site.build.build(project, options=options, scanned=handed)
    assert "A simple oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()
    saved(project)  # the stamps of the files edited in place since the full build, saved apart: told too
    edit(project, PREVIOUS, "The light changed", "Light changed")
    found = scan_inputs(project, project / "_site", settings).found
    assert compare(project, cache_store(project, settings), found)[1] == [PREVIOUS]


@pytest.mark.parametrize("change", ["body", "image gone", "file gone", "file added"])
def test_the_scanning_process_tells_the_changed_files_as_the_build_would(project, change):
    """stamps.compare keeps content.changed_files's rule in a loop of its own (a call a file
    cost the build 10 ms at 10,000 sessions: see content._stale): both tell the same files, those whose images
    are no longer as checked included, and both tell a file of the cache gone (None)."""
    from mastery_site.cache import cache_store
    from mastery_site.content import changed_files
    from mastery_site.sources import scan_inputs, settings_of
    from mastery_site.stamps import compare
    options = mastery_site.build.Options(jobs=1)
    mastery_site.build.build(project, options=options)
    saved(project)
    sessions = project / "content/sessions/2026"
    if change == "body":
        edit(project)
    elif change == "image gone":
        (sessions / "graded-sky.png").unlink()
    elif change == "file gone":
        (project / PREVIOUS).unlink()
    else:
        shutil.copy(project / PREVIOUS, sessions / "2026-10-05-plein-air-again.md")
    settings = settings_of("public", False, None, None)
    found = scan_inputs(project, project / "_site", settings).found
    store = next((project / ".mastery-cache").glob("build-*"))
    assert store == cache_store(project, settings)
    caches = mastery_site.build._cache_for(mastery_site.cache.Store(store), project / "_site")
    told = compare(project, store, found)[1]
    expected = {"body": [SESSION], "image gone": ["content/sessions/2026/2026-08-09-graded-sky.md"],
                "file gone": None, "file added": ["content/sessions/2026/2026-10-05-plein-air-again.md"]}[change]
    assert told == expected
    assert changed_files(project, found, caches.files) == (set(told) if told is not None else None)


def test_the_cache_is_saved_as_its_store_is_left_and_not_after_a_failure(tmp_path):
    """A build saves its cache as it leaves the store, not where it asks to (cache.Store.later):
    the forked process saving it then shares no memory the build writes to afterwards. A build
    failing meanwhile saves nothing: the next one builds from what was saved before."""
    marks = [tmp_path / "saved", tmp_path / "failed"]
    with mastery_site.cache.Store(tmp_path / "store") as store:
        store.later(marks[0].touch)
        assert not marks[0].exists()
    with pytest.raises(KeyError), mastery_site.cache.Store(tmp_path / "store") as store:
        store.later(marks[1].touch)
        raise KeyError("a build failing after it asked to save")
    with mastery_site.cache.Store(tmp_path / "store"):  # waits for the process saving
        pass
    assert marks[0].exists() and not marks[1].exists()


def test_a_build_ends_before_its_cache_is_saved_and_the_next_build_waits_for_it(project, cli, tmp_path,
                                                                                   monkeypatch):
    """The cache is saved by a forked process once the new site is in place (cache.Store), the
    command ending meanwhile; the next build waits for it, and builds from the cache it saved:
    a body edit then takes the fast way, from the last plan."""
    assert cli("build", project).code == 0
    saved(project)
    index = next((project / ".mastery-cache").glob("build-*")) / "index.bin"
    first = index.stat().st_mtime_ns
    go = tmp_path / "go"
    save_store = mastery_site.build.save_store

    def held_back(*args):
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        save_store(*args)

    monkeypatch.setattr(mastery_site.build, "save_store", held_back)
    edit(project)
    assert cli("build", project).code == 0  # its cache is not saved until `go`
    assert "A simple oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()
    assert index.stat().st_mtime_ns == first
    edit(project, old="A simple oak frame", new="An oak frame")
    monkeypatch.setattr(mastery_site.build, "load_site", lambda *a, **k: pytest.fail("all was loaded again"))
    results = []
    next_build = threading.Thread(target=lambda: results.append(mastery_site.build.build(project)))
    next_build.start()
    next_build.join(0.5)
    assert next_build.is_alive() and index.stat().st_mtime_ns == first  # waiting for the cache
    go.touch()
    next_build.join(60)
    assert results and "An oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()
    saved(project)
    assert index.stat().st_mtime_ns != first


def test_a_no_op_build_is_told_before_jinja_yaml_or_the_model_are_imported(project, cli):
    """Nothing changed: `build` finds it out with sources.py alone (see cli.cmd_build), and
    never imports Jinja, YAML or the model (at 10,000 sessions, twice the time of its work)."""
    assert cli("build", project).code == 0
    heavy = ("jinja2", "yaml", "mastery_site.build", "mastery_site.model", "mastery_site.content")
    script = ("import sys; from mastery_site.cli import main; "
              f"assert main(['build', {str(project)!r}]) == 0; "
              f"print([m for m in sys.modules if m.startswith({heavy!r})])")
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    assert done.stdout.startswith("Up to date") and done.stdout.splitlines()[-1] == "[]"


def test_a_corrupt_cache_is_discarded(project, cli):
    assert cli("build", project).code == 0
    saved(project)
    store = next((project / ".mastery-cache").glob("build-*"))
    for cache in [store / "index.bin", store / "plan.bin", *sorted(store.glob("shard-*.bin"))[:3]]:
        cache.write_bytes(cache.read_bytes()[:1000] + b"garbage")
    edit(project)
    result = cli("build", project)
    assert result.code == 0 and "Traceback" not in result.err
    assert "A simple oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()


def test_a_cache_signed_by_someone_else_is_never_trusted(project, cli, monkeypatch, tmp_path):
    assert cli("build", project).code == 0
    page = project / "_site/sessions/2026-06-03-first-run-in-years/index.html"
    before = inode(page)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    edit(project)
    assert cli("build", project).code == 0
    assert inode(page) != before  # everything rendered again: the cache was ignored


def test_files_the_manifest_vouches_for_are_read_unchecked_and_any_other_is_checked(project, cli, monkeypatch):
    checked = []
    monkeypatch.setattr(mastery_site.cache.hmac, "compare_digest", lambda a, b: checked.append(a) or a == b)
    assert cli("build", project).code == 0
    edit(project)
    assert cli("build", project).code == 0  # checks every file the first build wrote, and vouches for them
    edit(project, new="An oak frame", old="A simple oak frame")
    checked.clear()
    assert cli("build", project).code == 0
    assert len(checked) <= 4  # the manifest, and what the last build rewrote: the index and a shard

    # a file written since it was vouched for is checked again, even with its old size and mtime
    saved(project)
    store = next((project / ".mastery-cache").glob("build-*"))
    shard = next(p for p in store.glob("shard-*.bin") if b"Walk-run intervals" in p.read_bytes())
    info = shard.stat()
    shard.write_bytes(shard.read_bytes().replace(b"Walk-run intervals", b"Walk-run interv4ls"))
    os.utime(shard, ns=(info.st_atime_ns, info.st_mtime_ns))
    edit(project, new="A simple oak frame", old="An oak frame")
    assert cli("build", project).code == 0
    assert "Walk-run intervals" in (project / "_site/search-index.json").read_text()  # written from the cache


@pytest.mark.parametrize("goals", [0, 1, 2])
def test_the_search_index_joined_from_cached_parts_is_the_one_encoded_at_once(goals, cli, tmp_path, monkeypatch):
    """With the cache, the index is written from each entry's encoded part (pages.search_index);
    without, encoded in one call: the same bytes, down to an index of none or one entry; and
    the script for file:// browsing holds the same index."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    cli("init", tmp_path / "p")
    shutil.rmtree(tmp_path / "p/content/sessions")
    shutil.rmtree(tmp_path / "p/content/pages")
    first = tmp_path / "p/content/goals/my-first-goal.md"
    for n in range(1, goals):
        first.with_name(f"goal-{n}.md").write_text(first.read_text())
    if not goals:
        first.unlink()
    assert cli("build", tmp_path / "p").code == 0
    assert cli("build", tmp_path / "p", "-o", tmp_path / "full", "--no-cache").code == 0
    index = (tmp_path / "p/_site/search-index.json").read_bytes()
    assert len(json.loads(index)) == goals and index == (tmp_path / "full/search-index.json").read_bytes()
    script = mastery_site.build.SCRIPT_HEAD + index + b";\n"
    assert (tmp_path / "p/_site/search-index.js").read_bytes() == script


def test_an_edit_copies_the_search_index_it_keeps_from_the_last_one_unless_changed_since(project, cli, tmp_path,
                                                                                         monkeypatch):
    """The build cache keeps where each entry's part is in the index a build wrote
    (pages.SearchLayout), not the parts: an edit copies those it keeps from the live index, a
    run of them at a time, and encodes its own; from an index changed since it was written,
    nothing is copied. Either way, the index a full build writes."""
    copied = []
    copy = os.copy_file_range
    monkeypatch.setattr(os, "copy_file_range", lambda *a: copied.append(a[2]) or copy(*a))
    assert cli("build", project).code == 0
    assert not copied  # no index to copy from
    live = project / "_site/search-index.json"
    for changed_since, old, new in [(False, "Simple oak frame", "An oak frame"), (True, "An oak frame", "A new frame")]:
        if changed_since:  # the same size, and the parts where they were: only its identity tells
            live.write_bytes(live.read_bytes().replace(b'"kind":"session"', b'"kind":"sessioN"', 1))
        edit(project, SESSION, old, new)
        copied.clear()
        assert cli("build", project).code == 0
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        index = live.read_bytes()
        assert index == (tmp_path / "full/search-index.json").read_bytes()
        assert (project / "_site/search-index.js").read_bytes() == mastery_site.build.SCRIPT_HEAD + index + b";\n"
        if changed_since:
            assert not copied
        else:  # the runs before and after the edited session's part, for the index and its script
            assert len(copied) == 4 and sum(copied) > len(index) > len(index) - sum(copied) / 2 > 0


def test_an_edit_leaving_the_search_index_as_it_was_links_it_from_the_live_site(project, cli, tmp_path,
                                                                               monkeypatch):
    """A difficulty edit leaves every part of the search index the same: the index and its
    script are linked from the live site, as unchanged pages are, not copied; the next edit
    copies from that index, where the cache says its parts are. Either way, the index a full
    build writes."""
    assert cli("build", project).code == 0
    live = project / "_site/search-index.json"
    copied = []
    copy = os.copy_file_range
    monkeypatch.setattr(os, "copy_file_range", lambda *a: copied.append(a[2]) or copy(*a))
    for old, new, linked in [("difficulty: 2", "difficulty: 3", True), ("Simple oak frame", "An oak frame", False)]:
        before = {name: inode(project / "_site" / name) for name in mastery_site.build.SEARCH_FILES}
        edit(project, SESSION, old, new)
        copied.clear()
        assert cli("build", project).code == 0
        assert ({name: inode(project / "_site" / name) for name in before} == before) == linked
        assert bool(copied) != linked
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        index = live.read_bytes()
        assert index == (tmp_path / "full/search-index.json").read_bytes()
        assert (project / "_site/search-index.js").read_bytes() == mastery_site.build.SCRIPT_HEAD + index + b";\n"


def test_an_edit_whose_search_index_cannot_be_written_fails_and_leaves_the_site_as_it_was(project, cli,
                                                                                           monkeypatch):
    """An edit writes its search index while its pages render (build._meanwhile): what writing
    it raises is raised all the same, the site in the output folder left as it was."""
    assert cli("build", project).code == 0
    site = site_files(project / "_site")
    edit(project)

    def failing(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mastery_site.build, "search_index_edited", failing)
    with pytest.raises(OSError, match="No space left"):
        mastery_site.build.build(project, options=mastery_site.build.Options(jobs=1))
    assert site_files(project / "_site") == site
    monkeypatch.undo()
    assert cli("build", project).code == 0
    assert "A simple oak frame" in (project / "_site/sessions/2026-11-21-framed/index.html").read_text()


def test_an_edit_reads_only_the_cached_bodies_of_the_pages_it_renders(cli, tmp_path, monkeypatch):
    """Rendered bodies are kept after each shard's pickle and read when used (cache.Tail): an
    edit of the oldest of 90 sessions (in no feed) reads a few, and the site is still the
    one a full build makes, the shard rewritten with the bodies it did not read."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    files = {"mastery.yaml": "title: Long\n", "content/goals/run.md": "---\ntitle: Run\narea: work\n"
             "started: 2026-01-01\n---\nThe goal's own *words*.\n"}
    for n in range(90):
        day = datetime.date(2026, 1, 1) + datetime.timedelta(days=n)
        files[f"content/sessions/{day}-s{n}.md"] = (f"---\ntitle: Session {n}\ndate: {day}\ngoal: run\n---\n"
                                                    f"Body **{n}**, with words of its own: w{n}.\n")
    project = write_tree(tmp_path / "p", files)
    assert cli("build", project).code == 0
    reads = []
    read = mastery_site.cache.Tail.read
    monkeypatch.setattr(mastery_site.cache.Tail, "read", lambda tail, *a: reads.append(a) or read(tail, *a))
    for old, new in [("words of its own", "words edited"), ("\ntitle: Session 0\n", "\ntitle: First session\n")]:
        edit(project, "content/sessions/2026-01-01-s0.md", old, new)
        assert cli("build", project).code == 0
        assert 0 < len(reads) < 20, old  # the goal's own body, on its page, and a few
        reads.clear()
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        assert site_files(project / "_site") == site_files(tmp_path / "full")
    assert "First session" in (project / "_site/sessions/2026-01-01-s0/index.html").read_text()


def test_diagnostics_of_unchanged_files_stand_where_their_values_do(project, cli):
    """A cached file's spots (where each value stands) are read from the cache only for a
    diagnostic (content.cached_result): a goal deleted since, its sessions' errors point at
    their `goal:` lines, as without the cache."""
    assert cli("build", project).code == 0
    (project / "content/goals/watercolour.md").unlink()
    cached = cli("build", project)
    assert cached.code == 1
    assert f'{SESSION}:3:7: error: unknown goal "watercolour"' in cached.err
    assert cached.err == cli("build", project, "--no-cache").err


def test_no_cache_neither_reads_nor_writes_it(project, cli):
    assert cli("build", project, "--no-cache").code == 0
    assert not (project / ".mastery-cache").exists()


@pytest.mark.parametrize("find", ["find", "no find"])  # the spare's files listed by `find`, or walked
def test_incremental_builds_reuse_the_spare_site_and_never_write_through_its_links(project, cli, tmp_path, find,
                                                                                   monkeypatch):
    if find == "no find":
        monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    site, spare = project / "_site", project / "._site.spare"
    framed = "sessions/2026-11-21-framed/index.html"
    assert cli("build", project).code == 0
    edit(project)
    assert cli("build", project).code == 0
    assert (spare / framed).is_file()  # the replaced site, kept to build the next one in
    old_framed = (spare / framed).read_text()
    assert "A simple oak frame" not in old_framed
    untouched = "sessions/2026-06-03-first-run-in-years/index.html"
    assert inode(spare / untouched) == inode(site / untouched)  # one file, linked into both
    path = project / SESSION
    path.write_text(path.read_text().replace("A simple oak frame", "An oak frame"))
    gone = project / "content/sessions/2026/2026-06-28-shin-splints.md"
    gone.unlink()  # its page must not survive in the recycled tree
    (site / "sessions/extra.html").write_text("not ours")  # nor must a stray file in the old site
    assert cli("build", project).code == 0
    assert "An oak frame" in (site / framed).read_text()
    assert (spare / framed).read_text() == (site / framed).read_text().replace("An oak frame", "A simple oak frame")
    assert not (site / "sessions/2026-06-28-shin-splints").exists()
    assert not (site / "sessions/extra.html").exists()
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(site) == site_files(tmp_path / "full")
    assert not list(project.glob("._site.staging-*")) and not list(project.glob("._site.old-*"))


@pytest.mark.parametrize("linked", [False, True])
def test_the_search_index_is_written_over_its_file_in_the_spare_unless_that_is_linked(project, cli, tmp_path,
                                                                                    linked):
    """The spare's search index, its own file, is written over (its memory reused, not freed
    and allocated again); one linked elsewhere is never written through."""
    site, spare = project / "_site", project / "._site.spare"
    assert cli("build", project).code == 0
    for old, new in [("Simple oak frame", "An oak frame"), ("An oak frame", "A new frame")]:
        index = spare / "search-index.json"
        if linked and index.exists():
            index.unlink()
            os.link(site / "search-index.json", index)  # the live site's, now: never written through
        before = index.exists() and (inode(index), (site / "search-index.json").read_bytes())
        edit(project, SESSION, old, new)
        assert cli("build", project).code == 0
        assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
        assert site_files(site) == site_files(tmp_path / "full")
        if before:
            assert (inode(site / "search-index.json") == before[0]) != linked
            assert (spare / "search-index.json").read_bytes() == before[1]  # the site replaced, as it was


@pytest.mark.parametrize("gone", ["", "from the spare", "from both"])
def test_pages_the_last_build_linked_are_reused_unchecked_and_any_gone_is_put_back(project, cli, tmp_path, gone,
                                                                                   monkeypatch):
    """The spare's pages that the live site's are hard links of (the last build linked them) are
    taken without a look at either file (Staging.assume_linked); one gone since from the spare
    is linked again from the live site, and one gone from both is rendered again."""
    site, spare = project / "_site", project / "._site.spare"
    untouched = "sessions/2026-06-03-first-run-in-years/index.html"
    assert cli("build", project).code == 0
    edit(project)
    assert cli("build", project).code == 0  # no spare yet: every page linked from the live site
    before = inode(site / untouched)
    if gone:
        (spare / untouched).unlink()
    if gone == "from both":
        (site / untouched).unlink()
    edit(project, old="A simple oak frame", new="An oak frame")
    looked = []
    same_file = mastery_site.output._same_file
    monkeypatch.setattr(mastery_site.output, "_same_file", lambda *a: looked.append(a) or same_file(*a))
    assert cli("build", project).code == 0
    assert len(looked) < 5  # the pages rendered in the last build, not the 50 others
    assert "An oak frame" in (site / "sessions/2026-11-21-framed/index.html").read_text()
    if gone != "from both":  # (a file written anew may get the inode number just freed)
        assert inode(site / untouched) == before
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(site) == site_files(tmp_path / "full")


@pytest.mark.parametrize("change", ["body", "front matter"])
def test_the_spare_is_listed_while_the_cache_is_read(project, cli, tmp_path, monkeypatch, change):
    """`find` lists the spare's files (see output.Listing) from before the build cache is read,
    not from when the new site is staged in it, and once: an edit waited for it."""
    assert cli("build", project).code == 0
    edit(project)
    assert cli("build", project).code == 0  # the first site is now the spare
    events = []
    listing, cache_for = mastery_site.output.Listing.__init__, mastery_site.build._cache_for
    monkeypatch.setattr(mastery_site.output.Listing, "__init__", lambda *a: events.append("listed") or listing(*a))
    monkeypatch.setattr(mastery_site.build, "_cache_for", lambda *a: events.append("cache read") or cache_for(*a))
    edit(project, SESSION, *(("A simple oak frame", "An oak frame") if change == "body" else FRONT_MATTER))
    assert cli("build", project).code == 0
    assert events == ["listed", "cache read"]
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_an_image_shown_twice_is_copied_once(project, cli, tmp_path):
    """A body naming its image a second time: the image is written once, linked from the live
    site by a build with the cache (it was copied over the link it had just made: a traceback)."""
    assert cli("build", project).code == 0
    path = project / "content/sessions/2026/2026-08-09-graded-sky.md"
    path.write_text(path.read_text() + "\n![the same sky](graded-sky.png)\n")
    result = cli("build", project)
    assert result.code == 0, result.err
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_an_edit_takes_unchanged_images_from_the_live_site(project, cli, tmp_path):
    """An image whose source is unchanged since it was copied into the live site is linked
    from there, like an unchanged page, not read, stripped and written again; one whose source
    changed is copied again."""
    photo = "content/sessions/2026/2026-11-01-arrabida-hills/arrabida.png"
    assert cli("build", project).code == 0
    site_photo = next((project / "_site").rglob("arrabida.png"))
    edit(project)
    assert cli("build", project).code == 0
    before = inode(site_photo)
    edit(project, old="A simple oak frame", new="An oak frame")
    assert cli("build", project).code == 0
    assert inode(site_photo) == before
    source = project / photo
    source.write_bytes(source.read_bytes() + b"\0")  # a PNG may carry bytes after its end
    edit(project, old="An oak frame", new="A plain oak frame")
    assert cli("build", project).code == 0
    assert site_photo.read_bytes().endswith(b"\0") and inode(site_photo) != before
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")


def test_a_foreign_folder_replaced_with_force_is_never_built_in_again(project, cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    site = project / "_site"
    site.mkdir()
    (site / "notes.txt").write_text("someone's file")
    (site / "sessions").symlink_to(elsewhere)  # a trap for anything that writes into this folder again
    assert cli("build", project, "--force").code == 0
    assert not (project / "._site.spare").exists()  # not ours: removed, not kept as a spare
    edit(project)
    assert cli("build", project).code == 0
    assert (project / "._site.spare/.mastery-site").is_file()  # the site we built: a spare
    path = project / SESSION
    path.write_text(path.read_text().replace("A simple oak frame", "An oak frame"))
    assert cli("build", project).code == 0
    assert "An oak frame" in (site / "sessions/2026-11-21-framed/index.html").read_text()
    assert list(elsewhere.iterdir()) == []


def test_a_spare_with_folders_and_files_swapped_is_still_built_in_correctly(project, cli, tmp_path):
    assert cli("build", project).code == 0
    edit(project)
    assert cli("build", project).code == 0
    spare = project / "._site.spare"
    (spare / "feed.xml").unlink()
    (spare / "feed.xml").mkdir()  # a folder where the next site has a file
    (spare / "feed.xml/stray.html").write_text("stray")
    shutil.rmtree(spare / "sessions/2026-11-21-framed")
    (spare / "sessions/2026-11-21-framed").write_text("a file where the next site has a folder")
    path = project / SESSION
    path.write_text(path.read_text().replace("A simple oak frame", "An oak frame"))
    assert cli("build", project).code == 0
    assert cli("build", project, "-o", tmp_path / "full", "--no-cache").code == 0
    assert site_files(project / "_site") == site_files(tmp_path / "full")
