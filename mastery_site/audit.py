"""The pre-publish audit of `check --audience`: what a build for that audience would
make visible that the author may not expect, listed as notes to review before pushing.
"""

from __future__ import annotations

from pathlib import Path

from .content import Loaded, effective_visibility
from .diagnostics import Diagnostics, Where
from .model import visible


def audit(root: Path, loaded: Loaded, audience: str, diags: Diagnostics) -> None:
    config = loaded.config
    entries = [*loaded.goals.values(), *(s for s, _ in loaded.sessions), *loaded.pages.values()]
    for entry in entries:
        shown = visible(effective_visibility(loaded, entry), audience)
        if entry.visibility_by_default and not entry.draft and shown:
            diags.note(Where(entry.source), f'in the {audience} build only because default_visibility is '
                                            f'"{config.default_visibility}"; add "visibility:" to decide')
    bodies = "\n".join(entry.body for entry in entries)
    static = root / "static"
    for path in sorted(p for p in static.rglob("*") if p.is_file()) if static.is_dir() else []:
        rel = path.relative_to(static).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if rel not in bodies:
            diags.note(Where(f"static/{rel}"), f"published as /{rel} in every build, but no entry links to it")
