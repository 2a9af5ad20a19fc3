"""The front-matter schema of goals, sessions and free pages.

Each reader takes one composed document and returns the entry (or None when a
required value is unusable) plus `Spots`: where the values that other files
refer to were written, so cross-file checks can point at them later.
"""

from __future__ import annotations

import datetime as dt

import yaml

from .diagnostics import Diagnostics, Where
from .fields import Fields, Items
from .frontmatter import Document
from .model import AUDIENCES, OUTCOMES, ROLES, STATUSES, Config, Feedback, Goal, Metric, Milestone, Page, Session

GOAL_KEYS = ("title", "area", "started", "target_date", "status", "metrics", "milestones", "tags",
             "visibility", "draft")
SESSION_KEYS = ("title", "date", "goal", "difficulty", "outcome", "duration", "metrics", "milestone",
                "confidence", "lesson", "feedback", "tags", "slug", "visibility", "draft")
PAGE_KEYS = ("title", "visibility", "draft")

# key (or "metrics.<name>") → (line, column) of its value in the entry's own file. Plain tuples,
# not `Where`s: the build cache keeps ten per session, and 100,000 named tuples load in 46 ms.
Spots = dict[str, tuple[int, int]]


def _spot(where: Where) -> tuple[int, int]:
    return where.line, where.col


def _items(f: Fields, doc: Document, what: str) -> Items | None:
    if doc.node is None:
        return {} if doc.ok else None
    return f.mapping(doc.node, f"the front matter of a {what}")


def _common(f: Fields, items: Items, entry, config: Config) -> None:
    """visibility and draft, shared by every kind of entry."""
    entry.visibility = config.default_visibility
    entry.visibility_by_default = "visibility" not in items
    if "visibility" in items:
        entry.visibility = f.choice(items["visibility"][1], "visibility", AUDIENCES) or "private"
    if "draft" in items:
        entry.draft = bool(f.boolean(items["draft"][1], "draft"))


def read_goal(doc: Document, slug: str, config: Config, diags: Diagnostics) -> Goal | None:
    f = Fields(doc, diags)
    items = _items(f, doc, "goal")
    if items is None:
        return None
    f.unknown_keys(items, GOAL_KEYS, "a goal")
    f.require(items, ("title", "area", "started"), doc.node, "a goal")
    title = f.string(items["title"][1], "title") if "title" in items else None
    area = f.choice(items["area"][1], "area", config.areas, "area") if "area" in items else None
    started = f.date(items["started"][1], "started") if "started" in items else None
    goal = Goal(slug=slug, title=title or slug, area=area or "", started=started or dt.date.min,
                source=doc.path, body=doc.body)
    _common(f, items, goal, config)
    if "target_date" in items:
        goal.target_date = f.date(items["target_date"][1], "target_date")
    if "status" in items:
        goal.status = f.choice(items["status"][1], "status", STATUSES) or goal.status
    if "tags" in items:
        goal.tags = f.strings(items["tags"][1], "tags")
    if "metrics" in items:
        goal.metrics = _read_metrics(f, items["metrics"][1])
    if "milestones" in items:
        goal.milestones = _read_milestones(f, items["milestones"][1])
    return goal if title and area and started else None


def _read_metrics(f: Fields, node: yaml.Node) -> list[Metric]:
    metrics: list[Metric] = []
    for item in f.sequence(node, "metrics") or []:
        fields = f.mapping(item, "a metric")
        if fields is None:
            continue
        f.unknown_keys(fields, ("name", "unit", "better", "target"), "a metric")
        f.require(fields, ("name",), item, "a metric")
        name = f.string(fields["name"][1], "name") if "name" in fields else None
        if name is None:
            continue
        if any(m.name == name for m in metrics):
            f.error(fields["name"][1], f'metric "{name}" is declared twice')
            continue
        metric = Metric(name)
        if "unit" in fields:
            metric.unit = f.string(fields["unit"][1], "unit") or ""
        if "better" in fields:
            metric.better = f.choice(fields["better"][1], "better", ("higher", "lower")) or "higher"
        if "target" in fields:
            metric.target = f.measurement(fields["target"][1], "target")
            metric.clock = metric.clock_target = f.is_clock(fields["target"][1])
        metrics.append(metric)
    return metrics


def _read_milestones(f: Fields, node: yaml.Node) -> list[Milestone]:
    ladder: list[Milestone] = []
    for position, item in enumerate(f.sequence(node, "milestones") or [], start=1):
        if isinstance(item, yaml.ScalarNode):  # a bare title is a rung at its position
            title = f.string(item, "milestone")
            if title:
                ladder.append(Milestone(title, position))
            continue
        fields = f.mapping(item, "a milestone")
        if fields is None:
            continue
        f.unknown_keys(fields, ("title", "level", "done"), "a milestone")
        f.require(fields, ("title",), item, "a milestone")
        title = f.string(fields["title"][1], "title") if "title" in fields else None
        level = f.integer(fields["level"][1], "level", 0, 1000) if "level" in fields else position
        done = f.date(fields["done"][1], "done") if "done" in fields else None
        if title is None:
            continue
        if any(m.title.lower() == title.lower() for m in ladder):
            f.error(fields["title"][1], f'milestone "{title}" is listed twice')
            continue
        ladder.append(Milestone(title, position if level is None else level, done))
    return ladder


