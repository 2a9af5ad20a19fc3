"""Themes: where templates and assets come from, and the Jinja environment.

A portfolio's `templates/` overrides any theme template by name; the theme is
`themes/<name>/` in the project, or a built-in one shipped in the package. All
links in templates go through `url()`, which makes them relative to the page
being rendered, so a site works under any sub-path and from disk.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from pathlib import Path

import jinja2

from .charts import format_measure
from .diagnostics import Diagnostics, Where
from .markup import slugify, summarize

PACKAGE_DIR = Path(__file__).parent
# In a wheel the theme is inside the package; in a source checkout it sits beside it.
_IN_WHEEL = PACKAGE_DIR / "themes"
BUILT_IN_THEMES = _IN_WHEEL if _IN_WHEEL.is_dir() else PACKAGE_DIR.parent / "themes"


def theme_dir(root: Path, name: str, diags: Diagnostics) -> Path | None:
    for base in (root / "themes", BUILT_IN_THEMES):
        if (base / name / "templates").is_dir():
            return base / name
    diags.error(Where("mastery.yaml"), f'theme "{name}" not found in themes/ or the built-in themes')
    return None


def environment(root: Path, theme: Path) -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(root / "templates")),
        jinja2.FileSystemLoader(str(theme / "templates")),
    ])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["url"] = url
    env.filters.update(
        slug=slugify,
        summary=summarize,
        datefmt=datefmt,
        duration=duration,
        measure=format_measure,
    )
    return env


def relative(from_path: str, to_path: str) -> str:
    """A link from the page at `from_path` ("goals/x/") to `to_path` ("sessions/y/")."""
    base = from_path if from_path.endswith("/") or not from_path else posixpath.dirname(from_path) + "/"
    if base == "/":
        base = ""
    link = "../" * base.count("/") + to_path
    return link or "./"


@jinja2.pass_context
def url(context, path: str, absolute: bool = False) -> str:
    """Link to a site path; absolute (under base_url) for feeds, sitemaps and the 404 page."""
    path = path.lstrip("/")
    if absolute or context.get("absolute_links"):
        return context["site"].base_url + path
    return relative(context["page"]["path"], path)


def datefmt(value, style: str = "long") -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if style == "iso":
        return value.isoformat()
    if style == "short":
        return f"{value:%b} {value.day}"
    return f"{value:%B} {value.day}, {value.year}"


def duration(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins} min" if hours and mins else f"{hours} h" if hours else f"{mins} min"
