"""Markdown to HTML with the project's options, audience-aware.

markdown-it-py (CommonMark + tables + strikethrough, heading ids). Raw HTML is
escaped unless `markdown.allow_html`; markdown-it's link validation already
drops `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs. Fenced
blocks whose info string is `private` are removed from the token stream, not
hidden, for every audience but `private`.

markdown-it-py is the reference. When pyromark (pulldown-cmark, in Rust; the
`fast` extra) is installed, a body that uses none of what the two render
differently, nor anything that needs markdown-it's tokens, is rendered by it
instead, to the same HTML: ~6 µs a bench body instead of ~450 (see `fast_html`;
the CommonMark spec examples, random documents and whole sites are checked in
tests/test_markdown_fast.py). MASTERY_SITE_MARKDOWN=markdown-it turns it off.
"""

from __future__ import annotations

import functools
import html as htmllib
import os
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
        html = fast_html(source)
        if html is not None:
            text = _TAG.sub("", html)  # the same words as the tokens' (see fast_html)
            words = (htmllib.unescape(text) if "&" in text else text).split()
            return Rendered(html, " ".join(words), search_words(words))
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


# What pyromark renders otherwise than markdown-it-py, or what needs markdown-it's tokens: raw HTML and
# autolinks (<), entities (&), escapes (\\), tables (|: other line breaks),
# strikethrough (~: <del>, not <s>), tabs (a code block's language ends at one), images (![: placed
# beside the page), link reference definitions (]:), hard breaks by trailing spaces, lines that begin
# with a space after another line (lazy continuations differ), private blocks; the link schemes
# markdown-it refuses; a line of only a list marker (an empty item: lists split otherwise) or of -, =,
# * or + (a heading's underline, or a thematic break); an odd number of ``` (an unclosed fence).
# Headings written with # get their ids as markdown-it's anchors give them (see _heading_ids).
_NOT_FAST_CHARS = "<&\\~|\t"
_NOT_FAST_TEXT = ("![", "]:", "  \n", "private")
_REFUSED_SCHEMES = ("javascript:", "vbscript:", "file:", "data:")
_NOT_FAST_LINE = re.compile(r"^[ >]*[-*+=\d][-*+=>.) \d]*$", re.M)  # those lines and a few more (`12`)


def _renders_alike(source: str) -> bool:
    """Whether pyromark renders this body as markdown-it does (see above). Separate substring
    tests, each a fast scan: one regular expression of them all took 180 µs a bench body."""
    if not source.endswith("\n") or source.count("```") % 2:  # a code block last ends otherwise
        return False
    if any(c in source for c in _NOT_FAST_CHARS) or any(t in source for t in _NOT_FAST_TEXT):
        return False
    indented = source.find("\n ")
    while indented > 0:
        if source[indented - 1] != "\n":
            return False
        indented = source.find("\n ", indented + 1)
    lower = source.lower()
    return not any(s in lower for s in _REFUSED_SCHEMES) and not _NOT_FAST_LINE.search(source)


# A link's address that markdown-it writes as pyromark does: others (a host in Unicode, `'`, `^`, a
# stray %) are written otherwise, and then the body is rendered by markdown-it.
_HREF = re.compile(r' href="([^"]*)"')
_SAME_HREF = re.compile(r"(?:[A-Za-z0-9._~:/?#@!$()*+,;=-]|%[0-9A-Fa-f]{2})*")
_HOST = re.compile(r"//([^/?#]*)")
_TEXT_QUOTE = re.compile(r'"(?=[^<>]*(?:<|\Z))')  # a " outside tags (inside, > or the end comes first)
_TAG = re.compile(r"<[^>]*>")
_HEADING = re.compile(r"<h([23])>(.*?)</h\1>")  # the levels with ids (see Renderer.md); no < inside: see above


PYROMARK = "0.10."  # the releases whose HTML the tests check (pyproject's `fast` extra pins them)


@functools.cache
def _fast_renderer():
    """pyromark's parser with our options, or None: not installed, another release (its HTML
    is checked against markdown-it's for these only), or turned off."""
    if os.environ.get("MASTERY_SITE_MARKDOWN") == "markdown-it":
        return None
    try:
        import pyromark
    except ImportError:
        return None
    if not pyromark.__version__.startswith(PYROMARK):
        return None
    return pyromark.Markdown(options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH).html


def accelerated() -> bool:
    """Whether pyromark renders the bodies it renders alike (see fast_html)."""
    return _fast_renderer() is not None


def fast_html(source: str) -> str | None:
    """The body's HTML by pyromark, exactly as markdown-it-py renders it; None when it could
    differ (see _renders_alike) or pyromark is not there. The two differ in two details left in
    such a body: markdown-it writes a " of the text as &quot; and an empty blockquote on one
    line. Its plain words are the HTML's text: without raw HTML or images, every tag is
    markdown's own, and a block's tags end in a line break."""
    render = _fast_renderer()
    if render is None or not _renders_alike(source):
        return None
    try:
        html = render(source)
    except BaseException as exc:  # noqa: BLE001 - a Rust panic arrives as pyo3's PanicException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None  # never seen: markdown-it renders the body then
    if "&#" in html or not all(_same_address(href) for href in _HREF.findall(html)):
        return None  # pyromark escaped a ' (&#x27;) or wrote an address otherwise
    if '"' in html:
        html = _TEXT_QUOTE.sub("&quot;", html)
    if "<h2>" in html or "<h3>" in html:
        html = _heading_ids(html)
    return html.replace("<blockquote>\n</blockquote>", "<blockquote></blockquote>")


def _heading_ids(html: str) -> str:
    """Ids of h2 and h3 as mdit-py-plugins' anchors give them: the slug of the heading's text
    (its text and code, the HTML's text here), made unique in order with -1, -2…"""
    taken: set[str] = set()

    def with_id(heading: re.Match) -> str:
        slug = base = slugify(htmllib.unescape(_TAG.sub("", heading[2])))
        n = 1
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        return f'<h{heading[1]} id="{slug}">{heading[2]}</h{heading[1]}>'

    return _HEADING.sub(with_id, html)


def _same_address(href: str) -> bool:
    """Whether markdown-it writes this address as pyromark did: plain ASCII, escapes valid, and
    no escape in the host (markdown-it writes a Unicode host in punycode; since markdown-it-py
    4.3, a mail address's too, so a mailto: address with an escape is left to it)."""
    if not _SAME_HREF.fullmatch(href):
        return False
    if "%" in href and href[:7].lower() == "mailto:":
        return False
    host = _HOST.search(href)
    return host is None or "%" not in host[1]


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