def read_session(doc: Document, slug: str, name_date: dt.date | None, config: Config,
                 diags: Diagnostics) -> tuple[Session | None, Spots]:
    f = Fields(doc, diags)
    spots: Spots = {}
    items = _items(f, doc, "session")
    if items is None:
        return None, spots
    f.unknown_keys(items, SESSION_KEYS, "a session")
    f.require(items, ("title",), doc.node, "a session")
    spots = {key: _spot(doc.where(value)) for key, (_, value) in items.items()}
    title = f.string(items["title"][1], "title") if "title" in items else None
    when = _session_when(f, items, name_date, config, doc)
    if "slug" in items:
        slug = f.slug(items["slug"][1], "slug") or slug
    if title is None or when is None:
        return None, spots
    session = Session(slug=slug, title=title, when=when[0], has_time=when[1], source=doc.path, body=doc.body)
    _common(f, items, session, config)
    _read_session_fields(f, items, session, spots)
    return session, spots


def _session_when(f: Fields, items: Items, name_date: dt.date | None, config: Config,
                  doc: Document) -> tuple[dt.datetime, bool] | None:
    """The session's local datetime and whether a time of day was given."""
    value: dt.date | None = name_date
    if "date" in items:
        value = f.date_or_datetime(items["date"][1], "date", config.tz)
        if value is None:
            return None
    elif name_date is None:
        f.error(doc.node, 'a session needs a "date", or a file name that starts with YYYY-MM-DD')
        return None
    if isinstance(value, dt.datetime):
        return value, True
    return dt.datetime.combine(value, dt.time(), tzinfo=config.tz), False


def _read_session_fields(f: Fields, items: Items, session: Session, spots: Spots) -> None:
    get = {key: value for key, (_, value) in items.items()}
    if "goal" in get:
        session.goal = f.string(get["goal"], "goal")
    if "difficulty" in get:
        session.difficulty = f.integer(get["difficulty"], "difficulty", 1, 5)
    if "outcome" in get:
        session.outcome = f.choice(get["outcome"], "outcome", OUTCOMES) or session.outcome
    if "duration" in get:
        session.duration = f.duration(get["duration"], "duration")
    if "milestone" in get:
        session.milestone = f.string(get["milestone"], "milestone")
    if "lesson" in get:
        session.lesson = f.string(get["lesson"], "lesson")
    if "tags" in get:
        session.tags = f.strings(get["tags"], "tags")
    if "confidence" in get:
        _read_confidence(f, get["confidence"], session)
    if "feedback" in get:
        session.feedback = _read_feedback(f, get["feedback"])
    if "metrics" in get:
        for name, (key, value) in (f.mapping(get["metrics"], "metrics") or {}).items():
            number = f.measurement(value, f"metric {name}")
            if number is not None:
                session.metrics[name] = number
                if f.is_clock(value):
                    session.clock_metrics.add(name)
                spots[f"metrics.{name}"] = _spot(f.doc.where(key))


def _read_confidence(f: Fields, node: yaml.Node, session: Session) -> None:
    if isinstance(node, yaml.MappingNode):
        fields = f.mapping(node, "confidence") or {}
        f.unknown_keys(fields, ("before", "after"), "confidence")
        if "before" in fields:
            session.confidence_before = f.integer(fields["before"][1], "confidence.before", 1, 10)
        if "after" in fields:
            session.confidence_after = f.integer(fields["after"][1], "confidence.after", 1, 10)
    else:  # one rating is how it felt after the session
        session.confidence_after = f.integer(node, "confidence", 1, 10)


def _read_feedback(f: Fields, node: yaml.Node) -> list[Feedback]:
    notes: list[Feedback] = []
    for item in f.sequence(node, "feedback") or []:
        fields = f.mapping(item, "a feedback entry")
        if fields is None:
            continue
        f.unknown_keys(fields, ("from", "role", "note", "action"), "a feedback entry")
        f.require(fields, ("from", "note"), item, "a feedback entry")
        person = f.string(fields["from"][1], "from") if "from" in fields else None
        note = f.string(fields["note"][1], "note") if "note" in fields else None
        role = f.choice(fields["role"][1], "role", ROLES) if "role" in fields else "mentor"
        action = f.string(fields["action"][1], "action") if "action" in fields else ""
        if person and note and role:
            notes.append(Feedback(person, role, note, action or ""))
    return notes


def read_page(doc: Document, slug: str, config: Config, diags: Diagnostics) -> Page | None:
    f = Fields(doc, diags)
    items = _items(f, doc, "page")
    if items is None:
        return None
    f.unknown_keys(items, PAGE_KEYS, "a page")
    page = Page(slug=slug, title=slug.replace("-", " ").capitalize(), source=doc.path, body=doc.body)
    if "title" in items:
        page.title = f.string(items["title"][1], "title") or page.title
    _common(f, items, page, config)
    return page
