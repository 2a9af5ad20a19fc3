"""The command line of SPEC §4: commands, options, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from conftest import REPO, write_tree


def test_init_scaffolds_a_portfolio_that_builds_at_once(cli, tmp_path):
    project = tmp_path / "journal"
    result = cli("init", project)
    assert result.code == 0
    assert "_site/" in (project / ".gitignore").read_text()
    assert ".mastery-cache/" in (project / ".gitignore").read_text()
    assert "._site.spare/" in (project / ".gitignore").read_text()
    build = cli("build", project)
    assert build.code == 0, build.err
    assert (project / "_site/index.html").is_file()
    assert cli("check", project, "--strict").code == 0


def test_init_refuses_an_existing_portfolio(cli, tmp_path):
    assert cli("init", tmp_path).code == 0
    before = (tmp_path / "mastery.yaml").read_text()
    result = cli("init", tmp_path)
    assert result.code == 2 and "already holds a portfolio" in result.err
    assert (tmp_path / "mastery.yaml").read_text() == before


def test_new_goal_and_session_prefill_front_matter(cli, tmp_path):
    cli("init", tmp_path)
    result = cli("new", "goal", "Learn the Cello!", "--area", "creative", "--dir", tmp_path)
    assert result.code == 0
    goal = tmp_path / "content/goals/learn-the-cello.md"
    assert 'title: "Learn the Cello!"' in goal.read_text()
    assert f"started: {dt.date.today().isoformat()}" in goal.read_text()
    result = cli("new", "session", "First bow strokes", "--goal", "learn-the-cello", "--date", "2026-03-04",
                 "--dir", tmp_path)
    assert result.code == 0
    session = tmp_path / "content/sessions/2026/2026-03-04-first-bow-strokes.md"
    assert "goal: learn-the-cello" in session.read_text()
    assert cli("check", tmp_path, "--strict").code == 0
    today = cli("new", "session", "Open strings", "--dir", tmp_path)
    assert today.code == 0 and dt.date.today().isoformat() in today.out


def test_new_rejects_unknown_area_and_goal(cli, tmp_path):
    cli("init", tmp_path)
    result = cli("new", "goal", "X", "--area", "creativ", "--dir", tmp_path)
    assert result.code == 2 and 'did you mean "creative"' in result.err
    result = cli("new", "session", "X", "--goal", "my-frist-goal", "--dir", tmp_path)
    assert result.code == 2 and 'did you mean "my-first-goal"' in result.err


def test_new_never_overwrites(cli, tmp_path):
    cli("init", tmp_path)
    cli("new", "session", "Same", "--date", "2026-01-01", "--dir", tmp_path)
    path = tmp_path / "content/sessions/2026/2026-01-01-same.md"
    path.write_text("---\ntitle: Mine\n---\nkeep me\n")
    result = cli("new", "session", "Same", "--date", "2026-01-01", "--dir", tmp_path)
    assert result.code == 2 and "keep me" in path.read_text()


@pytest.mark.parametrize("args", [[], ["init"], ["new"], ["new", "goal"], ["new", "session"], ["build"],
                                  ["check"], ["stats"]])
def test_help_everywhere(cli, args):
    result = cli(*args, "--help")
    assert result.code == 0 and "usage: mastery-site" in result.out


@pytest.mark.parametrize("args", [["bogus"], ["build", "--audience", "everyone"], ["stats", "--today", "soon"],
                                  ["new", "goal", "x"]])
def test_usage_errors_exit_2(cli, args):
    assert cli(*args).code == 2


def test_content_errors_exit_1_and_keep_the_previous_site(cli, tmp_path):
    cli("init", tmp_path)
    assert cli("build", tmp_path).code == 0
    before = (tmp_path / "_site/index.html").read_bytes()
    write_tree(tmp_path, {"content/sessions/2026-01-01-bad.md": "---\ntitle: Bad\ndifficulty: 9\n---\n"})
    result = cli("build", tmp_path)
    assert result.code == 1
    assert "content/sessions/2026-01-01-bad.md:3:13: error:" in result.err
    assert "Traceback" not in result.err
    assert (tmp_path / "_site/index.html").read_bytes() == before


def test_refuses_foreign_or_project_output(cli, tmp_path):
    cli("init", tmp_path / "p")
    foreign = tmp_path / "mine"
    write_tree(foreign, {"precious.txt": "do not delete"})
    result = cli("build", tmp_path / "p", "-o", foreign)
    assert result.code == 2 and "not made by mastery-site" in result.err
    assert (foreign / "precious.txt").read_text() == "do not delete"
    for out in (tmp_path / "p", tmp_path):
        result = cli("build", tmp_path / "p", "-o", out)
        assert result.code == 2 and "project directory" in result.err
    assert (tmp_path / "p/mastery.yaml").is_file()


def test_base_url_option_reaches_absolute_links(cli, tmp_path):
    cli("init", tmp_path)
    assert cli("build", tmp_path, "--base-url", "https://ana.github.io/growth").code == 0
    assert "<loc>https://ana.github.io/growth/goals/</loc>" in (tmp_path / "_site/sitemap.xml").read_text()


def test_stats_json_is_the_model(cli):
    result = cli("stats", REPO, "--json")
    model = json.loads(result.out)
    assert result.code == 0 and model["sessions"] > 30
    assert {"current_days", "longest_days", "current_weeks", "longest_weeks"} == set(model["streak"])


def test_any_file_under_content_is_an_input_and_a_dangling_link_is_none(cli, tmp_path):
    """The no-op check sees every file under content/, not only entries: a session bundle's
    photo replaced means a new build. A symlink leading nowhere is skipped, never a crash."""
    cli("init", tmp_path)
    bundle = tmp_path / "content/sessions/2026-01-06-sketch"
    bundle.mkdir(parents=True)
    (bundle / "index.md").write_text("---\ntitle: Sketch\n---\n\n![the sketch](sketch.png)\n")
    first, second = (next((REPO / "content").rglob(name)).read_bytes() for name in ("arrabida.png", "graded-sky.png"))
    (bundle / "sketch.png").write_bytes(first)
    (tmp_path / "content/sessions/gone.md").symlink_to(tmp_path / "nowhere.md")
    assert cli("build", tmp_path).code == 0
    assert cli("build", tmp_path).out.startswith("Up to date")
    (bundle / "sketch.png").write_bytes(second)
    assert cli("build", tmp_path).out.startswith("Built")
    assert (tmp_path / "_site/sessions/2026-01-06-sketch/sketch.png").read_bytes() == second


def test_python_dash_m(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mastery_site", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("mastery-site ")


def test_the_command_exits_with_its_output_whole_and_its_code(tmp_path):
    """The command exits without tearing the interpreter down (cli.run): what it printed
    still arrives whole through a pipe, and its exit code is main's."""
    run = [sys.executable, "-m", "mastery_site"]
    stats = subprocess.run([*run, "stats", str(REPO), "--json"], capture_output=True, text=True)
    assert stats.returncode == 0 and json.loads(stats.stdout)["sessions"] > 30
    subprocess.run([*run, "init", str(tmp_path)], check=True, capture_output=True)
    (tmp_path / "content/sessions/2026-01-05-lost.md").write_text("---\ntitle: Lost\ngoal: nowhere\n---\n")
    failed = subprocess.run([*run, "build", str(tmp_path)], capture_output=True, text=True)
    assert failed.returncode == 1 and "2026-01-05-lost.md:3:7: error:" in failed.stderr
    assert failed.stderr.rstrip().endswith("1 error found")


