"""SPEC §1 validation: every problem, with path, line and column, in one run."""

from __future__ import annotations

import pytest

from conftest import write_tree

GOAL = """
    ---
    title: Public speaking
    area: work
    started: 2026-01-01
    metrics:
      - {name: words, unit: wpm, better: higher}
    milestones:
      - {title: Speak at standup}
      - {title: Give a talk}
    ---
"""


def check(tmp_path, cli, files: dict[str, str | bytes], *args: str):
    write_tree(tmp_path, {"content/goals/speaking.md": GOAL, **files})
    result = cli("check", tmp_path, *args)
    lines = [line for line in result.err.splitlines() if ": error: " in line or ": warning: " in line]
    return result, lines


def session(body: str) -> dict[str, str]:
    return {"content/sessions/2026-03-01-talk.md": body}


@pytest.mark.parametrize("body, expected", [
    ("---\ntitle: [unclosed\n---\n", "content/sessions/2026-03-01-talk.md:3:1: error: malformed YAML"),
    ("---\ndifficulty: 2\n---\n", 'content/sessions/2026-03-01-talk.md:2:1: error: a session is missing the '
                                  'required key "title"'),
    ("---\ntitle: T\ndifficulty: 7\n---\n", "content/sessions/2026-03-01-talk.md:3:13: error: difficulty must be "
                                            "a whole number from 1 to 5"),
    ("---\ntitle: T\ndifficulty: hard\n---\n", "content/sessions/2026-03-01-talk.md:3:13: error: difficulty must be"),
    ("---\ntitle: T\nconfidence: {before: 0, after: 11}\n---\n",
     "content/sessions/2026-03-01-talk.md:3:22: error: confidence.before must be a whole number from 1 to 10"),
    ("---\ntitle: T\ngoal: speakin\n---\n",
     'content/sessions/2026-03-01-talk.md:3:7: error: unknown goal "speakin" (did you mean "speaking"?)'),
    ("---\ntitle: T\ngoal: speaking\nmilestone: Give a tlak\n---\n",
     'content/sessions/2026-03-01-talk.md:4:12: error: unknown milestone "Give a tlak" of goal "speaking" '
     '(did you mean "Give a talk"?)'),
    ("---\ntitle: T\ngoal: speaking\nmetrics:\n  word: 120\n---\n",
     'content/sessions/2026-03-01-talk.md:5:3: error: unknown metric "word" of goal "speaking" '
     '(did you mean "words"?)'),
    ("---\ntitle: T\ngoal: speaking\noutcome: partial\nmilestone: Give a talk\n---\n",
     "content/sessions/2026-03-01-talk.md:5:12: error: a milestone can only be reached by a success"),
    ("---\ntitle: T\ndate: 2026-02-30\n---\n",
     'content/sessions/2026-03-01-talk.md:3:7: error: date: the date "2026-02-30" does not exist'),
    ("---\ntitle: T\noutcome: fail\n---\n",
     'content/sessions/2026-03-01-talk.md:3:10: error: outcome must be one of success, partial, setback, not '
     '"fail"'),
    ("---\ntitle: T\nduration: a while\n---\n",
     "content/sessions/2026-03-01-talk.md:3:11: error: duration must be minutes"),
    ("---\ntitle: T\nslug: Bad_Slug\n---\n",
     'content/sessions/2026-03-01-talk.md:3:7: error: slug "Bad_Slug" may only use a-z, 0-9'),
    ("---\ntitle: T\ndificulty: 2\n---\n",
     'content/sessions/2026-03-01-talk.md:3:1: warning: unknown key "dificulty" in a session '
     '(did you mean "difficulty"?)'),
    ("---\ntitle: T\noutcome: setback\n---\n",
     'content/sessions/2026-03-01-talk.md:3:10: warning: a setback without a "lesson"'),
    ("---\ntitle: T\nfeedback:\n  - {from: Ana, role: boss, note: Good}\n---\n",
     'content/sessions/2026-03-01-talk.md:4:23: error: role must be one of mentor, coach, peer, self, not "boss"'),
    ("---\ntitle: T\n---\n", None),
])
def test_session_cases(tmp_path, cli, body, expected):
    result, lines = check(tmp_path, cli, session(body))
    if expected is None:
        assert result.code == 0 and lines == []
        return
    assert any(line.startswith(expected) for line in lines), lines
    is_error = ": error: " in expected
    assert result.code == (1 if is_error else 0)


def test_warnings_fail_under_strict(tmp_path, cli):
    result, lines = check(tmp_path, cli, session("---\ntitle: T\noutcome: setback\n---\n"), "--strict")
    assert result.code == 1 and len(lines) == 1


