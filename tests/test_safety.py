"""SPEC §5-6 under attack: hostile content, traversal, lost files, YAML bombs, location data."""

from __future__ import annotations

import io
import json
import os
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from PIL import Image

from conftest import markdown_it_only, site_files, write_tree
from mastery_site.markup import Renderer
from mastery_site.output import OutputError, Staging

XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)></title><svg onload=alert(3)>'


def hostile_portfolio(root):
    x = XSS.replace('"', '\\"')
    return write_tree(root, {
        "mastery.yaml": f'title: "T {x}"\nauthor: "A {x}"\ndescription: "D {x}"\n'
                        f'base_url: https://x.example/\nareas:\n  work: {{title: "W {x}", description: "WD {x}"}}\n',
        "content/goals/g.md": f'---\ntitle: "G {x}"\narea: work\nstarted: 2026-01-01\ntags: ["tag {x}"]\n'
                              f'metrics:\n  - {{name: "m {x}", unit: "u {x}", target: 3}}\n'
                              f'milestones:\n  - "M {x}"\n---\nGoal body <script>alert(4)</script>\n',
        "content/sessions/2026-01-01-s.md": f'---\ntitle: "S {x}"\ngoal: g\nmilestone: "M {x}"\n'
                                            f'metrics: {{"m {x}": 5}}\ntags: ["tag {x}"]\n'
                                            f'feedback:\n  - {{from: "F {x}", role: peer, note: "N {x}", '
                                            f'action: "AC {x}"}}\n---\n'
                                            "[a](javascript:alert(5)) [b](vbscript:msgbox) [c](data:text/html,x) "
                                            "![d](data:image/png;base64,iVBOR) <b onclick=alert(6)>raw</b>\n",
        "content/sessions/2026-01-02-t.md": f'---\ntitle: "T2 {x}"\ngoal: g\noutcome: setback\n'
                                            f'lesson: "L {x}"\n---\n',
        "content/pages/about.md": f'---\ntitle: "P {x}"\n---\n<iframe src=//evil></iframe>\n',
    })


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.urls = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "iframe", "object", "embed") or tag == "svg" and "onload" in attrs:
            self.scripts.append((tag, attrs.get("src")))
        self.handlers += [name for name in attrs if name.startswith("on")]
        self.urls += [v for k, v in attrs.items() if k in ("href", "src") and v]


def test_every_value_is_escaped_in_every_output(tmp_path, cli):
    project = hostile_portfolio(tmp_path / "p")
    assert cli("build", project, "--audience", "private").code == 0
    files = site_files(project / "_site")
    for name, data in files.items():
        if name.endswith(".html"):
            tags = Tags()
            tags.feed(data.decode())
            assert all(src and src.removeprefix("https://x.example/").lstrip("./") in ("assets/site.js",
                       "assets/search.js") for _, src in tags.scripts), (name, tags.scripts)
            assert tags.handlers == [], (name, tags.handlers)
            assert not [u for u in tags.urls if u.lower().startswith(("javascript:", "vbscript:", "data:text"))]
            assert b"<script>alert" not in data and b"</title><svg" not in data
        elif name.endswith(".xml"):
            etree.fromstring(data)  # still well-formed XML
        elif name.endswith(".json"):
            json.loads(data)
    page = files["sessions/2026-01-01-s/index.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, not run
    assert "&lt;b onclick=alert(6)&gt;raw&lt;/b&gt;" in page
    assert 'src="data:image/png;base64,iVBOR"' in page  # image data: URLs stay


def test_raw_html_only_when_allowed(tmp_path, cli):
    write_tree(tmp_path, {"mastery.yaml": "markdown:\n  allow_html: true\n",
                          "content/pages/about.md": "---\ntitle: A\n---\n<b>bold</b>\n"})
    assert cli("build", tmp_path).code == 0
    assert "<b>bold</b>" in (tmp_path / "_site/about/index.html").read_text()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.sampled_from(list("<>/\"'`=&;:!()[]*_#-\n abcxyz")),
    st.sampled_from(["<script>", "</script>", "<style>", "```", "```private\n", "javascript:", "<!--", "-->",
                     "<![CDATA[", "](", "![x](", "<a href=", "onerror=", "<svg onload=", "    ", "> "])),
    max_size=120).map("".join))
def test_markdown_never_emits_script_or_style(source):
    for audience in ("public", "private"):
        html = Renderer(allow_html=False, audience=audience).render(source).html
        tags = Tags()
        tags.feed(html)
        tags.close()
        assert tags.scripts == [] and tags.handlers == []
        assert "<script" not in html.lower() and "<style" not in html.lower()


