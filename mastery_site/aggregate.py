"""The aggregation model of SPEC §2: evidence of growth, computed once.

Pure functions of a `Portfolio` (already filtered for one audience) and
"today". The result is JSON-ready (dates as YYYY-MM-DD) and is exactly what
`mastery-site stats --json` prints; pages read the same dictionary, so the site
and the numbers can never disagree.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterable

from .model import Goal, Portfolio, Session

WIN_KINDS = ("milestone", "personal_best", "hard_success")


def today_of(portfolio: Portfolio, today: dt.date | None) -> dt.date | None:
    """`--today` when given, else the day of the latest included session."""
    if today is not None:
        return today
    return max((s.day for s in portfolio.sessions), default=None)


def aggregate(portfolio: Portfolio, today: dt.date | None = None, memo: dict | None = None) -> dict:
    """`memo` (the dev server's, or the build cache's via the last snapshot) keeps each goal's
    record while the goal and its sessions are the same objects (an edit changes one goal's:
    20 ms less of a front-matter edit at 10,000)."""
    today = today_of(portfolio, today)
    sessions = portfolio.sessions
    goals = [_record(goal, portfolio.sessions_of(slug), memo) for slug, goal in portfolio.goals.items()]
    return {
        "sessions": len(sessions),
        "minutes": sum(s.duration or 0 for s in sessions),
        "goals": goals,
        "streak": streaks({s.day for s in sessions}, today),
        "areas": area_stats(portfolio, goals),
        "wins": sorted(_wins(portfolio, goals, sessions), key=_win_order, reverse=True),
        "lessons": lessons(sessions, goals),
    }


def refigure(portfolio: Portfolio, stats: dict, goals: set[str | None]) -> dict:
    """The figures after sessions of `goals` (slugs; None: no goal) had theirs edited in place
    (see content.in_place_edits: their days, goals and number the same), from `stats`, the
    figures before: those goals' records and wins made again, the others kept, and so is the
    streak. (A difficulty edit at 10,000 sessions: 27 ms instead of 86, on a slow machine.)"""
    kept = {record["slug"]: record for record in stats["goals"]}
    records = [goal_stats(goal, portfolio.sessions_of(slug)) if slug in goals else kept[slug]
               for slug, goal in portfolio.goals.items()]
    loose = portfolio.sessions_of(None)  # a session shown has a goal shown, or none
    remade = _wins(portfolio, [record for record in records if record["slug"] in goals],
                   [s for slug in goals for s in portfolio.sessions_of(slug)])
    return {
        "sessions": stats["sessions"],
        "minutes": sum(record["minutes"] for record in records) + sum(s.duration or 0 for s in loose),
        "goals": records,
        "streak": stats["streak"],
        "areas": area_stats(portfolio, records),
        "wins": sorted([win for win in stats["wins"] if win["goal"] not in goals] + remade, key=_win_order,
                       reverse=True),
        "lessons": _lessons_again(portfolio.sessions, records, stats["lessons"], goals),
    }


def _record(goal: Goal, sessions: list[Session], memo: dict | None) -> dict:
    """goal_stats, or the memo's record of this very goal and sessions (a record is never
    changed) while they are the same file versions too: an entry edited in place (see
    content.in_place_edits) is the same object, and a setback's page, planned again only when
    its goal's record is made again, holds copies of the goal's wins (which copy titles)."""
    if memo is None:
        return goal_stats(goal, sessions)
    kept = memo.get(goal.slug)
    versions = [s.key for s in sessions]
    if kept is not None and kept[0] is goal and len(kept[1]) == len(sessions) \
            and all(map(operator.is_, kept[1], sessions)) and kept[3] == versions:
        return kept[2]
    memo[goal.slug] = (goal, list(sessions), goal_stats(goal, sessions), versions)
    return memo[goal.slug][2]


def goal_stats(goal: Goal, sessions: list[Session]) -> dict:
    """The per-goal record; `sessions` are this goal's, oldest first."""
    successes = sum(1 for s in sessions if s.outcome == "success")
    achieved = achieved_milestones(goal, sessions)
    return {
        "slug": goal.slug,
        "title": goal.title,
        "area": goal.area,
        "status": goal.status,
        "sessions": len(sessions),
        "minutes": sum(s.duration or 0 for s in sessions),
        "success_rate": round(successes / len(sessions), 2) if sessions else None,
        "level": max((m["level"] for m in achieved), default=0),
        "milestones_done": len(achieved),
        "personal_bests": personal_bests(goal, sessions),
        "difficulty_trend": difficulty_trend(sessions),
        "confidence": [
            {"date": _iso(s.day), "session": s.slug, "before": s.confidence_before, "after": s.confidence_after}
            for s in sessions if s.confidence_before is not None or s.confidence_after is not None
        ],
        "comebacks": comebacks(sessions),
        "last_session": _iso(sessions[-1].day) if sessions else None,
    }


