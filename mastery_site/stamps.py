"""Which files changed since the build cache was saved, told by the process that scanned
them, while the other imports and reads the cache (see headstart.py, cli.cmd_build).

The cache saves beside its shards each file's stamp and image checks (see `saved_stamps`), with a
token its index holds too. The scanning process, idle once it has handed the scan over,
compares the files it found with them (`compare`); the building process takes its answer
if the token is the one of the cache it read (else it compares them itself, as before:
content.changed_files). At 10,000 sessions that comparison took an edit 24 ms (10,000 look-ups
among the cache's entries, scattered in memory), and unmarshalling the files found for it
8 ms more: neither is on an edit's way now.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .cache import load_cache

STAMPS_FILE = "stamps.bin"  # every file's, as the last full build left them
EDITED_FILE = "stamps-edited.bin"  # those of the files edited in place since, as the last edit left them


def stamps_of(files: dict, rels: Iterable[str]) -> dict[str, tuple]:
    """The stamps and image checks of these of the cache's `files` (see content.FileCache), for `compare`."""
    return {rel: (files[rel][0], files[rel][1].image_checks) for rel in rels if rel in files}


def saved_stamps(files: dict, edited: set[str] | None, token: tuple) -> tuple[tuple[bytes, bytes], str, tuple]:
    """What the cache saves of its `files` for `compare`: the token its index is to hold, and a
    file name and its value. After a full build (`edited` None), all their stamps, with a
    token of their own (twice); after an edit in place, only those of the files `edited` in
    place since, with the token of the last full build's stamps (the first of `token`, the
    index's as read) and one of their own. Those of every file would take the save ~25 ms more
    at 10,000 sessions (in a process forked to save, ~40 ms: the 10,000 pages of memory they
    are in, which the command shares, copied first)."""
    own = os.urandom(16)
    if edited is None:
        return (own, own), STAMPS_FILE, (own, stamps_of(files, files))
    token = (token[0] if token else b"", own)
    return token, EDITED_FILE, (*token, stamps_of(files, edited))


def compare(root: Path, store: Path, found: list[tuple[str, str, tuple]]) -> tuple[tuple, list[str] | None] | None:
    """The token of the stamps the cache in `store` saved last, and which of the files `found`
    (see sources.scan_content) changed since, as content.changed_files tells them: None for
    the files when one of the cache's is gone. None when the cache saved no stamps that can
    be read. The rule is content._stale's, in a loop of its own, as there: a function shared,
    called for each file, cost 10 ms at 10,000 sessions (a test holds the two together)."""
    full, edited = load_cache(store / STAMPS_FILE), load_cache(store / EDITED_FILE)
    if type(full) is not tuple or len(full) != 2 or type(full[1]) is not dict:
        return None
    token, stamps = (full[0], full[0]), full[1]
    if type(edited) is tuple and len(edited) == 3 and edited[0] == full[0] and type(edited[2]) is dict:
        token = edited[:2]
        stamps.update(edited[2])
    changed = []
    for _, rel, stamp in found:
        known = stamps.get(rel)
        if known is None or known[0] != stamp or known[1] and not _as_checked(root, rel, known[1]):
            changed.append(rel)
    added = sum(rel not in stamps for rel in changed)
    return token, changed if len(found) - added == len(stamps) else None


def _as_checked(root: Path, rel: str, checks: tuple) -> bool:
    """images.as_checked, imported when a file shows images: not before (its dataclasses take
    this process ~15 ms, while the other imports on the same two cores)."""
    from .images import as_checked

    return as_checked(root, rel, checks)