LINKS = ["https://example.org/a", "https://ex\u00e4mple.org/b c", "HTTP://EXAMPLE.ORG/%zz", "mailto:me@b\u00fccher.de",
         "//host/x", "javascript:alert(1)", "a b", "../x?y=1#z", "<https://example.org/q>"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(st.sampled_from([f"[t]({link})" for link in LINKS]
                                                   + [f"<{link}>" for link in LINKS] + [f"![i]({LINKS[0]})"]),
                                   st.sampled_from(["word ", "\n", "\n\n", "*", "`", "[", "]"])),
                         max_size=12).map("".join), min_size=1, max_size=4))
def test_links_render_as_markdown_it_renders_them(sources):
    """The renderer remembers each link's normalized form (markup.LINKS_REMEMBERED): documents
    after the first, which link the same places, render exactly as a fresh markdown-it would."""
    from markdown_it import MarkdownIt
    renderer = Renderer(allow_html=False, audience="public")
    for source in sources:
        reference = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
        assert renderer.render(source).html == reference.render(source)


def test_a_link_is_normalized_once_per_build(monkeypatch):
    """markdown-it's (pyromark, when there, renders such a body without it: see test_markdown_fast)."""
    from markdown_it.common import normalize_url
    calls = []
    original = normalize_url.normalizeLink
    monkeypatch.setattr(normalize_url, "normalizeLink", lambda url: calls.append(url) or original(url))
    renderer = Renderer(allow_html=False, audience="public")
    with markdown_it_only():
        for n in range(5):
            html = renderer.render(f"Entry {n}: [the plan](https://example.org/plan) and [log](../log/).\n").html
            assert '<a href="https://example.org/plan">the plan</a>' in html and '<a href="../log/">log</a>' in html
    assert calls == ["https://example.org/plan", "../log/"]


def test_traversal_and_symlinks_never_leave_the_project(tmp_path, cli):
    outside = write_tree(tmp_path / "outside", {"secret.md": "---\ntitle: OUTSIDE-SECRET\n---\n",
                                                "secret.png": b"\x89PNG OUTSIDE"})
    project = write_tree(tmp_path / "p", {"content/sessions/2026-01-01-a.md": "---\ntitle: A\n---\n"})
    (project / "content/sessions/2026-01-02-link.md").symlink_to(outside / "secret.md")
    result = cli("check", project)
    assert result.code == 1
    assert "content/sessions/2026-01-02-link.md:1:1: error: a symlink out of the content folder" in result.err
    (project / "content/sessions/2026-01-02-link.md").unlink()
    (project / "content/sessions/photo.png").symlink_to(outside / "secret.png")
    write_tree(project, {"content/sessions/2026-01-03-b.md": "---\ntitle: B\nslug: ../../etc\n---\n![p](photo.png)\n"})
    result = cli("check", project)
    assert 'slug "../../etc" may only use' in result.err
    assert 'image "photo.png" is outside the content folder' in result.err
    (project / "content/sessions/2026-01-03-b.md").unlink()
    (project / "static").mkdir()
    (project / "static/leak.png").symlink_to(outside / "secret.png")
    result = cli("build", project)
    assert result.code == 0 and "static/leak.png:1:1: warning: a symlink out of the project" in result.err
    assert not any(b"OUTSIDE" in data for data in site_files(project / "_site").values())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(["a", "b.html", ".", "..", "", ".hidden", "x..y", "c"]), min_size=1, max_size=5))
def test_the_staging_folder_writes_every_path_inside_it_or_refuses(parts, tmp_path_factory):
    """Whatever path it is given, the new site's file is where os.path.normpath puts it inside
    the site, or the write is refused: a path already normal (every page's) is taken as it is,
    any other normalized and checked (Staging._inside)."""
    rel = "/".join(parts)
    out = tmp_path_factory.mktemp("staging") / "site"
    normal = os.path.normpath(rel)
    with Staging(out) as staging:
        if normal == "." or normal.startswith(("..", "/")):
            with pytest.raises(OutputError):
                staging.write(rel, b"x")
            return
        staging.write(rel, b"x")
        staging.commit()
    assert (out / normal).read_bytes() == b"x"


def test_failed_build_leaves_the_previous_site_byte_identical(tmp_path, cli):
    cli("init", tmp_path)
    assert cli("build", tmp_path).code == 0
    before = site_files(tmp_path / "_site")
    write_tree(tmp_path, {"templates/wins.html": "{{ broken.x }}"})  # fails halfway through rendering
    assert cli("build", tmp_path).code == 1
    assert site_files(tmp_path / "_site") == before
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name or ".old-" in p.name]


