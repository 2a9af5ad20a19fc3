"""SPEC §2 figures on a small portfolio computed by hand (see the comments)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_tree
from mastery_site.aggregate import comebacks
from mastery_site.model import OUTCOMES, Session

FIXTURE = {
    "mastery.yaml": "title: Fixture\ntimezone: Europe/Berlin\n",
    "content/goals/run.md": """
        ---
        title: Run a half marathon
        area: physical
        started: 2026-01-01
        metrics:
          - {name: pace, unit: min/km, better: lower}
          - {name: distance, unit: km, better: higher, target: 10}
        milestones:
          - {title: Run 5 km}
          - {title: Run 10 km, done: 2026-02-02}
          - {title: Half marathon}
        ---
        Why.
    """,
    "content/goals/piano.md": "---\ntitle: Piano\narea: creative\nstarted: 2026-01-01\n---\n",
    "content/sessions/2026-01-15-reflection.md": "---\ntitle: Looking ahead\nduration: 10\n---\n",
    "content/sessions/2026-01-29-easy-jog.md": """
        ---
        title: Easy jog
        goal: run
        difficulty: 2
        duration: 30
        metrics: {pace: "6:30", distance: 4}
        confidence: 5
        ---
    """,
    "content/sessions/2026-01-30-first-5k.md": """
        ---
        title: First 5k
        goal: run
        difficulty: 3
        duration: 45m
        milestone: run 5 KM
        metrics: {pace: "6:10", distance: 5}
        confidence: {before: 4, after: 7}
        ---
    """,
    "content/sessions/2026-01-31-shin-pain.md": """
        ---
        title: Shin pain
        goal: run
        outcome: setback
        difficulty: 4
        duration: 1h
        lesson: Rest days matter
        metrics: {pace: "6:50"}
        ---
    """,
    # 23:30 UTC on Jan 31 is 00:30 on Feb 1 in Berlin: the day that joins the streak
    "content/sessions/late-run.md": """
        ---
        title: Late run
        goal: run
        date: 2026-01-31T23:30:00Z
        outcome: partial
        difficulty: 3
        duration: "1:30"
        metrics: {distance: 5}
        ---
    """,
    "content/sessions/2026-02-02-back-on-track.md": """
        ---
        title: Back on track
        goal: run
        difficulty: 4
        duration: 50
        metrics: {pace: 6:10, distance: 6}
        ---
    """,
    "content/sessions/2026-02-10-rainy-fail.md": """
        ---
        title: Rainy fail
        goal: run
        outcome: setback
        difficulty: 5
        duration: 20
        lesson: Check the weather
        ---
    """,
    "content/sessions/2026-02-11-short-recovery.md": """
        ---
        title: Short recovery
        goal: run
        outcome: partial
        difficulty: 2
        duration: 25
        ---
    """,
}


@pytest.fixture
def stats(tmp_path, cli):
    write_tree(tmp_path, FIXTURE)

    def run(*extra: str) -> dict:
        result = cli("stats", tmp_path, "--json", *extra)
        assert result.code == 0, result.err
        return json.loads(result.out)
    return run


def test_site_wide_figures(stats):
    model = stats()
    assert list(model) == ["sessions", "minutes", "goals", "streak", "areas", "wins", "lessons"]
    assert model["sessions"] == 8
    assert model["minutes"] == 30 + 45 + 60 + 90 + 50 + 20 + 25 + 10
    # days: 01-15, 01-29, 01-30, 01-31, 02-01 (Berlin), 02-02, 02-10, 02-11; today = 02-11
    # ISO weeks: W03, W05 (Jan 26 - Feb 1), W06, W07
    assert model["streak"] == {"current_days": 2, "longest_days": 5, "current_weeks": 3, "longest_weeks": 3}
    assert model["areas"] == {
        "work": {"goals": 0, "sessions": 0, "minutes": 0},
        "education": {"goals": 0, "sessions": 0, "minutes": 0},
        "physical": {"goals": 1, "sessions": 7, "minutes": 320},
        "creative": {"goals": 1, "sessions": 0, "minutes": 0},
    }


def test_goal_record(stats):
    run = next(g for g in stats()["goals"] if g["slug"] == "run")
    assert run == {
        "slug": "run", "title": "Run a half marathon", "area": "physical", "status": "active",
        "sessions": 7, "minutes": 320,
        "success_rate": 0.43,  # 3 of 7
        "level": 2, "milestones_done": 2,  # 5 km by a session, 10 km by its done date
        "personal_bests": {
            # better: lower; 6:10 = 370 s, first reached on Jan 30 (tied on Feb 2, first occurrence wins)
            "pace": {"value": 370, "date": "2026-01-30", "session": "2026-01-30-first-5k"},
            "distance": {"value": 6, "date": "2026-02-02", "session": "2026-02-02-back-on-track"},
        },
        "difficulty_trend": 0.67,  # difficulties 2,3,4,[3],4,5,2: mean(4,5,2) - mean(2,3,4)
        "confidence": [
            {"date": "2026-01-29", "session": "2026-01-29-easy-jog", "before": None, "after": 5},
            {"date": "2026-01-30", "session": "2026-01-30-first-5k", "before": 4, "after": 7},
        ],
        "comebacks": [{"setback": "2026-01-31-shin-pain", "success": "2026-02-02-back-on-track", "days": 2}],
        "last_session": "2026-02-11",
    }


def test_goal_without_sessions(stats):
    piano = next(g for g in stats()["goals"] if g["slug"] == "piano")
    assert piano["sessions"] == 0 and piano["success_rate"] is None
    assert piano["difficulty_trend"] is None and piano["last_session"] is None
    assert piano["level"] == 0 and piano["personal_bests"] == {} and piano["comebacks"] == []


def test_wins_and_lessons_newest_first(stats):
    model = stats()
    assert [(w["kind"], w["date"]) for w in model["wins"]] == [
        ("personal_best", "2026-02-02"), ("hard_success", "2026-02-02"), ("milestone", "2026-02-02"),
        ("milestone", "2026-01-30"), ("personal_best", "2026-01-30"),
    ]
    assert model["wins"][2] == {"kind": "milestone", "date": "2026-02-02", "goal": "run", "session": None,
                                "title": "Run 10 km", "level": 2}
    assert [(x["session"], x["comeback"]) for x in model["lessons"]] == [
        ("2026-02-10-rainy-fail", None), ("2026-01-31-shin-pain", "2026-02-02-back-on-track")]
    assert model["lessons"][1]["lesson"] == "Rest days matter"


@pytest.mark.parametrize("today, days, weeks", [
    ("2026-02-11", 2, 3),
    ("2026-02-12", 2, 3),  # yesterday still counts
    ("2026-02-13", 0, 3),  # the day run is broken, the week run is not
    ("2026-02-17", 0, 3),  # W08: the run ending last week still counts
    ("2026-02-24", 0, 0),  # W09: broken
])
def test_current_streaks_depend_on_today(stats, today, days, weeks):
    streak = stats("--today", today)["streak"]
    assert (streak["current_days"], streak["current_weeks"]) == (days, weeks)
    assert (streak["longest_days"], streak["longest_weeks"]) == (5, 3)


def test_stats_text_summarises(tmp_path, cli):
    write_tree(tmp_path, FIXTURE)
    result = cli("stats", tmp_path)
    assert result.code == 0
    assert "8 sessions" in result.out and "run" in result.out and "level 2" in result.out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(OUTCOMES), max_size=30))
def test_each_setback_comes_back_with_the_first_success_after_it(outcomes):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    sessions = [Session(slug=f"s{i}", title="t", when=start + dt.timedelta(days=i), has_time=False, source="x",
                        outcome=outcome) for i, outcome in enumerate(outcomes)]
    expected = []
    for i, outcome in enumerate(outcomes):
        after = [j for j in range(i + 1, len(outcomes)) if outcomes[j] == "success"]
        if outcome == "setback" and after:
            expected.append({"setback": f"s{i}", "success": f"s{after[0]}", "days": after[0] - i})
    assert comebacks(sessions) == expected


def test_a_goal_record_names_no_entry_and_copies_no_title(stats):
    """What the naming index of a delta leaves out (see pages.named_also): a goal's record,
    which a goal's page, the dashboard and the goals page hold, is made of plain values, and
    none of its dicts is a copy of a session's title (a win's, a lesson's)."""
    from mastery_site.pages import PageSpec, naming_index

    for record in stats()["goals"]:
        assert naming_index([PageSpec("goals/", "goal.html", "A goal", {"record": record})]) == {}
        assert "session" not in record and all(type(v) in (str, int, float, bool, list, dict, type(None))
                                               for v in record.values())
