"""The accelerated Markdown path (pyromark) gives what markdown-it-py, the reference, gives:
the same HTML, plain text and search words, on the CommonMark spec examples, on random
documents and on whole sites; whatever it cannot render alike goes to markdown-it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import NPM_CACHE, REPO, build_into, markdown_it_only, require, site_files
from mastery_site import markup

SPEC = NPM_CACHE / "node_modules/commonmark-spec/spec.txt"


@pytest.fixture(autouse=True)
def _pyromark():
    try:
        import pyromark  # noqa: F401
    except ImportError:
        require(False, "pyromark (the test extra)")


def reference(allow_html: bool, source: str) -> markup.Rendered:
    """What markdown-it-py alone renders."""
    with markdown_it_only():
        return markup.Renderer(allow_html, "public").render(source)


def rendered(allow_html: bool, source: str) -> markup.Rendered:
    return markup.Renderer(allow_html, "public").render(source)


def assert_alike(source: str) -> bool:
    """Both renderers give the same result, with raw HTML on and off; True if pyromark rendered it."""
    for allow_html in (False, True):
        ours, theirs = rendered(allow_html, source), reference(allow_html, source)
        assert (ours.html, ours.text, ours.words) == (theirs.html, theirs.text, theirs.words), source
    return markup.fast_html(source) is not None


PLAIN = """Ran the *long* loop today, 12 km at an easy "conversational" pace > last week's.

