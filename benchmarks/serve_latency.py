#!/usr/bin/env python3
"""Edit-to-served latency of `mastery-site serve`: edit one session 20 times, and time
each edit from the write until the server returns the new text over HTTP.

    benchmarks/serve_latency.py PORTFOLIO [--edits 20] [--kind body|title|other]

The edit adds a line to the body (the everyday edit); or changes the title in the front
matter (made in place too, with the wins and lessons that copy it); or the title and the
difficulty (a session's figures: in place too, with the site's figures and the pages that
read them); or the title and the tags (in place too, with the tag pages and the
sitemap).

The client does what the page's live-reload script does: it listens to the server's
events, and fetches the page when a rebuild is announced (again if that page still has
the old text). It does not poll the page: requests arriving every few milliseconds would
compete with the rebuild for the interpreter, which no browser does.

Prints the median and worst latency and the median rebuild breakdown the server
reported (load = read, validate, aggregate; plan = pages planned, search index and assets;
pages themselves are rendered when requested, and completed in the background).
The portfolio is copied to a temporary folder first; the original is never touched.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("portfolio", type=Path)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--kind", choices=KINDS, default="body", help="what the edit changes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        shutil.copytree(args.portfolio / "content", root / "content")
        if (args.portfolio / "mastery.yaml").is_file():
            shutil.copy(args.portfolio / "mastery.yaml", root / "mastery.yaml")
        print(run(root, args.edits, args.kind))


KINDS = ("body", "title", "other", "tags")


def run(root: Path, edits: int, kind: str = "body") -> str:
    session = max(p for p in (root / "content/sessions").rglob("*.md")  # the newest public entry: the everyday edit
                  if not re.search(r"^(draft|visibility):", p.read_text(), re.M))
    slug = session.stem if session.name != "index.md" else session.parent.name
    server = subprocess.Popen([sys.executable, "-m", "mastery_site", "serve", str(root), "--port", "0",
                               "--audience", "public"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    url = None
    for line in server.stdout:
        lines.append(line)
        if line.startswith("Serving"):
            url = re.search(r"(http://\S+/)", line)[1]
            break
    threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True).start()
    page = f"{url}sessions/{slug}/"
    announced = listen(url + "__mastery/events")
    original = session.read_text()
    latencies = []
    run_id = os.urandom(4).hex()
    try:
        for i in range(edits):
            marker = f"edit-marker-{run_id}-{i:03}"  # never a part of an earlier marker
            start = time.perf_counter()
            if kind != "body":
                text = re.sub(r"^title: .*$", f"title: {marker}", original, count=1, flags=re.M)
                if kind == "other" and i % 2 == 0:  # the difficulty back and forth
                    text = re.sub(r"^difficulty: (\d)$", lambda m: f"difficulty: {int(m[1]) % 5 + 1}", text,
                                  count=1, flags=re.M)
                if kind == "tags":  # a tag of its own, in and out
                    text = re.sub(r"^tags: \[", "tags: [edited, " if i % 2 == 0 else "tags: [", text, count=1,
                                  flags=re.M)
                session.write_text(text)
            else:
                session.write_text(original.replace("\n---\n", f"\n---\n{marker}\n\n", 1))
            while marker not in urllib.request.urlopen(page).read().decode():
                announced.get(timeout=30)
            latencies.append(time.perf_counter() - start)
            time.sleep(0.2)  # let the rebuild finish reporting before the next edit
            while not announced.empty():
                announced.get()
    finally:
        server.terminate()
        server.wait()
        session.write_text(original)  # run.py measures its kept corpora again later
    first = next(line for line in lines if line.startswith("rebuilt:"))
    breakdown = [line for line in lines if line.startswith("rebuilt:")][1:]
    load = statistics.median(float(re.search(r"load (\d+) ms", b)[1]) for b in breakdown)
    planned = statistics.median(float(re.search(r"plan (\d+) ms", b)[1]) for b in breakdown)
    return (f"{root}: first build: {first.strip()}\n"
            f"{kind} edit to served over {edits} edits: "
            f"median {statistics.median(latencies) * 1000:.0f} ms, "
            f"worst {max(latencies) * 1000:.0f} ms\n"
            f"rebuild (median): load {load:.0f} ms, plan and assets {planned:.0f} ms")


def listen(events_url: str) -> queue.Queue:
    """Rebuild announcements from the server's event stream, as the live-reload script gets them."""
    announced: queue.Queue = queue.Queue()

    def read() -> None:
        with urllib.request.urlopen(events_url) as stream:
            for line in stream:
                if line.startswith(b"data:"):
                    announced.put(line)
    threading.Thread(target=read, daemon=True).start()
    return announced


if __name__ == "__main__":
    main()