def test_force_replaces_a_foreign_folder_but_never_sources(tmp_path, cli):
    cli("init", tmp_path / "p")
    foreign = write_tree(tmp_path / "old-site", {"index.html": "old"})
    assert cli("build", tmp_path / "p", "-o", foreign).code == 2
    assert cli("build", tmp_path / "p", "-o", foreign, "--force").code == 0
    assert (foreign / ".mastery-site").is_file()
    for inside in ("content", "content/sessions", "static", "templates", ".git"):
        result = cli("build", tmp_path / "p", "-o", tmp_path / "p" / inside, "--force")
        assert result.code == 2 and "holds your sources" in result.err
    assert (tmp_path / "p/content/goals/my-first-goal.md").is_file()


@pytest.mark.parametrize("text, message", [
    ("---\ntitle: " + "x" * 70000 + "\n---\n", "YAML is larger than 64 KiB"),
    ("---\ntitle: " + "[" * 2000 + "]" * 2000 + "\n---\n", "malformed YAML"),
    ("---\n- a\n- b\n---\n", "the front matter of a session must be a mapping"),
    ("---\n" + "".join(f"k{i}: 1\n" for i in range(6000)) + "---\n", "expands to more than 5000 values"),
    ("---\njust text\n---\n", "the front matter of a session must be a mapping"),
    ("", 'a session is missing the required key "title"'),
    ("---\n", 'a session is missing the required key "title"'),
    ("---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
     "title: *h\n---\n", "YAML uses more than 64 aliases"),
])
def test_yaml_limits_are_diagnostics(tmp_path, cli, text, message):
    write_tree(tmp_path, {"content/sessions/2026-01-01-x.md": text})
    result = cli("check", tmp_path)
    assert result.code == 1 and message in result.err and "Traceback" not in result.err


def test_bom_and_crlf_files_read_like_any_other(tmp_path, cli):
    write_tree(tmp_path, {
        "content/sessions/2026-01-01-bom.md": "\ufeff---\r\ntitle: With BOM\r\ndifficulty: 9\r\n---\r\n".encode(),
        "content/sessions/2026-01-02-crlf.md": b"---\r\ntitle: CRLF\r\n---\r\nLine one\r\n",
    })
    result = cli("check", tmp_path)
    assert "content/sessions/2026-01-01-bom.md:3:13: error: difficulty must be" in result.err
    write_tree(tmp_path, {"content/sessions/2026-01-01-bom.md": "\ufeff---\r\ntitle: With BOM\r\n---\r\n".encode()})
    assert cli("build", tmp_path).code == 0
    assert "<h1>With BOM</h1>" in (tmp_path / "_site/sessions/2026-01-01-bom/index.html").read_text()


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 140, 200)).save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


@pytest.mark.parametrize("audience, kept", [("public", False), ("mentor", False), ("private", True)])
def test_photos_lose_their_location_outside_private_builds(tmp_path, cli, audience, kept):
    write_tree(tmp_path, {"content/sessions/2026-01-01-run/index.md": "---\ntitle: Run\n---\n![me](me.jpg)\n",
                          "content/sessions/2026-01-01-run/me.jpg": gps_jpeg()})
    assert cli("build", tmp_path, "--audience", audience).code == 0
    published = Image.open(tmp_path / "_site/sessions/2026-01-01-run/me.jpg")
    exif = published.getexif()
    assert bool(exif.get_ifd(0x8825)) is kept
    assert exif.get(0x010F) == "PhoneMaker"  # other metadata survives
    assert published.size == (40, 30)


def test_check_audience_lists_what_would_become_public(tmp_path, cli):
    write_tree(tmp_path, {
        "content/sessions/2026-01-01-a.md": "---\ntitle: A\n---\nSee [cv](../cv.pdf)\n",
        "content/sessions/2026-01-02-b.md": "---\ntitle: B\nvisibility: public\n---\n",
        "content/sessions/2026-01-03-c.md": "---\ntitle: C\nvisibility: private\n---\n",
        "static/cv.pdf": "pdf", "static/old-notes.txt": "notes",
    })
    result = cli("check", tmp_path, "--audience", "public", "--strict")
    assert result.code == 0  # notes inform; they never fail a run
    notes = [line for line in result.err.splitlines() if ": note: " in line]
    assert notes == [
        'content/sessions/2026-01-01-a.md:1:1: note: in the public build only because default_visibility is '
        '"public"; add "visibility:" to decide',
        "static/old-notes.txt:1:1: note: published as /old-notes.txt in every build, but no entry links to it",
    ]
    assert ": note: " not in cli("check", tmp_path).err
