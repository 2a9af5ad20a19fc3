"""The site in a real browser: Debian's Chromium driven by Playwright, with axe-core.

Accessibility (0 serious or critical axe violations, light and dark), search typed
into with the keyboard, no horizontal scrolling at 390 px, and the dashboard's
heatmap and active goals above the fold at 1280 px.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from conftest import CHROMIUM, NPM_CACHE, REPO, build_into, require, write_tree

AXE = NPM_CACHE / "node_modules/axe-core/axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
AXE_PAGES = ["", "timeline/", "goals/run-10k/", "sessions/2026-07-01-team-demo-freeze/", "wins/", "lessons/",
             "areas/", "search/", "feedback/", "goals/"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo built and served over HTTP on a free port (search fetches its index)."""
    out = build_into(REPO, tmp_path_factory.mktemp("site") / "out")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", out
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    require(os.path.exists(CHROMIUM), "Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(browser, site, scheme):
    require(AXE.is_file(), "axe-core (npm)")
    base, _ = site
    page = browser.new_page(color_scheme=scheme)
    problems = {}
    for path in AXE_PAGES:
        page.goto(base + path)
        found = serious_violations(page)
        if found:
            problems[path] = found
    assert problems == {}


def test_search_finds_a_known_entry_by_keyboard(browser, site):
    base, _ = site
    page = browser.new_page()
    page.goto(base + "search/")
    page.keyboard.press("Tab")  # skip link
    for _ in range(20):  # tab through the navigation to the search field
        if page.evaluate("document.activeElement.id") == "q":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("shin splints")
    page.wait_for_selector("#search-results li a")
    first = page.locator("#search-results li a").first
    assert first.text_content() == "Shin splints"
    assert "result" in page.locator("#search-status").text_content()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Shin splints"
    page.keyboard.press("Enter")
    page.wait_for_url("**/sessions/2026-06-28-shin-splints/")
    assert page.locator("h1").text_content() == "Shin splints"


def test_no_page_scrolls_horizontally_on_a_phone(browser, site):
    base, out = site
    page = browser.new_page(viewport={"width": 390, "height": 844})
    wide = []
    for html in sorted(out.rglob("*.html")):
        path = html.relative_to(out).as_posix().removesuffix("index.html")
        page.goto(base + path)
        if page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"):
            wide.append(path)
    assert wide == []


def test_dashboard_shows_heatmap_and_goals_above_the_fold(browser, site):
    base, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base)
    heatmap = page.locator("svg.heatmap").bounding_box()
    card = page.locator(".goal-card").first.bounding_box()
    assert heatmap["y"] + heatmap["height"] <= 800
    assert card["y"] + card["height"] <= 800
    page.screenshot(path=str(Path(os.environ.get("SCREENSHOTS", "/tmp")) / "dashboard-1280.png"))


def test_site_browses_from_disk(browser, site):
    """Opened with file://, links still reach pages (not folder listings) and search still works."""
    _, out = site
    page = browser.new_page()
    page.goto((out / "index.html").as_uri())
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Goals").click()
    page.wait_for_url("**/goals/index.html")
    assert page.locator("h1").text_content() == "Goals"
    page.get_by_role("link", name="Run 10 km in under 50 minutes").first.click()
    page.wait_for_url("**/goals/run-10k/index.html")
    page.goto((out / "search/index.html").as_uri())
    page.fill("#q", "framed")
    page.wait_for_selector("#search-results li a")
    page.locator("#search-results li a").first.click()
    page.wait_for_url("**/sessions/2026-11-21-framed/index.html")


def test_hostile_titles_typed_into_search_never_run(browser, tmp_path):
    """Titles with script and event handlers are shown as text by the search client."""
    from test_safety import hostile_portfolio
    project = hostile_portfolio(tmp_path / "p")
    title = '<img src=x onerror=\\"window.pwned=1\\"><script>window.pwned=2</script>'
    write_tree(project, {"content/sessions/2026-01-05-z.md": f'---\ntitle: "{title}"\n---\n'})
    out = build_into(project, tmp_path / "out", "--audience", "private")
    dialogs = []
    page = browser.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto((out / "search/index.html").as_uri())
    for query in ("img", "script", "alert", "onerror"):
        page.fill("#q", query)
        page.wait_for_selector("#search-results li a")
    page.wait_for_timeout(200)
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    titles = page.locator("#search-results li a").all_text_contents()
    assert any("onerror" in t for t in titles)  # shown, as text
    assert page.locator("#search-results img, #search-results script, #search-results svg").count() == 0


def test_live_reload_and_error_overlay_in_the_browser(browser, tmp_path):
    """A page open in Chromium reloads by itself after an edit, keeps its scroll position,
    shows the error overlay while the content is broken and clears it after the fix."""
    import shutil

    from test_serve import SESSION, DevServer, edit
    project = tmp_path / "p"
    shutil.copytree(REPO / "content", project / "content")
    shutil.copy(REPO / "mastery.yaml", project / "mastery.yaml")
    dev = DevServer(project)
    try:
        page = browser.new_page(viewport={"width": 800, "height": 400})
        page.goto(dev.url + "goals/run-10k/")
        page.evaluate("window.scrollTo(0, 900)")
        page.evaluate("window.notReloaded = true")
        page.wait_for_timeout(300)  # the event stream is connected
        edit(project, 'title: "Run 10 km in under 50 minutes"', 'title: "Run 10 km, sub 50"',
             "content/goals/run-10k.md")
        page.wait_for_function("document.querySelector('h1').textContent === 'Run 10 km, sub 50'", timeout=15000)
        assert page.evaluate("window.notReloaded") is None  # a real reload, by itself
        assert abs(page.evaluate("window.scrollY") - 900) < 5
        edit(project, "difficulty: 2", "difficulty: 9")
        page.wait_for_selector("#mastery-overlay", timeout=15000)
        assert "difficulty must be" in page.locator("#mastery-overlay").text_content()
        assert page.locator("h1").text_content() == "Run 10 km, sub 50"  # the last good page stays
        edit(project, "difficulty: 9", "difficulty: 2", SESSION)
        page.wait_for_selector("#mastery-overlay", state="detached", timeout=15000)
    finally:
        dev.stop()
