"""Typed readers for YAML nodes: each reads one value or reports why it cannot.

A reader returns None after reporting an error, so a caller can keep going and
collect every problem of a file in one pass. Scalars are read from the text the
user typed, which sidesteps YAML 1.1 surprises (`no`, `on`, `2026-01-01` as a
title) and sexagesimal numbers (`1:30`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from .diagnostics import Diagnostics, did_you_mean
from .frontmatter import Document

MAX_NODES = 5000  # values one front matter may expand to (alias bombs stop here)
STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"

_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"[ \t]*(Z|[+-]\d{1,2}(?::?\d{2})?)?$"
)
_DURATION_HM = re.compile(r"^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?(\.\d+)?$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Items = dict[str, tuple[yaml.Node, yaml.Node]]


class Fields:
    """Reads values out of one document's nodes, reporting into `diags`."""

    def __init__(self, doc: Document, diags: Diagnostics):
        self.doc = doc
        self.diags = diags
        self.budget = MAX_NODES
        self.exhausted = False

    # -- reporting -------------------------------------------------------
    def error(self, node: yaml.Node | None, message: str) -> None:
        self.diags.error(self.doc.where(node), message)

    def warning(self, node: yaml.Node | None, message: str) -> None:
        self.diags.warning(self.doc.where(node), message)

    # -- structure -------------------------------------------------------
    def mapping(self, node: yaml.Node | None, what: str) -> Items | None:
        """Key → (key node, value node); None (reported) if not a mapping."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping of keys to values")
            return None
        if not self._spend(node):
            return None
        items: Items = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.error(key, f"keys of {what} must be plain names")
                continue
            if key.value in items:
                self.error(key, f'duplicate key "{key.value}"')
                continue
            items[key.value] = (key, value)
        return items

    def sequence(self, node: yaml.Node, key: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{key} must be a list")
            return None
        if not self._spend(node):
            return None
        return list(node.value)

    def _spend(self, node: yaml.Node) -> bool:
        """Charge the expansion budget; aliases re-visit nodes and pay again."""
        self.budget -= 1 + len(node.value)
        if self.budget >= 0:
            return True
        if not self.exhausted:  # one report per document is enough
            self.error(node, f"front matter expands to more than {MAX_NODES} values (alias bomb?)")
            self.exhausted = True
        return False

    def unknown_keys(self, items: Items, allowed: Iterable[str], what: str) -> None:
        allowed = list(allowed)
        for name, (key, _) in items.items():
            if name not in allowed:
                self.warning(key, f'unknown key "{name}" in {what}{did_you_mean(name, allowed)}')

    def require(self, items: Items, names: Iterable[str], node: yaml.Node | None, what: str) -> None:
        for name in names:
            if name not in items:
                self.error(node, f'{what} is missing the required key "{name}"')

    # -- scalars ---------------------------------------------------------
    def _scalar(self, node: yaml.Node, key: str, expected: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == NULL and node.style is None:
            self.error(node, f"{key} must be {expected}")
            return None
        return node.value

    def string(self, node: yaml.Node, key: str, allow_empty: bool = False) -> str | None:
        text = self._scalar(node, key, "a text value")
        if text is not None and not text.strip() and not allow_empty:
            self.error(node, f"{key} must not be empty")
            return None
        return text

    def integer(self, node: yaml.Node, key: str, low: int, high: int) -> int | None:
        value = self._construct(node) if isinstance(node, yaml.ScalarNode) and node.tag == INT else None
        if not isinstance(value, int) or not low <= value <= high:
            self.error(node, f"{key} must be a whole number from {low} to {high}{_got(node)}")
            return None
        return value

    def number(self, node: yaml.Node, key: str) -> float | int | None:
        if isinstance(node, yaml.ScalarNode) and node.tag in (INT, FLOAT):
            value = self._construct(node)
            if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
                return value
        self.error(node, f"{key} must be a number{_got(node)}")
        return None

    def boolean(self, node: yaml.Node, key: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL:
            return bool(self._construct(node))
        self.error(node, f"{key} must be true or false{_got(node)}")
        return None

    def choice(self, node: yaml.Node, key: str, options: Iterable[str], kind: str = "") -> str | None:
        options = list(options)
        text = self._scalar(node, key, "one of " + ", ".join(options))
        if text is None:
            return None
        if text not in options:
            label = f"unknown {kind}" if kind else f"{key} must be one of {', '.join(options)}, not"
            self.error(node, f'{label} "{text}"{did_you_mean(text, options)}')
            return None
        return text

    def strings(self, node: yaml.Node, key: str) -> list[str]:
        items = self.sequence(node, key)
        if items is None:
            return []
        return [s for s in (self.string(item, f"each of {key}") for item in items) if s is not None]

    def slug(self, node: yaml.Node, key: str) -> str | None:
        text = self.string(node, key)
        if text is not None and not SLUG.match(text):
            self.error(node, f'{key} "{text}" may only use a-z, 0-9 and single "-" between them')
            return None
        return text

    # -- dates, durations, measurements ----------------------------------
    def date(self, node: yaml.Node, key: str) -> dt.date | None:
        value = self.date_or_datetime(node, key, None)
        if isinstance(value, dt.datetime):
            self.error(node, f"{key} must be a date (YYYY-MM-DD) without a time")
            return None
        return value

    def date_or_datetime(self, node: yaml.Node, key: str, tz: ZoneInfo | None) -> dt.date | None:
        """A date, or an aware datetime converted to `tz` (naive ones are in `tz`)."""
        text = self._scalar(node, key, "a date (YYYY-MM-DD)")
        if text is None:
            return None
        try:
            return parse_date(text.strip(), tz)
        except ValueError as exc:
            self.error(node, f"{key}: {exc}")
            return None

    def duration(self, node: yaml.Node, key: str) -> int | None:
        text = self._scalar(node, key, 'minutes, e.g. 45, "45m", "1h30m" or "1:30"')
        minutes = parse_duration(text) if text is not None else None
        if text is not None and minutes is None:
            self.error(node, f'{key} must be minutes, e.g. 45, "45m", "1h30m" or "1:30"{_got(node)}')
        return minutes

    def measurement(self, node: yaml.Node, key: str) -> float | int | None:
        """A number, or a time "mm:ss" / "h:mm:ss" read as seconds."""
        if isinstance(node, yaml.ScalarNode) and node.tag not in (INT, FLOAT):
            seconds = parse_clock(node.value.strip())
            if seconds is not None:
                return seconds
        elif isinstance(node, yaml.ScalarNode) and _CLOCK.match(node.value.strip()):
            return parse_clock(node.value.strip())  # unquoted 10:45 is YAML 1.1 base 60
        return self.number(node, key)

    @staticmethod
    def is_clock(node: yaml.Node) -> bool:
        """Was this value written as a time of the clock ("10:45")? Then it is shown as one."""
        return isinstance(node, yaml.ScalarNode) and bool(_CLOCK.match(node.value.strip()))

    def _construct(self, node: yaml.ScalarNode):
        try:
            return SafeConstructor().construct_object(node)
        except (ConstructorError, ValueError, OverflowError):
            return None


def _got(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f', got "{node.value}"' if len(node.value) < 60 else ""
    return ", got a list" if isinstance(node, yaml.SequenceNode) else ", got a mapping"


def parse_date(text: str, tz: ZoneInfo | None) -> dt.date:
    """YYYY-MM-DD → date; with a time → datetime in `tz` (ValueError if impossible)."""
    match = _DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return _checked(lambda: dt.date(year, month, day), text)
    match = _DATETIME.match(text)
    if not match or tz is None:
        raise ValueError(f'"{text}" is not a date (expected YYYY-MM-DD)')
    y, mo, d, h, mi, s, frac, zone = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    value = _checked(lambda: dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro), text)
    if zone is None:
        return value.replace(tzinfo=tz)
    return _checked(lambda: value.replace(tzinfo=_offset(zone)).astimezone(tz), text)


def _checked(make, text: str):
    try:
        return make()
    except ValueError:
        raise ValueError(f'the date "{text}" does not exist') from None


def _offset(zone: str) -> dt.tzinfo:
    if zone == "Z":
        return dt.UTC
    match = re.match(r"^([+-])(\d{1,2}):?(\d{2})?$", zone)
    sign = -1 if match[1] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(match[2]), minutes=int(match[3] or 0)))


def parse_duration(text: str) -> int | None:
    """45 / "45m" / "1h30m" / "1h" / "1:30" → minutes; None when unreadable."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    clock = re.match(r"^(\d+):([0-5]\d)$", text)
    if clock:
        return int(clock[1]) * 60 + int(clock[2])
    match = _DURATION_HM.match(text)
    if match and (match[1] or match[2]):
        return int(match[1] or 0) * 60 + int(match[2] or 0)
    return None


def parse_clock(text: str) -> float | int | None:
    """"10:45" → 645 seconds; "1:02:03" → 3723; None when not a clock time."""
    match = _CLOCK.match(text)
    if not match:
        return None
    first, second, third, frac = match.groups()
    seconds = int(first) * 60 + int(second) if third is None else (
        int(first) * 3600 + int(second) * 60 + int(third))
    return seconds + float(frac) if frac else seconds
