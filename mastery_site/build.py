"""The build, read top to bottom: load → validate → select → aggregate → plan → render → write.

`load_site()` does everything up to the model (and is all `check` and `stats`
need); `build()` renders the planned pages and swaps the finished site in.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import __version__
from .aggregate import aggregate, today_of
from .charts import Pictures
from .config import load_config
from .content import Loaded, load, select
from .diagnostics import BuildError, Diagnostics, Where
from .images import without_location
from .model import Portfolio
from .output import Staging, check_output
from .pages import PageSpec, images_of, plan, search_index
from .publish import git_lastmod, source_date, write_zip
from .theme import environment, theme_chain


@dataclass
class Options:
    audience: str = "public"
    drafts: bool = False
    base_url: str | None = None
    today: dt.date | None = None


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
class BuildResult:
    out: Path
    pages: int
    site: Site


def load_site(root: Path, options: Options, diags: Diagnostics | None = None) -> Site:
    """Read and validate everything; raise BuildError if any error was found."""
    diags = diags if diags is not None else Diagnostics()
    config = load_config(root, diags)
    if options.base_url:
        config.base_url = options.base_url if options.base_url.endswith("/") else options.base_url + "/"
    loaded = load(root, config, diags)
    if diags.errors:
        raise BuildError(diags)
    portfolio = select(loaded, options.audience, options.drafts)
    stats = aggregate(portfolio, options.today)
    return Site(root, portfolio, stats, today_of(portfolio, options.today), diags, loaded)


def build(root: Path, out: Path | None = None, options: Options | None = None, force: bool = False,
          zip_to: Path | None = None) -> BuildResult:
    """Build the site into `out` (default `root/_site`), replacing it atomically; or, with
    `zip_to`, into a zip file only (the site in `out` is left alone)."""
    options = options or Options()
    if zip_to is not None:
        with tempfile.TemporaryDirectory() as tmp:
            result = build(root, Path(tmp) / "site", options)
            write_zip(result.out, zip_to)
        return BuildResult(zip_to, result.pages, result.site)
    out = out if out is not None else root / "_site"
    check_output(out, root, force)
    site = load_site(root, options)
    chain = _themes(site)
    env = _environment(site, chain)
    specs = plan(site.portfolio, site.stats, git_lastmod(root))
    with Staging(out) as staging:
        for spec in specs:
            staging.write(spec.file, render_page(env, site, spec))
        index = search_index(site.portfolio)
        staging.write("search-index.json", index)
        staging.write("search-index.js", b"window.MASTERY_SEARCH_INDEX = " + index + b";\n")
        staging.write(".nojekyll", b"")  # GitHub Pages: serve the site as it is
        _copy_images(staging, site)
        for theme in reversed(chain):  # a child theme's assets override its parent's
            staging.copy_tree(theme / "static", "assets")
        for skipped in staging.copy_tree(root / "static", inside=root):
            site.diagnostics.warning(Where(f"static/{skipped}"), "a symlink out of the project; not copied")
        staging.commit()
    return BuildResult(out, len(specs), site)


def _copy_images(staging: Staging, site: Site) -> None:
    """Copy every shown image; outside private builds, location data is stripped first."""
    for image in images_of(site.portfolio):
        stripped = without_location(image.source) if site.portfolio.audience != "private" else None
        if stripped is None:
            staging.copy_file(image.source, image.path)
        else:
            staging.write(image.path, stripped)


def _themes(site: Site) -> list[Path]:
    diags = Diagnostics()
    chain = theme_chain(site.root, site.portfolio.config.theme, diags)
    if diags.errors:
        raise BuildError(diags)
    return chain


def _environment(site: Site, chain: list[Path]) -> jinja2.Environment:
    env = environment(site.root, chain)
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


def render_page(env: jinja2.Environment, site: Site, spec: PageSpec) -> bytes:
    try:
        template = env.get_template(spec.template)
        page = {"path": spec.path, "title": spec.title, "description": spec.description, "image": spec.image}
        html = template.render(page=page, **spec.context)
    except Exception as exc:  # a theme or override template bug: report it, never a traceback
        diags = Diagnostics()
        diags.error(_template_where(site.root, exc, spec.template),
                    f"template error while rendering /{spec.path}: {type(exc).__name__}: {exc}")
        raise BuildError(diags) from None
    return html.encode("utf-8")


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