def test_all_problems_in_one_run(tmp_path, cli):
    result, lines = check(tmp_path, cli, {
        "content/sessions/2026-03-01-a.md": "---\ntitle: A\ndifficulty: 9\ngoal: nope\n---\n",
        "content/sessions/2026-03-02-b.md": "---\ntitle: [\n---\n",
        "content/goals/broken.md": "---\ntitle: Broken\narea: wrk\nstarted: 2026-13-01\n---\n",
    })
    assert result.code == 1
    assert lines == [
        'content/goals/broken.md:3:7: error: unknown area "wrk" (did you mean "work"?)',
        'content/goals/broken.md:4:10: error: started: the date "2026-13-01" does not exist',
        'content/sessions/2026-03-01-a.md:3:13: error: difficulty must be a whole number from 1 to 5, got "9"',
        'content/sessions/2026-03-01-a.md:4:7: error: unknown goal "nope"',
        "content/sessions/2026-03-02-b.md:3:1: error: malformed YAML: did not find expected node content",
    ]


def test_duplicate_slugs_name_both_files(tmp_path, cli):
    result, lines = check(tmp_path, cli, {
        "content/sessions/2026/2026-03-01-x.md": "---\ntitle: A\n---\n",
        "content/sessions/2026-03-02-y.md": "---\ntitle: B\nslug: 2026-03-01-x\n---\n",
    })
    assert result.code == 1
    assert lines == ['content/sessions/2026-03-02-y.md:3:7: error: duplicate session slug "2026-03-01-x" '
                     '(also used by content/sessions/2026/2026-03-01-x.md)']


def test_yaml_11_surprises_stay_strings(tmp_path, cli):
    write_tree(tmp_path, {
        "content/goals/speaking.md": GOAL,
        "content/sessions/2026-03-01-no.md": "---\ntitle: no\ngoal: speaking\nduration: 1:30\n---\n",
        "content/sessions/2026-03-02-date.md": "---\ntitle: 2026-01-01\ntags: [on, 2026]\n---\n",
    })
    result = cli("build", tmp_path)
    assert result.code == 0, result.err
    assert "<h1>no</h1>" in (tmp_path / "_site/sessions/2026-03-01-no/index.html").read_text()
    assert "90 min" not in (tmp_path / "_site/sessions/2026-03-01-no/index.html").read_text()
    assert "1 h 30 min" in (tmp_path / "_site/sessions/2026-03-01-no/index.html").read_text()
    page = (tmp_path / "_site/sessions/2026-03-02-date/index.html").read_text()
    assert "<h1>2026-01-01</h1>" in page and "#on" in page and "#2026" in page


def test_a_quoted_value_stays_a_string_after_the_same_value_unquoted(tmp_path, cli):
    """YAML tags are remembered by value across files (frontmatter._Composer): quoting counts."""
    result, lines = check(tmp_path, cli, {
        "content/sessions/2026-03-01-a.md": "---\ntitle: A\ndifficulty: 3\n---\n",
        "content/sessions/2026-03-02-b.md": '---\ntitle: B\ndifficulty: "3"\n---\n',
    })
    assert result.code == 1
    assert lines == ['content/sessions/2026-03-02-b.md:3:13: error: difficulty must be a whole number from 1 to 5, '
                     'got "3"']


def test_non_utf8_file(tmp_path, cli):
    result, lines = check(tmp_path, cli, {"content/sessions/2026-03-01-x.md": b"---\ntitle: caf\xe9\n---\n"})
    assert result.code == 1
    assert lines == ["content/sessions/2026-03-01-x.md:2:11: error: file is not valid UTF-8 text"]


def test_page_colliding_with_built_in_path(tmp_path, cli):
    result, lines = check(tmp_path, cli, {"content/pages/timeline.md": "---\ntitle: Mine\n---\n"})
    assert result.code == 1
    assert lines[0].startswith('content/pages/timeline.md:1:1: error: the page "timeline" collides')


def test_goal_errors(tmp_path, cli):
    result, lines = check(tmp_path, cli, {"content/goals/g2.md": """
        ---
        title: G
        area: work
        started: 2026-01-01
        status: done
        metrics:
          - {name: m, better: more}
        visibility: secret
        ---
    """})
    assert result.code == 1
    assert [line.split(": error: ")[0] for line in lines] == [
        "content/goals/g2.md:5:9", "content/goals/g2.md:7:23", "content/goals/g2.md:8:13"]


def test_config_errors(tmp_path, cli):
    result, lines = check(tmp_path, cli, {"mastery.yaml": "title: X\ntimezone: Mars/Base\nper_page: 0\ntheem: x\n"})
    assert result.code == 1
    assert lines == [
        'mastery.yaml:2:11: error: unknown timezone "Mars/Base" (use an IANA name such as "Europe/Berlin")',
        'mastery.yaml:3:11: error: per_page must be a whole number from 1 to 1000, got "0"',
        'mastery.yaml:4:1: warning: unknown key "theem" in mastery.yaml (did you mean "theme"?)',
    ]


def test_session_needs_a_date(tmp_path, cli):
    result, lines = check(tmp_path, cli, {"content/sessions/undated.md": "---\ntitle: T\n---\n"})
    assert result.code == 1
    assert lines == ['content/sessions/undated.md:2:1: error: a session needs a "date", or a file name that '
                     'starts with YYYY-MM-DD']