1. Warm-up: 10 min, then [drills](https://example.org/drills?set=2).
2. Cool-down; `stretch` after.

- felt **strong**
- knee: fine

    code block, indented

```python
print("done")
```
"""


def test_plain_journal_bodies_are_rendered_by_pyromark_as_markdown_it_does():
    assert markup.fast_html(PLAIN) is not None  # the everyday entry takes the fast path
    assert assert_alike(PLAIN)
    ours = rendered(False, PLAIN)
    assert "&quot;conversational&quot;" in ours.html and "&gt; last" in ours.html
    assert '"conversational"' in ours.text and "drills." in ours.words.split()


@pytest.mark.parametrize("source, shows", [
    ("Notes\n---\n\ntext\n", '<h2 id="notes">Notes</h2>'),  # a heading's underline
    ("[x](javascript:alert(1))\n", "<p>[x](javascript:alert(1))</p>"),  # refused scheme: not a link
    ("[x](JaVaScRiPt:alert(1))\n", "<p>[x](JaVaScRiPt:alert(1))</p>"),
    ("<b>raw</b>\n", "&lt;b&gt;raw&lt;/b&gt;"),  # raw HTML escaped (markdown.allow_html off)
    ("a ~~b~~ c\n", "<s>b</s>"),
    ("| a |\n|---|\n| b |\n", "<table>\n<thead>"),
    ("[l](https://bücher.de/)\n", 'href="https://xn--bcher-kva.de/"'),  # a Unicode host: punycode
    ("[l](/it's)\n", "href=\"/it's\""),
    ("[t](mailto:me@bücher.de)\n", 'href="mailto:me@'),  # markdown-it-py 4.3 writes its host in punycode
    ("R&amp;B &copy;\n", "R&amp;B ©"),
    ("a\\*b\n", "a*b"),
    ("```\nnot closed\n", "<pre><code>not closed\n</code></pre>"),
    ("last line, no break", "<p>last line, no break</p>"),
])
def test_what_pyromark_renders_otherwise_goes_to_markdown_it(source, shows):
    assert markup.fast_html(source) is None
    assert shows in rendered(False, source).html
    assert_alike(source)


def test_headings_get_the_ids_markdown_it_gives_them():
    source = '## What went well\n\ntext\n\n### What went well\n\n## A "hard" `day`\n\n# Title\n#### Four\n'
    assert markup.fast_html(source) is not None
    assert assert_alike(source)
    html = rendered(False, source).html
    assert '<h2 id="what-went-well">' in html and '<h3 id="what-went-well-1">' in html
    assert '<h2 id="a-hard-day">A &quot;hard&quot; <code>day</code></h2>' in html
    assert "<h1>Title</h1>" in html and "<h4>Four</h4>" in html


def spec_examples() -> list[str]:
    text = SPEC.read_text(encoding="utf-8")
    return [m[1].replace("→", "\t") for m in re.finditer(r"^`{32} example\n([\s\S]*?)^\.\n[\s\S]*?^`{32}$", text, re.M)]


def test_commonmark_spec_examples_render_alike():
    require(SPEC.is_file(), "the CommonMark spec (npm commonmark-spec)")
    examples = spec_examples()
    assert len(examples) == 652
    fast = sum(assert_alike(example) for example in examples)
    assert fast > 200  # a third of them take the fast path: the check is not vacuous


FRAGMENTS = [
    "word", "Word", "again", " ", "  ", "\n", "\n\n", "\t", "*", "**", "_", "__", "`", "``", "[", "]", "(", ")", "](",
    "](/x)", "](#a-b)", "](https://example.org/a?b=1)", '"', "'", ">", "> ", "- ", "* ", "+ ", "1. ", "2) ", "    ",
    "```", "~~~", "!", ":", "/", "%", "%41", "^", "ü", "“", "—", "😀", "#", "## ", "### ", "|", " | ", "<", "&", "\\",
    "---", "***", "===", "http://", "www.", "mailto:a@b.c", "[a]: /url", "[a]", " 'title'", ' "title"',
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(lambda parts: "".join(parts) + "\n"))
def test_random_documents_render_alike(source):
    assert_alike(source)


@pytest.mark.parametrize("portfolio", ["demo", "runner-log", "exam-prep"])
def test_a_site_is_the_same_with_either_renderer(tmp_path, portfolio):
    """Whole sites, byte for byte: bodies, summaries, feeds and the search index."""
    source = REPO if portfolio == "demo" else REPO / "examples" / portfolio
    bodies = [path.read_text(encoding="utf-8").split("---", 2)[-1] for path in (source / "content").rglob("*.md")]
    assert any(markup.fast_html(body) is not None for body in bodies)
    fast = site_files(build_into(source, tmp_path / "fast", "--no-cache"))
    with markdown_it_only():
        slow = site_files(build_into(source, tmp_path / "slow", "--no-cache"))
    assert fast.keys() == slow.keys()
    assert [name for name in fast if fast[name] != slow[name]] == []


def test_a_build_whose_bodies_pyromark_renders_never_imports_markdown_it(tmp_path):
    """Importing it (20-60 ms) before the processes fork was a cold build's start-up cost."""
    source = REPO / "examples" / "runner-log"
    script = ("import sys; from mastery_site.cli import main; "
              f"assert main(['build', {str(source)!r}, '-o', {str(tmp_path / 'site')!r}, '--no-cache']) == 0; "
              "assert 'markdown_it' not in sys.modules, 'markdown-it imported'")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)


def test_a_failure_of_pyromark_falls_back_to_markdown_it(monkeypatch):
    class PanicException(BaseException):  # what pyo3 raises for a Rust panic
        pass

    def panics(source):
        raise PanicException("index out of bounds")

    monkeypatch.setattr(markup, "_fast_renderer", lambda: panics)
    assert markup.fast_html(PLAIN) is None
    assert "<em>long</em>" in rendered(False, PLAIN).html


def test_another_release_of_pyromark_is_not_used(monkeypatch):
    """Its HTML is checked against markdown-it's for the pinned releases only."""
    import pyromark
    monkeypatch.setattr(pyromark, "__version__", "0.11.0")
    markup._fast_renderer.cache_clear()
    try:
        assert markup.fast_html(PLAIN) is None
        assert "<em>long</em>" in rendered(False, PLAIN).html
    finally:
        monkeypatch.undo()
        markup._fast_renderer.cache_clear()
    assert markup.fast_html(PLAIN) is not None


def test_pyromark_is_not_needed():
    """Without pyromark (or turned off), markdown-it renders everything, as before."""
    with markdown_it_only():
        assert markup.fast_html(PLAIN) is None
        assert "<em>long</em>" in rendered(False, PLAIN).html
