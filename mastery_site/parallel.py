"""Spreading the CPU-bound parts of a build (YAML, Markdown, templates) over processes.

Processes are forked, so what every task needs (the environment, the model, the
plan) is shared by inheritance, not pickled; only each task's small argument and
its result cross the process boundary. Small sites stay in one process, where
starting workers would cost more than it saves.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from typing import Any

from . import collector

MIN_ITEMS = 400  # below this, one process is faster


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


_shared: Any = None


def pmap(func: Callable[[Any, Any], Any], items: Sequence, jobs: int, shared: Any = None,
         min_items: int = MIN_ITEMS) -> list:
    """`[func(shared, item) for item in items]`, in `jobs` forked processes when it pays."""
    if jobs > 1 and len(items) >= min_items:
        import multiprocessing  # here: 7 ms of start-up that an edit, with a few files or pages, never uses

        if "fork" in multiprocessing.get_all_start_methods():
            return _forked(multiprocessing.get_context("fork"), func, items, jobs, shared)
    if len(items) < MIN_ITEMS:
        return [func(shared, item) for item in items]
    with collector.collecting():  # as a worker would (see _forked)
        return [func(shared, item) for item in items]


def _forked(context, func: Callable[[Any, Any], Any], items: Sequence, jobs: int, shared: Any) -> list:
    global _shared
    _shared = shared
    try:  # workers inherit the model frozen (see collector.frozen), and collect their own garbage
        with collector.frozen(), context.Pool(jobs, initializer=gc.enable) as pool:
            chunk = max(1, len(items) // (jobs * 32))  # small: workers finish close together
            return pool.map(_call, [(func, item) for item in items], chunksize=chunk)
    finally:
        _shared = None


def _call(task: tuple[Callable, Any]) -> Any:
    func, item = task
    return func(_shared, item)
