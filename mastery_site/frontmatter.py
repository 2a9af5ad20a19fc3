"""Reading a Markdown file with YAML front matter, keeping line and column.

The YAML is *composed* (parsed to nodes), never constructed wholesale: nodes
keep their source marks, so every diagnostic can point at the key or value at
fault, and a scalar keeps the text the user typed (`title: no` stays "no",
`duration: 1:30` is not YAML 1.1's sexagesimal 90). Composition is linear in
the input even for alias bombs; the schema readers expand nodes under a budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from .diagnostics import Diagnostics, Where

try:  # libyaml is several times faster; fall back to pure Python where absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Composer(_Loader):
    """The loader, remembering which tag each plain scalar resolves to. PyYAML resolves
    every scalar in Python (regular expressions by first character) even with libyaml;
    front matter repeats its values (outcomes, goals, tags, numbers) file after file, and
    reading a file's YAML took 20 % less with the memo."""

    _tags: dict[tuple, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            if len(self._tags) >= 1 << 16:  # titles never repeat: keep the memo bounded
                self._tags.clear()
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag


MAX_FRONT_MATTER = 64 * 1024
MAX_ALIASES = 64  # front matter has no need for many; alias bombs need thousands


@dataclass
class Document:
    """One source file: its front matter as a YAML node, its Markdown body."""

    path: str  # relative to the project, with forward slashes
    node: yaml.Node | None  # the front matter's root node; None when absent or broken
    body: str
    fm_line: int  # 1-based line of the front matter's first line (after '---')
    ok: bool = True  # False when the front matter could not be read at all
    body_line: int = 1  # 1-based line where the Markdown body starts

    def where(self, node: yaml.Node | None = None) -> Where:
        if node is None:
            return Where(self.path, 1, 1)
        mark = node.start_mark
        return Where(self.path, mark.line + self.fm_line, mark.column + 1)


def decode(raw: bytes, path: str, diags: Diagnostics) -> str | None:
    """Bytes to text: UTF-8 (a BOM is dropped), CRLF and CR folded to LF."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diags.error(Where(path, line, col), "file is not valid UTF-8 text")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split(text: str) -> tuple[str | None, str, int]:
    """(front matter or None, body, 1-based line where the body starts)."""
    if not text.startswith("---") or text[3:4] not in ("\n", ""):
        return None, text, 1
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return "\n".join(lines[1:]), "", len(lines) + 1


def parse(text: str, path: str, diags: Diagnostics) -> Document:
    """Split and compose one Markdown file's front matter."""
    fm, body, body_line = split(text)
    doc = Document(path=path, node=None, body=body, fm_line=2, body_line=body_line)
    if fm is not None:
        _compose(doc, fm, diags)
    return doc


def parse_yaml(text: str, path: str, diags: Diagnostics) -> Document:
    """Compose a whole YAML file (mastery.yaml, theme.yaml)."""
    doc = Document(path=path, node=None, body="", fm_line=1)
    _compose(doc, text, diags)
    return doc


def _compose(doc: Document, text: str, diags: Diagnostics) -> None:
    if len(text.encode("utf-8")) > MAX_FRONT_MATTER:
        diags.error(Where(doc.path, 1, 1), f"YAML is larger than {MAX_FRONT_MATTER // 1024} KiB")
        doc.ok = False
        return
    try:
        if "*" in text and _aliases(text) > MAX_ALIASES:
            diags.error(Where(doc.path, doc.fm_line, 1), f"YAML uses more than {MAX_ALIASES} aliases (*name)")
            doc.ok = False
            return
        doc.node = yaml.compose(text, Loader=_Composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + doc.fm_line, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "malformed YAML"
        diags.error(Where(doc.path, line, col), f"malformed YAML: {problem}")
        doc.ok = False
    except yaml.reader.ReaderError as exc:  # control characters: a position, not a mark
        before = text[: exc.position]
        where = Where(doc.path, before.count("\n") + doc.fm_line, exc.position - (before.rfind("\n") + 1) + 1)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)  # libyaml: int
        diags.error(where, f"malformed YAML: unacceptable character #x{code:04x}: {exc.reason}")
        doc.ok = False
    except yaml.YAMLError as exc:
        diags.error(Where(doc.path, 1, 1), f"malformed YAML: {exc}")
        doc.ok = False


def _aliases(text: str) -> int:
    """How many aliases the YAML uses, counted on the event stream (nothing is expanded)."""
    return sum(1 for event in yaml.parse(text, Loader=_Loader) if isinstance(event, yaml.AliasEvent))