def achieved_milestones(goal: Goal, sessions: list[Session]) -> list[dict]:
    """Each reached rung with the day it was first reached: by a success naming it, or its `done` date."""
    reached = []
    first: dict[str, Session] = {}  # milestone → the first success naming it
    for s in sessions:
        if s.outcome == "success" and s.milestone:
            first.setdefault(s.milestone.lower(), s)
    for rung in goal.milestones:
        by = first.get(rung.title.lower())
        days = [d for d in (rung.done, by.day if by else None) if d is not None]
        if days:
            session = by.slug if by and by.day == min(days) else None
            reached.append({"title": rung.title, "level": rung.level, "date": _iso(min(days)),
                            "session": session})
    return reached


def personal_bests(goal: Goal, sessions: list[Session]) -> dict:
    bests: dict[str, dict] = {}
    for metric in goal.metrics:
        best: Session | None = None
        for s in sessions:
            value = s.metrics.get(metric.name)
            if value is None:
                continue
            if best is None or _better(value, best.metrics[metric.name], metric.better):
                best = s
        if best is not None:
            bests[metric.name] = {"value": best.metrics[metric.name], "date": _iso(best.day),
                                  "session": best.slug}
    return bests


def _better(value: float, than: float, better: str) -> bool:
    return value < than if better == "lower" else value > than


def difficulty_trend(sessions: list[Session]) -> float | None:
    """Mean difficulty of the later half minus the earlier half (odd: middle left out)."""
    rated = [s.difficulty for s in sessions if s.difficulty is not None]
    half = len(rated) // 2
    if half == 0:
        return None
    earlier, later = rated[:half], rated[len(rated) - half:]
    return round(sum(later) / half - sum(earlier) / half, 2) + 0.0


def comebacks(sessions: list[Session]) -> list[dict]:
    """Each setback with the first success after it, in setback order. One pass from the
    end: looking ahead from each setback walked the rest of the goal each time (0.5 s for
    goals of 5,000 sessions)."""
    found = []
    success = None
    for s in reversed(sessions):
        if s.outcome == "success":
            success = s
        elif s.outcome == "setback" and success is not None:
            found.append({"setback": s.slug, "success": success.slug, "days": (success.day - s.day).days})
    found.reverse()
    return found


def streaks(days: set[dt.date], today: dt.date | None) -> dict:
    weeks = {_week(d) for d in days}
    current_days = current_weeks = 0
    if today is not None:
        current_days = _current_run({d.toordinal() for d in days if d <= today}, today.toordinal())
        current_weeks = _current_run({w for w in weeks if w <= _week(today)}, _week(today))
    return {
        "current_days": current_days,
        "longest_days": _longest_run({d.toordinal() for d in days}),
        "current_weeks": current_weeks,
        "longest_weeks": _longest_run(weeks),
    }


def _week(day: dt.date) -> int:
    """Consecutive ISO weeks have consecutive numbers (Monday's ordinal // 7)."""
    return (day.toordinal() - day.weekday()) // 7


def _current_run(units: set[int], now: int) -> int:
    """Length of the run ending at `now`, or at the unit before it."""
    end = now if now in units else now - 1
    length = 0
    while end - length in units:
        length += 1
    return length


def _longest_run(units: Iterable[int]) -> int:
    longest = run = 0
    previous = None
    for unit in sorted(units):
        run = run + 1 if previous is not None and unit == previous + 1 else 1
        longest = max(longest, run)
        previous = unit
    return longest


def area_stats(portfolio: Portfolio, goals: list[dict]) -> dict:
    """Each area's goals, sessions and minutes, from the goals' records."""
    areas = {slug: {"goals": 0, "sessions": 0, "minutes": 0} for slug in portfolio.config.areas}
    for record in goals:
        area = areas.setdefault(record["area"], {"goals": 0, "sessions": 0, "minutes": 0})
        area["goals"] += 1
        area["sessions"] += record["sessions"]
        area["minutes"] += record["minutes"]
    return areas


