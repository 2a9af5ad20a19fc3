"""End-to-end builds of the demo and every example, through the real CLI."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from conftest import REPO, site_files

PORTFOLIOS = [REPO, *sorted(p for p in (REPO / "examples").iterdir() if (p / "mastery.yaml").is_file())]


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def internal_targets(out: Path, page: Path) -> list[tuple[str, Path]]:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    found = []
    for link in parser.links:
        url, _ = urldefrag(link)
        if not url or urlsplit(url).scheme or url.startswith("//"):
            continue
        target = (page.parent / unquote(url)).resolve()
        found.append((link, target / "index.html" if url.endswith("/") or target.is_dir() else target))
    return found


@pytest.fixture(scope="module", params=PORTFOLIOS, ids=lambda p: p.name if p != REPO else "demo")
def built(request, tmp_path_factory):
    """Each portfolio built once into a temp dir, for every audience."""
    source = request.param
    root = tmp_path_factory.mktemp("p")
    shutil.copytree(source / "content", root / "content")
    shutil.copy(source / "mastery.yaml", root / "mastery.yaml")
    from mastery_site.cli import main
    outs = {}
    for audience in ("public", "mentor", "private"):
        out = root / f"out-{audience}"
        assert main(["build", str(root), "-o", str(out), "--audience", audience]) == 0
        outs[audience] = out
    return root, outs


def test_every_spec_path_exists(built):
    root, outs = built
    out = outs["private"]
    for path in ["index.html", "timeline/index.html", "goals/index.html", "areas/index.html", "tags/index.html",
                 "wins/index.html", "lessons/index.html", "feedback/index.html", "search/index.html",
                 "feed.xml", "sitemap.xml", "robots.txt", "404.html", "search-index.json", "assets/style.css"]:
        assert (out / path).is_file(), path
    for goal in (root / "content/goals").glob("*.md"):
        assert (out / "goals" / goal.stem / "index.html").is_file()
        assert (out / "goals" / goal.stem / "feed.xml").is_file()
    for area in ("areas",):
        assert any((out / area).iterdir())
    sessions = [p for p in (root / "content/sessions").rglob("*.md")]
    assert len(list((out / "sessions").iterdir())) <= len(sessions)


def test_no_broken_internal_links(built):
    _, outs = built
    for out in outs.values():
        for page in out.rglob("*.html"):
            if page.name == "404.html":
                continue  # links there are absolute under base_url, by design
            for link, target in internal_targets(out, page):
                assert target.is_file(), f"{page.relative_to(out)} links to missing {link}"


def test_public_build_leaves_out_what_is_not_public(built):
    root, outs = built
    if (root / "content/goals/salary-review.md").exists():  # the demo
        public = b"".join(site_files(outs["public"]).values())
        for canary in (b"MENTOR-ONLY-DEMO", b"PRIVATE-DEMO", b"PRIVATE-BLOCK-DEMO", b"DRAFT-DEMO",
                       b"salary-review", b"Negotiate my salary"):
            assert canary not in public
        mentor = b"".join(site_files(outs["mentor"]).values())
        assert b"MENTOR-ONLY-DEMO" in mentor and b"PRIVATE-DEMO" not in mentor
        private = b"".join(site_files(outs["private"]).values())
        assert b"PRIVATE-DEMO" in private and b"PRIVATE-BLOCK-DEMO" in private and b"DRAFT-DEMO" not in private


def test_non_public_builds_are_noindex(built):
    _, outs = built
    for audience, out in outs.items():
        pages = list(out.rglob("*.html"))
        marked = [p for p in pages if '<meta name="robots" content="noindex">' in p.read_text()]
        assert len(marked) == (len(pages) if audience != "public" else 0)
        robots = (out / "robots.txt").read_text()
        assert ("Disallow: /" in robots) == (audience != "public")


def test_timeline_is_paginated_newest_first(built):
    root, outs = built
    out = outs["private"]
    dates = []
    page, n = out / "timeline/index.html", 1
    while page.is_file():
        dates += re.findall(r'<li class="session-item">\s*<time datetime="([\d-]+)"', page.read_text())
        n += 1
        page = out / f"timeline/page/{n}/index.html"
    assert dates == sorted(dates, reverse=True)
    assert len(dates) == len(list((out / "sessions").iterdir()))


def test_rebuild_is_byte_identical(built, tmp_path):
    from mastery_site.cli import main
    root, outs = built
    again = tmp_path / "again"
    assert main(["build", str(root), "-o", str(again), "--audience", "private"]) == 0
    assert site_files(again) == site_files(outs["private"])


def test_a_build_leaves_the_callers_collector_as_it_found_it(tmp_path):
    import gc

    from mastery_site.build import Options, build
    gc.unfreeze()  # what the dev server's tests may have frozen
    build(REPO, tmp_path / "site", Options(jobs=1))  # one process: no forking unfreezes for it
    assert gc.get_freeze_count() == 0  # the model it froze while building can be collected again


def test_demo_builds_from_repository_root(cli, tmp_path):
    result = cli("build", REPO, "-o", tmp_path / "site")
    assert result.code == 0, result.err
    assert "Built" in result.out and str(tmp_path / "site") in result.out
    assert "Maya" in (tmp_path / "site/index.html").read_text()


def test_search_index_and_summaries_keep_words_apart_across_lines(cli, tmp_path):
    from conftest import write_tree
    body = "First line\nsecond *line*  \nthird\n"
    write_tree(tmp_path, {"content/sessions/2026-01-01-a.md": f"---\ntitle: A\n---\n{body}"})
    assert cli("build", tmp_path).code == 0
    index = json.loads((tmp_path / "_site/search-index.json").read_text())
    assert index[0]["text"] == "First line second third"  # each word once (see the next test)
    assert "<summary>First line second line third</summary>" in (tmp_path / "_site/feed.xml").read_text()


def test_the_search_index_holds_each_word_of_a_body_once(cli, tmp_path):
    from conftest import write_tree
    body = "Scales then scales, scales then scales.\n\n```\nscales\n```\n"
    write_tree(tmp_path, {"content/sessions/2026-01-01-a.md": f"---\ntitle: A\n---\n{body}"})
    assert cli("build", tmp_path).code == 0
    text = json.loads((tmp_path / "_site/search-index.json").read_text())[0]["text"]
    assert text == "Scales then scales, scales scales."  # every word a term can match, once


def test_a_setback_page_recalls_earlier_wins_and_comebacks(cli, tmp_path):
    assert cli("build", REPO, "-o", tmp_path / "site").code == 0
    page = (tmp_path / "site/sessions/2026-10-18-b2-mock-fail/index.html").read_text()
    hard = page.split('id="before"')[1].split('</aside>')[0]
    assert "You came back from 1 earlier setback on this goal:" in hard
    assert "Hit the subjunctive wall</a> → <a" in hard and "(14 days)" in hard
    assert hard.count('class="win ') == 5  # the goal's wins up to that day, newest first
    assert hard.index("Pass a B1 mock exam") < hard.index("Order dinner in Spanish")
    assert "Timed reading drills" not in hard  # a later win is not "before"


def many_sessions(root, count: int = 450):
    from conftest import write_tree
    files = {"content/goals/g.md": "---\ntitle: G\narea: work\nstarted: 2020-01-01\nmetrics: [{name: km}]\n---\n"}
    for i in range(count):
        day = f"2021-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}"
        outcome = "setback\nlesson: L" if i % 5 == 0 else "success"
        files[f"content/sessions/{2021 + i // 336}/{day}-s{i:03d}.md"] = (
            f"---\ntitle: Session {i}\ngoal: g\ndifficulty: {1 + i % 5}\noutcome: {outcome}\n"
            f"metrics: {{km: {i % 17}}}\ntags: [t{i % 7}]\n---\nBody *{i}*\nwith [a link](https://x.example/{i}).\n")
    return write_tree(root, files)


def test_parallel_build_equals_a_single_process_build(cli, tmp_path):
    """Past MIN_ITEMS files and pages, reading, Markdown and pages run in worker processes."""
    project = many_sessions(tmp_path / "p")
    assert cli("build", project, "-o", tmp_path / "one", "-j", "1", "--no-cache").code == 0
    assert cli("build", project, "-o", tmp_path / "two", "-j", "2", "--no-cache").code == 0
    assert len(list((tmp_path / "two/sessions").iterdir())) == 450
    assert site_files(tmp_path / "one") == site_files(tmp_path / "two")


def test_template_errors_in_worker_processes_are_reported(cli, tmp_path):
    from conftest import write_tree
    project = many_sessions(tmp_path / "p")
    write_tree(project, {"templates/session.html": "line one\n{{ entry.nope.deeper }}\n"})
    result = cli("build", project, "-j", "2", "--no-cache")
    assert result.code == 1 and "Traceback" not in result.err
    assert "templates/session.html:2:1: error: template error while rendering /sessions/" in result.err


def test_a_theme_error_found_while_bodies_render_stops_every_process(cli, tmp_path):
    """A build that renders every page looks up its theme and compiles its templates while
    forked processes render the bodies (see build._compiled_templates): an unknown theme
    found then is reported, no process is left rendering, and the last site stays."""
    import contextlib
    import os

    from conftest import write_tree
    project = many_sessions(tmp_path / "p")
    assert cli("build", project, "-j", "2", "--no-cache").code == 0
    before = site_files(project / "_site")
    write_tree(project, {"mastery.yaml": "theme: nope\n"})
    with contextlib.suppress(ChildProcessError):  # processes of earlier builds (saving their caches)
        while True:
            os.waitpid(-1, 0)
    result = cli("build", project, "-j", "2", "--no-cache")
    assert result.code == 1 and "Traceback" not in result.err
    assert 'mastery.yaml:1:1: error: theme "nope" not found' in result.err
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every forked process was waited for
    assert site_files(project / "_site") == before


def test_template_syntax_errors_are_reported_when_templates_are_compiled_before_forking(cli, tmp_path):
    """Templates are compiled in this process before it forks (so the forked ones inherit
    them); a broken one is still reported at its line, by the page that uses it."""
    from conftest import write_tree
    project = many_sessions(tmp_path / "p")
    write_tree(project, {"templates/tag.html": "line one\n{% if %}\n", "templates/unused.html": "{% for %}"})
    result = cli("build", project, "-j", "2", "--no-cache")
    assert result.code == 1 and "Traceback" not in result.err
    assert "templates/tag.html:2:" in result.err and "unused.html" not in result.err
