"""mastery.yaml: every key optional, every bad value reported with its place."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .diagnostics import Diagnostics
from .fields import NULL, SLUG, Fields
from .frontmatter import decode, parse_yaml
from .model import Area, Config
from .sources import AUDIENCES, CONFIG_FILE

TEXT_KEYS = ("title", "author", "description", "language", "theme")
KEYS = (*TEXT_KEYS, "base_url", "timezone", "areas", "default_visibility", "per_page", "markdown")


def load_config(root: Path, diags: Diagnostics) -> Config:
    """Read `root/mastery.yaml` if present; defaults for everything missing."""
    config = Config()
    path = root / CONFIG_FILE
    if not path.is_file():
        return config
    text = decode(path.read_bytes(), CONFIG_FILE, diags)
    if text is None:
        return config
    doc = parse_yaml(text, CONFIG_FILE, diags)
    if doc.node is None:
        return config
    f = Fields(doc, diags)
    items = f.mapping(doc.node, CONFIG_FILE)
    if items is None:
        return config
    f.unknown_keys(items, KEYS, CONFIG_FILE)
    for key in TEXT_KEYS:
        if key in items:
            value = f.string(items[key][1], key, allow_empty=key in ("author", "description"))
            if value is not None:
                setattr(config, key, value)
    if "base_url" in items:
        _read_base_url(f, items["base_url"][1], config)
    if "timezone" in items:
        _read_timezone(f, items["timezone"][1], config)
    if "default_visibility" in items:
        config.default_visibility = f.choice(items["default_visibility"][1], "default_visibility", AUDIENCES) \
            or config.default_visibility
    if "per_page" in items:
        config.per_page = f.integer(items["per_page"][1], "per_page", 1, 1000) or config.per_page
    if "areas" in items:
        config.areas = _read_areas(f, items["areas"][1]) or config.areas
    if "markdown" in items:
        _read_markdown(f, items["markdown"][1], config)
    return config


def _read_base_url(f: Fields, node, config: Config) -> None:
    url = f.string(node, "base_url")
    if url is None:
        return
    if not re.match(r"^(https?://[^/\s]+)?/\S*$", url):
        f.error(node, f'base_url must be an absolute URL like "https://ana.github.io/growth/", got "{url}"')
        return
    config.base_url = url if url.endswith("/") else url + "/"


def _read_timezone(f: Fields, node, config: Config) -> None:
    name = f.string(node, "timezone")
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        f.error(node, f'unknown timezone "{name}" (use an IANA name such as "Europe/Berlin")')
        return
    config.timezone = name


def _read_areas(f: Fields, node) -> dict[str, Area] | None:
    items = f.mapping(node, "areas")
    if not items:
        if items is not None:
            f.error(node, "areas must name at least one area")
        return None
    areas = {}
    for slug, (key, value) in items.items():
        if not SLUG.match(slug):
            f.error(key, f'area "{slug}" may only use a-z, 0-9 and "-"')
            continue
        area = Area(slug, slug.replace("-", " ").capitalize())
        if not (isinstance(value, yaml.ScalarNode) and value.tag == NULL):
            fields = f.mapping(value, f"area {slug}") or {}
            f.unknown_keys(fields, ("title", "description"), f"area {slug}")
            if "title" in fields:
                area.title = f.string(fields["title"][1], "title") or area.title
            if "description" in fields:
                area.description = f.string(fields["description"][1], "description") or ""
        areas[slug] = area
    return areas


def _read_markdown(f: Fields, node, config: Config) -> None:
    items = f.mapping(node, "markdown")
    if items is None:
        return
    f.unknown_keys(items, ("allow_html",), "markdown")
    if "allow_html" in items:
        value = f.boolean(items["allow_html"][1], "markdown.allow_html")
        config.allow_html = bool(value)
