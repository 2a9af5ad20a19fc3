"""The `mastery-site` command: thin wrappers over build, load and scaffold.

Exit codes (SPEC §4): 0 ok, 1 content errors (and warnings under --strict),
2 usage errors. Diagnostics go to stderr, in colour only on a terminal.

Each command imports what it uses when it runs: `build` tells a site up to date with
sources.py alone, before it imports Jinja, YAML and the model (a no-op build at 10,000
sessions on a RAM disk: 0.10 s, not 0.16).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, headstart
from .output import OutputError, check_output
from .sources import AUDIENCES, Handed, Scanned, scan_inputs, settings_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .diagnostics import Diagnostic

COLOURS = {"error": "\033[1;31m", "warning": "\033[1;33m", "note": "\033[1;36m"}


def main(argv: list[str] | None = None, kept: list | None = None, ahead: bool = False) -> int:
    """`kept` gets what a build loaded and made, for the caller to free (see run). `ahead`: a
    build may go on in a forked process, returning from here there too (see headstart.py)."""
    args = parser().parse_args(argv)
    args.kept = kept if kept is not None else []
    args.ahead = ahead
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # what is not ours is raised again
        return _failed(exc)


def _failed(exc: Exception) -> int:
    """The exit code of a command that raised `exc`, after saying why; anything else is raised again."""
    from .diagnostics import BuildError
    from .scaffold import ScaffoldError

    if isinstance(exc, (OutputError, ScaffoldError)):
        print(f"mastery-site: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, BuildError):
        report(exc.diagnostics.sorted())
        errors = len(exc.diagnostics.errors)
        print(f"{errors} error{'s' if errors != 1 else ''} found", file=sys.stderr)
        return 1
    raise exc


def run() -> None:
    """The command (see __main__): `main()`, then exit without freeing what it made, one object at a
    time (after an edit at 10,000 sessions, about a million: 40-100 ms; mypy's `hard_exit`
    does the same). Every file is closed and every worker gone by then (but the one saving
    the build cache: see cache.Store); only the standard streams may still hold output."""
    gc.freeze()  # what the imports made (see __main__): out of the collector's sight, on again
    gc.enable()
    kept: list = []
    code = main(kept=kept, ahead=True)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let the interpreter report it as usual
        raise SystemExit(code) from None
    headstart.exiting(code)
    os._exit(code)


def report(items: list[Diagnostic]) -> None:
    colour = sys.stderr.isatty()
    for d in items:
        line = str(d)
        if colour:
            line = line.replace(f" {d.severity}:", f" {COLOURS[d.severity]}{d.severity}:\033[0m", 1)
        print(line, file=sys.stderr)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a date (YYYY-MM-DD)') from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mastery-site", description="Build a progress portfolio site from "
                                "goals and practice sessions written in Markdown.")
    p.add_argument("--version", action="version", version=f"mastery-site {__version__}")
    sub = p.add_subparsers(title="commands", required=True, metavar="COMMAND")

    c = sub.add_parser("init", help="scaffold a new portfolio", description="Scaffold a new portfolio "
                       "that builds at once, with a .gitignore for the built site and caches.")
    c.add_argument("dir", nargs="?", default=".", type=Path, help="where to create it (default: .)")
    c.set_defaults(run=cmd_init)

    c = sub.add_parser("new", help="write a new goal or session file")
    kinds = c.add_subparsers(title="kinds", required=True, metavar="KIND")
    g = kinds.add_parser("goal", help="write content/goals/<slug>.md")
    g.add_argument("title")
    g.add_argument("--area", required=True, help="one of the configured areas")
    g.add_argument("--dir", default=".", type=Path, help="the portfolio (default: .)")
    g.set_defaults(run=cmd_new_goal)
    s = kinds.add_parser("session", help="write content/sessions/YYYY/YYYY-MM-DD-<slug>.md")
    s.add_argument("title")
    s.add_argument("--goal", help="slug of the goal this session worked on")
    s.add_argument("--date", type=_date, help="YYYY-MM-DD (default: today)")
    s.add_argument("--dir", default=".", type=Path, help="the portfolio (default: .)")
    s.set_defaults(run=cmd_new_session)

    c = sub.add_parser("build", help="build the site", description="Build the site into OUT, replacing the "
                       "previous build atomically.")
    _common(c, today=True)
    c.add_argument("-o", "--output", type=Path, help="output directory (default: DIR/_site)")
    c.add_argument("--drafts", action="store_true", help="include drafts")
    c.add_argument("--base-url", help="override base_url from mastery.yaml")
    c.add_argument("--force", action="store_true",
                   help="replace an output directory that mastery-site did not create")
    c.add_argument("--no-cache", action="store_true",
                   help="build even when nothing changed since the last build in OUT")
    c.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                   help=f"processes to use (default: the number of cores, here {default_jobs()})")
    c.add_argument("--zip", type=Path, metavar="FILE",
                   help="write the site as a self-contained zip (e.g. a mentor edition) instead of OUT")
    c.set_defaults(run=cmd_build)

    c = sub.add_parser("check", help="validate only", description="Validate every file and list all problems. "
                       "With --audience, also list what that build would publish that you may not expect.")
    c.add_argument("dir", nargs="?", default=".", type=Path, help="the portfolio (default: .)")
    c.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    c.add_argument("--audience", choices=AUDIENCES, help="audit what a build for this audience would publish")
    c.set_defaults(run=cmd_check)

    c = sub.add_parser("stats", help="print the aggregate model", description="Print the figures every page "
                       "is built from (SPEC §2).")
    _common(c, today=True)
    c.add_argument("--json", action="store_true", help="print the model as JSON")
    c.set_defaults(run=cmd_stats)

    c = sub.add_parser("serve", help="serve the site and rebuild on every change",
                       description="Build, serve over HTTP, watch the project and reload open pages after each "
                       "rebuild. Content errors show in the browser over the last good site.")
    c.add_argument("dir", nargs="?", default=".", type=Path, help="the portfolio (default: .)")
    c.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    c.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    c.add_argument("--audience", choices=AUDIENCES, default="private", help="edition to serve (default: private)")
    c.add_argument("--drafts", action="store_true", help="include drafts")
    c.add_argument("--today", type=_date, help="the date streaks count to (default: latest session)")
    c.add_argument("--open", action="store_true", help="open the site in a browser")
    c.set_defaults(run=cmd_serve)

    c = sub.add_parser("schema", help="print a JSON Schema of front matter", description="Print a JSON Schema "
                       "of goal and session front matter, for editors that validate YAML while you type.")
    c.add_argument("kind", nargs="?", choices=("goal", "session"), help="only this kind (default: both)")
    c.set_defaults(run=cmd_schema)
    return p


def _common(c: argparse.ArgumentParser, today: bool) -> None:
    c.add_argument("dir", nargs="?", default=".", type=Path, help="the portfolio (default: .)")
    c.add_argument("--audience", choices=AUDIENCES, default="public", help="who the output is for")
    if today:
        c.add_argument("--today", type=_date, help="the date streaks count to (default: latest session)")


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def cmd_init(args) -> int:
    from .scaffold import init

    written = init(args.dir, dt.date.today())
    for path in written:
        print(f"wrote {path}")
    print(f"Build it with: mastery-site build {args.dir}")
    return 0


def cmd_new_goal(args) -> int:
    from .config import load_config
    from .diagnostics import Diagnostics, did_you_mean
    from .scaffold import new_goal

    config = load_config(args.dir, Diagnostics())
    if args.area not in config.areas:
        print(f'mastery-site: error: unknown area "{args.area}"{did_you_mean(args.area, config.areas)}; '
              f"areas: {', '.join(config.areas)}", file=sys.stderr)
        return 2
    print(f"wrote {new_goal(args.dir, args.title, args.area, dt.date.today())}")
    return 0


def cmd_new_session(args) -> int:
    from .diagnostics import did_you_mean
    from .scaffold import new_session

    if args.goal:
        known = sorted(p.stem for p in (args.dir / "content" / "goals").glob("*.md"))
        if args.goal not in known:
            print(f'mastery-site: error: unknown goal "{args.goal}"{did_you_mean(args.goal, known)}',
                  file=sys.stderr)
            return 2
    print(f"wrote {new_session(args.dir, args.title, args.goal, args.date or dt.date.today())}")
    return 0


def cmd_build(args) -> int:
    started = time.perf_counter()
    out, scanned = args.output if args.output is not None else args.dir / "_site", None
    if not args.zip and not args.no_cache:
        check_output(out, args.dir, args.force)
        settings = settings_of(args.audience, args.drafts, args.base_url, args.today)
        if args.ahead and args.jobs > 1:  # the rest imported meanwhile, in another process (see headstart.py)
            found, code = headstart.scan_ahead(lambda: scan_inputs(args.dir, out, settings),
                                               lambda s: s.up_to_date, _import_build,
                                               lambda s: _handed(args.dir, settings, s))
            if code != -1:  # built by the forked process; the scan it was handed is freed at exit only
                args.kept.append(found)
                return code
            scanned = _taken(found) if type(found) is headstart.Handover else found
        else:
            scanned = scan_inputs(args.dir, out, settings)
        args.kept.append(scanned)
        if scanned.up_to_date:
            print(f"Up to date: nothing changed since the last build in {out}/ "
                  f"({time.perf_counter() - started:.2f} s; --no-cache to build anyway)")
            return 0
    from .build import Options, build  # the rest: there is something to build
    from .progress import Progress

    options = Options(args.audience, args.drafts, args.base_url, args.today, max(1, args.jobs), Progress())
    result = build(args.dir, args.output, options, force=args.force, zip_to=args.zip, fresh=args.no_cache,
                   scanned=scanned)
    args.kept.append(result)
    seconds = time.perf_counter() - started
    report(result.site.diagnostics.sorted())
    what = f"{result.pages} pages ({len(result.site.portfolio.sessions)} sessions, {args.audience})"
    if args.zip:
        print(f"Built {what} in {seconds:.2f} s into {result.out}: unzip it and open index.html in its folder")
    else:
        print(f"Built {what} in {seconds:.2f} s into {result.out}/ — open {result.out / 'index.html'}")
    return 0


def _handed(root: Path, settings: tuple, scanned: Scanned) -> Iterator:
    """What the scanning process hands the one that builds (see headstart.scan_ahead), in turn:
    the digests, which files changed since the build cache was saved (see stamps.py), made
    while the other imports and reads the cache, and the files found (needed only to build
    everything: sent last, they never keep the others waiting where the pipe carries them)."""
    yield scanned.head, scanned.inputs
    from .cache import cache_store
    from .stamps import compare

    try:
        yield compare(root, cache_store(root, settings), scanned.found)
    except Exception:  # never trusted over the building process's own comparison, which it then makes
        yield None
    yield scanned.found


def _taken(handover: headstart.Handover) -> Handed:
    """The scan as the building process takes it over (see _handed)."""
    head, inputs = handover[0]
    return Handed(head, inputs, lambda: handover[2], lambda: handover[1])


def _import_build() -> None:
    """What a build imports once it knows there is something to build (see headstart.py)."""
    from . import build, progress  # noqa: F401


def cmd_check(args) -> int:
    from .audit import audit
    from .build import Options, load_site
    from .diagnostics import Diagnostics

    diags = Diagnostics()
    site = load_site(args.dir, Options("private", drafts=True), diags)
    if args.audience:
        audit(args.dir, site.loaded, args.audience, diags)
    report(diags.sorted())
    problems = len(diags.warnings) if args.strict else 0
    portfolio = site.portfolio
    print(f"{len(portfolio.goals)} goals, {len(portfolio.sessions)} sessions, {len(portfolio.pages)} pages: "
          f"{len(diags.warnings)} warning{'s' if len(diags.warnings) != 1 else ''}")
    return 1 if problems else 0


def cmd_stats(args) -> int:
    from .build import Options, load_site

    site = load_site(args.dir, Options(args.audience, today=args.today))
    report(site.diagnostics.sorted())
    if args.json:
        print(json.dumps(site.stats, indent=2, ensure_ascii=False))
    else:
        print(stats_text(site.stats))
    return 0


def cmd_serve(args) -> int:
    from .build import Options
    from .devserver import serve  # watchdog is for `serve` only

    options = Options(args.audience, args.drafts, None, args.today, default_jobs())
    return serve(args.dir, options, args.host, args.port, args.open)


def cmd_schema(args) -> int:
    from .schema import schema

    print(json.dumps(schema(args.kind), indent=2))
    return 0


def stats_text(stats: dict) -> str:
    streak = stats["streak"]
    lines = [
        f"{stats['sessions']} sessions, {stats['minutes'] / 60:.1f} hours",
        f"streak: {streak['current_days']} days now (longest {streak['longest_days']}), "
        f"{streak['current_weeks']} weeks now (longest {streak['longest_weeks']})",
        f"wins: {len(stats['wins'])}, lessons: {len(stats['lessons'])}",
        "",
        "goals:",
    ]
    for g in stats["goals"]:
        rate = "–" if g["success_rate"] is None else f"{g['success_rate']:.0%}"
        trend = "–" if g["difficulty_trend"] is None else f"{g['difficulty_trend']:+.2f}"
        lines.append(f"  {g['slug']:<24} {g['status']:<8} level {g['level']}  {g['sessions']:>4} sessions  "
                     f"success {rate:>4}  difficulty trend {trend}")
    lines += ["", "areas:"]
    lines += [f"  {slug:<24} {a['goals']} goals, {a['sessions']} sessions, {a['minutes']} min"
              for slug, a in stats["areas"].items()]
    return "\n".join(lines)
