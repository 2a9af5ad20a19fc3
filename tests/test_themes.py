"""Themes are swappable: `extends:` in theme.yaml, and a portfolio's templates/ override by name."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from conftest import write_tree
from mastery_site.theme import environment

BASE = {
    "content/goals/g.md": "---\ntitle: G\narea: work\nstarted: 2026-01-01\n---\n",
    "content/sessions/2026-01-02-s.md": "---\ntitle: S\ngoal: g\n---\nBody.\n",
}


def test_child_theme_extends_default_and_overrides_one_template(cli, tmp_path):
    write_tree(tmp_path, {
        **BASE,
        "mastery.yaml": "theme: calm\n",
        "themes/calm/theme.yaml": "name: calm\nextends: default\n",
        "themes/calm/templates/session.html": '{% extends "base.html" %}{% block main %}<p class="calm">'
                                              "{{ entry.title }}</p>{% endblock %}",
        "themes/calm/static/extra.css": "p { color: teal; }\n",
    })
    assert cli("build", tmp_path).code == 0
    site = tmp_path / "_site"
    assert '<p class="calm">S</p>' in (site / "sessions/2026-01-02-s/index.html").read_text()
    assert "Milestone" not in (site / "sessions/2026-01-02-s/index.html").read_text()
    assert "Active goals" in (site / "index.html").read_text()  # the parent's dashboard
    assert (site / "assets/style.css").is_file() and (site / "assets/extra.css").is_file()


def test_portfolio_templates_override_the_theme(cli, tmp_path):
    write_tree(tmp_path, {**BASE, "templates/404.html": "Lost? {{ site.title }}\n"})
    assert cli("build", tmp_path).code == 0
    assert (tmp_path / "_site/404.html").read_text() == "Lost? My progress portfolio\n"


def test_dates_are_written_with_the_months_names_strftime_gives(cli, tmp_path):
    """`datefmt` names each month as strftime does, long and short (found once, not per date)."""
    import datetime as dt

    days = [dt.date(2026, month, month + 1) for month in range(1, 13)]
    template = "{% for d in days.split() %}{{ d | datefmt }}|{{ d | datefmt('short') }}\n{% endfor %}"
    write_tree(tmp_path, {**BASE, "templates/404.html": "{% set days = '" + " ".join(map(str, days)) + "' %}"
                          + template})
    assert cli("build", tmp_path).code == 0
    assert (tmp_path / "_site/404.html").read_text().splitlines() == [
        f"{d:%B} {d.day}, {d.year}|{d:%b} {d.day}" for d in days]
    assert "<time datetime=\"2026-01-02\">January 2, 2026</time>" in (tmp_path / "_site/index.html").read_text()


def test_a_goal_page_reads_the_builds_today(cli, tmp_path):
    """SPEC: "today" is --today if given. Goal pages carry it in their context (it keys their
    reuse), so a template there must see the same day as everywhere else."""
    write_tree(tmp_path, {**BASE, "templates/goal.html": "{{ today }}\n", "templates/robots.txt": "{{ today }}\n"})
    assert cli("build", tmp_path, "--today", "2026-03-04").code == 0
    assert (tmp_path / "_site/goals/g/index.html").read_text() == "2026-03-04\n"
    assert (tmp_path / "_site/robots.txt").read_text() == "2026-03-04\n"


def test_unknown_and_circular_themes_are_errors(cli, tmp_path):
    write_tree(tmp_path, {**BASE, "mastery.yaml": "theme: nope\n"})
    result = cli("build", tmp_path)
    assert result.code == 1 and 'mastery.yaml:1:1: error: theme "nope" not found' in result.err
    write_tree(tmp_path, {"mastery.yaml": "theme: a\n", "themes/a/templates/.keep": "", "themes/b/templates/.keep": "",
                          "themes/a/theme.yaml": "extends: b\n", "themes/b/theme.yaml": "extends: a\n"})
    result = cli("build", tmp_path)
    assert result.code == 1 and "extends itself" in result.err


def test_template_errors_are_reported_not_raised(cli, tmp_path):
    write_tree(tmp_path, {**BASE, "templates/wins.html": "{% extends 'base.html' %}{% block main %}{{ nope.x }}"
                                                         "{% endblock %}"})
    result = cli("build", tmp_path)
    assert result.code == 1
    assert "templates/wins.html:1:1: error: template error while rendering /wins/" in result.err
    assert "Traceback" not in result.err


def test_templates_read_page_and_plain_dicts_both_ways(cli, tmp_path):
    """`page.x` and `page["x"]`; on a dict, `d.key` finds the key and `d.items()` is still the method."""
    write_tree(tmp_path, {**BASE, "templates/goals.html": (
        "{{ page.path }}|{{ page['path'] }}|{{ page.root }}|{{ url('tags/') }}|"
        "{{ stats.sessions }}|{% for slug, area in site.areas.items() %}{{ slug }},{% endfor %}\n")})
    assert cli("build", tmp_path).code == 0
    text = (tmp_path / "_site/goals/index.html").read_text()
    assert text.startswith("goals/|goals/|../|../tags/|1|") and "work," in text


def test_the_item_macros_kept_for_custom_themes_write_what_the_list_macros_write(cli, tmp_path):
    """The default theme writes a list with one macro call (session_items, win_items: one a
    session made the wins page 70 % slower); session_item and win_item are still there."""
    session = "---\ntitle: T\ngoal: g\noutcome: success\ndifficulty: 5\ntags: [x]\n---\nBody.\n"
    macros = '{% from "macros.html" import session_item, win_item with context %}'
    write_tree(tmp_path, {**BASE, "content/sessions/2026-01-03-t.md": session,
                          "templates/tag.html": macros + "{% for s in tag.sessions %}{{ session_item(s) }}{% endfor %}",
                          "templates/timeline.html": macros + "{% for w in stats.wins %}{{ win_item(w) }}{% endfor %}"})
    assert cli("build", tmp_path).code == 0
    sessions = (tmp_path / "_site/tags/x/index.html").read_text()
    wins = (tmp_path / "_site/timeline/index.html").read_text()
    assert sessions.count("<li") == 1 and sessions in (tmp_path / "_site/areas/work/index.html").read_text()
    assert wins.count("<li") == 1 and wins in (tmp_path / "_site/wins/index.html").read_text()


def test_list_items_show_the_badges_the_session_page_shows(cli, tmp_path):
    """The session page and `session_items` write the outcome and difficulty badges out instead
    of calling their macros (a macro call per badge made pages 30 % slower): they must stay what
    the macros, still there for custom themes, make."""
    session = "---\ntitle: T\ngoal: g\noutcome: setback\ndifficulty: 4\nlesson: L\ntags: [x]\n---\nBody.\n"
    macros = ('{% from "macros.html" import outcome, difficulty %}{% for t in tags %}'
              "{% for s in t.sessions %}{{ outcome(s) }} {{ difficulty(s) }}{% endfor %}{% endfor %}")
    write_tree(tmp_path, {**BASE, "content/sessions/2026-01-03-t.md": session, "templates/tags.html": macros})
    assert cli("build", tmp_path).code == 0
    page = (tmp_path / "_site/sessions/2026-01-03-t/index.html").read_text()
    badges = re.search(r'<span class="outcome[^>]*>setback</span> <span class="difficulty".*?</span></span>', page)
    assert badges is not None
    assert (tmp_path / "_site/tags/index.html").read_text() == badges.group(0)
    for listing in ("tags/x/index.html", "goals/g/index.html", "timeline/index.html"):
        assert badges.group(0) in (tmp_path / "_site" / listing).read_text(), listing


WRITES = """{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}{% macro c() %}[{{ caller() }}]{% endmacro %}
{% set b %}<b>{{ v }}</b>{% endset %}
{{ v }}|{{ v ~ "&" }}|{{ v | e }}|{{ v | safe }}|{{ m(v) }}|{{ b }}|{{ [v] }}|{{ {"k": v} }}|{{ n }}|{{ none }}
{% filter upper %}{{ v }}{% endfilter %}|{% call c() %}{{ v }}{% endcall %}
{% autoescape false %}{{ v }}{% endautoescape %}|{% autoescape flag %}{{ v }}|{{ m(v) }}{% endautoescape %}"""


@settings(max_examples=60, deadline=None)
@given(v=st.one_of(st.text(), st.text().map(Markup)), n=st.one_of(st.integers(), st.floats(), st.none()),
       flag=st.booleans())
def test_templates_write_values_as_jinja_would(v, n, flag):
    """Our templates write `{{ }}` through a faster escape (theme.SiteCodeGenerator): every way
    a value is written must give what Jinja's own code gives, Markup and `{% autoescape %}` included."""
    ours = environment(Path("."), []).from_string(WRITES)
    jinjas = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                lstrip_blocks=True).from_string(WRITES)
    assert ours.render(v=v, n=n, flag=flag) == jinjas.render(v=v, n=n, flag=flag)


def test_an_undefined_value_written_is_still_an_error():
    with pytest.raises(jinja2.UndefinedError):
        environment(Path("."), []).from_string("<p>{{ missing }}</p>").render()
