"""Keeping Python's cyclic garbage collector off the build's big bursts.

A build or rebuild makes hundreds of thousands of long-lived objects (entries, pages,
cache records) and frees few. The collector, triggered by allocation counts, would
walk all of them again and again; these helpers pause it, or freeze what is already
alive out of its sight (gc.freeze), where that was measured to pay.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """No cyclic garbage collection meanwhile: for bursts that make many objects and free few."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def collecting():
    """Cyclic garbage collection meanwhile, even inside `paused()`: for long runs of work that
    leave garbage behind (a one-process build renders thousands of pages: 15 MiB more at
    10,000 sessions without it)."""
    enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not enabled:
            gc.disable()


@contextlib.contextmanager
def frozen():
    """Leave every object alive now out of cyclic collections until the block ends (gc.freeze),
    so collections meanwhile walk only what the block makes; forked workers inherit the objects
    frozen, so their collector neither walks nor copies them. What the block made since it last
    froze is frozen too as it ends: inside `paused()`, those pile up young, and the first young
    collection after it would walk them all (after a front-matter edit at 10,000 sessions,
    15 ms; after a title edit, 11 ms, most of it copying the memory the process saving the cache
    shares with the command, ~900 pages). Blocks nest; the outermost gives the objects back to
    the collector, as old objects, not young ones, unless someone froze them before it began
    (the command, which exits without collecting: see cli.run)."""
    outermost = not gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        gc.freeze()
        if outermost:
            gc.unfreeze()


@contextlib.contextmanager
def deferred():
    """No cyclic garbage collection meanwhile, nor of what the block made until settle(): for
    a dev-server rebuild, whose site is published at once. The collector counts what is made
    while it is off, and once on again, the next allocation would start a collection walking
    every object made meanwhile (~45 ms after a front-matter edit at 10,000 sessions, before
    the page was served); frozen, they are out of its sight."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def hold() -> None:
    """Inside `frozen()`: what is alive now is left out of collections too, until the outermost
    block ends. For what a build loads or makes, then keeps to the end: the collectors of
    workers forked later (see parallel.pmap) never walk it."""
    gc.freeze()


def settle() -> None:
    """A result that lives until the next edit (the dev server's site) was made with the
    collector paused: collect what its making left, then freeze it for good, so the next
    rebuild's collections walk only what that rebuild makes."""
    gc.collect()
    gc.freeze()
