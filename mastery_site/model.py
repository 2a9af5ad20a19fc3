"""The content model: what a portfolio is once loaded and validated.

Plain dataclasses, built by `content` and read by `aggregate`, `pages` and the
templates. Entries excluded for an audience are never put into a `Portfolio`,
so nothing downstream can show what it never received.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .images import Image
from .sources import AUDIENCES

OUTCOMES = ("success", "partial", "setback")
STATUSES = ("active", "achieved", "paused", "dropped")
ROLES = ("mentor", "coach", "peer", "self")
DEFAULT_AREAS = {
    "work": {"title": "Work", "description": "Skills of the trade."},
    "education": {"title": "Education", "description": "Learning and study."},
    "physical": {"title": "Physical", "description": "Body, health and sport."},
    "creative": {"title": "Creative", "description": "Making things."},
}


def visible(visibility: str, audience: str) -> bool:
    return _RANK[visibility] <= _RANK[audience]


_RANK = {name: rank for rank, name in enumerate(AUDIENCES)}


def stricter(a: str, b: str) -> str:
    return max(a, b, key=AUDIENCES.index)


@dataclass
class Area:
    slug: str
    title: str
    description: str = ""


@dataclass
class Config:
    title: str = "My progress portfolio"
    author: str = ""
    description: str = ""
    base_url: str = "/"
    language: str = "en"
    timezone: str = "UTC"
    theme: str = "default"
    areas: dict[str, Area] = field(
        default_factory=lambda: {k: Area(k, v["title"], v["description"]) for k, v in DEFAULT_AREAS.items()}
    )
    default_visibility: str = "public"
    per_page: int = 20
    allow_html: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass
class Metric:
    name: str
    unit: str = ""
    better: str = "higher"
    target: float | None = None
    clock: bool = False  # values were written as "mm:ss"; stored in seconds, shown as a clock
    clock_target: bool = False  # its target was written so (a session's value makes `clock` true too)


@dataclass
class Milestone:
    title: str
    level: int
    done: dt.date | None = None


@dataclass
class Feedback:
    person: str  # `from` in front matter
    role: str
    note: str
    action: str = ""


@dataclass(kw_only=True)
class Entry:
    """What goals, sessions and free pages share: who may see them, and their body."""

    visibility: str = "public"
    visibility_by_default: bool = True  # no `visibility:` key: the config's default applied
    key: bytes = field(default=b"", repr=False)  # identifies the file version this entry was read from
    # (content.version_key)
    rendered_from: bytes = field(default=b"", repr=False)  # identifies what its body renders from
    # (content.body_digest)
    draft: bool = False
    body: str = field(default="", repr=False)  # Markdown source
    html: str = field(default="", repr=False)  # rendered body, filled for the audience being built
    text: str = field(default="", repr=False)  # the rendered body as plain text, for summaries
    words: str = field(default="", repr=False)  # each word of `text` once, for the search index (see
    # markup.search_words)
    images: list[Image] = field(default_factory=list)


# What an edit of an entry's body changes in it (see content.in_place_edits), shown by templates that
# read them (see theme.template_reads): not in its repr, which a template printing an entry shows.
BODY_FIELDS = {"body", "html", "text", "words", "images", "key", "rendered_from", "stored"}
# A session's figures: its front matter that its goal's record and the site's figures read (see
# aggregate), which an edit in place may change too.
FIGURES = ("difficulty", "outcome", "duration", "metrics", "milestone", "confidence_before", "confidence_after",
           "lesson", "feedback")
EDITABLE = ("title", "tags", *FIGURES)  # what an edit in place may change in a session, with its body


class Stored:
    """Fields of an object from the build cache that stay in its file until first used (see
    cache.Tail): the object's `where` attribute says where they are (and still does once they
    are read), and `read(obj, *where)` sets them all. Set on the class once the dataclass is
    made (its __init__ keeps the default); an instance's own value is found before this."""

    def __init__(self, name: str, where: str, read: Callable[..., None], default=None):
        self.name, self.where, self.read, self.default = name, where, read, default

    def __get__(self, obj, owner: type | None = None):
        if obj is None:
            return self.default
        try:
            where = obj.__dict__[self.where]  # kept: the build cache saves the object again from there
        except KeyError:
            raise AttributeError(self.name) from None
        self.read(obj, *where)
        return obj.__dict__[self.name]


def _read_body(entry: Entry, tail, offset: int, html_size: int, text_size: int) -> None:
    data = tail.read(offset, html_size + text_size)
    entry.html, entry.text = data[:html_size].decode(), data[html_size:].decode()


Entry.html, Entry.text = (Stored(name, "stored", _read_body, "") for name in ("html", "text"))  # see content.give_body


@dataclass
class Goal(Entry):
    slug: str
    title: str
    area: str
    started: dt.date
    source: str
    target_date: dt.date | None = None
    status: str = "active"
    metrics: list[Metric] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass
class Session(Entry):
    slug: str
    title: str
    when: dt.datetime  # aware, in the portfolio's timezone; midnight when only a date was given
    has_time: bool
    source: str
    goal: str | None = None
    difficulty: int | None = None
    outcome: str = "success"
    duration: int | None = None  # minutes
    metrics: dict[str, float | int] = field(default_factory=dict)
    clock_metrics: set[str] = field(default_factory=set)
    milestone: str | None = None
    confidence_before: int | None = None
    confidence_after: int | None = None
    lesson: str | None = None
    feedback: list[Feedback] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    day: dt.date = field(init=False, repr=False)  # the local date of `when`; read everywhere, so kept

    def __post_init__(self) -> None:
        self.day = self.when.date()

    @property
    def sort_key(self) -> tuple:
        return SESSION_ORDER(self)


SESSION_ORDER = operator.attrgetter("when", "slug")  # sessions in time order (a sort key: no Python call each)


@dataclass
class Page(Entry):
    slug: str
    title: str
    source: str


@dataclass
class Portfolio:
    """Everything a build for one audience may show, sessions oldest first."""

    config: Config
    audience: str
    goals: dict[str, Goal]
    sessions: list[Session]
    pages: dict[str, Page]
    _by_goal: dict[str | None, list[Session]] | None = field(default=None, repr=False, compare=False)

    def sessions_of(self, goal: str) -> list[Session]:
        """The goal's sessions, oldest first (indexed once: pages and charts ask often)."""
        if self._by_goal is None:
            self._by_goal = {}
            for s in self.sessions:
                self._by_goal.setdefault(s.goal, []).append(s)
        return self._by_goal.get(goal, [])
