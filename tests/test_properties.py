"""No front matter crashes the loader: it yields a model or diagnostics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastery_site.build import Options, load_site
from mastery_site.diagnostics import BuildError

KEYS = ["title", "date", "goal", "difficulty", "outcome", "duration", "metrics", "milestone", "confidence",
        "lesson", "feedback", "tags", "slug", "visibility", "draft", "area", "started", "status", "x"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["1:30", "2026-02-30", "no", "on", "2026-01-01T25:00",
                                                           "success", "setback", "g", "45m", "~", "&a x", "*a"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS + ["before", "after", "name", "from"]),
                                                 inner, max_size=4)), max_leaves=12)
GOAL = "---\ntitle: G\narea: work\nstarted: 2026-01-01\nmetrics: [{name: m}]\nmilestones: [Step]\n---\n"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, data in {"content/goals/g.md": GOAL.encode(), **files}.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            site = load_site(root, Options("private", drafts=True))
        except BuildError as exc:
            assert exc.diagnostics.errors
            for d in exc.diagnostics.items:
                assert d.path.startswith(("content/", "mastery.yaml")) and d.line >= 1 and d.col >= 1
        else:
            assert site.stats["sessions"] == len(site.portfolio.sessions)


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8))
def test_structured_front_matter_never_crashes(fields):
    text = yaml.safe_dump(fields, allow_unicode=True)
    load({"content/sessions/2026-01-01-s.md": f"---\n{text}---\nbody\n".encode(),
          "content/goals/h.md": f"---\n{text}---\n".encode()})


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text):
    load({"content/sessions/2026-01-01-s.md": f"---\n{text}\n---\n".encode("utf-8", "surrogatepass"),
          "content/pages/p.md": text.encode("utf-8", "surrogatepass")})


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data):
    load({"content/sessions/2026-01-01-s.md": b"---\n" + data, "mastery.yaml": data})


@given(st.sets(st.text(alphabet="ab./\n", max_size=8), max_size=6))
def test_pages_taken_at_once_are_those_a_path_match_each_would_take(rels):
    """The output's check that page paths are normal (never outside the site), made of many
    paths at once, agrees with the match of each (output.NORMAL)."""
    from mastery_site.output import NORMAL, _normal
    assert _normal(set(rels)) == {rel for rel in rels if NORMAL.fullmatch(rel)}