def test_second_build_of_an_unchanged_project_builds_nothing(cli, tmp_path):
    cli("init", tmp_path)
    assert cli("build", tmp_path).code == 0
    marker = (tmp_path / "_site/.mastery-site").read_text()
    again = cli("build", tmp_path)
    assert again.code == 0 and again.out.startswith("Up to date")
    (tmp_path / "content/pages/about.md").write_text("---\ntitle: About me\n---\n")
    changed = cli("build", tmp_path)
    assert changed.out.startswith("Built") and "About me" in (tmp_path / "_site/about/index.html").read_text()
    assert (tmp_path / "_site/.mastery-site").read_text() != marker
    assert cli("build", tmp_path, "--no-cache").out.startswith("Built")
    assert cli("build", tmp_path, "--audience", "mentor").out.startswith("Built")  # options are inputs too


def test_progress_line_only_on_terminals_after_a_second(tmp_path):
    import io

    from mastery_site.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    quiet, shown = Terminal(), Terminal()
    Progress(quiet, delay=60).phase("reading")
    progress = Progress(shown, delay=0)
    progress.phase("rendering pages")
    progress.done()
    assert quiet.getvalue() == "" and "rendering pages" in shown.getvalue()
    piped = io.StringIO()
    Progress(piped, delay=0).phase("reading")
    assert piped.getvalue() == ""
