"""Publishing with real clients: feedparser, an XSD validator, a crawl of every link,
JSON Schema, git, zip files."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser
import jsonschema
import pytest
import yaml
from lxml import etree

from conftest import REPO, build_into, git, site_files, write_tree

PORTFOLIOS = [REPO, *sorted(p for p in (REPO / "examples").iterdir() if (p / "mastery.yaml").is_file())]
SUBPATH = "https://user.github.io/growth/"


@pytest.fixture(scope="module", params=PORTFOLIOS, ids=lambda p: p.name if p != REPO else "demo")
def subpath_site(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "growth"
    return build_into(request.param, out, "--base-url", SUBPATH, "--audience", "private")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("href", "src", "content") and v and k != "content"
                       or (k == "content" and v and v.startswith(SUBPATH))]


def to_file(out: Path, url: str) -> Path:
    """Map a URL of the site (under SUBPATH) to the file that serves it."""
    path = urlsplit(url).path.removeprefix(urlsplit(SUBPATH).path)
    target = out / path
    return target / "index.html" if path.endswith("/") or path == "" else target


def test_every_link_resolves_under_the_sub_path(subpath_site):
    out = subpath_site
    checked = 0
    for page in out.rglob("*.html"):
        here = SUBPATH + page.relative_to(out).as_posix()
        parser = Links()
        parser.feed(page.read_text())
        for link in parser.links:
            url = urldefrag(urljoin(here, link))[0]
            if not url.startswith("https://user.github.io/"):
                continue  # external
            assert url.startswith(SUBPATH), f"{page}: {link} leaves /growth/"
            assert to_file(out, url).is_file(), f"{page.relative_to(out)}: broken link {link}"
            checked += 1
    for loc in etree.parse(str(out / "sitemap.xml")).iterfind(".//{*}loc"):
        assert to_file(out, loc.text).is_file(), loc.text
    assert checked > 200


def test_feeds_parse_cleanly_with_required_elements(subpath_site):
    out = subpath_site
    feeds = [out / "feed.xml", *sorted(out.glob("goals/*/feed.xml"))]
    for path in feeds:
        feed = feedparser.parse(path.read_bytes())
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.version == "atom10"
        for key in ("id", "title", "updated"):
            assert feed.feed.get(key), (path, key)
        assert feed.feed.get("author")
        assert any(link.rel == "self" and link.href.startswith(SUBPATH) for link in feed.feed.links)
        ids = [entry.id for entry in feed.entries]
        assert len(ids) == len(set(ids)) and len(ids) <= 50
        for entry in feed.entries:
            assert entry.title and entry.updated and entry.summary is not None
            assert entry.link.startswith(SUBPATH + "sessions/") and to_file(out, entry.link).is_file()
        dates = [entry.updated_parsed for entry in feed.entries]
        assert dates == sorted(dates, reverse=True)
    site_feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert len(site_feed.entries) == min(50, len(list((out / "sessions").iterdir())))


def test_sitemap_is_valid_and_robots_points_to_it(subpath_site):
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data/sitemap.xsd")))
    sitemap = etree.parse(str(subpath_site / "sitemap.xml"))
    schema.assertValid(sitemap)
    robots = (subpath_site / "robots.txt").read_text()
    assert "Disallow: /" in robots  # a private build


def test_public_robots_and_meta(tmp_path):
    out = build_into(REPO, tmp_path / "site")
    assert f"Sitemap: {'https://maya.example.org/growth/'}sitemap.xml" in (out / "robots.txt").read_text()
    page = (out / "sessions/2026-11-01-arrabida-hills/index.html").read_text()
    assert '<link rel="canonical" href="https://maya.example.org/growth/sessions/2026-11-01-arrabida-hills/">' in page
    assert ('<meta property="og:image" content="https://maya.example.org/growth/sessions/2026-11-01-arrabida-hills/'
            'arrabida.png">') in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert 'rel="alternate" type="application/atom+xml"' in page
    assert (out / ".nojekyll").is_file()


def test_images_are_copied_and_shown_as_progress_photos(tmp_path):
    out = build_into(REPO, tmp_path / "site")
    assert (out / "sessions/2026-11-01-arrabida-hills/arrabida.png").read_bytes() == (
        REPO / "content/sessions/2026/2026-11-01-arrabida-hills/arrabida.png").read_bytes()
    assert (out / "sessions/2026-08-09-graded-sky/graded-sky.png").is_file()
    assert 'src="arrabida.png"' in (out / "sessions/2026-11-01-arrabida-hills/index.html").read_text()
    gallery = (out / "goals/watercolour/index.html").read_text().split('<h2 id="photos">')[1]
    assert gallery.index("graded-sky.png") < gallery.index("arrabida.png")  # oldest first


def test_image_problems_are_located(tmp_path, cli):
    write_tree(tmp_path, {
        "content/secret.png": b"\x89PNG",
        "content/sessions/2026-01-01-a.md": "---\ntitle: A\n---\n\nText\n\n![gone](missing.jpg)\n",
        "content/sessions/2026-01-02-b.md": "---\ntitle: B\n---\n![x](../../../etc/passwd.png) "
                                            "![y](%2e%2e/%2e%2e/%2e%2e/x.png) ![z](/etc/x.png)\n",
        "content/sessions/2026-01-03-c.md": "---\ntitle: C\n---\n![ok](../secret.png)\n",
    })
    result = cli("check", tmp_path)
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if ": error: " in line]
    assert lines[0] == ('content/sessions/2026-01-01-a.md:7:9: error: image "missing.jpg" not found '
                        '(looked for content/sessions/missing.jpg)')
    assert [line.split(": error: ")[1] for line in lines if "2026-01-02-b" in line] == [
        'image "../../../etc/passwd.png" is outside the content folder',
        'image "%2e%2e/%2e%2e/%2e%2e/x.png" is outside the content folder']  # "/etc/x.png" is a site URL
    assert not any("2026-01-03-c" in line for line in lines)  # inside content/: fine


def test_mentor_zip_is_complete_noindex_and_reproducible(tmp_path, cli):
    first, second = tmp_path / "one/mentor.zip", tmp_path / "two/mentor.zip"
    assert cli("build", REPO, "--audience", "mentor", "--zip", first).code == 0
    assert cli("build", REPO, "--audience", "mentor", "--zip", second).code == 0
    assert first.read_bytes() == second.read_bytes()
    archive = zipfile.ZipFile(first)
    names = archive.namelist()
    assert "mentor/index.html" in names and "mentor/search-index.js" in names
    html = [n for n in names if n.endswith(".html")]
    assert all(b'<meta name="robots" content="noindex">' in archive.read(n) for n in html)
    assert any(b"MENTOR-ONLY-DEMO" in archive.read(n) for n in html)
    assert not any(b"PRIVATE-DEMO" in archive.read(n) for n in names)


def test_sitemap_lastmod_from_git_and_silent_without(tmp_path, cli):
    project = write_tree(tmp_path / "p", {"content/sessions/2026-01-01-a.md": "---\ntitle: A\n---\n",
                                          "mastery.yaml": "base_url: https://x.example/\n"})
    assert cli("build", project, "-o", tmp_path / "plain").code == 0
    assert "<lastmod>" not in (tmp_path / "plain/sitemap.xml").read_text()
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-02-03T10:00:00Z", "GIT_COMMITTER_DATE": "2026-02-03T10:00:00Z",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "journal"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, env=env)
    assert cli("build", project, "-o", tmp_path / "git").code == 0
    assert ("<loc>https://x.example/sessions/2026-01-01-a/</loc><lastmod>2026-02-03</lastmod>"
            in (tmp_path / "git/sitemap.xml").read_text())


def test_the_git_history_is_read_again_only_for_a_new_commit(tmp_path, cli, monkeypatch):
    """Reading a long history takes a while (0.2 s for 10,000 files): an edit alone must not."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    session = "content/sessions/2026-01-01-a.md"
    project = write_tree(tmp_path / "p", {session: "---\ntitle: A\n---\n", "mastery.yaml": "base_url: https://x.example/\n"})
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "journal"]):
        git(project, *args, day="2026-02-03")
    logs = []
    run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: (logs.append(command[3]), run(command, **kw))[1])
    sitemap = project / "_site/sitemap.xml"
    assert cli("build", project).code == 0 and "<lastmod>2026-02-03</lastmod>" in sitemap.read_text()
    (project / session).write_text("---\ntitle: A, edited\n---\n")
    assert cli("build", project).code == 0 and "<lastmod>2026-02-03</lastmod>" in sitemap.read_text()
    assert logs.count("log") == 1  # the edit alone: the same commit, the same dates
    assert logs.count("rev-parse") == 2  # the commit is asked for once per build
    git(project, "commit", "-qam", "edited", day="2026-03-04")
    assert cli("build", project).code == 0 and "<lastmod>2026-03-04</lastmod>" in sitemap.read_text()
    assert logs.count("log") == 2


