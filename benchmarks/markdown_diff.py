#!/usr/bin/env python3
"""Evaluate faster Markdown renderers against markdown-it-py, our reference renderer:
identical HTML for our options? how much faster? Candidates: markdown-it-pyrs (Rust, the
same API shape), cmarkgfm (GitHub's cmark-gfm in C; HTML out, no tokens), pyromark
(pulldown-cmark in Rust; HTML or events) alone, and pyromark as mastery-site uses it: where
it renders alike, else markdown-it-py (markup.fast_html; compared with our Renderer, heading
ids included).

    pip install markdown-it-pyrs cmarkgfm pyromark; npm install commonmark-spec@0.31.2 (into $MASTERY_NPM_CACHE)
    benchmarks/markdown_diff.py [BENCH_CORPUS]

Our options: CommonMark, tables, strikethrough, raw HTML off (the default) and on.
Prints, for each candidate, the number of CommonMark spec examples and bench documents
whose HTML differs, the first differing spec examples, the median time per bench document,
and which of a few everyday inputs make it fail (markdown-it-pyrs 0.4.0 bundles markdown-it.rs
0.6.0, whose code-span scanner panics on an unclosed backtick inside a link label:
markdown-it-rust/markdown-it#40).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

from markdown_it import MarkdownIt

NPM = Path(os.environ.get("MASTERY_NPM_CACHE", Path.home() / ".cache/mastery-site/npm"))
RULES = ["blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph", "reference", "autolink",
         "backticks", "emphasis", "entity", "escape", "image", "link", "newline", "table", "strikethrough"]


def reference(allow_html: bool):
    return MarkdownIt("commonmark", {"html": allow_html}).enable(["table", "strikethrough"]).render


def pyrs(allow_html: bool):
    import markdown_it_pyrs
    rules = RULES + (["html_block", "html_inline"] if allow_html else [])
    return markdown_it_pyrs.MarkdownIt("zero").enable_many(rules).render


def cmark(allow_html: bool):
    import cmarkgfm
    from cmarkgfm.cmark import Options
    options = Options.CMARK_OPT_UNSAFE if allow_html else 0
    return lambda text: cmarkgfm.markdown_to_html_with_extensions(text, options, ["table", "strikethrough"])


def pyromark_alone(allow_html: bool):
    import pyromark
    return pyromark.Markdown(options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH).html


def renderer(allow_html: bool):
    """Our Renderer's HTML: markdown-it-py's with heading ids, or pyromark's where it renders alike."""
    from mastery_site.markup import Renderer
    ours = Renderer(allow_html, "public")
    return lambda text: ours.render(text).html


def reference_renderer(allow_html: bool):
    """Our Renderer with markdown-it-py alone (as MASTERY_SITE_MARKDOWN=markdown-it makes it)."""
    from mastery_site import markup
    ours = renderer(allow_html)

    def render(text: str) -> str:
        os.environ["MASTERY_SITE_MARKDOWN"] = "markdown-it"
        markup._fast_renderer.cache_clear()
        try:
            return ours(text)
        finally:
            del os.environ["MASTERY_SITE_MARKDOWN"]
            markup._fast_renderer.cache_clear()
    return render


CANDIDATES = {"markdown-it-pyrs": (pyrs, reference), "cmarkgfm": (cmark, reference),
              "pyromark": (pyromark_alone, reference), "pyromark as we use it": (renderer, reference_renderer)}
SHOWN = 5  # differing spec examples printed per candidate and option


PANIC_PROBES = ["[`", "see [the `x` docs", "[a `b", "- _foo\n  bar_\n", "> [!note `x"]


def panics(render, docs: list[str]) -> list[str]:
    """Inputs the renderer cannot render: a Rust panic arrives as pyo3's PanicException (a BaseException)."""
    failed = []
    for doc in docs:
        try:
            render(doc)
        except Exception:
            failed.append(doc)
        except BaseException as exc:  # noqa: BLE001 - PanicException; never KeyboardInterrupt
            if isinstance(exc, KeyboardInterrupt):
                raise
            failed.append(doc)
    return failed


def spec_examples() -> list[str]:
    spec = (NPM / "node_modules/commonmark-spec/spec.txt").read_text()
    return [m[1].replace("→", "\t") for m in re.finditer(r"^`{32} example\n([\s\S]*?)^\.\n[\s\S]*?^`{32}$", spec, re.M)]


def per_doc(render, docs: list[str]) -> float:
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        for doc in docs:
            render(doc)
        runs.append((time.perf_counter() - start) / len(docs))
    return statistics.median(runs)


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    bench = [p.read_text().split("---\n", 2)[2] for p in sorted((corpus / "content/sessions").rglob("*.md"))[:3000]] \
        if corpus else []
    examples = spec_examples()
    for name, (candidate, reference_of) in CANDIDATES.items():
        for allow_html in (False, True):
            ours, theirs = reference_of(allow_html), candidate(allow_html)
            spec_diff = [d for d in examples if ours(d) != theirs(d)]
            bench_diff = [d for d in bench if ours(d) != theirs(d)]
            print(f"{name}, raw HTML {'on' if allow_html else 'off'}: {len(spec_diff)} of {len(examples)} spec "
                  f"examples differ, {len(bench_diff)} of {len(bench)} bench documents differ")
            for doc in spec_diff[:SHOWN]:
                print(f"  {doc!r}\n    py: {ours(doc)!r}\n    {name}: {theirs(doc)!r}")
        crashed = panics(candidate(False), PANIC_PROBES)
        print(f"{name} fails on {len(crashed)} of {len(PANIC_PROBES)} everyday inputs: {crashed!r}")
        if bench:
            py, fast = per_doc(reference_of(False), bench), per_doc(candidate(False), bench)
            print(f"per bench document: markdown-it-py {py * 1e6:.0f} µs, {name} {fast * 1e6:.0f} µs "
                  f"({py / fast:.0f}x faster)")


if __name__ == "__main__":
    main()
