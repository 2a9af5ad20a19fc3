"""Markdown to HTML with the project's options, audience-aware.

markdown-it-py (CommonMark + tables + strikethrough, heading ids). Raw HTML is
escaped unless `markdown.allow_html`; markdown-it's link validation already
drops `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs. Fenced
blocks whose info string is `private` are removed from the token stream, not
hidden, for every audience but `private`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

SUMMARY_CHARS = 240
# Links normalized once per build process, not once per use: markdown-it parses each with mdurl,
# encodes it and punycodes its host (~18 µs; 40 µs a bench document, 10 % of its rendering),
# and a journal links the same few pages again and again. The function is markdown-it's own,
# overridden the documented way (an attribute of the instance); its result depends on the URL alone.
LINKS_REMEMBERED = 8192


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=8192)
def slugify(text: str) -> str:
    """Lowercase; runs of anything but a-z and 0-9 become one "-"."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")


@dataclass
class Rendered:
    html: str
    text: str  # the body as plain text, for summaries
    words: str  # each word of `text` once, in order of first use, for the search index


class Renderer:
    """One configured parser, reused for every document of a build."""

    def __init__(self, allow_html: bool, audience: str):
        self.allow_html = allow_html
        self.keep_private = audience == "private"

    @functools.cached_property
    def md(self) -> MarkdownIt:
        """Made, and markdown-it imported, when first used: a build that renders no body (a
        front-matter edit: bodies are kept by their content, see content.body_key) does
        without (20 ms of its start-up)."""
        from markdown_it import MarkdownIt
        from mdit_py_plugins.anchors import anchors_plugin

        md = MarkdownIt("commonmark", {"html": self.allow_html}).enable(["table", "strikethrough"])
        anchors_plugin(md, min_level=2, max_level=3, slug_func=slugify)
        md.normalizeLink = functools.lru_cache(maxsize=LINKS_REMEMBERED)(md.normalizeLink)
        return md

    def render(self, source: str, rewrite: Callable[[str, str], str] | None = None) -> Rendered:
        """HTML and plain text; `rewrite(src, alt)` gives local images their new address."""
        tokens = self.md.parse(source)
        if "private" in source:  # no private block without the word: skip the walk
            tokens = [t for t in tokens if self.keep_private or not _is_private(t)]
            for token in tokens:
                if _is_private(token):  # shown to the author only, marked so the theme can style it
                    token.info = "private"
        if rewrite is not None and "![" in source:
            for token in tokens:
                for image in _images(token):
                    image.attrSet("src", rewrite(str(image.attrGet("src")), image.content))
        html = self.md.renderer.render(tokens, self.md.options, {})
        words = plain_words(tokens)
        return Rendered(html, " ".join(words), search_words(words))

    def image_refs(self, source: str) -> list[tuple[str, int, int]]:
        """(src, 0-based line, 1-based column) of every image, private blocks included."""
        lines = source.split("\n")
        found = []
        for token in self.md.parse(source):
            for image in _images(token):
                src = str(image.attrGet("src"))
                first, last = token.map or (0, len(lines))
                line = next((i for i in range(first, last) if src in lines[i]), first)
                col = lines[line].find(src) + 1 if line < len(lines) else 1
                found.append((src, line, max(col, 1)))
        return found


def _images(token: Token) -> list[Token]:
    return [c for c in token.children or [] if c.type == "image"]


def _is_private(token: Token) -> bool:
    return token.type == "fence" and token.info.strip().split(" ")[0] == "private"


_WORDS = ("text", "code_inline")
_BREAKS = ("softbreak", "hardbreak")


def plain_words(tokens: list[Token]) -> list[str]:
    """Words of the body: inline text and code, code blocks."""
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or ():
                if child.type in _WORDS:
                    parts.append(child.content)
                elif child.type in _BREAKS:
                    parts.append(" ")
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
        else:
            continue
        parts.append(" ")
    return "".join(parts).split()


def search_words(words: list[str]) -> str:
    """Each word once, in order of first use. Search matches each query term (it has no
    spaces) inside one word, so a repeated word adds nothing but bytes, which every search
    downloads (the index of the 10,000 bench sessions, whose vocabulary is small, shrinks
    from 24.6 to 9.6 MB; short real entries by a few per cent). Made where the body is
    rendered (in the workers), not when the index is written."""
    return " ".join(dict.fromkeys(words))


@functools.lru_cache(maxsize=1 << 18)
def summarize(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first `limit` characters, cut at a word boundary. Cached: every rebuild describes
    every page again, and the same texts are summarized on several pages. Room for 100,000
    sessions and their feeds (with 65,536 a rebuild at 100,000 missed every time: 128 ms
    instead of 30). It keeps its texts alive: an edited entry's old text stays until pushed
    out, one per edit in a long dev-server session."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"
