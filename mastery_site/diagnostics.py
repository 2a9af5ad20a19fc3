"""Diagnostics: every problem found in a portfolio, with the place it was found.

Validation never stops at the first problem: each stage appends to one
`Diagnostics` collection and the caller decides (once) whether to fail. The
format is the one compilers use, `path:line:col: error: message`, so editors
and terminals can jump to the spot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: str  # "error", "warning", or "note" (information for the author; never fails a run)
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"


class Where(NamedTuple):
    """A place in a source file; line and column are 1-based. A named tuple: a file's
    places are kept in the build cache by the thousand, and tuples load fast."""

    path: str
    line: int = 1
    col: int = 1


@dataclass
class Diagnostics:
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, where: Where, message: str) -> None:
        self.items.append(Diagnostic(where.path, where.line, where.col, "error", message))

    def warning(self, where: Where, message: str) -> None:
        self.items.append(Diagnostic(where.path, where.line, where.col, "warning", message))

    def note(self, where: Where, message: str) -> None:
        self.items.append(Diagnostic(where.path, where.line, where.col, "note", message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        """Deduplicated, in file order, so output is stable and readable."""
        return sorted(set(self.items))


class BuildError(Exception):
    """Raised when content has errors; carries every diagnostic found."""

    def __init__(self, diagnostics: Diagnostics):
        super().__init__(f"{len(diagnostics.errors)} error(s)")
        self.diagnostics = diagnostics


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean "x"?)' suffix when a close match exists, else ''."""
    import difflib  # here: only a misspelling needs it (4 ms of every command's start)

    choices = list(choices)
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f' (did you mean "{matches[0]}"?)' if matches else ""
