#!/usr/bin/env python3
"""The bare Python floor for our stack, as issue 7 defines it: read each file, split the
front matter, yaml.CSafeLoader, markdown-it-py, one Jinja template, write — in 2 processes.

    benchmarks/floor.py PORTFOLIO OUT [--jobs 2]

No validation, no aggregation, no other pages: the least any Python generator on this
stack must do per session. Prints the wall time in seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from pathlib import Path

import jinja2
import yaml
from markdown_it import MarkdownIt

TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    "<!doctype html><html lang=en><title>{{ title }}</title><h1>{{ title }}</h1>{{ body | safe }}</html>")
MD = MarkdownIt("commonmark")


def one(args: tuple[str, str]) -> None:
    source, out = args
    text = Path(source).read_text(encoding="utf-8")
    _, fm, body = text.split("---\n", 2)
    meta = yaml.load(fm, Loader=yaml.CSafeLoader)
    html = TEMPLATE.render(title=meta.get("title", ""), body=MD.render(body))
    target = Path(out) / Path(source).stem / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")


def floor(portfolio: Path, out: Path, jobs: int = 2) -> float:
    files = [(str(p), str(out)) for p in sorted((portfolio / "content").rglob("*.md"))]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pool.map(one, files, chunksize=64)
    return time.perf_counter() - start


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("portfolio", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args()
    print(f"{floor(a.portfolio, a.out, a.jobs):.2f}")
