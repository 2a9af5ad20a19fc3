#!/usr/bin/env python3
"""Reproducible performance runs of mastery-site against the Python floor and Hugo.

    benchmarks/run.py [--sizes 1000 10000] [--runs 3] [--serve] [--hugo]

Corpora come from ../shared/bench/gen_corpus.py (seed 1). The generator sometimes puts a
milestone on a "partial" session, which SPEC §1 makes an error; those sessions are made
"success" so the corpus builds (the only change). Each scenario runs --runs times; the
report gives medians and the ratios issue 7 asks for, all measured in this one run: cold
builds in turn with the floor and Hugo, rebuilds and edits in turn with cold builds of their
own (their ratios are the medians of each turn's).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "bench" / "gen_corpus.py"
sys.path.insert(0, str(HERE))

from serve_latency import KINDS as SERVE_EDITS  # noqa: E402
from serve_latency import run as serve_latency  # noqa: E402


def corpus(folder: Path, sessions: int) -> Path:
    root = folder / f"corpus-{sessions}"
    if not root.exists():
        subprocess.run([sys.executable, str(GENERATOR), str(root), "--sessions", str(sessions)], check=True)
        for path in (root / "content/sessions").rglob("*.md"):
            text = path.read_text()
            if "\nmilestone:" in text and "\noutcome: partial\n" in text:
                path.write_text(text.replace("\noutcome: partial\n", "\noutcome: success\n"))
    return root


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def peak_mib(command: list[str]) -> float:
    """Peak RSS of the largest process of a run (the build or one of its workers: what wait4
    gives covers the processes it waited for; this process's RUSAGE_CHILDREN would be the
    largest of every command run so far, Hugo's included). Not the process a build forks to
    save its cache, which it does not wait for (see cache.Store), nor, with the cache, the one
    that builds with a head start (see headstart.py): edits are measured with `-j 1`."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0, command
    return usage.ru_maxrss / 1024


def build(root: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mastery_site", "build", str(root), "-o", str(out), *extra]


def median_of(runs: int, setup, command) -> float:
    values = []
    for _ in range(runs):
        setup()
        values.append(command())
    return statistics.median(values)


def interleaved(runs: int, setup, commands: dict[str, list[str]]) -> dict[str, float]:
    """Median time of each command, the commands taking turns: a machine whose disk or CPU
    drifts during the benchmark (this one does) then weighs on all of them alike."""
    values: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            setup()
            values[name].append(timed(command))
    return {name: statistics.median(times) for name, times in values.items()}


HUGO_CONFIG = 'baseURL = "https://bench.example.org/"\ntitle = "Bench"\n'
HUGO_KINDS = {  # what Hugo builds: ours has tag pages, feeds and a sitemap too; Hugo's defaults make them
    "hugo (same kinds)": "",
    "hugo (pages only)": 'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n',
}


def hugo_sites(root: Path, folder: Path) -> dict[str, list[str]]:
    """The same corpus as a Hugo site with minimal layouts (one list and one single template):
    name → the command that builds it, with Hugo's default kinds of page (taxonomies, so a page
    per tag; RSS feeds; a sitemap: the issue's ~1 GB baseline) and with pages only; none when
    Hugo is not installed."""
    if not shutil.which("hugo"):
        return {}
    site = folder / f"hugo-{root.name}"
    if not (site / "layouts").exists():
        shutil.copytree(root / "content", site / "content", dirs_exist_ok=True)
        layouts = site / "layouts/_default"
        layouts.mkdir(parents=True)
        (layouts / "single.html").write_text("<!doctype html><title>{{ .Title }}</title><h1>{{ .Title }}</h1>"
                                             "{{ .Content }}\n")
        (layouts / "list.html").write_text("<!doctype html><title>{{ .Title }}</title>"
                                           "{{ range .Pages }}<a href=\"{{ .RelPermalink }}\">{{ .Title }}</a>"
                                           "{{ end }}\n")
    commands = {}
    for n, (name, kinds) in enumerate(HUGO_KINDS.items()):
        config = site / f"config-{n}.toml"
        config.write_text(HUGO_CONFIG + kinds)
        commands[name] = ["hugo", "--quiet", "-s", str(site), "--config", str(config),
                          "-d", str(folder / f"hugo-out-{root.name}")]
    return commands


def scenario(size: int, folder: Path, runs: int, with_hugo: bool) -> dict:
    root = corpus(folder, size)
    out = folder / f"out-{size}"

    def clean() -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(out.parent / f".{out.name}.spare", ignore_errors=True)
        shutil.rmtree(root / ".mastery-cache", ignore_errors=True)
        shutil.rmtree(folder / f"hugo-out-{root.name}", ignore_errors=True)
        os.sync()  # the previous run's writes are flushed before this one is timed, not during it

    # the floor runs as its own process and is timed from outside, like the builds (start-up included)
    floor_run = [sys.executable, str(HERE / "floor.py"), str(root), str(out), "--jobs", "2"]
    cold = {"floor": floor_run, **{f"cold -j{j}": build(root, out, "-j", str(j), "--no-cache") for j in (1, 2)},
            "cold -j2, markdown-it only": ["env", "MASTERY_SITE_MARKDOWN=markdown-it",
                                           *build(root, out, "-j", "2", "--no-cache")],
            **(hugo_sites(root, folder) if with_hugo else {})}
    figures = interleaved(runs, clean, cold)  # cold: no previous site, no cache; Hugo in turn with us
    if "hugo (same kinds)" in cold:
        figures["hugo peak MiB"] = peak_mib(cold["hugo (same kinds)"])
    clean()
    figures["peak MiB"] = peak_mib(build(root, out, "-j", "2", "--no-cache"))
    session = max((root / "content/sessions").rglob("*.md"))
    original = session.read_text()

    def edit() -> None:  # the body alone: its front matter stays as the last edit left it
        text = re.sub(r"\nedited \d+\n$", "", session.read_text())
        session.write_text(text + f"\nedited {time.time_ns()}\n")

    def retitle() -> None:  # its title: built in place too (its win or lesson made again)
        session.write_text(re.sub(r"^title: .*$", f"title: Retitled {time.time_ns()}", session.read_text(),
                                  count=1, flags=re.M))

    def rerate() -> None:  # its difficulty: built in place too, with its goal's and the site's figures
        session.write_text(re.sub(r"^difficulty: (\d)$", lambda m: f"difficulty: {int(m[1]) % 5 + 1}",
                                  session.read_text(), count=1, flags=re.M))

    def retag() -> None:  # a tag of its own, in or out: built in place too, with the tag pages planned again
        text = session.read_text()
        if "\ntags: [edited" in text:
            text = text.replace("\ntags: [edited, ", "\ntags: [", 1).replace("\ntags: [edited]", "", 1)
        else:
            text = text.replace("\ntags: [", "\ntags: [edited, ", 1) if "\ntags: [" in text \
                else text.replace("\ntitle: ", "\ntags: [edited]\ntitle: ", 1)
        session.write_text(text)
    for _ in range(2):  # the first writes the build cache; the second recycles the --no-cache site as the
        edit()          # spare, relinking every page in it once: after that, each edit is like the next
        timed(build(root, out))
    edits = {"one edit": edit, "one title edit": retitle, "one difficulty edit": rerate, "one tags edit": retag}
    figures.update(incremental(runs, root, out, folder / f"out-{size}-cold", edits))
    edit()
    figures["peak MiB, one edit"] = peak_mib(build(root, out, "-j", "1"))  # one process: with the head start,
    # the one that builds is forked and not waited for (it says its exit code first: see headstart.py)
    session.write_text(original)
    return figures


def incremental(runs: int, root: Path, out: Path, reference: Path, edits: dict) -> dict:
    """No-op and `edits` (name → a function that edits), each run in turn with a cold build
    into another folder (which leaves the cache and `out` alone): each is reported as the
    median of its ratios to the cold build of its own turn, whatever speed this machine
    drifted to meanwhile."""
    values: dict[str, list[float]] = {"cold, in turn": [], "no-op": [], **{name: [] for name in edits}}
    for _ in range(runs):
        shutil.rmtree(reference, ignore_errors=True)
        os.sync()
        values["cold, in turn"].append(timed(build(root, reference, "-j", "2", "--no-cache")))
        os.sync()  # its new files are not flushed while the edits are timed
        values["no-op"].append(timed(build(root, out)))  # nothing changed since the last build in `out`
        for name, edit in edits.items():
            edit()
            values[name].append(timed(build(root, out)))
    shutil.rmtree(reference, ignore_errors=True)
    figures = {name: statistics.median(times) for name, times in values.items()}
    for name in ("no-op", *edits):
        turns = zip(values[name], values["cold, in turn"], strict=True)
        figures[f"{name} ratio"] = statistics.median(took / cold for took, cold in turns)
    return figures


def report(size: int, f: dict) -> str:
    cold = f["cold -j2"]
    lines = [f"{size} sessions (medians, seconds):",
             f"  floor (2 processes)        {f['floor']:7.2f}",
             f"  cold build, 1 process      {f['cold -j1']:7.2f}",
             f"  cold build, 2 processes    {cold:7.2f}   = {cold / f['floor']:.2f}x the floor",
             f"  cold, markdown-it only     {f['cold -j2, markdown-it only']:7.2f}   (pyromark off: "
             f"ours with it = {cold / f['cold -j2, markdown-it only']:.2f}x)",
             f"  cold build, timed in turn with the five below: {f['cold, in turn']:.2f}",
             f"  no-op rebuild              {f['no-op']:7.2f}   = {f['no-op ratio']:.1%} of cold",
             f"  one edited session (body)  {f['one edit']:7.2f}   = {f['one edit ratio']:.1%} of cold",
             f"  one edited session (title) {f['one title edit']:7.2f}   = {f['one title edit ratio']:.1%} of cold",
             f"  one edited session (rated) {f['one difficulty edit']:7.2f}   = "
             f"{f['one difficulty edit ratio']:.1%} of cold (its difficulty: figures made again)",
             f"  one edited session (tags)  {f['one tags edit']:7.2f}   = "
             f"{f['one tags edit ratio']:.1%} of cold (a tag: its tag pages planned again)",
             f"  peak RSS, largest process  {f['peak MiB']:7.0f} MiB cold, {f['peak MiB, one edit']:.0f} MiB "
             "one edit (with the cache, -j 1)"]
    for name in HUGO_KINDS:
        if name in f:
            lines.append(f"  {name:26} {f[name]:7.2f}   ours = {cold / f[name]:.2f}x"
                         + (f", peak {f['hugo peak MiB']:.0f} MiB" if name == "hugo (same kinds)" else ""))
    return "\n".join(lines)


def markdown_renderers() -> str:
    try:
        import pyromark
    except ImportError:
        return "Markdown by markdown-it-py alone (pyromark is not installed: pip install '.[fast]')"
    return f"Markdown by pyromark {pyromark.__version__} where it renders as markdown-it-py does"


def bytecode() -> None:
    """Compile the package as pip does when it installs it: an editable checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile ~5,000 lines at every start
    (80 ms, 8 % of an edit at 10,000 sessions) that no installed copy compiles."""
    import mastery_site

    compileall.compile_dir(Path(mastery_site.__file__).parent, quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--serve", action="store_true", help="also measure serve's edit-to-served latency")
    ap.add_argument("--hugo", action="store_true", help="also time Hugo when it is installed")
    ap.add_argument("--keep", type=Path, help="keep corpora in this folder (default: a temporary one)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {markdown_renderers()}")
    bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        per_session = {}
        for size in args.sizes:
            figures = scenario(size, folder, args.runs, args.hugo)
            print(report(size, figures), flush=True)
            per_session[size] = figures["cold -j2"] / size * 1000
            if args.serve:
                for kind in SERVE_EDITS:
                    print("  " + serve_latency(corpus(folder, size), 20, kind).replace("\n", "\n  "), flush=True)
        print("scaling, cold build per 1000 sessions: " + ", ".join(f"{s}: {v:.2f} s" for s, v in per_session.items()))


if __name__ == "__main__":
    main()
