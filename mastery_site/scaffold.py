"""Writing new files for the user: a whole portfolio (`init`), a goal, a session.

Nothing here overwrites: an existing file is reported and left alone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .markup import slugify

GITIGNORE = "# Built site and caches: rebuilt from content, never committed\n_site/\n._site.spare/\n.mastery-cache/\n"

CONFIG = """\
# mastery-site configuration. Every key is optional; these are the defaults
# (title, author and base_url are worth setting).
title: {title}
author: ""
description: "Practice, setbacks, and the climb."
base_url: /
language: en
timezone: UTC
default_visibility: public
per_page: 20
# areas:
#   work: {{title: Work}}
#   education: {{title: Education}}
#   physical: {{title: Physical}}
#   creative: {{title: Creative}}
markdown:
  allow_html: false
"""


class ScaffoldError(Exception):
    """A file we would write already exists, or an argument is unusable."""


def _write_new(path: Path, text: str) -> Path:
    if path.exists():
        raise ScaffoldError(f"{path}: already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _yaml_str(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def goal_text(title: str, area: str, started: dt.date) -> str:
    return (f"---\ntitle: {_yaml_str(title)}\narea: {area}\nstarted: {started.isoformat()}\nstatus: active\n"
            "# target_date: YYYY-MM-DD\n"
            "metrics: []\n#  - {name: minutes, unit: min, better: higher, target: 30}\n"
            "milestones: []\n#  - {title: First small step}\n#  - {title: A harder step}\n"
            "tags: []\n---\n\nWhy this goal matters to me, and what reaching it would look like.\n")


def session_text(title: str, goal: str | None, day: dt.date) -> str:
    goal_line = f"goal: {goal}\n" if goal else "# goal: <goal-slug>\n"
    return (f"---\ntitle: {_yaml_str(title)}\ndate: {day.isoformat()}\n{goal_line}"
            "difficulty: 3        # 1 (easy) to 5 (very hard)\n"
            "outcome: success     # success | partial | setback\n"
            "duration: 30m\n"
            "confidence: {before: 5, after: 6}\n"
            "# lesson: what this taught me (expected on a setback)\n"
            "# milestone: <title of a milestone this session reached>\n"
            "tags: []\n---\n\nWhat I practised, what was hard, what I will try next.\n")


def new_goal(root: Path, title: str, area: str, today: dt.date) -> Path:
    slug = slugify(title)
    if not slug:
        raise ScaffoldError("the title needs at least one letter or digit")
    return _write_new(root / "content" / "goals" / f"{slug}.md", goal_text(title, area, today))


def new_session(root: Path, title: str, goal: str | None, day: dt.date) -> Path:
    slug = slugify(title)
    if not slug:
        raise ScaffoldError("the title needs at least one letter or digit")
    folder = root / "content" / "sessions" / str(day.year)
    return _write_new(folder / f"{day.isoformat()}-{slug}.md", session_text(title, goal, day))


def init(root: Path, today: dt.date) -> list[Path]:
    """A portfolio that builds at once, with a .gitignore for output and caches."""
    if (root / "mastery.yaml").exists() or (root / "content").exists():
        raise ScaffoldError(f"{root}: already holds a portfolio (mastery.yaml or content/); not touching it")
    root.mkdir(parents=True, exist_ok=True)
    written = [
        _write_new(root / "mastery.yaml", CONFIG.format(title=_yaml_str("My progress portfolio"))),
        _write_new(root / ".gitignore", GITIGNORE),
        new_goal(root, "My first goal", "education", today),
        new_session(root, "First small step", "my-first-goal", today),
        _write_new(root / "content" / "pages" / "about.md",
                   "---\ntitle: About\n---\n\nWho I am and what I am working towards.\n"),
    ]
    (root / "static").mkdir(exist_ok=True)
    return written