def _wins(portfolio: Portfolio, goals: list[dict], sessions: list[Session]) -> list[dict]:
    """The milestones reached and personal bests of the goals of these records, and the hard
    successes among `sessions`: in no order (see _win_order)."""
    found = []
    for record in goals:
        goal = portfolio.goals[record["slug"]]
        for rung in achieved_milestones(goal, portfolio.sessions_of(goal.slug)):
            found.append({"kind": "milestone", "date": rung["date"], "goal": goal.slug, "session": rung["session"],
                          "title": rung["title"], "level": rung["level"]})
        for metric, best in record["personal_bests"].items():
            found.append({"kind": "personal_best", "date": best["date"], "goal": goal.slug,
                          "session": best["session"], "metric": metric, "value": best["value"]})
    found += [_hard_success(s) for s in sessions if s.outcome == "success" and (s.difficulty or 0) >= 4]
    return found


def _hard_success(s: Session) -> dict:
    return {"kind": "hard_success", "date": _iso(s.day), "goal": s.goal, "session": s.slug,
            "title": s.title, "difficulty": s.difficulty}


def _win_order(win: dict) -> tuple:
    """Newest first (reversed), each win in one place whatever the order found (see refigure):
    two goals may reach a milestone of the same title on the same day."""
    return (win["date"], win["session"] or "", -WIN_KINDS.index(win["kind"]), win.get("title") or win.get("metric"),
            win["goal"] or "")


def lessons(sessions: list[Session], goals: list[dict]) -> list[dict]:
    back = _comebacks_by_setback(goals)
    return [_lesson(s, back) for s in reversed(sessions) if s.outcome == "setback"]


def _lessons_again(sessions: list[Session], goals: list[dict], before: list[dict],
                   remade: set[str | None]) -> list[dict]:
    """`lessons`, those of the goals not `remade` kept from `before` (see refigure): their
    sessions and comebacks are the same (a difficulty edit at 10,000 sessions: 10 ms less)."""
    back = _comebacks_by_setback(goals)
    kept = {lesson["session"]: lesson for lesson in before if lesson["goal"] not in remade}
    return [kept.get(s.slug) or _lesson(s, back) for s in reversed(sessions) if s.outcome == "setback"]


def _comebacks_by_setback(goals: list[dict]) -> dict[str, dict]:
    return {c["setback"]: c for g in goals for c in g["comebacks"]}


def _lesson(s: Session, back: dict[str, dict]) -> dict:
    return {"date": _iso(s.day), "session": s.slug, "goal": s.goal, "title": s.title, "lesson": s.lesson,
            "comeback": back[s.slug]["success"] if s.slug in back else None}


def retitle(stats: dict, sessions: list[Session]) -> list[tuple[dict, dict]] | None:
    """After `sessions` were edited in place (see content.in_place_edits), maybe retitled:
    their hard successes and lessons, the records that copy a session's title, made again
    (the goals' records copy none) and changed in place. Returns each changed record as it
    was and as it is now (the plan's pages may hold copies of it: see pages.update_records);
    None when anything but a title differs, which an edit in place cannot do."""
    by_slug = {s.slug: s for s in sessions}
    if not by_slug:
        return []
    # the records of those sessions alone, looked for by slug (at 10,000 sessions, 4,000 records)
    found = [(win, _hard_success, s) for win in stats["wins"] if (s := by_slug.get(win["session"])) is not None
             and win["kind"] == "hard_success"]
    lessons = [(record, s) for record in stats["lessons"] if (s := by_slug.get(record["session"])) is not None]
    if lessons:
        lesson = functools.partial(_lesson, back=_comebacks_by_setback(stats["goals"]))
        found += [(record, lesson, s) for record, s in lessons]
    changes = []
    for was, make, s in found:
        now = make(s)
        if now != was:
            if was.keys() != now.keys() or any(was[k] != now[k] for k in was if k != "title"):
                return None
            changes.append((dict(was), now))
            was.update(now)
    return changes


@functools.lru_cache(maxsize=4096)
def _iso(day: dt.date | None) -> str | None:
    """Cached: the dates of 10,000 sessions are a few thousand days, written several times each."""
    return day.isoformat() if day else None