def test_source_date_epoch_dates_an_empty_feed(tmp_path, cli, monkeypatch):
    cli("init", tmp_path)
    for session in (tmp_path / "content/sessions").rglob("*.md"):
        session.unlink()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    assert cli("build", tmp_path).code == 0
    assert "<updated>2026-01-01T00:00:00+00:00</updated>" in (tmp_path / "_site/feed.xml").read_text()
    first = site_files(tmp_path / "_site")
    assert cli("build", tmp_path).code == 0
    assert site_files(tmp_path / "_site") == first


def front_matter(path: Path) -> dict:
    text = path.read_text()
    data = yaml.safe_load(text.split("---\n")[1]) or {}
    return json.loads(json.dumps(data, default=str))  # YAML dates as the strings editors see


def test_schema_accepts_every_real_front_matter_and_rejects_bad_values(cli):
    schema = {kind: json.loads(cli("schema", kind).out) for kind in ("goal", "session")}
    both = json.loads(cli("schema").out)
    for source in PORTFOLIOS:
        for path in (source / "content/goals").glob("*.md"):
            jsonschema.validate(front_matter(path), schema["goal"])
            jsonschema.validate(front_matter(path), both)
        for path in (source / "content/sessions").rglob("*.md"):
            jsonschema.validate(front_matter(path), schema["session"])
    for bad in ({"title": "x", "difficulty": 7}, {"title": "x", "outcome": "fail"}, {"difficulty": 2},
                {"title": "x", "dificulty": 2}, {"title": "x", "duration": "a while"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema["session"])


def test_schema_covers_every_front_matter_key(cli):
    from mastery_site.entries import GOAL_KEYS, SESSION_KEYS
    assert set(json.loads(cli("schema", "goal").out)["properties"]) == set(GOAL_KEYS)
    assert set(json.loads(cli("schema", "session").out)["properties"]) == set(SESSION_KEYS)


def test_github_pages_workflow_example_builds_the_site():
    workflow = yaml.safe_load((REPO / "examples/deploy/github-pages.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["build"]["steps"]]
    assert "mastery-site build --audience public" in steps
    assert workflow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages")
