"""SPEC §5: an excluded entry does not exist for that build, anywhere."""

from __future__ import annotations

import json

import pytest

from conftest import site_files, write_tree

PORTFOLIO = {
    "content/goals/public-goal.md": "---\ntitle: Public goal\narea: work\nstarted: 2026-01-01\n"
                                    "metrics: [{name: reps, better: higher}]\n"
                                    "milestones: [First step, Second step]\n---\nOpen to all.\n",
    "content/goals/mentor-goal.md": "---\ntitle: CANARY-MENTOR-GOAL\narea: education\nstarted: 2026-01-01\n"
                                    "visibility: mentor\ntags: [canary-mentor-tag]\n---\n",
    "content/goals/private-goal.md": "---\ntitle: CANARY-PRIVATE-GOAL\narea: physical\nstarted: 2026-01-01\n"
                                     "visibility: private\n---\n",
    "content/goals/draft-goal.md": "---\ntitle: CANARY-DRAFT-GOAL\narea: creative\nstarted: 2026-01-01\n"
                                   "draft: true\n---\n",
    "content/sessions/2026-01-01-a.md": "---\ntitle: Public one\ngoal: public-goal\nmilestone: First step\n---\n"
                                        "Text.\n\n```private\nCANARY-PRIVATE-BLOCK\n```\n",
    "content/sessions/2026-01-02-b.md": "---\ntitle: CANARY-PRIVATE-SESSION\ngoal: public-goal\n"
                                        "visibility: private\ndifficulty: 5\nmilestone: Second step\n"
                                        "metrics: {reps: 99}\ntags: [canary-private-tag]\n---\n"
                                        "![me](canary-private-photo.png)\n",
    "content/sessions/canary-private-photo.png": b"\x89PNG CANARY-PRIVATE-PIXELS",
    "content/sessions/2026-01-03-c.md": "---\ntitle: On the mentor goal\ngoal: mentor-goal\nduration: 30\n---\n"
                                        "CANARY-MENTOR-SESSION-BODY\n",
    "content/sessions/2026-01-04-d.md": "---\ntitle: Public session on a private goal\ngoal: private-goal\n---\n"
                                        "CANARY-INHERITS-PRIVATE\n",
    "content/sessions/2026-01-05-e.md": "---\ntitle: CANARY-DRAFT-SESSION\ndraft: true\n---\n",
    "content/sessions/2026-01-06-f.md": "---\ntitle: Public two\ngoal: public-goal\nmetrics: {reps: 12}\n---\n",
    "content/pages/secret.md": "---\ntitle: CANARY-PRIVATE-PAGE\nvisibility: private\n---\n",
}
MENTOR = {"CANARY-MENTOR-GOAL", "canary-mentor-tag", "CANARY-MENTOR-SESSION-BODY", "mentor-goal"}
PRIVATE = {"CANARY-PRIVATE-GOAL", "CANARY-PRIVATE-BLOCK", "CANARY-PRIVATE-SESSION", "CANARY-PRIVATE-PIXELS",
           "canary-private-photo",
           "canary-private-tag", "CANARY-INHERITS-PRIVATE", "CANARY-PRIVATE-PAGE", "2026-01-02-b", "secret",
           "private-goal"}
DRAFT = {"CANARY-DRAFT-GOAL", "CANARY-DRAFT-SESSION", "draft-goal"}
HIDDEN = {"public": MENTOR | PRIVATE | DRAFT, "mentor": PRIVATE | DRAFT, "private": DRAFT}


@pytest.fixture
def project(tmp_path):
    return write_tree(tmp_path / "p", PORTFOLIO)


@pytest.mark.parametrize("audience", ["public", "mentor", "private"])
def test_no_canary_of_a_higher_level_in_any_file(project, cli, tmp_path, audience):
    out = tmp_path / audience
    assert cli("build", project, "-o", out, "--audience", audience).code == 0
    files = site_files(out)
    for name, data in files.items():
        for canary in HIDDEN[audience]:
            assert canary.encode() not in data, f"{canary} leaked into {name} ({audience})"
            assert canary not in name, f"{canary} leaked into a file name: {name}"
    shown = {"public": set(), "mentor": MENTOR - {"mentor-goal"}, "private": (MENTOR | PRIVATE) - {"mentor-goal",
             "private-goal", "secret", "2026-01-02-b", "canary-private-photo"}}[audience]
    everything = b"".join(files.values())
    for canary in shown:
        assert canary.encode() in everything, f"{canary} should be in the {audience} build"


def test_figures_are_computed_without_excluded_entries(project, cli):
    public = json.loads(cli("stats", project, "--json").out)
    assert public["sessions"] == 2  # a and f; b private, c mentor goal, d private goal, e draft
    assert public["minutes"] == 0
    assert public["streak"]["longest_days"] == 1  # Jan 1 and Jan 6 only
    goal = public["goals"][0]
    assert [g["slug"] for g in public["goals"]] == ["public-goal"]
    assert goal["level"] == 1 and goal["milestones_done"] == 1
    assert public["wins"] == [{"kind": "personal_best", "date": "2026-01-06", "goal": "public-goal",
                               "session": "2026-01-06-f", "metric": "reps", "value": 12},
                              {"kind": "milestone", "date": "2026-01-01", "goal": "public-goal",
                               "session": "2026-01-01-a", "title": "First step", "level": 1}]
    assert public["areas"]["education"] == {"goals": 0, "sessions": 0, "minutes": 0}
    assert goal["personal_bests"] == {"reps": {"value": 12, "date": "2026-01-06", "session": "2026-01-06-f"}}

    mentor = json.loads(cli("stats", project, "--json", "--audience", "mentor").out)
    assert mentor["sessions"] == 3 and mentor["minutes"] == 30
    assert mentor["areas"]["education"] == {"goals": 1, "sessions": 1, "minutes": 30}
    assert mentor["streak"]["longest_days"] == 1

    private = json.loads(cli("stats", project, "--json", "--audience", "private").out)
    assert private["sessions"] == 5 and private["streak"]["longest_days"] == 4
    assert next(g for g in private["goals"] if g["slug"] == "public-goal")["level"] == 2
    assert private["goals"][-1]["personal_bests"]["reps"]["value"] == 99


def test_heatmap_tags_and_areas_count_only_what_is_shown(project, cli, tmp_path):
    out = tmp_path / "public"
    assert cli("build", project, "-o", out).code == 0
    home = (out / "index.html").read_text()
    assert "2 sessions on 2 of the" in home  # the heatmap's text alternative
    assert "2026-01-02: 0 sessions" in home and "2026-01-01: 1 session<" in home
    assert not (out / "tags/canary-private-tag").exists() and not (out / "tags/canary-mentor-tag").exists()
    assert "0 goals" in (out / "areas/education/index.html").read_text()
    assert not list(out.rglob("*.png"))


def test_prev_next_skip_excluded_sessions(project, cli, tmp_path):
    out = tmp_path / "public"
    assert cli("build", project, "-o", out).code == 0
    page = (out / "sessions/2026-01-01-a/index.html").read_text()
    assert 'rel="next" href="../../sessions/2026-01-06-f/"' in page


def test_drafts_flag_includes_drafts(project, cli, tmp_path):
    out = tmp_path / "drafts"
    assert cli("build", project, "-o", out, "--audience", "private", "--drafts").code == 0
    assert b"CANARY-DRAFT-SESSION" in b"".join(site_files(out).values())
